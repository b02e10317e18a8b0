"""Human-readable summaries of scenario results, one block each, and a comparison table."""

from __future__ import annotations

from typing import Any

from benchmarks.scenarios import SCENARIOS

# The numbers worth comparing across servers, per scenario.
KEY_METRICS: dict[str, tuple[str, ...]] = {
    "fanout": ("deliveries_per_s", "p50_ms", "p99_ms", "server_cpu_pct"),
    "bigchannel": ("deliveries_per_s", "lost", "p50_ms", "p99_ms", "server_cpu_pct"),
    "manychannels": ("deliveries_per_s", "lost", "p50_ms", "p99_ms", "server_cpu_pct"),
    "connect": ("registrations_per_s", "failed", "refused", "server_rss_mb"),
    "idle": ("server_rss_mb", "server_kb_per_client", "failed"),
}


_MARK = {True: "pass", False: "FAIL", None: "n/a"}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def others_cpu_pct(result: dict[str, Any]) -> float | None:
    """CPU that processes other than the server and the generator used in the window.

    Machine-wide process time minus ours, in % of one core. Per-core attribution would
    need every process's placement; the sum is enough to tell a quiet run from a busy one.
    """
    machine = result.get("machine_cpu_pct")
    if not machine or "loadgen_cpu_pct" not in result:
        return None
    ours = result["loadgen_cpu_pct"] + (result.get("server_cpu_pct") or 0.0)
    return round(max(0.0, sum(machine.values()) - ours), 1)


def contention_warning(result: dict[str, Any]) -> str:
    """Say so when other processes used a fair share of the machine during the window."""
    others = others_cpu_pct(result)
    if others is None or others <= 20 or not result.get("latency", {}).get("count"):
        return ""
    return (
        f"other processes used {others:g} % of a core during the window: timings may be disturbed"
    )


def check_targets(result: dict[str, Any]) -> list[tuple[str, Any, bool | None]]:
    sc = SCENARIOS.get(result["scenario"])
    if sc is None:
        return []
    return [(str(t), result.get(t.metric), t.check(result.get(t.metric))) for t in sc.targets]


def summary(result: dict[str, Any]) -> str:
    sc = SCENARIOS[result["scenario"]]
    p = result["params"]
    changed = [
        f"{k}={p[k]:g}" if isinstance(p[k], float) else f"{k}={p[k]}"
        for k in ("clients", "channels", "senders", "mode", "rate", "window")
        if p[k] != getattr(sc, k)
    ]
    note = f" [changed: {', '.join(changed)}]" if changed else ""
    lines = [f"== {sc.name} on {result['server']}: {sc.summary}{note}"]
    lines.append(
        f"  params     clients={p['clients']} channels={p['channels']} senders={p['senders']} "
        f"mode={p['mode']} rate={p['rate']:g}/s window={p['window']} duration={p['duration']:g}s "
        f"warmup={p['warmup']:g}s procs={p['procs']} loadgen_cpus={p['loadgen_cpus']} "
        f"nice={p.get('nice', 0)} realtime={'yes' if p.get('loadgen_realtime') else 'no'} "
        f"ircish_tree={p.get('ircish_tree', '?')} transport={p.get('transport', 'tcp')}"
    )
    reg = result["registration_latency"]
    lines.append(
        f"  setup      {result['registered']} registered, {result['joined']} joined, "
        f"{result['failed']} failed, {result['refused']} refused; "
        f"{_fmt(result['registrations_per_s'])} registrations/s over "
        f"{result['registration_span_s']}s; connect->001 p50 {_fmt(reg['p50_ms'])} ms "
        f"p99 {_fmt(reg['p99_ms'])} ms max {_fmt(reg['max_ms'])} ms"
    )
    if result["setup_errors"]:
        lines.append(f"  setup errs {result['setup_errors']}")
    if "latency" in result:
        lat = result["latency"]
        lines.append(
            f"  messages   {_fmt(result['messages_per_s'])}/s sent, "
            f"{_fmt(result['deliveries_per_s'])}/s delivered; lost {_fmt(result['lost'])} "
            f"(expected {_fmt(result['deliveries_expected'])}, "
            f"received {_fmt(result['deliveries_received'])}); server echoes: "
            f"{'yes' if result.get('server_echoes') else 'no'}"
        )
        lines.append(
            f"  latency    p50 {_fmt(lat['p50_ms'])} ms  p90 {_fmt(lat['p90_ms'])} ms  "
            f"p99 {_fmt(lat['p99_ms'])} ms  p99.9 {_fmt(lat['p999_ms'])} ms  "
            f"max {_fmt(lat['max_ms'])} ms  ({_fmt(lat['count'])} samples)"
        )
        lines.append(
            f"  loadgen    cpu {_fmt(result['loadgen_cpu_pct'])} % (of one core), "
            f"max send lag {_fmt(result['max_send_lag_ms'])} ms, "
            f"stalls {result['stalls']}, disconnected {result['disconnected']}"
        )
        if result["run_errors"]:
            lines.append(f"  run errs   {result['run_errors']}")
    server = []
    if "server_cpu_pct" in result:
        server.append(f"cpu {_fmt(result['server_cpu_pct'])} %")
    if result.get("server_rss_mb") is not None:
        server.append(f"rss {_fmt(result['server_rss_mb'])} MB")
    if result.get("server_rss_before_mb") is not None:
        server.append(f"(before clients {_fmt(result['server_rss_before_mb'])} MB")
        server.append(f"{_fmt(result.get('server_kb_per_client'))} KB/client)")
    if (result.get("server_procs") or 1) > 1:
        server.append(
            f"[{result['server_procs']} processes; main process alone: cpu "
            f"{_fmt(result.get('server_main_cpu_pct'))} % rss "
            f"{_fmt(result.get('server_main_rss_mb'))} MB]"
        )
    if server:
        lines.append("  server     " + " ".join(server))
    machine = result.get("machine_cpu_pct")
    if machine:
        lines.append(
            "  machine    "
            + "  ".join(f"cpu{cpu} {pct:g} % busy" for cpu, pct in sorted(machine.items()))
            + f"  (other processes: {_fmt(others_cpu_pct(result))} % of a core)"
        )
        warning = contention_warning(result)
        if warning:
            lines.append("  WARNING    " + warning)
    if result.get("alone") is False:
        lines.append("  WARNING    ran alongside another benchmark run (lock wait timed out)")
    checks = check_targets(result)
    if checks:
        verdicts = [
            f"{label}: {'PASS' if ok else 'FAIL' if ok is False else 'n/a'} ({_fmt(value)})"
            for label, value, ok in checks
        ]
        lines.append("  targets    " + "; ".join(verdicts))
    return "\n".join(lines)


def comparison(results: list[dict[str, Any]]) -> str:
    """One table per scenario: servers as columns, the first server as the ratio base."""
    out: list[str] = []
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_scenario.setdefault(r["scenario"], []).append(r)
    for name, rows in by_scenario.items():
        servers = [r["server"] for r in rows]
        base = servers[0]
        header = f"{'':22}" + "".join(f"{s:>14}" for s in servers)
        header += "".join(f"{base + '/' + s:>18}" for s in servers[1:])
        out.append(f"== {name}")
        out.append(header)
        for metric in KEY_METRICS.get(name, ()):
            values = [r.get(metric) for r in rows]
            line = f"{metric:22}" + "".join(f"{_fmt(v):>14}" for v in values)
            for v in values[1:]:
                ratio = "-"
                if isinstance(values[0], int | float) and isinstance(v, int | float) and v:
                    ratio = f"{values[0] / v:.2f}x"
                line += f"{ratio:>18}"
            out.append(line)
    return "\n".join(out)


def markdown(results: list[dict[str, Any]]) -> str:
    """Markdown tables for RESULTS.md: one per scenario, servers as columns."""
    out: list[str] = []
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        if "error" not in r:
            by_scenario.setdefault(r["scenario"], []).append(r)
    for name, rows in by_scenario.items():
        sc = SCENARIOS[name]
        out.append(f"### {name} — {sc.summary}")
        out.append("")
        out.append("| metric | " + " | ".join(r["server"] for r in rows) + " |")
        out.append("| --- |" + " ---: |" * len(rows))
        metrics = ("registrations_per_s", *KEY_METRICS.get(name, ()), "loadgen_cpu_pct")
        for metric in dict.fromkeys(metrics):
            out.append(f"| {metric} | " + " | ".join(_fmt(r.get(metric)) for r in rows) + " |")
        if any("latency" in r for r in rows):
            others = " | ".join(_fmt(others_cpu_pct(r)) for r in rows)
            out.append(f"| other processes' cpu % | {others} |")
        verdicts = []
        for r in rows:
            checks = check_targets(r)
            marks = [f"{_MARK[ok]} {label}" for label, _, ok in checks]
            verdicts.append(", ".join(marks))
        out.append("| targets | " + " | ".join(verdicts) + " |")
        noisy = [r["server"] for r in rows if contention_warning(r)]
        out.append("")
        if noisy:
            out.append(f"Contention warning (other processes on the cores): {', '.join(noisy)}.")
            out.append("")
    return "\n".join(out)

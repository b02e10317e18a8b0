"""The server's CPU time and memory, read from /proc, and finding its pid by port."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of the process (all its threads), in seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ")".
    fields = stat.rpartition(")")[2].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int | None:
    """VmRSS of the process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def find_listening_pid(port: int) -> int | None:
    """The pid of the process holding a listening TCP socket on ``port``, if we may see it.

    /proc/net/tcp{,6} names the socket inode; /proc/<pid>/fd links name the owner.
    """
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except OSError:
            continue
    return None


def cpu_busy_ticks() -> dict[int, tuple[int, int]]:
    """Per CPU (busy, total) jiffies since boot, from /proc/stat.

    Sampled around a measured window, it shows how busy each core really was: a core
    the generator shares with somebody else's process makes latencies meaningless.
    """
    out: dict[int, tuple[int, int]] = {}
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        name, *vals = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        ticks = [int(v) for v in vals[:8]]
        # Process time only (user, nice, system): interrupt and softirq time is mostly
        # the loopback traffic we cause, charged to whichever core handled it.
        out[int(name[3:])] = (ticks[0] + ticks[1] + ticks[2], sum(ticks))
    return out


def busy_pct(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]
) -> dict[int, float]:
    pct: dict[int, float] = {}
    for cpu, (busy1, total1) in after.items():
        busy0, total0 = before.get(cpu, (0, 0))
        if total1 > total0:
            pct[cpu] = round((busy1 - busy0) / (total1 - total0) * 100, 1)
    return pct


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants: a server may run helpers (ircish's store writer
    is a child process), and what they use is part of what the server costs."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, ()))
    return tree


def tree_cpu_seconds(pids: list[int]) -> float | None:
    values = [cpu_seconds(p) for p in pids]
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def tree_rss_bytes(pids: list[int]) -> int | None:
    values = [rss_bytes(p) for p in pids]
    known = [v for v in values if v is not None]
    return sum(known) if known else None

"""Run irctest against ircish: ``./dev conformance [IRCTEST_DIR] [pytest args...]``.

The irctest checkout may be read-only (CI's ``../shared``), and pytest writes
bytecode and caches beside what it runs, so the checkout is copied to a
temporary folder first. The last line printed is ``N passed, N failed, N skipped``;
the exit status is 0 only if pytest succeeded and nothing failed.

``--network``: against node 1 of a two-node network on PostgreSQL
(``ircish_network_controller``); ``--smoke`` with it: only ``SMOKE_MODULES``
(what CI runs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The generic selection: what any server should pass, without services.
MARKERS = "not implementation-specific and not deprecated and not strict and not services"
# Services (accounts) tests, run from these modules only: the ones ircish's
# accounts implement.
SERVICES_MARKERS = "services and not implementation-specific and not deprecated and not strict"
SERVICES_MODULES = ("sasl.py", "account_registration.py", "account_tag.py", "extended_join.py",
                    "monitor.py", "who.py", "chathistory.py", "redact.py")
# --smoke (CI's network run): the modules where a network node differs from a single
# server most (nick claims in the database, events through its sequence), without the
# services run, since the whole suite on two nodes per test takes several times the single
# server's run.
SMOKE_MODULES = ("join.py", "messages.py", "part.py", "kick.py", "topic.py", "quit.py")
# Without libfaketime these sleep for real minutes; ircish has no ELIST C/T either.
DESELECT = "not FaketimeListTestCase"


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def count_junit(path: Path) -> Counts:
    """Outcomes from pytest's JUnit XML; an error (setup or teardown) counts as failed."""
    total = Counts()
    for counts in count_by_module(path).values():
        total.passed += counts.passed
        total.failed += counts.failed
        total.skipped += counts.skipped
    return total


def count_by_module(path: Path) -> dict[str, Counts]:
    """The outcomes per irctest module (``monitor.py``), from the cases' class names."""
    modules: dict[str, Counts] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        # irctest.server_tests.monitor.MonitorTestCase -> monitor.py
        parts = case.get("classname", "").split(".")
        name = f"{parts[2]}.py" if len(parts) > 3 else (case.get("classname") or "?")
        counts = modules.setdefault(name, Counts())
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            counts.failed += 1
        elif "skipped" in kinds:
            counts.skipped += 1
        else:
            counts.passed += 1
    return modules


def print_modules(*reports: Path) -> None:
    merged: dict[str, Counts] = {}
    for report in reports:
        for name, counts in count_by_module(report).items():
            into = merged.setdefault(name, Counts())
            into.passed += counts.passed
            into.failed += counts.failed
            into.skipped += counts.skipped
    for name in sorted(merged):
        print(f"  {name:32} {merged[name].line()}")


def make_writable(root: Path) -> None:
    # copytree keeps the source's modes: a read-only copy could get no bytecode
    # and, for a user other than root, could not be removed afterwards.
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


def pytest_command(junit: Path, extra: list[str], markers: str = MARKERS,
                   controller: str = "ircish_controller") -> list[str]:
    return [
        sys.executable, "-m", "pytest",
        "-p", "no:cacheprovider",
        "--controller", controller,
        "-m", markers,
        "-k", DESELECT,
        "-q", "-rfE",
        f"--junitxml={junit}",
        *extra,
    ]


def main(argv: list[str]) -> int:
    # --network: against node 1 of a two-node network (ircish_network_controller).
    network = "--network" in argv
    smoke = "--smoke" in argv
    argv = [arg for arg in argv if arg not in ("--network", "--smoke")]
    controller = "ircish_network_controller" if network else "ircish_controller"
    source = Path(argv[0]) if argv and not argv[0].startswith("-") else None
    extra = argv[1:] if source else argv
    source = source or HERE.parents[1].parent / "shared" / "irctest"
    if not (source / "irctest" / "basecontrollers.py").is_file():
        print(f"conformance: no irctest checkout at {source}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        return _run(source, extra, network, controller, stack, smoke)


def _start_postgres() -> tuple[str, str] | None:
    """A private cluster from .ci/postgres: (its folder, its URL)."""
    result = subprocess.run([str(HERE.parents[1] / ".ci" / "postgres"), "start"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        print(f"conformance: --network needs PostgreSQL: {result.stderr.strip()}",
              file=sys.stderr)
        return None
    folder, url = result.stdout.split()
    return folder, url


def _stop_postgres(folder: str) -> None:
    subprocess.run([str(HERE.parents[1] / ".ci" / "postgres"), "stop", folder])


def _run(source: Path, extra: list[str], network: bool, controller: str,
         stack: contextlib.ExitStack, smoke: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="ircish-conformance-") as tmp:
        checkout = Path(tmp) / "irctest"
        shutil.copytree(source, checkout, ignore=shutil.ignore_patterns(".git", "__pycache__"))
        make_writable(checkout)
        junit = Path(tmp) / "junit.xml"
        env = dict(os.environ)
        if network and not env.get("IRCISH_TEST_POSTGRES_URL"):
            cluster = _start_postgres()
            if cluster is None:
                return 2
            stack.callback(_stop_postgres, cluster[0])
            env["IRCISH_TEST_POSTGRES_URL"] = cluster[1]
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(HERE), env.get("PYTHONPATH", "")) if p
        )
        # Server tests only: irctest/self_tests test irctest itself, not ircish.
        generic = [f"irctest/server_tests/{name}" for name in SMOKE_MODULES] if smoke \
            else ["irctest/server_tests"]
        command = pytest_command(junit, [*extra, *generic], controller=controller)
        status = subprocess.call(command, cwd=checkout, env=env)
        if not junit.is_file():
            print(f"conformance: pytest exited {status} without a report", file=sys.stderr)
            return status or 1
        counts = count_junit(junit)
        if smoke:
            print("per module:")
            print_modules(junit)
            print(f"network smoke ({', '.join(SMOKE_MODULES)}): {counts.line()}")
            return 0 if status == 0 and not counts.failed else 1
        services_junit = Path(tmp) / "junit-services.xml"
        modules = [f"irctest/server_tests/{name}" for name in SERVICES_MODULES]
        command = pytest_command(services_junit, [*extra, *modules], SERVICES_MARKERS,
                                 controller)
        services_status = subprocess.call(command, cwd=checkout, env=env)
        if not services_junit.is_file():
            print(f"conformance: pytest exited {services_status} without a report",
                  file=sys.stderr)
            return services_status or 1
        services = count_junit(services_junit)
        print("per module (generic and services together):")
        print_modules(junit, services_junit)
        print(f"generic: {counts.line()}")
        print(f"services ({', '.join(SERVICES_MODULES)}): {services.line()}")
        counts = Counts(counts.passed + services.passed, counts.failed + services.failed,
                        counts.skipped + services.skipped)
        status = status or services_status
    print(counts.line())
    # pytest's own status also catches what the report cannot show (5: nothing collected).
    return 0 if status == 0 and not counts.failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The irctest controller builds configs ircish accepts and starts a real server.

Cheap checks, no irctest run: a broken controller shows up in ``./dev test``
rather than only in ``./dev conformance``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ircish.app import build_server
from ircish.config import load_config, parse_address
from ircish.passwords import verify_password
from ircish.testing import test_config as config_in
from tests.conformance import ircish_config
from tests.conformance.ircish_config import OPER_NAME, OPER_PASSWORD, ServerSettings
from tests.conformance.run import count_by_module, count_junit

HERE = Path(__file__).resolve().parent
IRCTEST = HERE.parents[2] / "shared" / "irctest"


def test_plain_config_loads(tmp_path: Path) -> None:
    config = load_config(ircish_config.write_config(ServerSettings(tmp_path, "127.0.0.1", 6999)))
    assert [parse_address(a) for a in config.server.listen] == [("127.0.0.1", 6999)]
    assert config.tls.listen == ()
    assert config.server.password == ""
    assert config.storage.url == ""
    assert config.channels.auto_join == ()
    assert config.plugins.enabled == ()
    (oper,) = config.opers
    assert oper.name == OPER_NAME
    assert verify_password(OPER_PASSWORD, oper.password_hash)


def test_password_history_and_tls_config_loads(tmp_path: Path) -> None:
    cert, key = tmp_path / "ssl.pem", tmp_path / "ssl.key"
    cert.write_text("placeholder")
    key.write_text("placeholder")
    settings = ServerSettings(tmp_path, "127.0.0.1", 7001, password='pa"ss word',
                              tls_cert=cert, tls_key=key, history=True)
    config = load_config(ircish_config.write_config(settings))
    assert config.server.password == 'pa"ss word'
    assert config.server.listen == ()
    assert [parse_address(a) for a in config.tls.listen] == [("127.0.0.1", 7001)]
    assert config.resolve(config.tls.cert) == cert
    assert config.storage.url == f"sqlite:///{tmp_path / 'history.db'}"
    assert config.history.replay_on_join == 0


def test_services_config_has_storage_and_accounts(tmp_path: Path) -> None:
    settings = ServerSettings(tmp_path, "127.0.0.1", 7001, accounts=True,
                              register_before_connect=False, email_required=True)
    config = load_config(ircish_config.write_config(settings))
    assert config.storage.url == f"sqlite:///{tmp_path / 'history.db'}"
    assert config.accounts.nick_reservation == "off"
    assert not config.accounts.register_before_connect
    assert config.accounts.email_required


def test_count_junit(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase name="a"/><testcase name="b"><skipped message="no"/></testcase>'
        '<testcase name="c"><failure message="bad"/></testcase>'
        '<testcase name="d"><error message="setup"/></testcase>'
        '<testcase name="e"/></testsuite></testsuites>'
    )
    assert count_junit(report).line() == "2 passed, 2 failed, 1 skipped"


def test_count_by_module(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="irctest.server_tests.monitor.MonitorTestCase" name="a"/>'
        '<testcase classname="irctest.server_tests.monitor.MonitorTestCase" name="b">'
        '<failure message="bad"/></testcase>'
        '<testcase classname="irctest.server_tests.who.WhoTestCase" name="c">'
        '<skipped message="no"/></testcase></testsuite></testsuites>'
    )
    modules = count_by_module(report)
    assert {name: c.line() for name, c in modules.items()} == {
        "monitor.py": "1 passed, 1 failed, 0 skipped",
        "who.py": "0 passed, 0 failed, 1 skipped",
    }


# Run in a child process: importing irctest registers pytest hooks and
# assertion rewriting that must not leak into this suite.
CHILD = """
import json, socket, ssl, sys, time
from ircish_controller import get_irctest_controller_class
from irctest.basecontrollers import BaseServerController, TestCaseControllerConfig
use_tls = sys.argv[1] == "tls"
cls = get_irctest_controller_class()
assert issubclass(cls, BaseServerController)
cls.openssl_bin = "openssl"
controller = cls(TestCaseControllerConfig())
hostname, port = controller.get_hostname_and_port()
try:
    controller.run(hostname, port, password=None, ssl=use_tls, run_services=False,
                   faketime=None, websocket_hostname=None, websocket_port=None)
    # irctest's own wait speaks plain text, so over TLS only the handshake is awaited.
    if use_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        for _ in range(500):
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except ConnectionRefusedError:
                controller.check_is_alive()
                time.sleep(0.02)
        with context.wrap_socket(raw) as conn:
            conn.sendall(b"NICK a\\r\\nUSER a 0 * :a\\r\\n")
            assert b" 001 a " in conn.recv(4096)
    else:
        controller.wait_for_port()
    alive = controller.proc.poll() is None
finally:
    controller.kill()
print(json.dumps({"caps": sorted(c.value for c in cls.capabilities), "alive": alive}))
"""


def _run_child(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` in an interpreter of its own with the controller's folder and irctest
    (which the suite does not import) on its path, as irctest runs it; it must exit 0."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(IRCTEST)]),
               PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=HERE,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.skipif(not (IRCTEST / "irctest").is_dir(), reason=f"no irctest at {IRCTEST}")
@pytest.mark.parametrize("transport", ["plain", "tls"])
def test_controller_starts_a_server(transport: str, tmp_path: Path) -> None:
    if transport == "tls" and shutil.which("openssl") is None:
        pytest.skip("irctest makes its certificates with the openssl command, not installed")
    done = _run_child(CHILD, transport)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["alive"]
    # Declared capabilities must be ones the server offers (its core and the
    # features every config has), or irctest would fail tests for features
    # ircish never claimed.
    offered = build_server(config_in(tmp_path)).core.capabilities
    assert set(result["caps"]) <= set(offered)


# A test whose setUp raises after the start never reaches irctest's teardown:
# the next start must stop that server rather than leave it running.
STALE_CHILD = """
import os
from ircish_controller import get_irctest_controller_class
from irctest.basecontrollers import TestCaseControllerConfig
cls = get_irctest_controller_class()
servers = []
for _ in range(2):
    controller = cls(TestCaseControllerConfig())
    hostname, port = controller.get_hostname_and_port()
    controller.run(hostname, port, password=None, ssl=False, run_services=False,
                   faketime=None, websocket_hostname=None, websocket_port=None)
    controller.wait_for_port()
    servers.append((controller, controller.proc.pid, controller.directory))
(first, first_pid, first_dir), (second, _, _) = servers
assert first.proc is None and not first_dir.exists()
try:
    os.waitpid(first_pid, os.WNOHANG)
except ChildProcessError:
    pass  # reaped by kill(): gone
else:
    raise AssertionError("the first server was never reaped")
second.kill()
print("ok")
"""


@pytest.mark.skipif(not (IRCTEST / "irctest").is_dir(), reason=f"no irctest at {IRCTEST}")
def test_a_server_whose_teardown_never_ran_is_stopped_by_the_next() -> None:
    done = _run_child(STALE_CHILD)
    assert done.stdout.strip().endswith("ok")


PORTS_CHILD = """
import sys, tempfile
from pathlib import Path
from filelock import FileLock
from ircish_controller import IrcishController
from irctest.cases import TestCaseControllerConfig

tmp = Path(tempfile.mkdtemp())
IrcishController._used_ports_path = tmp / "ports.json"
IrcishController._port_lock = FileLock(tmp / "ports.json.lock")
controller = IrcishController(TestCaseControllerConfig())
(tmp / "ports.json").write_text("")  # as left by another run's interrupted write
hostname, port = controller.get_hostname_and_port()
(tmp / "ports.json").write_text("[]")  # and again: our port is gone from it
controller.kill()
print("ok", port)
"""


@pytest.mark.skipif(not (IRCTEST / "irctest").is_dir(), reason=f"no irctest at {IRCTEST}")
def test_an_empty_or_reset_ports_registry_does_not_fail_a_test() -> None:
    done = _run_child(PORTS_CHILD)
    assert done.stdout.startswith("ok ")


# irctest's synchronising PING waits until the server is back in its event loop:
# a process busy with work is not idle, one asleep in epoll_wait is.
IDLE_CHILD = """
import json, subprocess, sys, time
from ircish_controller import _waiting_for_events, wait_until_idle
spinner = subprocess.Popen(
    [sys.executable, "-c", "import select, time\\n"
     "print('spinning', flush=True)\\n"
     "start = time.monotonic()\\n"
     "while time.monotonic() - start < 1.5: pass\\n"
     "select.epoll().poll(30)\\n"],
    stdout=subprocess.PIPE, text=True)
assert spinner.stdout.readline() == "spinning\\n"
busy_seen_idle = _waiting_for_events(spinner.pid)
idle = wait_until_idle(spinner.pid, time.monotonic() + 20)
spinner.kill()
print(json.dumps({"busy_seen_idle": busy_seen_idle, "idle": idle}))
"""


@pytest.mark.skipif(not (IRCTEST / "irctest").is_dir(), reason=f"no irctest at {IRCTEST}")
@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="no /proc to ask (not Linux)")
def test_sync_waits_until_the_server_waits_for_events() -> None:
    done = _run_child(IDLE_CHILD)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "busy_seen_idle": False, "idle": True}

"""OPER against brute force: checks off the loop, delays, disconnects, per-IP refusals.

The core's offload is replaced by a manual one driven by a fake clock: blocking
work runs only when the test says so, timers fire when the clock passes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from ircish.core.state import User
from ircish.core.throttle import AttemptThrottle
from ircish.passwords import hash_password
from tests.core.helpers import Client, Net, commands, only

PASSWORD = "s3cret-oper-pass"
WRONG = "wrong-guess-"


@cache
def _hash() -> str:
    return hash_password(PASSWORD)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class ManualOffload:
    """``ircish.core.offload.Offload`` that runs nothing until told."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.work: list[tuple[User | None, Callable[[], Any], Callable[[Any], None]]] = []
        self.timers: list[tuple[float, User | None, Callable[[], None]]] = []
        self.submitted = 0

    def run_blocking(self, user: User | None, work: Callable[[], Any],
                     then: Callable[[Any], None]) -> None:
        self.submitted += 1
        self.work.append((user, work, then))

    def call_later(self, user: User | None, delay: float, then: Callable[[], None]) -> None:
        self.timers.append((self.clock.now + delay, user, then))

    def run_work(self) -> None:
        jobs, self.work = self.work, []
        for _user, work, then in jobs:
            then(work())

    def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        due = [t for t in self.timers if t[0] <= self.clock.now]
        self.timers = [t for t in self.timers if t[0] > self.clock.now]
        for _, _user, then in sorted(due, key=lambda t: t[0]):
            then()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def offload(clock: FakeClock) -> ManualOffload:
    return ManualOffload(clock)


@pytest.fixture
def onet(make_net: Callable[..., Net], clock: FakeClock, offload: ManualOffload) -> Net:
    net = make_net({"opers": [{"name": "boss", "password_hash": _hash()}]}, clock=clock)
    net.server.offload = offload
    return net


def _fail_once(c: Client, offload: ManualOffload, delay: float) -> None:
    """One wrong password, answered 464 after exactly ``delay``."""
    assert c.send(f"OPER boss {WRONG}x") == []
    offload.run_work()
    assert c.take() == []
    offload.advance(delay - 0.01)
    assert c.take() == []
    offload.advance(0.01)
    assert commands(c.take()) == ["464"]


def test_check_is_offloaded_and_a_second_oper_meanwhile_is_refused(
    onet: Net, offload: ManualOffload
) -> None:
    a = onet.client("a")
    assert a.send(f"OPER boss {PASSWORD}") == []
    assert offload.submitted == 1
    refused = only(a.send(f"OPER boss {PASSWORD}"))
    assert refused.command == "491"
    assert offload.submitted == 1  # refused without a second hash
    offload.run_work()
    assert commands(a.take()) == ["MODE", "381"]
    assert a.user.oper


def test_failures_are_answered_after_a_growing_delay(onet: Net, offload: ManualOffload) -> None:
    a = onet.client("a")
    for delay in (1.0, 2.0, 4.0, 8.0):
        _fail_once(a, offload, delay)
    assert not a.user.oper and a.sink.closed is None


def test_oper_while_the_failure_answer_is_delayed_is_refused_without_hashing(
    onet: Net, offload: ManualOffload
) -> None:
    a = onet.client("a")
    a.send(f"OPER boss {WRONG}1")
    offload.run_work()
    assert only(a.send(f"OPER boss {PASSWORD}")).command == "491"
    assert offload.submitted == 1
    offload.advance(1.0)
    assert commands(a.take()) == ["464"]
    a.send(f"OPER boss {PASSWORD}")
    offload.run_work()
    assert commands(a.take()) == ["MODE", "381"]


def test_fifth_failure_in_a_minute_disconnects(onet: Net, offload: ManualOffload) -> None:
    a, peer = onet.client("a"), onet.client("peer")
    onet.joined("#x", a, peer)
    for delay in (1.0, 2.0, 4.0, 8.0):
        _fail_once(a, offload, delay)
    a.send(f"OPER boss {WRONG}5")
    offload.run_work()
    msgs = a.take()
    assert commands(msgs) == ["464", "ERROR"]
    assert "Too many failed OPER attempts" in msgs[1].params[0]
    assert a.sink.closed is not None
    assert a.user not in onet.server.connections
    quit_msg = only(peer.take())
    assert quit_msg.command == "QUIT" and quit_msg.params == ["Too many failed OPER attempts"]


def test_failures_older_than_a_minute_no_longer_count(onet: Net, offload: ManualOffload) -> None:
    a = onet.client("a")
    for delay in (1.0, 2.0, 4.0, 8.0):
        _fail_once(a, offload, delay)
    offload.advance(60.0)
    _fail_once(a, offload, 1.0)
    assert a.sink.closed is None


def test_unknown_oper_name_counts_as_a_failure_without_a_hash(
    onet: Net, offload: ManualOffload
) -> None:
    a = onet.client("a")
    assert a.send("OPER nobody x") == []
    offload.advance(1.0)
    assert commands(a.take()) == ["464"]
    assert a.send("OPER nobody x") == []
    offload.advance(2.0)
    assert commands(a.take()) == ["464"]
    assert offload.submitted == 0


def test_an_address_with_too_many_failures_is_refused_without_hashing(
    onet: Net, offload: ManualOffload
) -> None:
    clients = [onet.client(f"c{i}") for i in range(3)]
    # 10 failures from one IP over three connections, none of them at its own limit
    # (unknown names, so no name reaches its own limit either).
    for i in range(10):
        c = clients[i % 3]
        c.send(f"OPER nobody{i} {WRONG}{i}")
        offload.run_work()
        offload.advance(2.0 ** (i // 3))  # 29 s in all: every failure still counts
        assert commands(c.take()) == ["464"]
    assert all(c.sink.closed is None for c in clients)
    submitted = offload.submitted
    late = onet.client("late")
    refused = only(late.send(f"OPER boss {PASSWORD}"))
    assert refused.command == "491" and "Too many failed OPER attempts" in refused.params[-1]
    assert offload.submitted == submitted
    assert not late.user.oper
    # Another address is not affected.
    other = onet.client("other", ip="192.0.2.7")
    other.send(f"OPER boss {PASSWORD}")
    offload.run_work()
    assert commands(other.take()) == ["MODE", "381"]
    # Once the failures age out of the window, the address may try again.
    offload.advance(60.0)
    late.send(f"OPER boss {PASSWORD}")
    offload.run_work()
    assert commands(late.take()) == ["MODE", "381"]


def test_a_name_with_too_many_failures_is_refused_from_anywhere_without_hashing(
    onet: Net, offload: ManualOffload, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ircish.core.oper")
    # Five addresses, one guess each: no connection or address is near its limit.
    for i in range(5):
        c = onet.client(f"g{i}", ip=f"192.0.2.{i + 10}")
        c.send(f"OPER boss {WRONG}{i}")
        offload.run_work()
        offload.advance(1.0)
        assert commands(c.take()) == ["464"]
    submitted = offload.submitted
    fresh = onet.client("fresh", ip="198.51.100.9")
    refused = only(fresh.send(f"OPER boss {PASSWORD}"))
    assert refused.command == "491" and "for this name" in refused.params[-1]
    assert offload.submitted == submitted and not fresh.user.oper
    assert "too many failures for this name" in caplog.text
    assert PASSWORD not in caplog.text
    # Once they age out of the window, the name may be used again.
    offload.advance(60.0)
    fresh.send(f"OPER boss {PASSWORD}")
    offload.run_work()
    assert commands(fresh.take()) == ["MODE", "381"]


def test_attempts_are_logged_at_info_without_the_password(
    onet: Net, offload: ManualOffload, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ircish.core.oper")
    a = onet.client("alice", ip="198.51.100.4")
    a.send(f"OPER boss {WRONG}1")
    offload.run_work()
    offload.advance(1.0)
    a.send(f"OPER boss {PASSWORD}")
    offload.run_work()
    assert a.user.oper
    records = [r for r in caplog.records if r.name == "ircish.core.oper"]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    failed, succeeded = (r.getMessage() for r in records)
    for text in (failed, succeeded):
        assert "alice" in text and "198.51.100.4" in text and "boss" in text
    assert "failed" in failed and "success" in succeeded
    assert PASSWORD not in caplog.text and WRONG not in caplog.text
    for record in records:
        assert not any(PASSWORD in str(arg) or WRONG in str(arg) for arg in record.args or ())


def test_no_answer_is_sent_to_a_user_who_left_mid_check(onet: Net, offload: ManualOffload) -> None:
    a = onet.client("a")
    a.send(f"OPER boss {PASSWORD}")
    a.disconnect()
    # Dropping a gone user's callback is the shell's job (the manual offload has none);
    # the throttle itself must not keep the address or the connection blocked.
    assert onet.server.throttles["OPER"].busy(("conn", a.user))
    offload.advance(60.0)
    assert not onet.server.throttles["OPER"].busy(("conn", a.user))


# ---- the throttle itself ---------------------------------------------------------------


def test_throttle_counts_in_a_sliding_window(clock: FakeClock) -> None:
    t = AttemptThrottle(10.0, clock)
    assert t.failures("k") == 0
    assert t.fail("k") == 1
    clock.now += 6
    assert t.fail("k") == 2
    clock.now += 5  # the first failure is now 11 s old
    assert t.failures("k") == 1
    assert t.failures("other") == 0
    t.forget("k")
    assert t.failures("k") == 0


def test_throttle_forgets_idle_keys(clock: FakeClock) -> None:
    t = AttemptThrottle(10.0, clock)
    for i in range(100):
        t.fail(("ip", i))
        t.begin(("conn", i))
    clock.now += 11
    t.fail("fresh")
    assert set(t._failures) == {"fresh"}
    assert not t._pending

"""After a crowd has left, the core's tables are rebuilt to fit who is left
(a dict or set keeps its largest table otherwise), and nothing is lost doing so."""

from __future__ import annotations

import sys

from ircish.core.tables import MIN_PEAK, TableShrinker, rebuild
from tests.core.helpers import Net


def _shrinker(net: Net) -> TableShrinker:
    core = net.server
    return TableShrinker({
        "users": lambda: core.users, "channels": lambda: core.channels,
        "connections": lambda: core.connections,
        "monitor nicks": lambda: core.monitors.by_nick,
        "monitor lists": lambda: core.monitors.lists,
    })


def test_tables_of_a_crowd_that_left_are_rebuilt_small(net: Net) -> None:
    core = net.server
    shrinker = _shrinker(net)
    stay = net.client("stayer")
    net.joined("#stay", stay)
    stay.send("MONITOR + crowd0")
    crowd = []
    for n in range(2 * MIN_PEAK):
        c = net.client(f"crowd{n}")
        c.send(f"JOIN #c{n}", "MONITOR + stayer")
        crowd.append(c)
    shrinker.check()  # the high-water mark
    grown = {name: sys.getsizeof(t) for name, t in (
        ("users", core.users), ("channels", core.channels),
        ("connections", core.connections), ("lists", core.monitors.lists))}
    for c in crowd:
        c.disconnect("bye")
    assert len(core.users) == 1 and len(core.channels) == 1

    shrinker.check()

    assert shrinker.rebuilt >= 4
    for name, table in (("users", core.users), ("channels", core.channels),
                        ("connections", core.connections), ("lists", core.monitors.lists)):
        fresh = dict(table) if isinstance(table, dict) else set(table)
        assert sys.getsizeof(table) <= sys.getsizeof(fresh), name
        assert sys.getsizeof(table) * 8 < grown[name], name
    # The same objects, with what was left in them: the server goes on as before.
    stay.take()
    late = net.client("crowd0")
    assert [m.command for m in stay.take()] == ["730"]
    late.send("JOIN #stay")
    assert [m.command for m in stay.take()] == ["JOIN"]
    assert set(core.users) == {"stayer", "crowd0"}


def test_small_tables_and_tables_still_in_use_are_left_alone(net: Net) -> None:
    core = net.server
    shrinker = _shrinker(net)
    crowd = [net.client(f"n{n}") for n in range(2 * MIN_PEAK)]
    shrinker.check()
    for c in crowd[: len(crowd) // 2]:
        c.disconnect("bye")
    shrinker.check()  # half are still here: not worth a rebuild
    assert shrinker.rebuilt == 0
    table = core.users
    rebuild(table)
    assert table is core.users and len(table) == MIN_PEAK
    assert list(table) == [f"n{n}" for n in range(MIN_PEAK, 2 * MIN_PEAK)]

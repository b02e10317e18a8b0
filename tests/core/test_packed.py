"""``ircish.core.packed``: records in a few buffers answer as a dict and a deque
would, and keep no Python object per record (each such object, made during a
crowd, could keep a 1 MiB arena of the allocator resident after it left)."""

from __future__ import annotations

import gc
import random
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import pytest

from ircish.core.packed import PackedLog, PackedTable
from tests.core.helpers import Net, make_server


def reachable(root: object) -> int:
    """How many objects ``root`` holds on to, directly or not (types left out)."""
    seen, todo = {id(root)}, [root]
    while todo:
        for ref in gc.get_referents(todo.pop()):
            if id(ref) not in seen and not isinstance(ref, type):
                seen.add(id(ref))
                todo.append(ref)
    return len(seen) - 1


@pytest.mark.parametrize("limit", [1, 7, 300])
def test_a_table_answers_as_an_ordered_dict_bounded_to_its_limit(limit: int) -> None:
    rng = random.Random(limit)
    table, model = PackedTable(limit), OrderedDict[str, Any]()
    for n in range(6000):
        key = f"k{rng.randrange(3 * limit)}" + ("\udcff" if rng.random() < 0.1 else "é")
        roll = rng.random()
        if roll < 0.6:
            value = (n, n % 2 == 0, f"s{n}", None, (n, "x\udc80"))
            model.pop(key, None)
            model[key] = value
            if len(model) > limit:
                model.popitem(last=False)
            table.put(key, value)
        elif roll < 0.8:
            assert table.pop(key) == model.pop(key, None)
        elif roll < 0.81:
            assert table.discard_if(lambda v: v[0] % 3 == 0) == len(
                [k for k, v in model.items() if v[0] % 3 == 0]
            )
            for gone in [k for k, v in model.items() if v[0] % 3 == 0]:
                del model[gone]
        elif roll < 0.815:
            table.replace_all(lambda v: (v[0] + 1, *v[1:]))
            for k, v in model.items():
                model[k] = (v[0] + 1, *v[1:])
        else:
            assert table.get(key) == model.get(key)
            assert (key in table) == (key in model)
        assert len(table) == len(model)
    assert list(table.items()) == list(model.items())


@pytest.mark.parametrize("limit", [1, 3, 200])
def test_a_log_answers_as_a_bounded_deque(limit: int) -> None:
    log, model = PackedLog(limit), deque[Any](maxlen=limit)
    for n in range(3000):
        value = (f"m{n}", n, "PRIVMSG", "\udc80 text", n % 5 == 0)
        log.append(value)
        model.append(value)
        if n % 37 == 0:
            assert list(log) == list(model)
            assert len(log) == len(model)
    assert list(log) == list(model)


def test_no_python_object_is_kept_per_record() -> None:
    def filled(count: int) -> tuple[PackedTable, PackedLog]:
        table, log = PackedTable(100_000), PackedLog(100_000)
        for n in range(count):
            table.put(f"msgid{n:x}", (10**15 + n, True, f"session{n}", None, f"nick{n}"))
            log.append((f"msgid{n:x}", 10**15 + n, "PRIVMSG", f"nick{n}", f"text {n}"))
        for n in range(0, count, 3):
            table.pop(f"msgid{n:x}")
        return table, log

    table, log = filled(10_000)
    # A few ints and the buffers, however many records.
    assert reachable(table) < 20
    assert reachable(log) < 10
    # What is read back is made anew, and only then.
    assert table.get("msgid1") == (10**15 + 1, True, "session1", None, "nick1")
    assert table.get("msgid0") is None


def test_whowas_keeps_no_object_per_departure(tmp_path: Path) -> None:
    net = Net(make_server(tmp_path, {"limits": {"whowas_entries": 150}}))
    for n in range(20):
        net.client(f"early{n}", realname=f"Early {n}").send("QUIT :bye")
    few = reachable(net.server.whowas)
    for n in range(400):
        c = net.client(f"gone{n}", username=f"u{n}", realname=f"Gone {n}")
        c.send(f"NICK renamed{n}", "QUIT :bye")
    assert len(net.server.whowas) == 150
    assert reachable(net.server.whowas) <= few + 3
    # Still the last departures, newest first.
    asker = net.client("asker")
    found = [m for m in asker.send("WHOWAS renamed399") if m.command == "314"]
    assert [[*m.params[1:3], m.params[5]] for m in found] == [["renamed399", "~u399", "Gone 399"]]
    assert [m.params[1] for m in asker.send("WHOWAS gone399") if m.command == "314"] == ["gone399"]
    assert not [m for m in asker.send("WHOWAS gone300") if m.command == "314"]  # past the limit

"""The soak probe names what keeps an object that should have gone with its client
(``benchmarks.soakprobe.chains``): the referrers, one step at a time; and its readings
do not themselves keep the crowd's objects."""

from __future__ import annotations

import gc
import json
import signal
import weakref
from pathlib import Path

import pytest

from benchmarks.soakprobe import chains, dump_light


class Connection:  # named as the probe looks for it
    pass


class Holder:
    def __init__(self) -> None:
        self.kept: dict[str, Connection] = {}


class OldHolder(Holder):
    pass


def test_a_connection_made_since_the_baseline_is_shown_with_its_holders() -> None:
    old = OldHolder()
    old.kept["x"] = Connection()
    base = {id(old.kept["x"])}
    holder = Holder()
    holder.kept["x"] = Connection()
    found = chains(base, limit=100_000)
    # The one made before the baseline is not listed; the new one with who holds it.
    assert len([c for c in found if c.startswith("Connection <- dict <- Holder")]) == 1, found
    assert not [c for c in found if "OldHolder" in c], found


def test_the_midway_reading_leaves_the_crowds_garbage_collectable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client's objects that are garbage by the middle of the crowd, in a cycle as a
    # Connection and its User are: the reading must not make them outlive the crowd.
    monkeypatch.setenv("IRCISH_SOAK_PROBE", str(tmp_path / "probe.jsonl"))
    gone = Connection()
    gone.self = gone  # type: ignore[attr-defined]
    alive = weakref.ref(gone)
    del gone
    try:
        dump_light(signal.SIGUSR2, None)
        gc.collect()
        assert alive() is None
    finally:
        gc.unfreeze()
    record = json.loads((tmp_path / "probe.jsonl").read_text())
    assert record["mid"] is True and record["types"]

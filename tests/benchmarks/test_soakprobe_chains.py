"""The soak probe names what keeps an object that should have gone with its client
(``benchmarks.soakprobe.chains``): the referrers, one step at a time."""

from __future__ import annotations

from benchmarks.soakprobe import chains


class Connection:  # named as the probe looks for it
    pass


class Holder:
    def __init__(self) -> None:
        self.kept: dict[str, Connection] = {}


def test_a_connection_made_since_the_baseline_is_shown_with_its_holders() -> None:
    before = Connection()
    base = {id(before)}
    holder = Holder()
    holder.kept["x"] = Connection()
    found = chains(base)
    # The one made before the baseline is not listed; the new one with who holds it.
    mine = [c for c in found if c.split(" <- ")[0] == "Connection"]
    assert len(mine) == 1, found
    assert mine[0].startswith("Connection <- dict <- Holder"), mine

"""The soak probe names what keeps an object that should have gone with its client
(``benchmarks.soakprobe.chains``): the referrers, one step at a time."""

from __future__ import annotations

from benchmarks.soakprobe import chains


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

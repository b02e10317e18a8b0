"""no-implicit-names: no NAMES burst after JOIN for a client that asked."""

from __future__ import annotations

from tests.core.helpers import Net, commands


def test_join_without_names_but_names_still_answers(net: Net) -> None:
    quiet = net.client("quiet", ["no-implicit-names"])
    other = net.client("other")
    other.send("JOIN #a", "TOPIC #a :hello")
    assert commands(quiet.send("JOIN #a")) == ["JOIN", "332", "333"]
    assert commands(quiet.send("NAMES #a")) == ["353", "366"]
    other.take()
    assert commands(other.send("JOIN #b")) == ["JOIN", "353", "366"]


def test_the_cap_is_offered_and_can_be_dropped(net: Net) -> None:
    c = net.client("c", ["no-implicit-names"])
    assert "no-implicit-names" in net.server.capabilities
    c.send("CAP REQ :-no-implicit-names")
    assert commands(c.send("JOIN #a")) == ["JOIN", "353", "366"]

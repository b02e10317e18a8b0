"""With a history store, REDACT's memory lets go of a channel message once its
sender has left, and REDACT finds the line in the store instead, under the same
rules (RESULTS.md section 23: what a departed crowd's messages kept in memory)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio

from ircish.redaction import feature
from ircish.redaction.feature import Redaction
from ircish.testing import RunningServer
from tests.history.conftest import with_history
from tests.ircclient import RawClient
from tests.redaction.test_redact import CAPS, sent
from tests.redaction.test_redact_history import history_texts

HISTORY_CAPS = [*CAPS, "batch", "server-time", "draft/chathistory"]


async def _joined(srv: RunningServer, nick: str, channel: str = "#room") -> RawClient:
    client = await RawClient.connect(srv.port)
    await client.register(nick, HISTORY_CAPS if srv.config.storage.url else CAPS)
    await client.send(f"JOIN {channel}")
    await client.expect("366")
    return client


async def _quit(client: RawClient, srv: RunningServer) -> None:
    nick = client.nick
    await client.send("QUIT :bye")
    await client.expect("ERROR")
    await client.aclose()
    with trio.fail_after(5):
        while srv.core.find_user(nick) is not None:
            await trio.sleep(0.01)


async def _fail(client: RawClient) -> list[str]:
    return (await client.expect("FAIL")).params[:4]


async def test_a_departed_senders_line_is_forgotten_then_found_in_the_store(
    make_server,
) -> None:
    async with make_server(with_history()) as srv:
        redaction: Redaction = srv.owner("redaction")
        alice = await _joined(srv, "alice")  # the channel's operator
        bob = await _joined(srv, "bob")
        carol = await _joined(srv, "carol")
        gone = await sent(bob, "PRIVMSG #room :bob was here")
        other = await sent(bob, "PRIVMSG #room :and here")
        kept = await sent(carol, "PRIVMSG #room :carol stays")
        await _quit(bob, srv)
        # Forgotten from memory with its sender; the one of who is still here is not.
        assert redaction.recent.get(gone) is None
        assert redaction.recent.get(other) is None
        assert redaction.recent.get(kept) is not None

        # Not an operator, not the sender: forbidden, as it was from memory.
        await carol.send(f"REDACT #room {gone}")
        assert await _fail(carol) == ["REDACT", "REDACT_FORBIDDEN", "#room", gone]
        # Someone new under the departed sender's nick is not the sender.
        bob2 = await _joined(srv, "bob")
        await bob2.send(f"REDACT #room {other}")
        assert await _fail(bob2) == ["REDACT", "REDACT_FORBIDDEN", "#room", other]
        # The operator may: everyone with the capability is told, the line leaves history.
        await alice.send(f"REDACT #room {gone} :spam")
        for c in (alice, carol, bob2):
            assert (await c.expect("REDACT")).params == ["#room", gone, "spam"]
        assert "bob was here" not in await history_texts(carol, "#room")
        # Once redacted it is not there to redact again; a made-up msgid never was.
        await alice.send(f"REDACT #room {gone}")
        assert await _fail(alice) == ["REDACT", "UNKNOWN_MSGID", "#room", gone]
        await alice.send("REDACT #room nosuchmsgid")
        assert await _fail(alice) == ["REDACT", "UNKNOWN_MSGID", "#room", "nosuchmsgid"]
        # The window holds for lines found in the store too.
        srv.app.core.clock = _later(srv.app.core.clock, srv.config.limits.redact_window + 1)
        await alice.send(f"REDACT #room {other}")
        assert await _fail(alice) == ["REDACT", "REDACT_WINDOW_EXPIRED", "#room", other]


@pytest.mark.parametrize("store", [True, False])
@pytest.mark.parametrize("sender_stays", [True, False])
async def test_the_lines_of_a_channel_made_again_are_not_found(
    make_server, store: bool, sender_stays: bool,
) -> None:
    async with make_server(with_history() if store else None) as srv:
        alice = await _joined(srv, "alice", "#tmp")
        bob = await _joined(srv, "bob", "#tmp")
        old = await sent(bob, "PRIVMSG #tmp :said in the first #tmp")
        if sender_stays:  # still remembered: the memory is swept at departures only
            await bob.send("PART #tmp")
            await bob.expect("PART")
        else:
            await _quit(bob, srv)
        await alice.send("PART #tmp")
        await alice.expect("PART")
        # A new #tmp, alice its operator: the first one's lines are not hers to redact.
        await alice.send("JOIN #tmp")
        await alice.expect("366")
        await alice.send(f"REDACT #tmp {old}")
        assert await _fail(alice) == ["REDACT", "UNKNOWN_MSGID", "#tmp", old]


async def test_a_senders_line_stays_in_memory_while_the_sender_is_here(make_server) -> None:
    async with make_server(with_history()) as srv:
        redaction: Redaction = srv.owner("redaction")
        alice = await _joined(srv, "alice")
        bob = await _joined(srv, "bob")
        mine = await sent(bob, "PRIVMSG #room :typo")
        carol = await _joined(srv, "carol")
        await _quit(carol, srv)  # a departure sweeps
        assert redaction.recent.get(mine) is not None
        # The sender (no account: known by this connection only) may redact it.
        await bob.send(f"REDACT #room {mine}")
        assert (await alice.expect("REDACT")).params == ["#room", mine]


async def test_a_departure_whose_sweep_was_put_off_is_swept_soon_after(
    make_server, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feature, "SWEEP_EVERY", 2)
    async with make_server(with_history()) as srv:
        redaction: Redaction = srv.owner("redaction")
        alice = await _joined(srv, "alice")
        bob = await _joined(srv, "bob")
        carol = await _joined(srv, "carol")
        await _joined(srv, "dave")
        line = await sent(bob, "PRIVMSG #room :the last to leave")
        await _quit(carol, srv)  # swept
        await _quit(bob, srv)  # within SWEEP_EVERY, the connections not halved: put off
        assert redaction.recent.get(line) is not None
        with trio.fail_after(3 * feature.SWEEP_EVERY):
            while redaction.recent.get(line) is not None:
                await trio.sleep(0.05)
        # Still redactable, from the store.
        await alice.send(f"REDACT #room {line}")
        assert (await alice.expect("REDACT")).params == ["#room", line]


def _later(clock: Callable[[], float], seconds: float) -> Callable[[], float]:
    return lambda: clock() + seconds


async def test_two_redacts_of_a_stored_line_at_once_redact_it_once(make_server) -> None:
    """Two operators redact a departed sender's line at the same moment: both store
    look-ups find the row, but the line is redacted once; the later one is told it
    is not there."""
    async with make_server(with_history()) as srv:
        alice = await _joined(srv, "alice")  # the channel's operator
        dave = await _joined(srv, "dave")
        await alice.send("MODE #room +o dave")
        await dave.expect("MODE")
        bob = await _joined(srv, "bob")
        carol = await _joined(srv, "carol")
        gone = await sent(bob, "PRIVMSG #room :bob was here")
        await _quit(bob, srv)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(alice.send, f"REDACT #room {gone} :alice")
            nursery.start_soon(dave.send, f"REDACT #room {gone} :dave")
        first = await carol.expect("REDACT")
        winner, loser = (alice, dave) if first.params[2] == "alice" else (dave, alice)
        assert await _fail(loser) == ["REDACT", "UNKNOWN_MSGID", "#room", gone]
        await carol.send("PING :after")
        await carol.expect("PONG")
        assert [m.params for m in carol.seen if m.command == "REDACT"] == [first.params]
        assert (await winner.expect("REDACT")).params == first.params

"""The protocol state machine without a network: lines in, lines out."""

from __future__ import annotations

from ircish.client.model import Buffers
from ircish.client.session import Identity, Session
from ircish.protocol import parse


def registered(caps: str = "") -> tuple[Session, list[str]]:
    sent: list[str] = []
    session = Session(Identity("ada"), Buffers("srv"), ["#lobby"])
    session.connection_made(sent.append)
    if caps:
        session.handle_line(f":srv CAP * LS :{caps}")
        session.handle_line(f":srv CAP * ACK :{caps}")
    for line in [
        ":srv 001 ada :Welcome",
        ":srv 005 ada PREFIX=(qaohv)~&@%+ CHANTYPES=# :are supported",
        ":ada!u@h JOIN #lobby",
        ":srv 353 ada = #lobby :~ada @+bob +carol dave",
        ":srv 366 ada #lobby :End",
    ]:
        session.handle_line(line)
    return session, sent


def test_registration_lines_and_multiline_cap_ls() -> None:
    sent: list[str] = []
    session = Session(Identity("ada", "adauser", "Ada L", password="pw"), Buffers(), [])
    session.connection_made(sent.append)
    assert sent == ["PASS pw", "CAP LS 302", "NICK ada", "USER adauser 0 * :Ada L"]
    session.handle_line(":srv CAP * LS * :server-time sasl")
    assert sent[-1] == "USER adauser 0 * :Ada L"  # waits for the last LS line
    session.handle_line(":srv CAP * LS :batch unknown/thing")
    assert sent[-1] == "CAP REQ :server-time batch"
    session.handle_line(":srv CAP * NAK :server-time batch")
    assert sent[-1] == "CAP END" and session.caps == set()


def test_cap_new_and_del_after_registration() -> None:
    session, sent = registered("cap-notify")
    session.handle_line(":srv CAP ada NEW :away-notify sasl")
    assert sent[-1] == "CAP REQ away-notify"
    session.handle_line(":srv CAP ada ACK :away-notify")
    assert "away-notify" in session.caps
    session.handle_line(":srv CAP ada DEL :away-notify")
    assert "away-notify" not in session.caps


def test_multi_prefix_names_and_mode_changes() -> None:
    session, _ = registered("multi-prefix")
    lobby = session.buffers.get("#lobby")
    assert lobby is not None
    assert {m.nick: m.prefixes for m in lobby.members.values()} == {
        "ada": "~",
        "bob": "@+",
        "carol": "+",
        "dave": "",
    }
    session.handle_line(":ada!u@h MODE #lobby -o+v-v+h bob dave carol dave")
    assert lobby.members["bob"].prefixes == "+"
    assert lobby.members["dave"].prefixes == "%+"
    assert lobby.members["carol"].prefixes == ""


def test_away_notify_marks_members() -> None:
    session, _ = registered("away-notify")
    lobby = session.buffers.get("#lobby")
    assert lobby is not None
    session.handle_line(":bob!u@h AWAY :gone fishing")
    assert lobby.members["bob"].away
    session.handle_line(":bob!u@h AWAY")
    assert not lobby.members["bob"].away


def test_nick_changes_follow_members_and_queries() -> None:
    session, _ = registered()
    session.handle_line(":bob!u@h PRIVMSG ada :hello")
    session.handle_line(":bob!u@h NICK robert")
    lobby = session.buffers.get("#lobby")
    assert lobby is not None and "robert" in lobby.members and "bob" not in lobby.members
    assert session.buffers.get("robert") is not None and session.buffers.get("bob") is None
    session.handle_line(":ada!u@h NICK ada2")
    assert session.nick == "ada2"


def test_kick_part_quit_and_statusmsg() -> None:
    session, _ = registered()
    lobby = session.buffers.get("#lobby")
    assert lobby is not None
    session.handle_line(":bob!u@h PRIVMSG @#lobby :ops only")
    assert lobby.lines[-1].text == "ops only"
    session.handle_line(":carol!u@h QUIT :bye")
    assert "carol" not in lobby.members and "has quit" in lobby.lines[-1].text
    session.handle_line(":bob!u@h KICK #lobby ada :out")
    assert not lobby.joined and lobby.members == {}
    assert lobby.lines[-1].text == "You were kicked from #lobby by bob (out)"


def test_ctcp_version_is_answered_and_formatting_stripped() -> None:
    session, sent = registered()
    session.handle_line(":bob!u@h PRIVMSG ada :\x01VERSION\x01")
    assert sent[-1].startswith("NOTICE bob :\x01VERSION ircish-client")
    session.handle_line(":bob!u@h PRIVMSG #lobby :\x02bold\x02 and \x0304red\x03")
    lobby = session.buffers.get("#lobby")
    assert lobby is not None and lobby.lines[-1].text == "bold and red"


def test_erroneous_nick_before_registration_falls_back() -> None:
    sent: list[str] = []
    session = Session(Identity("b@d"), Buffers(), [])
    session.connection_made(sent.append)
    session.handle_line(":srv 432 * b@d :Erroneous nickname")
    assert sent[-1].startswith("NICK guest")
    session.handle_line(f":srv 001 {session.nick} :Welcome")
    assert session.registered


def test_long_messages_are_split_below_the_line_limit() -> None:
    session, sent = registered()
    session.say("#lobby", "word " * 300)
    pieces = [line for line in sent if line.startswith("PRIVMSG #lobby")]
    assert len(pieces) > 1
    assert all(len(f":ada!ircish@{'h' * 63} {p}\r\n".encode()) <= 512 for p in pieces)


def test_replayed_messages_without_chathistory_are_history_not_unread() -> None:
    session, _ = registered("server-time message-tags")
    session.buffers.switch_to(session.buffers.server)
    session.handle_line(
        "@time=2020-01-01T10:00:00.000Z;msgid=r1 :bob!u@h PRIVMSG #lobby :from the past ada"
    )
    lobby = session.buffers.get("#lobby")
    assert lobby is not None
    assert lobby.lines[0].text == "from the past ada"  # placed by time, before the join
    assert lobby.unread == 0 and not lobby.mentioned
    session.handle_line(":bob!u@h PRIVMSG #lobby :live now")
    assert lobby.lines[-1].text == "live now" and lobby.unread == 1
    # the same message again (e.g. also fetched as history) is shown once
    session.handle_line("@time=2020-01-01T10:00:00.000Z;msgid=r1 :bob!u@h PRIVMSG #lobby :x")
    assert [line.msgid for line in lobby.lines].count("r1") == 1


def test_odd_lines_from_a_server_never_crash_the_client() -> None:
    session, _ = registered("batch server-time message-tags draft/chathistory multi-prefix")
    verbs = ["PRIVMSG", "NOTICE", "JOIN", "PART", "KICK", "QUIT", "NICK", "TOPIC", "MODE"]
    verbs += ["AWAY", "BATCH", "FAIL", "CAP", "332", "333", "353", "366", "305", "306", "311"]
    for verb in verbs:
        for params in ["", "#lobby", "ada", ":", "* :", "@#lobby :\x01", "+ov", "#lobby -o+b"]:
            for prefix in ["", ":srv ", ":bob!u@h ", "@batch=nope;time=bad :bob!u@h "]:
                session.handle_line(f"{prefix}{verb} {params}")
    session.handle(parse(":srv 005 ada CHATHISTORY=x PREFIX=(ov)@ :odd"))
    errors = [
        line.text for b in session.buffers.all for line in b.lines if "Could not" in line.text
    ]
    assert errors == []


def test_history_with_equal_timestamps_keeps_its_order() -> None:
    session, _ = registered("batch server-time message-tags draft/chathistory")
    stamp = "@time=2026-01-01T10:00:00.000Z"
    for ref, numbers in (("a", (3, 4)), ("b", (1, 2))):
        session.handle_line(f":srv BATCH +{ref} chathistory #lobby")
        for n in numbers:
            session.handle_line(f"{stamp};batch={ref};msgid=m{n} :bob!u@h PRIVMSG #lobby :{n}")
        session.handle_line(f":srv BATCH -{ref}")
    lobby = session.buffers.get("#lobby")
    assert lobby is not None
    assert [line.text for line in lobby.lines if line.kind == "message"] == ["1", "2", "3", "4"]

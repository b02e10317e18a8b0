"""draft/multiline without sockets: the batch, its delivery, its limits and errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ircish.core import events
from ircish.core.chathistory import send_history
from ircish.core.filters import Reject
from ircish.core.multiline import combine, split
from ircish.history.records import HistoryRecord
from ircish.multiline.feature import multiline_extension
from ircish.protocol import Message
from tests.core.helpers import Client, Net, every, make_server

CAP = "draft/multiline"
CONCAT = "draft/multiline-concat"
BASE = ["message-tags", "batch", "echo-message", "server-time", "labeled-response"]
WITH = [*BASE, CAP]


def multiline_net(tmp_path: Path, limits: dict[str, Any] | None = None,
                  seen: list[events.Event] | None = None) -> Net:
    overrides = {"limits": limits} if limits else None
    emit: Callable[[events.Event], None] = seen.append if seen is not None else (lambda e: None)
    server = make_server(tmp_path, overrides, emit=emit)
    server.install(multiline_extension(server))
    return Net(server)


@pytest.fixture
def mnet(tmp_path: Path) -> Net:
    return multiline_net(tmp_path)


def trio_in(net: Net, channel: str = "#test") -> tuple[Client, Client, Client]:
    alice = net.client("alice", WITH)
    bob = net.client("bob", WITH)
    carol = net.client("carol", BASE)
    net.joined(channel, alice, bob, carol)
    return alice, bob, carol


EXAMPLE = [
    "@batch=r1 PRIVMSG #test hello",
    "@batch=r1 PRIVMSG #test :",
    "@batch=r1 PRIVMSG #test :how is ",
    f"@batch=r1;{CONCAT} PRIVMSG #test :everyone?",
]


def fails(msgs: list[Message]) -> list[list[str]]:
    return [m.params[:-1] for m in every(msgs, "FAIL")]


def test_the_capability_says_the_limits_from_the_config(tmp_path: Path) -> None:
    net = multiline_net(tmp_path, {"multiline_max_bytes": 1000, "multiline_max_lines": 7})
    client = net.raw_client()
    ls = " ".join(m.params[-1] for m in client.send("CAP LS 302"))
    assert f"{CAP}=max-bytes=1000,max-lines=7" in ls.split()


def test_nothing_is_delivered_before_the_batch_ends(mnet: Net) -> None:
    alice, bob, carol = trio_in(mnet)
    assert alice.send("BATCH +r1 draft/multiline #test", *EXAMPLE) == []
    assert bob.take() == [] and carol.take() == []


def test_one_batch_with_one_msgid_to_clients_with_the_capability(mnet: Net) -> None:
    alice, bob, _ = trio_in(mnet)
    alice.send("BATCH +r1 draft/multiline #test", *EXAMPLE, "BATCH -r1")
    got = bob.take()
    start, inner, end = got[0], got[1:-1], got[-1]
    assert start.command == "BATCH" and start.params[1:] == ["draft/multiline", "#test"]
    assert start.source == alice.user.source
    ref = start.params[0][1:]
    assert end.params == ["-" + ref]
    assert start.tags["msgid"] and start.tags["time"]
    assert [m.params for m in inner] == [["#test", "hello"], ["#test", ""],
                                         ["#test", "how is "], ["#test", "everyone?"]]
    assert all(m.tags.get("batch") == ref and "msgid" not in m.tags for m in inner)
    assert [CONCAT in m.tags for m in inner] == [False, False, False, True]


def test_others_get_the_lines_without_blank_ones_and_the_msgid_on_the_first(mnet: Net) -> None:
    alice, bob, carol = trio_in(mnet)
    alice.send("BATCH +r1 draft/multiline #test", *EXAMPLE, "BATCH -r1")
    msgid = bob.take()[0].tags["msgid"]
    got = carol.take()
    assert [(m.command, m.params) for m in got] == [
        ("PRIVMSG", ["#test", "hello"]), ("PRIVMSG", ["#test", "how is "]),
        ("PRIVMSG", ["#test", "everyone?"])]
    assert [m.tags.get("msgid") for m in got] == [msgid, None, None]
    assert len({m.tags["time"] for m in got}) == 1
    assert not any(CONCAT in m.tags or "batch" in m.tags for m in got)


def test_the_labeled_echo_is_the_batch_with_the_label_on_its_first_line(mnet: Net) -> None:
    alice, bob, _ = trio_in(mnet)
    alice.send("@label=xyz BATCH +r1 draft/multiline #test", *EXAMPLE)
    got = alice.send("BATCH -r1")
    assert got[0].command == "BATCH" and got[0].params[1] == "draft/multiline"
    assert got[0].tags["label"] == "xyz"
    assert got[0].tags["msgid"] == bob.take()[0].tags["msgid"]
    assert [m.command for m in got] == ["BATCH", *["PRIVMSG"] * 4, "BATCH"]
    assert not any("label" in m.tags for m in got[1:])


def test_a_labeled_echo_with_another_reply_nests_in_a_labeled_response_batch(
        mnet: Net) -> None:
    alice = mnet.client("alice", WITH)
    bob = mnet.client("bob", WITH)
    bob.send("AWAY :lunch")
    alice.send("@label=q BATCH +r1 draft/multiline bob", "@batch=r1 PRIVMSG bob :one",
               "@batch=r1 PRIVMSG bob :two")
    got = alice.send("BATCH -r1")
    outer = got[0]
    assert outer.params[1] == "labeled-response" and outer.tags["label"] == "q"
    ref = outer.params[0][1:]
    assert [m.command for m in got[1:]] == ["301", "BATCH", "PRIVMSG", "PRIVMSG", "BATCH",
                                            "BATCH"]
    inner_ref = got[2].params[0][1:]
    assert got[2].tags["batch"] == ref and got[2].params[1] == "draft/multiline"
    assert [m.tags["batch"] for m in got[3:5]] == [inner_ref] * 2
    assert got[5].tags["batch"] == ref and got[6].params == ["-" + ref]


def test_client_tags_of_the_batch_line_go_on_the_batch_and_every_fallback_line(
        mnet: Net) -> None:
    alice, bob, carol = trio_in(mnet)
    alice.send("@+draft/reply=abc BATCH +r1 draft/multiline #test",
               "@batch=r1 PRIVMSG #test :one", "@batch=r1 PRIVMSG #test :two", "BATCH -r1")
    assert bob.take()[0].tags["+draft/reply"] == "abc"
    assert [m.tags.get("+draft/reply") for m in carol.take()] == ["abc", "abc"]


def test_a_private_batch_tells_the_sender_of_away_once(mnet: Net) -> None:
    alice = mnet.client("alice", WITH)
    bob = mnet.client("bob", BASE)
    bob.send("AWAY :lunch")
    got = alice.send("BATCH +r1 draft/multiline Bob", "@batch=r1 PRIVMSG Bob :one",
                     "@batch=r1 PRIVMSG bob :two", "BATCH -r1")
    assert [m.params[1:] for m in every(got, "301")] == [["bob", "lunch"]]
    assert [m.params for m in bob.take()] == [["bob", "one"], ["bob", "two"]]


@pytest.mark.parametrize("setup, numeric", [
    ("MODE #test +m", "404"),
    ("MODE #test +b dave!*@*", "404"),
])
def test_the_channel_rules_refuse_the_whole_batch_once(
        mnet: Net, setup: str, numeric: str) -> None:
    op = mnet.client("op", WITH)
    dave = mnet.client("dave", WITH)
    mnet.joined("#test", op, dave)
    op.send(setup)
    dave.take()
    got = dave.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :one",
                    "@batch=r1 PRIVMSG #test :two", "BATCH -r1")
    assert [m.command for m in got] == [numeric]
    assert op.take() == []


def test_outside_a_no_external_channel_and_to_nobody(mnet: Net) -> None:
    member = mnet.client("member", WITH)
    mnet.joined("#test", member)
    outsider = mnet.client("outsider", WITH)
    lines = ["@batch=r1 PRIVMSG {0} :one", "@batch=r1 PRIVMSG {0} :two", "BATCH -r1"]
    got = outsider.send("BATCH +r1 draft/multiline #test", *[t.format("#test") for t in lines])
    assert [m.command for m in got] == ["404"]
    got = outsider.send("BATCH +r1 draft/multiline nobody", *[t.format("nobody") for t in lines])
    assert [m.command for m in got] == ["401"]
    assert member.take() == []


def test_statusmsg_reaches_only_the_operators(mnet: Net) -> None:
    op = mnet.client("op", WITH)
    plain = mnet.client("plain", BASE)
    sender = mnet.client("sender", WITH)
    mnet.joined("#test", op, plain, sender)
    sender.send("BATCH +r1 draft/multiline @#test", "@batch=r1 PRIVMSG @#test :one",
                "BATCH -r1")
    got = op.take()
    assert got[0].params[1:] == ["draft/multiline", "@#test"] and got[1].params == [
        "@#test", "one"]
    assert plain.take() == []


def test_one_event_with_the_combined_text_and_the_concat_offsets(tmp_path: Path) -> None:
    seen: list[events.Event] = []
    net = multiline_net(tmp_path, seen=seen)
    alice, bob, _ = trio_in(net)
    seen.clear()
    alice.send("BATCH +r1 draft/multiline #test", *EXAMPLE, "BATCH -r1")
    messages = [e for e in seen if isinstance(e, events.MessageEvent)]
    assert len(messages) == 1
    event = messages[0]
    assert event.text == "hello\n\nhow is everyone?"
    assert event.concat == (len("hello\n\nhow is "),)
    assert event.msgid == bob.take()[0].tags["msgid"]
    assert split(event.text, event.concat) == [
        ("hello", False), ("", False), ("how is ", False), ("everyone?", True)]


def test_filters_see_one_message_and_decide_for_all_of_it(mnet: Net) -> None:
    seen: list[str] = []

    def refuse_secrets(sender: object, verb: str, target: str, text: str) -> Reject | str | None:
        seen.append(text)
        if "secret" in text:
            return Reject("no secrets")
        return text.replace("darn", "****") if "darn" in text else None

    mnet.server.message_filters += (refuse_secrets,)
    alice, bob, carol = trio_in(mnet)
    got = alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :a",
                     "@batch=r1 PRIVMSG #test :secret", "BATCH -r1")
    assert seen == ["a\nsecret"]
    assert [m.command for m in got] == ["404"] and "no secrets" in got[0].params[-1]
    assert bob.take() == [] and carol.take() == []
    alice.send("BATCH +r2 draft/multiline #test", "@batch=r2 PRIVMSG #test :oh",
               "@batch=r2 PRIVMSG #test :darn", "BATCH -r2")
    assert [m.params[1] for m in carol.take()] == ["oh", "****"]


def test_bot_and_account_tags_go_on_the_batch_line(mnet: Net) -> None:
    alice, bob, carol = trio_in(mnet)
    alice.user.account = "alice"
    alice.send("MODE alice +B")
    bob.send("CAP REQ account-tag")
    carol.send("CAP REQ account-tag")
    alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :hi",
               "@batch=r1 PRIVMSG #test :there", "BATCH -r1")
    start = bob.take()[0]
    assert start.tags["account"] == "alice" and "bot" in start.tags
    assert [("bot" in m.tags, m.tags.get("account")) for m in carol.take()] == [
        (True, "alice"), (True, "alice")]


def test_a_fallback_line_is_cut_to_fit_one_line(mnet: Net) -> None:
    alice = mnet.client("alice" + "x" * 20, WITH, username="u" * 10, host="h" * 60)
    carol = mnet.client("carol", BASE)
    mnet.joined("#test", alice, carol)
    alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :" + "y" * 440,
               "@batch=r1 PRIVMSG #test :end", "BATCH -r1")
    for line in carol.raw():
        assert len(line.split(" ", 1)[1].encode()) + 2 <= 512  # tags aside


def test_ping_inside_a_batch_passes(mnet: Net) -> None:
    alice, bob, _ = trio_in(mnet)
    got = alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :one",
                     "PING x", "@batch=r1 PRIVMSG #test :two", "BATCH -r1")
    assert "PONG" in [m.command for m in got] and fails(got) == []
    assert len(bob.take()) == 4


# ---- limits ---------------------------------------------------------------------------


def test_max_bytes_counts_texts_and_joining_line_feeds(tmp_path: Path) -> None:
    net = multiline_net(tmp_path, {"multiline_max_bytes": 10})
    alice, bob, _ = trio_in(net)
    # 4 + 1 + 5 = 10 bytes: at the limit.
    alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :abcd",
               "@batch=r1 PRIVMSG #test :efghi", "BATCH -r1")
    assert len(bob.take()) == 4
    # A concat line adds no line feed: 4 + 6 = 10.
    alice.send("BATCH +r2 draft/multiline #test", "@batch=r2 PRIVMSG #test :abcd",
               f"@batch=r2;{CONCAT} PRIVMSG #test :efghij", "BATCH -r2")
    assert len(bob.take()) == 4
    got = alice.send("BATCH +r3 draft/multiline #test", "@batch=r3 PRIVMSG #test :abcd",
                     "@batch=r3 PRIVMSG #test :efghij")
    assert fails(got) == [["BATCH", "MULTILINE_MAX_BYTES", "10"]]
    assert alice.send("BATCH -r3") == [] and bob.take() == []


def test_max_lines_counts_every_line(tmp_path: Path) -> None:
    net = multiline_net(tmp_path, {"multiline_max_lines": 3})
    alice, bob, _ = trio_in(net)
    got = alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :a",
                     f"@batch=r1;{CONCAT} PRIVMSG #test :b", "@batch=r1 PRIVMSG #test :",
                     "@batch=r1 PRIVMSG #test :d")
    assert fails(got) == [["BATCH", "MULTILINE_MAX_LINES", "3"]]
    # The rest of the refused batch is dropped without another word.
    assert alice.send("@batch=r1 PRIVMSG #test :e", "BATCH -r1") == []
    assert bob.take() == []


def test_the_default_limits(mnet: Net) -> None:
    alice, _, _ = trio_in(mnet)
    alice.send("BATCH +r1 draft/multiline #test")
    got = alice.send(*["@batch=r1 PRIVMSG #test :hi"] * 33)
    assert fails(got) == [["BATCH", "MULTILINE_MAX_LINES", "32"]]
    alice.send("BATCH -r1", "BATCH +r2 draft/multiline #test")
    got = alice.send(*["@batch=r2 PRIVMSG #test :" + "x" * 400] * 11)
    assert fails(got) == [["BATCH", "MULTILINE_MAX_BYTES", "4096"]]


# ---- invalid batches --------------------------------------------------------------------


def test_a_line_to_another_target_is_multiline_invalid_target(mnet: Net) -> None:
    alice, bob, _ = trio_in(mnet)
    got = alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :a",
                     "@batch=r1 PRIVMSG #other :b", "BATCH -r1")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID_TARGET", "#test", "#other"]]
    assert bob.take() == []


@pytest.mark.parametrize("lines, why", [
    (["@batch=r1 PRIVMSG #test :a", "@batch=r1 NOTICE #test :b"], "mixed"),
    (["@batch=r1 PRIVMSG #test :a", f"@batch=r1;{CONCAT} PRIVMSG #test :"], "blank concat"),
    (["@batch=r1 PRIVMSG #test :", "@batch=r1 PRIVMSG #test :"], "blank only"),
    ([], "empty"),
    (["@batch=r2 PRIVMSG #test :a"], "wrong tag"),
    (["@batch=r1 PRIVMSG #test"], "no text"),
    (["@batch=r1 PRIVMSG #test :a", "@batch=r1 BATCH +r2 draft/multiline #test"], "nested"),
    (["@batch=r1 PRIVMSG #test :a", "BATCH +r2 draft/multiline #test"], "second open"),
])
def test_invalid_batches_are_multiline_invalid(mnet: Net, lines: list[str], why: str) -> None:
    alice, bob, carol = trio_in(mnet)
    got = alice.send("BATCH +r1 draft/multiline #test", *lines, "BATCH -r1")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID"]], why
    assert bob.take() == [] and carol.take() == []
    # And the connection goes on as usual.
    alice.send("PRIVMSG #test :after")
    assert [m.params for m in bob.take()] == [["#test", "after"]]


def test_a_line_outside_the_batch_ends_it_and_is_delivered_itself(mnet: Net) -> None:
    alice, bob, _ = trio_in(mnet)
    got = alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :a",
                     "PRIVMSG #test :plain")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID"]]
    assert [m.params for m in bob.take()] == [["#test", "plain"]]


def test_another_command_ends_the_batch_and_runs(mnet: Net) -> None:
    alice, bob, _ = trio_in(mnet)
    got = alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :a",
                     "JOIN #elsewhere")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID"]]
    assert "JOIN" in [m.command for m in got]
    assert alice.send("@batch=r1 PRIVMSG #test :b", "BATCH -r1") == []
    assert bob.take() == []


def test_quit_with_an_open_batch_delivers_nothing(mnet: Net) -> None:
    alice, bob, carol = trio_in(mnet)
    got = alice.send("BATCH +r1 draft/multiline #test", "@batch=r1 PRIVMSG #test :a",
                     "QUIT :bye")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID"]]
    assert [m.command for m in bob.take()] == ["QUIT"]
    assert [m.command for m in carol.take()] == ["QUIT"]


def test_batch_errors_of_the_client_batch_framework(mnet: Net) -> None:
    alice, bob, _ = trio_in(mnet)
    got = alice.send("BATCH +r1 other/type #test")
    assert fails(got) == [["BATCH", "UNKNOWN_TYPE", "r1", "other/type"]]
    assert alice.send("@batch=r1 PRIVMSG #test :a", "BATCH -r1") == []
    got = alice.send("BATCH +bad!ref draft/multiline #test")
    assert fails(got) == [["BATCH", "INVALID_REFTAG", "+bad!ref"]]
    got = alice.send("BATCH -nothing")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID"]]
    got = alice.send("BATCH +r2 draft/multiline #a,#b")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID"]]
    assert [m.command for m in alice.send("BATCH +r3")] == ["461"]
    assert bob.take() == []


def test_without_the_capability_a_batch_is_refused(mnet: Net) -> None:
    carol = mnet.client("carol", BASE)
    got = carol.send("BATCH +r1 draft/multiline #test")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID"]]


def test_a_batched_line_with_no_batch_open_is_refused(mnet: Net) -> None:
    alice, bob, _ = trio_in(mnet)
    got = alice.send("@batch=zz PRIVMSG #test :stray")
    assert fails(got) == [["BATCH", "MULTILINE_INVALID"]]
    assert bob.take() == []


def test_a_labeled_batch_that_fails_answers_its_label(mnet: Net) -> None:
    alice, _, _ = trio_in(mnet)
    alice.send("@label=L1 BATCH +r1 draft/multiline #test")
    got = alice.send("@batch=r1 PRIVMSG #test :a", "@batch=r1 PRIVMSG #other :b")
    assert [(m.command, m.tags.get("label")) for m in got] == [("FAIL", "L1")]


# ---- the stored form and CHATHISTORY ----------------------------------------------------


def test_combine_and_split_are_inverse() -> None:
    lines = [("a", False), ("", False), ("bc ", False), ("de", True), ("f", True), ("g", False)]
    text, offsets = combine(lines)
    assert text == "a\n\nbc def\ng"
    assert split(text, offsets) == lines
    # A damaged offset never cuts where no line began a concat.
    assert split("ab\ncd", (99, 0, 3)) == [("ab", False), ("cd", False)]


def record(text: str, tags: dict[str, str]) -> HistoryRecord:
    return HistoryRecord(id=1, msgid="m1", micros=1_700_000_000_000_000, kind="PRIVMSG",
                         source="alice!a@h", account=None, target="#test", param=None,
                         text=text, tags=tags)


def test_chathistory_nests_a_multiline_batch_for_clients_with_the_capability(
        mnet: Net) -> None:
    bob = mnet.client("bob", WITH)
    stored = record("hello\n\nhow is everyone?",
                    {"draft/multiline-concat": "14", "+draft/reply": "x"})
    send_history(mnet.server, bob.user, "#test", [stored])
    got = bob.take()
    outer = got[0].params[0][1:]
    assert got[0].params[1] == "chathistory"
    start = got[1]
    assert start.params[1:] == ["draft/multiline", "#test"] and start.tags["batch"] == outer
    assert start.tags["msgid"] == "m1" and start.tags["+draft/reply"] == "x"
    assert "draft/multiline-concat" not in start.tags
    inner = start.params[0][1:]
    assert [(m.params[1], CONCAT in m.tags, m.tags["batch"]) for m in got[2:6]] == [
        ("hello", False, inner), ("", False, inner), ("how is ", False, inner),
        ("everyone?", True, inner)]
    assert got[6].params == ["-" + inner] and got[6].tags["batch"] == outer
    assert got[7].params == ["-" + outer]


def test_chathistory_gives_the_lines_to_clients_without_it(mnet: Net) -> None:
    carol = mnet.client("carol", BASE)
    send_history(mnet.server, carol.user, "#test",
                 [record("hello\n\nhow is everyone?", {"draft/multiline-concat": "14"})])
    got = carol.take()[1:-1]
    assert [(m.params[1], m.tags.get("msgid")) for m in got] == [
        ("hello", "m1"), ("how is ", None), ("everyone?", None)]
    assert not any(k.startswith("draft/multiline") for m in got for k in m.tags)

"""A STATUSMSG (@#chan) is not kept in the channel's history: CHATHISTORY would show
it to every member, the ones it was not sent to too."""

from __future__ import annotations

from pathlib import Path

from ircish.core import events
from ircish.history.admission import wanted
from tests.core.helpers import Net, make_server


def test_a_statusmsg_is_delivered_but_not_stored(tmp_path: Path) -> None:
    seen: list[events.Event] = []
    net = Net(make_server(tmp_path, {"channels": {"auto_join": []}}, emit=seen.append))
    op, member = net.client("op"), net.client("member")
    net.joined("#c", op, member)
    op.send("PRIVMSG @#c :ops only", "PRIVMSG #c :everyone")
    said = [e for e in seen if type(e) is events.MessageEvent]
    assert [(e.text, e.status) for e in said] == [("ops only", "@"), ("everyone", "")]
    assert [wanted(e, frozenset()) for e in said] == [False, True]

"""Event builders for store tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from ircish.core.events import ChannelStateEvent, JoinEvent, MessageEvent

BASE = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
_ids = itertools.count(1)


def at(us: int) -> datetime:
    return BASE + timedelta(microseconds=us)


def msg(
    text: str,
    *,
    target: str = "#chan",
    nick: str = "alice",
    when: datetime | None = None,
    msgid: str | None = None,
    account: str | None = None,
    command: str = "PRIVMSG",
    tags: dict[str, str] | None = None,
    session: str | None = None,
    recipient_session: str | None = None,
    recipient_account: str | None = None,
) -> MessageEvent:
    return MessageEvent(
        msgid=msgid or f"m{next(_ids)}",
        time=when or datetime.now(UTC),
        command=command,  # type: ignore[arg-type]
        source=f"{nick}!{nick}@host",
        nick=nick,
        account=account,
        target=target,
        is_channel=target.startswith("#"),
        text=text,
        tags=tags or {},
        recipient_account=recipient_account,
        session=session,
        recipient_session=recipient_session,
    )


def join(nick: str, channel: str = "#chan", when: datetime | None = None) -> JoinEvent:
    return JoinEvent(
        msgid=f"j{next(_ids)}",
        time=when or datetime.now(UTC),
        source=f"{nick}!{nick}@host",
        nick=nick,
        account=None,
        channel=channel,
    )


def chan_state(
    channel: str = "#keep", *, persistent: bool = True, topic: str = "hello"
) -> ChannelStateEvent:
    return ChannelStateEvent(
        channel=channel,
        topic=topic,
        topic_setter="op!op@host",
        topic_time=BASE,
        modes="+ntP",
        key="sekrit",
        limit=20,
        bans=(("*!*@bad", "op!op@host", BASE), ("x!*@*", "op!op@host", at(5))),
        persistent=persistent,
    )

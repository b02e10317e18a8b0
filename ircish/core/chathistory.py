"""IRCv3 ``draft/chathistory``: the pure half (parsing, access, formatting).

The CHATHISTORY command is parsed and checked here against the core's state;
the query itself runs in the history store off the Trio thread, and its
records come back through ``send_history`` / ``send_targets``. Nothing here
imports the store: records are anything with the ``StoredLine`` attributes.

Replies follow the spec: one ``chathistory`` batch per request (empty when there
is nothing to show), ``draft/chathistory-targets`` for TARGETS, and errors as
``FAIL CHATHISTORY <code> ...`` standard replies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from ircish.core import events
from ircish.core.lines import format_time
from ircish.core.multiline import is_stored_multiline, stored_lines
from ircish.core.replies import batch_lines, new_batch_id, server_line
from ircish.core.state import TAG_ACCOUNT, TAG_EXTENDED_JOIN, TAG_MESSAGE_TAGS, TAG_SERVER_TIME
from ircish.protocol.message import format_line
from ircish.protocol.numbers import parse_decimal

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.protocol import Message

CAP = "draft/chathistory"
EVENT_PLAYBACK_CAP = "draft/event-playback"
SUBCOMMANDS = frozenset({"LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"})
# The kinds of stored lines: messages, and channel events only replayed to clients
# that negotiated draft/event-playback (and read by plugins).
MESSAGE_KINDS = frozenset({"PRIVMSG", "NOTICE"})
PLAYBACK_KINDS = MESSAGE_KINDS | {"TAGMSG", "JOIN", "PART", "KICK", "QUIT", "NICK", "TOPIC"}


# ("msgid", "abc") or ("timestamp", micros); None stands for LATEST's "*". The one
# reference type, from the parser to the query.
Ref = tuple[Literal["msgid"], str] | tuple[Literal["timestamp"], int]


class StoredLine(Protocol):
    """What the core needs of a stored line to send it again."""

    msgid: str
    micros: int
    kind: str
    source: str
    account: str | None  # the sender's at the time
    target: str
    param: str | None
    text: str  # a JOIN's: the joiner's realname
    tags: dict[str, str]


class TargetLine(Protocol):
    name: str
    micros: int


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: private history is shown only to its parties.

    A private line is shown to a viewer whose account is a party's account at
    send time, or whose ``session`` (one connection's ``User.session``) is the
    sender's or the recipient's. A nick alone never shows anything: whoever
    registers a departed user's nick is somebody else.
    """

    nick: str
    account: str | None = None
    session: str | None = None


# Plugins read with no account and no session: a party to no private conversation.
NOBODY = Viewer("*")


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """One history question, built once (by ``parse_request`` for a client) and sent
    as it is to the history worker, whose ``queries.answer`` answers it.

    Besides the client's subcommands, plugins' ``api.history`` asks two more:
    COUNT (lines after refs[0], and before refs[1] if given, at most ``limit``)
    NICK (among the ``window`` lines of a channel before the timestamp refs[0],
    the newest ``limit`` whose nick matches ``nick_like``) and ACCOUNT (the same,
    for the lines of whoever was logged in to ``account``); REDACT asks MSGID (the line refs[0]
    names, if the target has it).
    """

    sub: str
    target: str  # "*" for TARGETS
    refs: tuple[Ref | None, ...]
    limit: int
    kinds: frozenset[str]
    # The first microsecond of the target's history a client may see (see
    # ``history_epoch``); None: all of it. Every subcommand applies it alike.
    since: int | None = None
    viewer: Viewer = NOBODY
    # TARGETS: the channels the viewer may list (those joined), each with its epoch.
    channels: tuple[tuple[str, int | None], ...] = ()
    # NICK: how many lines back to look, and the LIKE pattern of the nick.
    window: int = 0
    nick_like: str = ""
    # ACCOUNT: the account whose lines are wanted.
    account: str = ""


def viewer_of(user: User) -> Viewer:
    return Viewer(user.nick, user.account, user.session)


# ---- parsing -----------------------------------------------------------------------


def parse_timestamp(text: str) -> int | None:
    """``YYYY-MM-DDThh:mm:ss.sssZ`` (any ISO 8601 with a zone) to µs since the epoch."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return events.micros_of(when)


def parse_ref(token: str) -> Ref | None:
    kind, sep, value = token.partition("=")
    if not sep or not value:
        return None
    if kind == "msgid":
        return ("msgid", value)
    if kind == "timestamp":
        micros = parse_timestamp(value)
        return None if micros is None else ("timestamp", micros)
    return None


def parse_request(
    server: Server, user: User, msg: Message, max_limit: int
) -> HistoryRequest | None:
    """The request, or None after sending the FAIL that says what is wrong."""
    params = msg.params
    sub = params[0].upper() if params else ""
    if not sub:
        server.fail(user, "CHATHISTORY", "NEED_MORE_PARAMS", "*", "Missing parameters")
        return None
    if sub not in SUBCOMMANDS:
        server.fail(user, "CHATHISTORY", "UNKNOWN_COMMAND", params[0], "Unknown command")
        return None
    needed = 5 if sub == "BETWEEN" else 4
    if len(params) < needed:
        server.fail(user, "CHATHISTORY", "NEED_MORE_PARAMS", sub, "Missing parameters")
        return None
    raw_limit = params[needed - 1]
    requested = parse_decimal(raw_limit, minimum=1)
    if requested is None:
        server.fail(
            user,
            "CHATHISTORY",
            "INVALID_PARAMS",
            sub,
            raw_limit,
            "The limit must be a positive number",
        )
        return None
    limit = min(requested, max_limit) if max_limit else requested
    kinds = PLAYBACK_KINDS if EVENT_PLAYBACK_CAP in user.caps else MESSAGE_KINDS
    if sub == "TARGETS":
        refs = tuple(parse_ref(p) for p in params[1:3])
        if any(r is None or r[0] != "timestamp" for r in refs):
            server.fail(
                user,
                "CHATHISTORY",
                "INVALID_PARAMS",
                sub,
                "TARGETS takes two timestamp= references",
            )
            return None
        channels = tuple(
            (c.name, history_epoch(server, c)) for c in list(user.channels.values())
        )
        (_, t1), (_, t2) = refs  # type: ignore[misc]
        lo, hi = sorted((t1, t2))
        refs = (("timestamp", min(_after_millisecond(lo), hi)), ("timestamp", hi))
        return HistoryRequest(sub, "*", refs, limit, MESSAGE_KINDS, None, viewer_of(user),
                              channels)
    target = params[1]
    tokens = params[2 : needed - 1]
    refs_list: list[Ref | None] = []
    for token in tokens:
        if sub == "LATEST" and token == "*":
            refs_list.append(None)
            continue
        ref = parse_ref(token)
        if ref is None:
            server.fail(
                user,
                "CHATHISTORY",
                "INVALID_PARAMS",
                sub,
                token,
                "A reference is msgid=<id> or timestamp=<YYYY-MM-DDThh:mm:ss.sssZ>",
            )
            return None
        refs_list.append(ref)
    channel = server.find_channel(target) if target.startswith("#") else None
    since = None if channel is None else history_epoch(server, channel)
    refs = _widen(sub, tuple(refs_list))
    return HistoryRequest(sub, target, refs, limit, kinds, since, viewer_of(user))


def _after_millisecond(micros: int) -> int:
    """A client's timestamp as the lower bound of "after it": time tags go out to the
    millisecond while lines are stored to the microsecond, so ``timestamp=`` copied
    from a line's tag means that line's whole millisecond, and "after" starts past
    it (a finer timestamp is taken as it is)."""
    return micros + 999 if micros % 1000 == 0 else micros


def _widen(sub: str, refs: tuple[Ref | None, ...]) -> tuple[Ref | None, ...]:
    """The references whose lines must come after them, moved past their millisecond."""
    first = refs[0] if refs else None
    if sub in ("LATEST", "AFTER") and first is not None and first[0] == "timestamp":
        return (("timestamp", _after_millisecond(first[1])), *refs[1:])
    if sub == "BETWEEN" and all(r is not None and r[0] == "timestamp" for r in refs):
        (_, t1), (_, t2) = refs  # type: ignore[misc]
        # Never past the other end: the store reads the direction from the order.
        if t1 <= t2:
            return (("timestamp", min(_after_millisecond(t1), t2)), ("timestamp", t2))
        return (("timestamp", t1), ("timestamp", min(_after_millisecond(t2), t1)))
    return refs


# ---- access ------------------------------------------------------------------------


def history_epoch(server: Server, channel: Channel) -> int | None:
    """Where ``channel``'s history starts for clients and plugins (µs), None: no start.

    History is stored by name, but a channel that is not persistent (auto_join,
    ``+P``) is a new channel each time it is created: its new members, and its new
    operator above all, must not read what its earlier members said (a ``+s``
    channel's lines least of all). The time uses the same conversion as the
    stored lines (``Server.micros``), so the creator's JOIN, stamped after
    ``created``, is never before it.
    """
    if channel.persistent:
        return None
    return server.micros(channel.created)


def may_read(server: Server, user: User, target: str) -> bool:
    """Whether ``user`` may read ``target``'s history at all.

    A channel's history is for its members (and operators): someone outside
    reads nothing, even of a public channel, as on Ergo and as irctest's
    chathistory tests expect (INVALID_TARGET). Private history is always
    allowed to ask for: the store only ever returns the asker's own
    conversations.
    """
    if not target.startswith("#"):
        return bool(target) and target != "*"
    channel = server.find_channel(target)
    if channel is None:
        return False
    return channel.key in user.channels or user.oper


def invalid_target(server: Server, user: User, request: HistoryRequest) -> None:
    server.fail(
        user,
        "CHATHISTORY",
        "INVALID_TARGET",
        request.sub,
        request.target,
        "Messages could not be retrieved",
    )


def message_error(server: Server, user: User, request: HistoryRequest) -> None:
    server.fail(
        user,
        "CHATHISTORY",
        "MESSAGE_ERROR",
        request.sub,
        request.target,
        "Messages could not be retrieved",
    )


# ---- formatting --------------------------------------------------------------------



ACTION = "\x01ACTION "


def stamp_text(text: str, micros: int, now_micros: int) -> str:
    """``text`` after its time, ``[12:34] `` in the server's local time (with the date
    if it was not said today), for a replay to a client without ``server-time``."""
    when = datetime.fromtimestamp(micros / 1_000_000)
    today = datetime.fromtimestamp(now_micros / 1_000_000).date()
    stamp = when.strftime("%H:%M") if when.date() == today else when.strftime("%Y-%m-%d %H:%M")
    if text.startswith(ACTION):  # inside the CTCP, so "* nick [12:34] waves"
        return f"{ACTION}[{stamp}] {text[len(ACTION):]}"
    return f"[{stamp}] {text}"


def line_params(line: StoredLine, extended: bool = False) -> list[str]:
    """The parameters of a stored line; ``extended``: a JOIN in its extended-join form."""
    kind = line.kind
    if kind in ("PRIVMSG", "NOTICE", "TOPIC"):
        return [line.target, line.text]
    if kind == "TAGMSG":
        return [line.target]
    if kind == "JOIN":
        if extended:
            return [line.target, line.account or "*", line.text]
        return [line.target]
    if kind == "PART":
        return [line.target, line.text] if line.text else [line.target]
    if kind == "KICK":
        return [line.target, line.param or "", line.text]
    if kind == "NICK":
        return [line.param or ""]
    if kind == "QUIT":
        return [line.text]
    return [line.target, line.text]


def encode_line(user: User, line: StoredLine) -> bytes | None:
    """One stored line as ``user`` should see it now, or None if they cannot."""
    mask = user.tagmask
    if line.kind == "TAGMSG" and not mask & TAG_MESSAGE_TAGS:
        return None
    tags: dict[str, str] = {}
    if mask & TAG_MESSAGE_TAGS:
        tags.update(line.tags)
        tags["msgid"] = line.msgid
    if mask & TAG_SERVER_TIME:
        tags["time"] = format_time(line.micros)
    if mask & TAG_ACCOUNT and line.account:
        tags["account"] = line.account
    params = line_params(line, bool(mask & TAG_EXTENDED_JOIN))
    text = format_line(line.kind, params, line.source, tags or None)
    return (text + "\r\n").encode("utf-8", "replace")


def encode_lines(server: Server, user: User, line: StoredLine) -> list[bytes]:
    """``encode_line``, and a stored multiline message as several lines (a nested
    ``draft/multiline`` batch or its fallback; ``ircish.core.multiline``)."""
    if is_stored_multiline(line.kind, line.text, line.tags):
        return stored_lines(server, user, line.kind, line.source, line.target, line.text,
                            line.msgid, line.micros, line.account, line.tags)
    data = encode_line(user, line)
    return [] if data is None else [data]


def send_batch(
    server: Server,
    user: User,
    batch_type: str,
    batch_params: Sequence[str],
    lines: Iterable[StoredLine],
) -> None:
    """Lines in a batch when the user has ``batch``, as plain lines otherwise."""
    with_batch = "batch" in user.caps
    encoded = [data for line in lines for data in encode_lines(server, user, line)]
    if with_batch:
        encoded = list(batch_lines(server.name, new_batch_id(), batch_type, batch_params,
                                   encoded))
    if encoded:
        server.reply(user, b"".join(encoded))


def send_history(server: Server, user: User, target: str, lines: Iterable[StoredLine]) -> None:
    send_batch(server, user, "chathistory", [target], lines)


def send_targets(server: Server, user: User, targets: Iterable[TargetLine]) -> None:
    encoded = [
        server_line(server.name, "CHATHISTORY", ["TARGETS", t.name, format_time(t.micros)])
        for t in targets
    ]
    if "batch" in user.caps:
        encoded = list(batch_lines(server.name, new_batch_id(), "draft/chathistory-targets", [],
                                   encoded))
    if encoded:
        server.reply(user, b"".join(encoded))

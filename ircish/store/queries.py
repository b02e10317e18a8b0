"""History queries as plain synchronous functions over a Connection.

``answer(conn, request)`` is the one entry: it answers a
``core.chathistory.HistoryRequest`` by its subcommand. ``reader.HistoryReader``
runs it in worker threads.
Every result is in ascending ``(time, id)`` order, the one total order the
store guarantees (two lines may share a microsecond, their ids never).

A reference (msgid or timestamp) marks a position. A timestamp compares by time
alone: lines at it are neither before nor after it, and "at or after" includes
them (a client's millisecond timestamps are widened by the parser,
``core.chathistory.parse_request``). A msgid is resolved to its line's ``(time, id)`` within
the same target; an unknown or invisible msgid gives an empty result.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    tuple_,
)

from ircish.core.chathistory import MESSAGE_KINDS, HistoryRequest, Ref, Viewer
from ircish.history.records import Ban, ChannelState, HistoryRecord, TargetSummary
from ircish.store.keys import DEFAULT_CHANTYPES, channel_key, is_channel_name, nick_key
from ircish.store.schema import accounts, channel_bans, channel_registrations, channels, history

Op = Literal["<", ">", ">="]
# Where a channel's history starts when nothing hides its older lines.
_ALL_TIME = -(1 << 62)

_COLUMNS = (
    history.c.id,
    history.c.msgid,
    history.c.time,
    history.c.kind,
    history.c.source,
    history.c.account,
    history.c.target,
    history.c.param,
    history.c.text,
    history.c.tags,
)


def _record(row: Row) -> HistoryRecord:  # type: ignore[type-arg]
    return HistoryRecord(
        id=row.id,
        msgid=row.msgid,
        micros=row.time,
        kind=row.kind,
        source=row.source,
        account=row.account,
        target=row.target,
        param=row.param,
        text=row.text,
        tags=json.loads(row.tags) if row.tags else {},
    )


def _by_session(viewer: Viewer, other: str | None = None) -> ColumnElement[bool]:
    # Or by the very connection that sent or received the line (the nick alone
    # proves nothing: the next one to register it is somebody else).
    mine_sent = history.c.sender_session == viewer.session
    mine_received = history.c.recipient_session == viewer.session
    if other is None:
        return or_(mine_sent, mine_received)
    return or_(
        and_(mine_sent, history.c.recipient_key == other),
        and_(mine_received, history.c.sender_key == other),
    )


def _by_account_with(viewer: Viewer, other: str) -> ColumnElement[bool]:
    # The viewer by the account it had on the line, the other party by nick: an
    # account's conversations follow it across nicks, connections and restarts.
    return or_(
        and_(history.c.account == viewer.account, history.c.recipient_key == other),
        and_(history.c.recipient_account == viewer.account, history.c.sender_key == other),
    )


def private_rows(viewer: Viewer, target: str) -> ColumnElement[bool]:
    """The rows of ``viewer``'s conversation with ``target`` that ``viewer`` may see."""
    conds: list[ColumnElement[bool]] = []
    if viewer.account:
        conds.append(_by_account_with(viewer, nick_key(target)))
    if viewer.session:
        # Keyed by the other party only: this connection's own nick changes do
        # not hide what it said before them.
        conds.append(_by_session(viewer, nick_key(target)))
    return or_(*conds) if conds else false()


def all_private_rows(viewer: Viewer) -> ColumnElement[bool]:
    """Every private row ``viewer`` may see, in all its conversations (SEARCH): the
    same rule as ``private_rows``, without naming the other party."""
    conds: list[ColumnElement[bool]] = []
    if viewer.account:
        # A channel line has an account too, but never a recipient.
        conds.append(and_(
            history.c.recipient_key.is_not(None),
            or_(history.c.account == viewer.account,
                history.c.recipient_account == viewer.account),
        ))
    if viewer.session:
        conds.append(_by_session(viewer))
    return or_(*conds) if conds else false()


class Scope:
    """Which rows one query may see: one target, some kinds, one viewer.

    ``since`` (µs) hides a channel's lines older than its current creation: the
    history of a channel that is not persistent starts anew when it is created
    again, so whoever re-creates a secret channel does not read the old one's.
    """

    def __init__(
        self,
        target: str,
        viewer: Viewer,
        kinds: Collection[str] | None,
        chantypes: str = DEFAULT_CHANTYPES,
        since: int | None = None,
    ) -> None:
        self.is_channel = is_channel_name(target, chantypes)
        conds: list[ColumnElement[bool]] = []
        if self.is_channel:
            conds.append(history.c.target_key == channel_key(target))
        else:
            conds.append(private_rows(viewer, target))
        if since is not None:
            conds.append(history.c.time >= since)
        # Positions (msgids) resolve against every kind; results are filtered.
        self.where_any_kind = and_(*conds)
        if kinds is not None:
            conds.append(history.c.kind.in_(sorted(kinds)))
        self.where = and_(*conds)


def _position(conn: Connection, scope: Scope, ref: Ref) -> tuple[int, int | None] | None:
    if ref[0] == "timestamp":
        return ref[1], None
    row = conn.execute(
        select(history.c.time, history.c.id).where(
            scope.where_any_kind, history.c.msgid == ref[1]
        )
    ).first()
    return (row.time, row.id) if row else None


def _cond(pos: tuple[int, int | None], op: Op) -> ColumnElement[bool]:
    t, i = pos
    if i is None:
        return {
            "<": history.c.time < t,
            ">": history.c.time > t,
            ">=": history.c.time >= t,
        }[op]
    key = tuple_(history.c.time, history.c.id)
    other = tuple_(t, i)
    return {"<": key < other, ">": key > other, ">=": key >= other}[op]


def _fetch(
    conn: Connection,
    where: ColumnElement[bool],
    limit: int,
    *,
    newest_first: bool,
) -> list[HistoryRecord]:
    order = (
        (history.c.time.desc(), history.c.id.desc())
        if newest_first
        else (history.c.time, history.c.id)
    )
    rows = conn.execute(select(*_COLUMNS).where(where).order_by(*order).limit(limit)).all()
    records = [_record(r) for r in rows]
    if newest_first:
        records.reverse()
    return records


def latest(
    conn: Connection,
    scope: Scope,
    limit: int,
    after: Ref | None = None,
) -> list[HistoryRecord]:
    """The newest ``limit`` lines, only those after ``after`` when given."""
    where = scope.where
    if after is not None:
        pos = _position(conn, scope, after)
        if pos is None:
            return []
        where = and_(where, _cond(pos, ">"))
    return _fetch(conn, where, limit, newest_first=True)


def before(conn: Connection, scope: Scope, ref: Ref, limit: int) -> list[HistoryRecord]:
    pos = _position(conn, scope, ref)
    if pos is None:
        return []
    return _fetch(conn, and_(scope.where, _cond(pos, "<")), limit, newest_first=True)


def after(conn: Connection, scope: Scope, ref: Ref, limit: int) -> list[HistoryRecord]:
    pos = _position(conn, scope, ref)
    if pos is None:
        return []
    return _fetch(conn, and_(scope.where, _cond(pos, ">")), limit, newest_first=False)


def around(conn: Connection, scope: Scope, ref: Ref, limit: int) -> list[HistoryRecord]:
    """Up to ``limit`` lines centred on ``ref``; the line itself is included."""
    pos = _position(conn, scope, ref)
    if pos is None:
        return []
    older = _fetch(conn, and_(scope.where, _cond(pos, "<")), limit // 2, newest_first=True)
    newer = _fetch(
        conn, and_(scope.where, _cond(pos, ">=")), limit - len(older), newest_first=False
    )
    return older + newer


def between(
    conn: Connection,
    scope: Scope,
    start: Ref,
    end: Ref,
    limit: int,
) -> list[HistoryRecord]:
    """Lines strictly between two references, ``limit`` of them counted from ``start``.

    ``start`` may be later than ``end``: then the lines nearest ``start`` are
    the ones kept. Either way the result is in ascending order.
    """
    p1, p2 = _position(conn, scope, start), _position(conn, scope, end)
    if p1 is None or p2 is None:
        return []
    forward = (p1[0], p1[1] if p1[1] is not None else -1) <= (
        p2[0],
        p2[1] if p2[1] is not None else -1,
    )
    if forward:
        where = and_(scope.where, _cond(p1, ">"), _cond(p2, "<"))
    else:
        where = and_(scope.where, _cond(p1, "<"), _cond(p2, ">"))
    return _fetch(conn, where, limit, newest_first=not forward)


def by_msgid(conn: Connection, scope: Scope, msgid: str) -> list[HistoryRecord]:
    """The line ``msgid`` names in the scope's target, if it is there (REDACT's look-up
    of a message it no longer remembers): one record or none."""
    return _fetch(conn, and_(scope.where, history.c.msgid == msgid), 1, newest_first=False)


def _latest_in_window(conn: Connection, where: ColumnElement[bool], lo: int, hi: int) -> int | None:
    """The time of the target's latest line if it lies in the window: a target whose
    latest line is later is not listed, even with lines in the window (irctest)."""
    # ORDER BY ... LIMIT 1 walks the (target_key, time, id) index backwards and
    # stops at the first match; max() with a kind filter would scan the range.
    latest: int | None = conn.execute(
        select(history.c.time)
        .where(where, history.c.time > lo)
        .order_by(history.c.time.desc())
        .limit(1)
    ).scalar()
    return latest if latest is not None and latest < hi else None


def _party_conversations(
    conn: Connection, columns: tuple[Any, Any], me: str, kind_cond: ColumnElement[bool],
    lo: int,
) -> list[TargetSummary]:
    """The other parties ``me`` wrote to or heard from after ``lo``, with the latest
    time; ``me`` is a session (``columns`` the session columns) or an account (the
    account columns)."""
    found: list[TargetSummary] = []
    sides = (
        (columns[0], history.c.recipient_key, history.c.target),
        (columns[1], history.c.sender_key, history.c.source),
    )
    for mine, other, name_col in sides:
        # Private rows only: a channel line has an account but no recipient_key.
        window = and_(mine == me, other.is_not(None), kind_cond, history.c.time > lo)
        latest = conn.execute(
            select(other, func.max(history.c.time)).where(window).group_by(other)
        ).all()
        for other_key, micros in latest:
            # The other party's nick as written on its latest line.
            name = conn.execute(
                select(name_col).where(window, other == other_key, history.c.time == micros)
                .limit(1)
            ).scalar_one()
            found.append(TargetSummary(name.split("!", 1)[0], micros))
    return found


def targets(
    conn: Connection,
    viewer: Viewer,
    start: int,
    end: int,
    limit: int,
    channel_names: Iterable[str] = (),
    kinds: Collection[str] = MESSAGE_KINDS,
    since: Mapping[str, int] | None = None,
) -> list[TargetSummary]:
    """Buffers whose latest line lies strictly between two times, oldest first.

    Private conversations are those ``viewer`` may see (by account through the
    conversations table, by session through the session indexes); the channels
    are the ones the caller says the viewer may see (those joined), each from
    its ``since`` epoch when given.
    """
    lo, hi = sorted((start, end))
    kind_cond = history.c.kind.in_(sorted(kinds))
    private: list[TargetSummary] = []
    if viewer.account:
        private.extend(_party_conversations(
            conn, (history.c.account, history.c.recipient_account), viewer.account,
            kind_cond, lo))
    if viewer.session:
        private.extend(_party_conversations(
            conn, (history.c.sender_session, history.c.recipient_session), viewer.session,
            kind_cond, lo))
    # One line per other party, however it was found.
    newest: dict[str, TargetSummary] = {}
    for summary in private:
        key = nick_key(summary.name)
        if key not in newest or summary.micros > newest[key].micros:
            newest[key] = summary
    # A conversation whose latest line is after the window is not listed.
    found = [summary for summary in newest.values() if summary.micros < hi]
    epochs = since or {}
    seen: set[str] = set()
    for name in channel_names:
        key = channel_key(name)
        if key in seen:
            continue
        seen.add(key)
        channel_lo = max(lo, epochs[name] - 1) if name in epochs else lo
        micros = _latest_in_window(
            conn, and_(history.c.target_key == key, kind_cond), channel_lo, hi
        )
        if micros is not None:
            found.append(TargetSummary(name, micros))
    found.sort(key=lambda t: (t.micros, t.name))
    return found[:limit]


def load_channels(conn: Connection) -> list[ChannelState]:
    """Every persistent channel, with its bans in the order they were set."""
    bans: dict[str, list[Ban]] = {}
    for row in conn.execute(
        select(channel_bans).order_by(channel_bans.c.channel_key, channel_bans.c.position)
    ):
        bans.setdefault(row.channel_key, []).append(Ban(row.mask, row.set_by, row.set_at))
    founders: dict[str, str] = {
        key: name for key, name in conn.execute(
            select(channel_registrations.c.key, accounts.c.name)
            .join(accounts, accounts.c.id == channel_registrations.c.founder_id))
    }
    return [
        ChannelState(
            name=row.name,
            topic=row.topic,
            topic_setter=row.topic_setter,
            topic_micros=row.topic_time,
            modes=row.modes,
            key=row.mode_key,
            limit=row.user_limit,
            bans=tuple(bans.get(row.key, ())),
            founder=founders.get(row.key),
        )
        for row in conn.execute(select(channels).order_by(channels.c.key))
    ]


# ---- for plugins' api.history: answered in the database, a few rows back ----


def count(conn: Connection, scope: Scope, start: Ref, end: Ref | None, cap: int) -> int:
    """How many lines lie after ``start`` (and before ``end``), at most ``cap``.

    Counted by the database over the (target_key, time, id) index; the cap keeps
    a count over years of history from reading them all.
    """
    pos = _position(conn, scope, start)
    if pos is None:
        return 0
    where = and_(scope.where, _cond(pos, ">"))
    if end is not None:
        until = _position(conn, scope, end)
        if until is None:
            return 0
        where = and_(where, _cond(until, "<"))
    capped = select(history.c.id).where(where).limit(cap).subquery()
    return int(conn.execute(select(func.count()).select_from(capped)).scalar_one())


# "Seen anywhere" asks this of up to 20 channels at once for every newcomer, so it
# is built once, its values bound at each call: making the select (a subquery over
# ten columns) for each channel was nine tenths of each answer's time.
@functools.cache
def _recent_matching(who: Literal["nick", "account"]) -> Select[Any]:
    """The newest ``limit`` of the ``window`` lines of one channel before ``before``
    (from ``since``, of ``kinds``) that are ``who``'s, newest first."""
    recent = (
        select(*_COLUMNS)
        .where(history.c.target_key == bindparam("key"),
               history.c.time >= bindparam("since"),
               history.c.kind.in_(bindparam("kinds", expanding=True)),
               history.c.time < bindparam("before"))
        .order_by(history.c.time.desc(), history.c.id.desc())
        .limit(bindparam("window"))
        .subquery()
    )
    if who == "nick":
        match = or_(
            recent.c.source.ilike(bindparam("sender"), escape="\\"),
            and_(recent.c.kind == "KICK", recent.c.param.ilike(bindparam("kicked"), escape="\\")),
        )
    else:
        match = func.lower(recent.c.account) == bindparam("account")
    return (select(recent).where(match)
            .order_by(recent.c.time.desc(), recent.c.id.desc()).limit(bindparam("limit")))


def _matching(conn: Connection, request: HistoryRequest, chantypes: str,
              who: Literal["nick", "account"], **values: str) -> list[HistoryRecord]:
    """``_recent_matching``'s rows for ``request`` (NICK or ACCOUNT), oldest first.

    Only a channel's lines are looked through (these requests are plugins' history,
    which is channel history), from a timestamp."""
    ref = request.refs[0]
    if ref is None or ref[0] != "timestamp":
        raise ValueError(f"{request.sub} needs a timestamp")
    if not is_channel_name(request.target, chantypes):
        return []
    rows = conn.execute(_recent_matching(who), {
        "key": channel_key(request.target), "before": ref[1],
        "since": _ALL_TIME if request.since is None else request.since,
        "kinds": sorted(request.kinds), "window": request.window, "limit": request.limit,
        **values}).all()
    return [_record(r) for r in reversed(rows)]


def by_nick(conn: Connection, request: HistoryRequest,
            chantypes: str = DEFAULT_CHANTYPES) -> list[HistoryRecord]:
    """Among the ``window`` lines of the channel before the timestamp ``refs[0]``,
    the newest ``limit`` whose nick (or, for a KICK, the nick kicked) matches
    ``nick_like``, a case-insensitive LIKE pattern with ``\\`` as escape; oldest first.

    The caller makes the pattern loose enough for the casemapping and checks
    the few candidates itself; only they leave the database.
    """
    pattern = request.nick_like
    return _matching(conn, request, chantypes, "nick", sender=pattern + "!%", kicked=pattern)


def by_account(conn: Connection, request: HistoryRequest,
               chantypes: str = DEFAULT_CHANTYPES) -> list[HistoryRecord]:
    """Among the ``window`` lines of the channel before the timestamp ``refs[0]``,
    the newest ``limit`` sent by whoever was logged in to ``account`` (any nick;
    ASCII case-insensitive, the caller checks the casemapping); oldest first."""
    return _matching(conn, request, chantypes, "account", account=request.account.lower())


# ---- the one entry ----------------------------------------------------------------


def answer(
    conn: Connection, request: HistoryRequest, chantypes: str = DEFAULT_CHANTYPES
) -> Any:
    """``request``'s answer: records (ascending), TARGETS summaries, or a COUNT."""
    sub, limit, refs = request.sub, request.limit, request.refs
    if sub == "NICK":
        return by_nick(conn, request, chantypes)
    if sub == "ACCOUNT":
        return by_account(conn, request, chantypes)
    if sub == "TARGETS":
        start, end = (r[1] for r in refs if r is not None)
        epochs = {name: at for name, at in request.channels if at is not None}
        return targets(conn, request.viewer, int(start), int(end), limit,
                       [name for name, _ in request.channels], request.kinds, epochs)
    scope = Scope(request.target, request.viewer, request.kinds, chantypes, request.since)
    if sub == "LATEST":
        return latest(conn, scope, limit, refs[0] if refs else None)
    first = refs[0]
    if first is None:
        raise ValueError(f"{sub} needs a reference")
    if sub == "BEFORE":
        return before(conn, scope, first, limit)
    if sub == "AFTER":
        return after(conn, scope, first, limit)
    if sub == "AROUND":
        return around(conn, scope, first, limit)
    if sub == "COUNT":
        return count(conn, scope, first, refs[1] if len(refs) > 1 else None, limit)
    if sub == "MSGID" and first[0] == "msgid":
        return by_msgid(conn, scope, first[1])
    second = refs[1] if len(refs) > 1 else None
    if sub != "BETWEEN" or second is None:
        raise ValueError(f"unknown history request {sub!r}")
    return between(conn, scope, first, second, limit)

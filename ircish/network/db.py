"""The network's tables, read and written with psycopg 3 (synchronous), in the worker only.

Every function takes an open psycopg connection and runs one transaction; the
caller (``ircish.network.worker``) runs them in a thread, never on a Trio loop.

Three rules hold the network together:

- Fencing: every write of a node starts by locking its ``network_nodes`` row
  with its own epoch and a lease that has not run out (``_fence``). A node
  declared dead has a new epoch in that row, so nothing it still tries to write
  can commit, and a node whose lease ran out stops writing even before a
  survivor notices.
- Gap-free sequences: the seq numbers of a batch come from ``last_seq`` of that
  same locked row, so one origin's batches commit in the order of their numbers
  and a reader that saw seq N has seen every seq below it.
- The notifications of a committed batch (``pg_notify`` in the transaction,
  delivered at commit) carry its operations (``_notify``: as many as a payload
  holds, usually one notification per batch), so a reader that follows the
  origin's sequence needs no query; a reader that sees a gap (a lost
  notification, an operation too big for a payload) reads the table, which
  stays the truth, so a missed notification costs latency, never a line.

A batch of messages only (no operation with an effect on the tables, history
rows and conversations only: nearly all the traffic) is committed by one
statement on the writer's autocommit connection (``_append_one``): the fence,
the event rows, the history rows and the notifications are that statement's
parts, and each part reads the fence's row, so a fenced node writes nothing.
One round trip instead of six or more, and each table's rows by one insert from
arrays (the event rows, the history rows by column: ``TextArray``) instead of an
execution per row (RESULTS.md section 20).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.pq import Format

from ircish.network import effects
from ircish.protocol.casemap import casefold

log = logging.getLogger("ircish.network.worker")

# The channel every node's notifications went to before each origin had its own
# (``channel_of``); still listened to, so a node of the older code is heard.
CHANNEL = "ircish_network"
# The database's clock in µs: nodes never compare their own clocks.
NOW = "(extract(epoch from clock_timestamp()) * 1000000)::bigint"
# pg_try_advisory_xact_lock key of the one survivor that removes dead nodes ("ircnet").
REAPER_LOCK = 0x6972636E6574
# PostgreSQL's limit for a payload is 8000 bytes; the JSON is ASCII (ensure_ascii).
NOTIFY_BYTES = 7900
Op = dict[str, Any]


def _encoder() -> Callable[[Any], str]:
    """An operation as its payload's JSON: the same text as ``json.dumps(op,
    separators=(",", ":"))`` (ASCII, compact). ``json.dumps`` with any argument but
    the defaults builds a new JSONEncoder per call, a fifth of the encoding's cost
    per operation (RESULTS.md section 16), and ``JSONEncoder.encode`` still builds
    the C encoder (and a dict for its circular check) per call: about as much as
    encoding a message's ten fields. This is that C encoder, made once, without the
    check (an operation is a tree of plain values)."""
    default = json.JSONEncoder().default  # TypeError for what JSON cannot hold
    if c_make_encoder is None:  # a Python without the _json module
        return json.JSONEncoder(separators=(",", ":")).encode
    chunks = c_make_encoder(None, default, encode_basestring_ascii, None, ":", ",", False,
                            False, True)
    return lambda obj: "".join(chunks(obj, 0))


dumps = _encoder()
# What the database (or psycopg, before sending) refuses in a row itself: a value
# longer than its column, a NUL, a text that is no UTF-8, a constraint. Retrying
# the same row cannot help; ``append(careful=True)`` stores the rest without it.
REFUSED: tuple[type[Exception], ...] = (psycopg.DataError, psycopg.IntegrityError,
                                        UnicodeEncodeError)
# The operations that change no table (the bulk of the traffic): no savepoint.
NO_EFFECT = frozenset({"msg", "invite", "kill", "down"})
# How long ``last_seq`` waits for the lock of a transaction the lost connection left.
LOCK_WAIT_MS = 1000


# A batch's event rows by one statement whatever its size: the payloads as one JSON
# array, each element's text stored as it was written (``json`` keeps the text; it is
# never re-encoded), seq ``base + its position``. Per row, an INSERT executed per
# event cost its executor's start-up each time.
INSERT_EVENTS = (
    "INSERT INTO network_events (origin, seq, epoch, payload, committed)"
    f" SELECT %s, %s + u.o, %s, u.p::text, {NOW}"
    " FROM json_array_elements(%s::json) WITH ORDINALITY AS u(p, o)")


class Fenced(Exception):
    """This node's epoch or lease is no longer the live one: it must stop."""


@dataclass
class Snapshot:
    epoch: int
    positions: dict[str, int]  # origin -> last seq already reflected in the tables
    users: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    members: list[tuple[str, str, str]] = field(default_factory=list)  # key, session, held
    extra: dict[str, Any] = field(default_factory=dict)  # effects.read_state


def connect(url: str, autocommit: bool = False, name: str = "ircish") -> psycopg.Connection[Any]:
    """``name`` is the connection's application_name (pg_stat_activity shows it)."""
    conn = psycopg.connect(_libpq_url(url), autocommit=autocommit, application_name=name)
    conn.adapters.register_dumper(TextArray, _TextArrayDumper)
    conn.adapters.register_dumper(BigintArray, _BigintArrayDumper)
    return conn


# The one statement's rows come as arrays in PostgreSQL's binary format, which the
# database copies value by value where JSON was parsed twice (``json_in``, then
# ``json_to_recordset``); psycopg's own binary list dumper costs ~0.5 µs a value in
# Python, these ~0.3 (text) and ~0.15 (bigint). A connection not made by ``connect``
# dumps them as the lists they are (psycopg's dumper: the same values, slower).
_ARRAY_HEAD = struct.Struct("!iiIii")  # dimensions, has NULLs, element oid; length, lower bound
_NULL = b"\xff\xff\xff\xff"
_INT8 = struct.Struct("!iq")
_TEXT_OID, _TEXT_ARRAY_OID, _INT8_OID, _INT8_ARRAY_OID = 25, 1009, 20, 1016


class TextArray(list[str | None]):
    """A ``text[]`` parameter (``%b``)."""


class BigintArray(list[int | None]):
    """A ``bigint[]`` parameter (``%b``)."""


class _TextArrayDumper(Dumper):
    format = Format.BINARY
    oid = _TEXT_ARRAY_OID

    def dump(self, obj: TextArray) -> bytes:
        out = [b""]
        append = out.append
        nulls = 0
        for value in obj:
            if value is None:
                append(_NULL)
                nulls = 1
            else:
                data = value.encode()
                append(len(data).to_bytes(4, "big"))
                append(data)
        out[0] = _ARRAY_HEAD.pack(1, nulls, _TEXT_OID, len(obj), 1)
        return b"".join(out)


class _BigintArrayDumper(Dumper):
    format = Format.BINARY
    oid = _INT8_ARRAY_OID

    def dump(self, obj: BigintArray) -> bytes:
        if None in obj:
            return _ARRAY_HEAD.pack(1, 1, _INT8_OID, len(obj), 1) + b"".join(
                _NULL if v is None else _INT8.pack(8, v) for v in obj)
        return (_ARRAY_HEAD.pack(1, 0, _INT8_OID, len(obj), 1)
                + struct.pack("!" + "iq" * len(obj), *[x for v in obj for x in (8, v)]))


def _libpq_url(url: str) -> str:
    # SQLAlchemy's spelling (postgresql+psycopg://) is not libpq's.
    scheme, sep, rest = url.partition("://")
    return "postgresql://" + rest if sep and scheme.startswith("postgresql") else url


def channel_of(node: str) -> str:
    """The channel of ``node``'s notifications. Each origin has its own and a node
    listens to the others' only: on one shared channel every node was also sent, and
    woke for, each of its own commits' notifications, only to drop them. A channel name
    is at most 63 bytes: a longer node id is hashed."""
    name = f"ircish_network {node}"
    if len(name.encode()) > 63:
        name = "ircish_network " + hashlib.sha256(node.encode()).hexdigest()[:40]
    return name


def listen(conn: psycopg.Connection[Any], channels: Iterable[str]) -> None:
    """LISTEN to each of ``channels`` (names as ``channel_of`` makes them)."""
    for channel in channels:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))


def _fence(cur: psycopg.Cursor[Any], node: str, epoch: int, count: int = 0) -> int:
    """Lock this node's row if it is still the live one; the new end of its sequence."""
    cur.execute(
        f"UPDATE network_nodes SET last_seq = last_seq + %s WHERE node_id = %s AND epoch = %s"
        f" AND alive = 1 AND lease_until > {NOW} RETURNING last_seq",
        (count, node, epoch),
    )
    row = cur.fetchone()
    if row is None:
        raise Fenced(f"node {node} epoch {epoch} is no longer live (lease ran out or reaped)")
    return int(row[0])


def join(conn: psycopg.Connection[Any], node: str, lease_s: int) -> tuple[int, list[Op]]:
    """Take this node's row with a new epoch (fencing any older process of the same
    node), and remove the users an earlier run left: their QUITs, in our sequence."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "INSERT INTO network_nodes (node_id, epoch, alive, lease_until, last_seq, started)"
            f" VALUES (%s, 1, 1, {NOW} + %s, 0, {NOW})"
            " ON CONFLICT (node_id) DO UPDATE SET epoch = network_nodes.epoch + 1, alive = 1,"
            " lease_until = EXCLUDED.lease_until, started = EXCLUDED.started RETURNING epoch",
            (node, lease_s * 1_000_000),
        )
        row = cur.fetchone()
        assert row is not None
        epoch = int(row[0])
        quits = _quits_for(cur, node, f"{node} restarted")
        if quits:
            _append(cur, node, epoch, quits)
    return epoch, quits


def renew(conn: psycopg.Connection[Any], node: str, epoch: int, lease_s: int) -> int:
    """The lease extended; this node's last seq (the fence reads it anyway)."""
    with conn.transaction(), conn.cursor() as cur:
        last = _fence(cur, node, epoch)
        cur.execute(f"UPDATE network_nodes SET lease_until = {NOW} + %s WHERE node_id = %s",
                    (lease_s * 1_000_000, node))
    return last


def last_seq(conn: psycopg.Connection[Any], node: str, epoch: int) -> int:
    """This node's last seq as committed: after a write whose answer was lost, how the
    worker tells whether it went in. ``FOR UPDATE`` waits for a transaction of the
    lost connection that still holds the row (PostgreSQL may not have noticed the
    client gone), so what it reads is that write's outcome; up to ``LOCK_WAIT_MS``,
    then ``LockNotAvailable`` (an ``OperationalError``: asked again later)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = {LOCK_WAIT_MS}")
        cur.execute("SELECT last_seq FROM network_nodes WHERE node_id = %s AND epoch = %s"
                    " FOR UPDATE", (node, epoch))
        row = cur.fetchone()
    if row is None:
        raise Fenced(f"node {node} epoch {epoch} is no longer live (reaped)")
    return int(row[0])


def leave(conn: psycopg.Connection[Any], node: str, epoch: int) -> None:
    """A clean stop: our users are gone already; the lease ends now."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"UPDATE network_nodes SET lease_until = {NOW} WHERE node_id = %s"
                    " AND epoch = %s", (node, epoch))


def reap(conn: psycopg.Connection[Any], node: str, epoch: int) -> list[Op]:
    """If no other survivor is at it, declare every node whose lease ran out dead:
    a new epoch fences it, and its users QUIT (in our sequence), then a ``down``
    operation says it is gone (LUSERS). The operations made."""
    made: list[Op] = []
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (REAPER_LOCK,))
        row = cur.fetchone()
        if row is None or not row[0]:
            return []
        cur.execute(
            f"SELECT node_id FROM network_nodes WHERE alive = 1 AND lease_until < {NOW}"
            " AND node_id <> %s ORDER BY node_id FOR UPDATE", (node,))
        dead = [r[0] for r in cur.fetchall()]
        if not dead:
            return []
        for gone in dead:
            cur.execute("UPDATE network_nodes SET alive = 0, epoch = epoch + 1 WHERE node_id = %s",
                        (gone,))
            made += _quits_for(cur, gone, f"{gone} left the network")
            made.append({"t": "down", "node": gone})
        if made:
            _append(cur, node, epoch, made)
        else:
            _fence(cur, node, epoch)
    return made


def _quits_for(cur: psycopg.Cursor[Any], node: str, reason: str) -> list[Op]:
    cur.execute(
        f"SELECT session, nick, username, host, registered, {NOW} FROM network_users"
        " WHERE node_id = %s ORDER BY since, session", (node,))
    quits = []
    for session, nick, username, host, registered, now in cur.fetchall():
        if registered:
            quits.append({"t": "quit", "session": session, "nick": nick, "reason": reason,
                          "source": f"{nick}!{username or '*'}@{host}",
                          "msgid": secrets.token_hex(8), "micros": int(now)})
        else:
            quits.append({"t": "release", "session": session})
    return quits


def append(conn: psycopg.Connection[Any], node: str, epoch: int, ops: list[Op],
           also: Callable[[psycopg.Cursor[Any]], object] | None = None,
           careful: bool = False, inline: Inline | None = None) -> int:
    """Commit ``ops`` as the next seqs of this node, with their effect on the tables
    and one NOTIFY, and whatever ``also`` writes (the batch's history rows) in the
    same transaction, fenced as they are; the last seq.

    ``inline``: what ``also`` writes, as columns (``Inline``), when that is rows only. A
    batch of operations without effects is then one statement (``_append_one``) and
    ``also`` is not called.

    ``careful``: for a batch that was ``REFUSED`` whole. Each operation's effect goes
    under a savepoint of its own; one the database refuses is logged and its seq
    holds a ``skipped`` operation instead (``{"t": "skipped", "was": kind}``), so the
    sequence stays gap-free and every node sees the same thing: the tables and the
    event rows agree. (``also`` must then be careful with its rows itself.)"""
    if (inline is not None and ops and not careful
            and not any(op["t"] not in NO_EFFECT for op in ops)):
        if conn.autocommit:
            return _append_one(conn, node, epoch, ops, inline)
        with conn.transaction():
            return _append_one(conn, node, epoch, ops, inline)
    with conn.transaction(), conn.cursor() as cur:
        last = _append(cur, node, epoch, ops, careful) if ops else _fence(cur, node, epoch)
        if also is not None:
            also(cur)
        return last


@dataclass(frozen=True, slots=True)
class Inline:
    """A batch's history rows as columns, for the one statement: ``history`` maps a
    column of ``HISTORY_COLUMNS`` to its values, row by row in the order the rows are
    to be stored (a column left out, or shorter, is NULL: ``unnest`` pads); the
    private conversations as a JSON array of objects keyed by column
    (``ircish.network.history.inline``)."""

    history: dict[str, list[Any]] = field(default_factory=dict)
    conversations: str = "[]"


def _columns(names: tuple[str, ...], bigint: tuple[str, ...]) -> str:
    return ", ".join(f"{c} {'bigint' if c in bigint else 'text'}" for c in names)


# ``ircish.store.schema.history`` without ``id`` (``ircish.network.history`` checks
# that its rows have these keys).
HISTORY_COLUMNS = ("target_key", "msgid", "time", "kind", "source", "account", "target",
                   "param", "text", "tags", "sender_key", "recipient_key",
                   "recipient_account", "sender_session", "recipient_session")
_HISTORY_NAMES = ", ".join(HISTORY_COLUMNS)
# The rows from one JSON parameter, in its order (CHATHISTORY orders equal times by
# id); a row already stored (a batch written again after its COMMIT's answer was
# lost) is skipped, as a duplicate within the batch is.
HISTORY_FROM_JSON = (
    f" ROWS FROM (json_to_recordset(%s::json) AS ({_columns(HISTORY_COLUMNS, ('time',))}))"
    f" WITH ORDINALITY AS r({_HISTORY_NAMES}, n)")
INSERT_HISTORY = (f"INSERT INTO history ({_HISTORY_NAMES}) SELECT {_HISTORY_NAMES} FROM"
                  f"{HISTORY_FROM_JSON} ORDER BY r.n ON CONFLICT (target_key, msgid) DO NOTHING")
CONVERSATION_COLUMNS = ("key", "a_key", "b_key", "a_name", "b_name", "last_time")
# Several nodes may write one conversation: the row is upserted, never read first.
CONVERSATIONS_FROM_JSON = (
    f" json_to_recordset(%s::json) AS c({_columns(CONVERSATION_COLUMNS, ('last_time',))})")
_UPSERT_SET = (" ON CONFLICT (key) DO UPDATE SET a_name = EXCLUDED.a_name,"
               " b_name = EXCLUDED.b_name,"
               " last_time = GREATEST(conversations.last_time, EXCLUDED.last_time)")
UPSERT_CONVERSATIONS = (f"INSERT INTO conversations ({', '.join(CONVERSATION_COLUMNS)})"
                        f" SELECT {', '.join(CONVERSATION_COLUMNS)} FROM"
                        f"{CONVERSATIONS_FROM_JSON}{_UPSERT_SET}")

# The history rows of the one statement, from one array parameter per column
# (``TextArray``, ``BigintArray``).
_HISTORY_ARRAYS = ", ".join(f"%(h_{c})b::{'int8' if c == 'time' else 'text'}[]"
                            for c in HISTORY_COLUMNS)

# The whole commit of a batch of messages. ``f`` is the fence (``_fence``'s UPDATE);
# every other part reads it, so when it finds no live row of this epoch nothing is
# written and no row comes back. The event rows are the payloads (one binary ``text[]``,
# each text stored as it was written); ``notes`` are ``_split``'s parts, as offsets
# and counts into the payloads, and the notifications are made of them, in their order
# (a volatile target is evaluated after the sort). ``{conflict}``: see ``_ONE``.
_ONE_TEMPLATE = (
    "WITH f AS (UPDATE network_nodes SET last_seq = last_seq + %(n)s"
    f"   WHERE node_id = %(node)s AND epoch = %(epoch)s AND alive = 1 AND lease_until > {NOW}"
    f"   RETURNING last_seq - %(n)s AS base, {NOW} AS at),"
    " notes AS MATERIALIZED (SELECT * FROM unnest(%(offsets)s::int[], %(counts)s::int[],"
    "   %(carried)s::bool[]) WITH ORDINALITY AS x(off, count, carried, k)),"
    " e AS (INSERT INTO network_events (origin, seq, epoch, payload, committed)"
    "   SELECT %(node)s, f.base + u.o, %(epoch)s, u.p, f.at"
    "   FROM f, unnest(%(payloads)b::text[]) WITH ORDINALITY AS u(p, o)),"
    f" h AS (INSERT INTO history ({_HISTORY_NAMES}) SELECT {_HISTORY_NAMES}"
    f"   FROM f, unnest({_HISTORY_ARRAYS}) WITH ORDINALITY AS r({_HISTORY_NAMES}, n)"
    "   ORDER BY r.n{conflict}),"
    f" c AS (INSERT INTO conversations ({', '.join(CONVERSATION_COLUMNS)})"
    f"   SELECT {', '.join(CONVERSATION_COLUMNS)}"
    f"   FROM f,{CONVERSATIONS_FROM_JSON.replace('%s', '%(conversations)s')}{_UPSERT_SET})"
    " SELECT f.base + %(n)s, pg_notify(%(channel)s, %(head)s || (f.base + 1 + notes.off)"
    "   || CASE WHEN notes.carried THEN ',\"ops\":[' || array_to_string("
    "     (%(payloads)b::text[])[notes.off + 1 : notes.off + notes.count], ',') || ']}'"
    "   ELSE '}' END)"
    " FROM f, notes ORDER BY notes.k")
# A batch's history rows are new nearly always: ``ON CONFLICT``'s speculative insertion
# (a look-up in the unique index and a token for every row, then the insert) cost the
# database a tenth of its time per line. So the one statement inserts them plainly,
# and only when the unique index refuses one (a line already stored: a batch written
# again, or twice in one batch) is the same statement, which wrote nothing, run again
# skipping the stored ones (``_ONE_AGAIN``).
_ONE = _ONE_TEMPLATE.replace("{conflict}", "")
_ONE_AGAIN = _ONE_TEMPLATE.replace("{conflict}", " ON CONFLICT (target_key, msgid) DO NOTHING")


def _append_one(conn: psycopg.Connection[Any], node: str, epoch: int, ops: list[Op],
                inline: Inline) -> int:
    """``append`` of operations without effects, by one statement (``_ONE``)."""
    head = _head(node)
    payloads = [dumps(op) for op in ops]
    parts = _split(payloads, head)
    columns = inline.history
    params: dict[str, Any] = {
        "n": len(ops), "node": node, "epoch": epoch, "payloads": TextArray(payloads),
        "offsets": [off for off, _, _ in parts],
        "counts": [len(texts) for _, _, texts in parts],
        "carried": [carried for _, carried, _ in parts],
        "conversations": inline.conversations, "channel": channel_of(node), "head": head}
    for name in HISTORY_COLUMNS:
        values = columns.get(name, [])
        params["h_" + name] = BigintArray(values) if name == "time" else TextArray(values)
    with conn.cursor() as cur:
        if conn.autocommit:
            try:
                cur.execute(_ONE, params)
            except psycopg.errors.UniqueViolation:
                cur.execute(_ONE_AGAIN, params)
        else:
            # In a transaction a failed statement would abort it: no second try there.
            cur.execute(_ONE_AGAIN, params)
        row = cur.fetchone()
    if row is None:
        raise Fenced(f"node {node} epoch {epoch} is no longer live (lease ran out or reaped)")
    return int(row[0])


def _append(cur: psycopg.Cursor[Any], node: str, epoch: int, ops: list[Op],
            careful: bool = False) -> int:
    last = _fence(cur, node, epoch, len(ops))
    first = last - len(ops) + 1
    if careful:
        payloads = _apply_each(cur, node, first, ops)
    else:
        payloads = [dumps(op) for op in ops]
        for op in ops:
            if op["t"] not in NO_EFFECT:  # a message, most of them: no table to touch
                _apply(cur, op)
    cur.execute(INSERT_EVENTS, (node, first - 1, epoch, "[" + ",".join(payloads) + "]"))
    _notify(cur, node, first, payloads)
    return last


def _apply_each(cur: psycopg.Cursor[Any], node: str, first: int, ops: list[Op]) -> list[str]:
    """The ops' effects, each under a savepoint; the payloads, a refused op's skipped."""
    payloads = []
    for i, op in enumerate(ops):
        kind = op.get("t")
        if kind not in NO_EFFECT:
            try:
                with cur.connection.transaction():
                    _apply(cur, op)
            except REFUSED as exc:
                log.error("node %s: the database refused a %s operation (%s), seq %d"
                          " skipped: %s", node, kind, describe(op), first + i, reason(exc))
                op = {"t": "skipped", "was": kind}
        payloads.append(dumps(op))
    return payloads


def describe(op: Op) -> str:
    """Whom an operation is about, for a log line (never its text or a password)."""
    about = [f"{key} {str(op[key])[:60]!r}" for key in ("channel", "target", "old", "new",
                                                       "nick", "session", "node")
             if isinstance(op.get(key), str)]
    return ", ".join(about[:2]) or "no target"


def reason(exc: BaseException) -> str:
    """The first line of the database's message (its detail may quote the value)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def _head(node: str) -> str:
    return '{"o":' + json.dumps(node) + ',"f":'


def _split(payloads: list[str], head: str) -> list[tuple[int, bool, list[str]]]:
    """The payloads (JSON texts) in the parts of a batch's notifications: (offset of
    the first, carried, texts). A carried part fits one notification of at most
    ``NOTIFY_BYTES`` with its head; from the first operation too big for one, the
    rest is one part that is not carried (its notification is the head alone)."""
    room = NOTIFY_BYTES - 32 - len(head)  # the head, its seq and the brackets
    parts: list[tuple[int, bool, list[str]]] = []
    part: list[str] = []
    size = 0
    start = 0
    for i, text in enumerate(payloads):
        if part and size + len(text) > room:
            parts.append((start, True, part))
            start, part, size = i, [], 0
        if len(text) > room:
            parts.append((start, False, payloads[start:]))
            return parts
        part.append(text)
        size += len(text) + 1
    if part:
        parts.append((start, True, part))
    return parts


def _notify(cur: psycopg.Cursor[Any], node: str, first: int, payloads: list[str]) -> None:
    """The batch's operations (JSON texts, seqs from ``first``) in notifications of at
    most ``NOTIFY_BYTES``: ``{"o": origin, "f": first seq, "ops": [...]}``. One too big
    for a payload ends them with ``{"o", "f"}`` alone: readers read the rest."""
    head = _head(node)
    notes = [f'{head}{first + off},"ops":[{",".join(texts)}]}}' if carried
             else f"{head}{first + off}}}" for off, carried, texts in _split(payloads, head)]
    channel = channel_of(node)
    if len(notes) == 1:
        cur.execute("SELECT pg_notify(%s, %s)", (channel, notes[0]))
    else:
        cur.executemany("SELECT pg_notify(%s, %s)", [(channel, note) for note in notes])


def from_notifications(payloads: list[str], node: str, positions: dict[str, int]
                       ) -> tuple[list[tuple[str, int, Op]], bool]:
    """The operations carried by ``payloads`` that follow ``positions`` (updated), in
    each origin's order; True when one shows a gap (the table must be read)."""
    out: list[tuple[str, int, Op]] = []
    gap = False
    mine = '{"o":' + json.dumps(node) + ","  # our own batches, not parsed for nothing
    for text in payloads:
        if text.startswith(mine):
            continue
        if not text.startswith("{"):
            gap = gap or text != node  # a bare doorbell (an older node's)
            continue
        note = json.loads(text)
        origin = note["o"]
        if origin == node:
            continue
        ops = note.get("ops")
        seq = int(note["f"])
        at = positions.get(origin, 0)
        if ops is None or seq > at + 1:
            gap = True  # not carried, or some were missed: the table has them
            continue
        for op in ops:
            if seq > at:
                out.append((origin, seq, op))
                at = seq
            seq += 1
        positions[origin] = at
    return out, gap


def _apply(cur: psycopg.Cursor[Any], op: Op) -> None:
    """An event's lasting effect on the shared tables (a message has none)."""
    effects.apply(cur, op)
    kind = op["t"]
    if kind == "user":
        cur.execute(
            "UPDATE network_users SET nick = %s, username = %s, host = %s, realname = %s,"
            " account = %s, modes = %s, registered = 1 WHERE session = %s",
            (op["nick"], op["username"], op["host"], op["realname"], op["account"],
             op["modes"], op["session"]))
    elif kind in ("quit", "release"):
        cur.execute("DELETE FROM network_users WHERE session = %s", (op["session"],))
    elif kind == "nick":
        # The claim moved the key already; a change of case only needs the spelling.
        cur.execute("UPDATE network_users SET nick = %s WHERE session = %s",
                    (op["new"], op["session"]))
    elif kind == "account":
        cur.execute("UPDATE network_users SET account = %s WHERE session = %s",
                    (op["account"], op["session"]))
    elif kind == "join":
        key = casefold(op["channel"])
        cur.execute(
            "INSERT INTO network_channels (key, name, created, topic, topic_setter, topic_time,"
            " modes) VALUES (%s, %s, %s, '', '', 0, %s) ON CONFLICT (key) DO NOTHING",
            (key, op["channel"], op["micros"], op.get("modes", "")))
        cur.execute(
            "INSERT INTO network_members (channel_key, session, held) VALUES (%s, %s, %s)"
            " ON CONFLICT (channel_key, session) DO UPDATE SET held = EXCLUDED.held",
            (key, op["session"], op["held"]))
    elif kind in ("part", "kick"):
        key = casefold(op["channel"])
        cur.execute("DELETE FROM network_members WHERE channel_key = %s AND session = %s",
                    (key, op["session"]))
        cur.execute("DELETE FROM network_channels c WHERE key = %s AND NOT EXISTS"
                    " (SELECT 1 FROM network_members m WHERE m.channel_key = c.key)", (key,))
    elif kind == "topic":
        cur.execute("UPDATE network_channels SET topic = %s, topic_setter = %s, topic_time = %s"
                    " WHERE key = %s", (op["topic"], op["setter"], op["micros"],
                                        casefold(op["channel"])))
    elif kind == "mode":
        key = casefold(op["channel"])
        cur.execute("UPDATE network_channels SET modes = %s, mode_key = %s, user_limit = %s"
                    " WHERE key = %s", (op["flags"], op["key"], op["limit"], key))
        for session, held in op["held"]:
            cur.execute("UPDATE network_members SET held = %s WHERE channel_key = %s"
                        " AND session = %s", (held, key, session))


def claim(conn: psycopg.Connection[Any], node: str, epoch: int, session: str, nick: str,
          registered: bool, micros: int) -> bool:
    """Take ``nick`` for ``session`` (a new claim, or a registered user's rename):
    False if someone on any node holds it. The unique key decides a race."""
    key = casefold(nick)
    try:
        with conn.transaction(), conn.cursor() as cur:
            _fence(cur, node, epoch)
            if registered:
                cur.execute("UPDATE network_users SET key = %s, nick = %s WHERE session = %s",
                            (key, nick, session))
                return cur.rowcount == 1
            cur.execute(
                "INSERT INTO network_users (session, key, nick, node_id, epoch, username, host,"
                " realname, modes, registered, since) VALUES (%s, %s, %s, %s, %s, '', '', '',"
                " '', 0, %s) ON CONFLICT (session) DO UPDATE SET key = EXCLUDED.key,"
                " nick = EXCLUDED.nick",
                (session, key, nick, node, epoch, micros))
            return True
    except psycopg.errors.UniqueViolation:
        return False
    except REFUSED as exc:
        # A nick longer than the column (the nick_length an operator chose): the
        # claim is lost, the client hears 433 as for a taken nick, the node goes on.
        log.error("node %s: the database refused the claim of a %d-character nick by %s: %s",
                  node, len(nick), session, reason(exc))
        return False


def snapshot(conn: psycopg.Connection[Any], node: str, epoch: int) -> Snapshot:
    """Every other node's users, the channels and who is in them, and the seq each
    origin had reached when this was read: one consistent picture to start from."""
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT node_id, last_seq FROM network_nodes")
            positions = {r[0]: int(r[1]) for r in cur.fetchall()}
            cur.execute(
                "SELECT session, nick, username, host, realname, account, modes, node_id, since"
                " FROM network_users WHERE registered = 1 AND node_id <> %s ORDER BY since",
                (node,))
            names = ("session", "nick", "username", "host", "realname", "account", "modes",
                     "node", "since")
            users = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            cur.execute("SELECT key, name, created, topic, topic_setter, topic_time, modes,"
                        " mode_key, user_limit FROM network_channels")
            names = ("key", "name", "created", "topic", "setter", "topic_time", "flags",
                     "mode_key", "limit")
            channels = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            cur.execute("SELECT m.channel_key, m.session, m.held FROM network_members m"
                        " JOIN network_users u ON u.session = m.session WHERE u.node_id <> %s",
                        (node,))
            members = [(r[0], r[1], r[2]) for r in cur.fetchall()]
            extra = effects.read_state(cur, node)
    finally:
        conn.isolation_level = None
    return Snapshot(epoch, positions, users, channels, members, extra)


def read_new(conn: psycopg.Connection[Any], node: str, positions: dict[str, int],
             limit: int = 5000, origins: set[str] | None = None) -> list[tuple[str, int, Op]]:
    """Events of other origins past ``positions`` (updated), in each origin's order;
    every other node's id is added to ``origins``."""
    out: list[tuple[str, int, Op]] = []
    with conn.cursor() as cur:
        cur.execute("SELECT node_id, last_seq FROM network_nodes WHERE node_id <> %s", (node,))
        nodes = cur.fetchall()
        if origins is not None:
            origins.update(origin for origin, _ in nodes)
        behind = [(origin, int(last)) for origin, last in nodes
                  if int(last) > positions.get(origin, 0)]
        for origin, _ in behind:
            cur.execute("SELECT seq, payload FROM network_events WHERE origin = %s AND seq > %s"
                        " ORDER BY seq LIMIT %s", (origin, positions.get(origin, 0), limit))
            for seq, payload in cur.fetchall():
                out.append((origin, int(seq), json.loads(payload)))
                positions[origin] = int(seq)
    return out


def status(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """One row per node for ``ircish-server network status``."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT n.node_id, n.epoch, n.alive, (n.lease_until - {NOW}) / 1000000.0,"
            " n.last_seq, (SELECT count(*) FROM network_users u WHERE u.node_id = n.node_id"
            " AND u.registered = 1),"
            f" ({NOW} - (SELECT e.committed FROM network_events e"
            " WHERE e.origin = n.node_id ORDER BY e.seq DESC LIMIT 1)) / 1000000.0"
            " FROM network_nodes n ORDER BY n.node_id")
        names = ("node", "epoch", "alive", "lease_left_s", "last_seq", "users", "last_event_s")
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

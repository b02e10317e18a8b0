"""The one history writer: group commit off the Trio thread.

``submit`` appends to a deque and wakes the writer task; O(1), never waits. In
the worker process events arrive already admitted (the server's client ran
``history.admission``); used in-process (tests, tools) the writer runs that same
gate itself. The writer task takes everything
queued and commits it in one transaction in a worker thread, then waits out the
rest of ``flush_interval`` before the next commit, so under load each commit
carries many lines (group commit) and at most one interval of lines is only in
memory (what an abrupt kill can lose).

Failures are not allowed to touch chat:

- the database fails, not the data (locked, full, gone, read-only, a damaged
  page, an I/O error, a lost connection): an outage. The batch stays pending
  and is retried with backoff; the outage is told once when it starts and once
  when it ends (``outage``), logged here or, in the worker process, handed to
  ``on_outage`` for the server to log and tell its operators;
- anything else is about the batch itself (a value the database refuses, a
  conversion bug): the batch is retried one event at a time so only the bad
  event is dropped, and it is logged;
- more than ``queue_limit`` events waiting (in-process): new ones are dropped
  and counted, logged when the overflow starts and, with the count, when it ends.

A retried batch may already have been committed (an error on COMMIT is
ambiguous); inserts ignore rows whose (target, msgid) is already stored, so a
retry never duplicates.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import trio
from sqlalchemy import Connection, Engine, Executable, case, delete, insert, update
from sqlalchemy.exc import DBAPIError, OperationalError

from ircish.core.events import ChannelStateEvent, Event
from ircish.history import outage
from ircish.history.admission import Admission
from ircish.history.settings import DEFAULT_EVENTS
from ircish.store.database import (
    BEGIN_OPTION,
    describe_database,
    describe_fault,
    is_database_fault,
)
from ircish.store.filewatch import DatabaseFile, DatabaseGone
from ircish.store.rows import Batch, ChannelRename, Conversation, to_batch
from ircish.store.schema import (
    channel_bans,
    channel_registrations,
    channels,
    conversations,
    history,
    read_markers,
)

log = logging.getLogger("ircish.store.writer")

_UNIQUE = ["target_key", "msgid"]


@dataclass(slots=True)
class WriterStats:
    submitted: int = 0
    written: int = 0  # events committed
    rows: int = 0  # history rows committed (a NICK in 3 channels is 3 rows)
    batches: int = 0
    dropped_overflow: int = 0
    dropped_rejected: int = 0
    failed_commits: int = 0
    max_backlog: int = 0


def _insert_history(conn: Connection) -> Executable:
    """An INSERT that skips rows whose (target, msgid) is already stored.

    ON CONFLICT on that one constraint, not SQLite's INSERT OR IGNORE, which
    would also silently skip rows breaking NOT NULL.
    """
    # Each dialect's module is imported only where it is used (the PostgreSQL
    # one costs a SQLite server's worker 2 MB).
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(history).on_conflict_do_nothing(index_elements=_UNIQUE)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(history).on_conflict_do_nothing(index_elements=_UNIQUE)
    return insert(history)


# The hot statement, as plain SQL for SQLite: executemany on the driver cursor
# skips SQLAlchemy's per-row parameter processing, a third of the write cost
# (measured with benchmarks/store_bench.py). Same meaning as _insert_history.
_HISTORY_COLUMNS = tuple(c.name for c in history.columns if c.name != "id")
_SQLITE_INSERT = (
    f"INSERT INTO history ({', '.join(_HISTORY_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _HISTORY_COLUMNS)}) "
    f"ON CONFLICT ({', '.join(_UNIQUE)}) DO NOTHING"
)
_as_tuple = itemgetter(*_HISTORY_COLUMNS)


def _insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT, [_as_tuple(row) for row in rows])
    else:
        conn.execute(_insert_history(conn), rows)


def _upsert_conversation(conn: Connection, conv: Conversation) -> None:
    # Update-then-insert is portable, and safe because there is only one writer.
    last = conversations.c.last_time
    result = conn.execute(
        update(conversations)
        .where(conversations.c.key == conv.key)
        .values(
            a_name=conv.a_name,
            b_name=conv.b_name,
            last_time=case((last < conv.last_time, conv.last_time), else_=last),
        )
    )
    if result.rowcount == 0:
        conn.execute(
            insert(conversations).values(
                key=conv.key,
                a_key=conv.a_key,
                b_key=conv.b_key,
                a_name=conv.a_name,
                b_name=conv.b_name,
                last_time=conv.last_time,
            )
        )


def _store_channel_state(conn: Connection, key: str, ev: ChannelStateEvent) -> None:
    # Bans are deleted explicitly too: not every backend cascades.
    conn.execute(delete(channel_bans).where(channel_bans.c.channel_key == key))
    if not ev.persistent:
        conn.execute(delete(channels).where(channels.c.key == key))
        return
    values = {
        "name": ev.channel,
        "topic": ev.topic,
        "topic_setter": ev.topic_setter,
        "topic_time": ev.topic_micros,
        "modes": ev.modes,
        "mode_key": ev.key,
        "user_limit": ev.limit,
        "updated": to_micros_now(),
    }
    result = conn.execute(update(channels).where(channels.c.key == key).values(**values))
    if result.rowcount == 0:
        conn.execute(insert(channels).values(key=key, **values))
    unique: dict[str, tuple[str, str, int]] = {}
    for mask, set_by, set_at in ev.bans:
        # A mask listed twice would break the primary key; keep the first.
        unique.setdefault(mask, (mask, set_by, set_at))
    if unique:
        conn.execute(
            insert(channel_bans),
            [
                {
                    "channel_key": key,
                    "mask": mask,
                    "set_by": set_by,
                    "set_at": set_at,
                    "position": position,
                }
                for position, (mask, set_by, set_at) in enumerate(unique.values())
            ],
        )


def _rename_channel(conn: Connection, rename: ChannelRename) -> None:
    """Move what is stored under a channel's old key to its new one (RENAME).

    UPDATEs of the key columns, no schema change. Whatever an earlier channel of
    the new name left is moved aside first (history) or dropped (its read
    markers, its channels row), so it neither mixes with the renamed channel's
    nor collides with it on a unique key.
    """
    old, new = rename.old_key, rename.new_key
    if rename.aside is not None:
        conn.execute(update(history).where(history.c.target_key == new)
                     .values(target_key=rename.aside))
        conn.execute(delete(read_markers).where(read_markers.c.target_key == new))
        conn.execute(delete(channel_bans).where(channel_bans.c.channel_key == new))
        conn.execute(delete(channels).where(channels.c.key == new))
    conn.execute(update(history).where(history.c.target_key == old)
                 .values(target_key=new, target=rename.new_name))
    conn.execute(update(read_markers).where(read_markers.c.target_key == old)
                 .values(target_key=new))
    conn.execute(update(channel_registrations).where(channel_registrations.c.key == old)
                 .values(key=new, name=rename.new_name))
    if rename.aside is not None:
        # The state under the new key comes with this batch or the next one.
        conn.execute(delete(channel_bans).where(channel_bans.c.channel_key == old))
        conn.execute(delete(channels).where(channels.c.key == old))
    else:
        conn.execute(update(channels).where(channels.c.key == old)
                     .values(name=rename.new_name))


def to_micros_now() -> int:
    return time.time_ns() // 1_000


def write_batch(engine: Engine, batch: Batch) -> None:
    """Commit one batch in one transaction (called in a worker thread)."""
    with engine.connect().execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"}) as conn:
        with conn.begin():
            for rename in batch.renames:
                _rename_channel(conn, rename)
            if batch.history:
                _insert_rows(conn, batch.history)
            for conv in batch.conversations.values():
                _upsert_conversation(conn, conv)
            for key, ev in batch.channel_states.items():
                _store_channel_state(conn, key, ev)
            for key, msgid in batch.redactions:
                conn.execute(delete(history).where(history.c.target_key == key,
                                                   history.c.msgid == msgid))


def _retryable(exc: BaseException) -> bool:
    """Errors about the database, not the data: locked, full, unreachable, I/O, damaged.

    Those are retried with the batch kept; anything else means the batch holds
    something the database will never take, and retrying it would block the
    queue forever.
    """
    if isinstance(exc, OperationalError | DatabaseGone) or is_database_fault(exc):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class HistoryWriter:
    """Queues events from the Trio thread and commits them in batches."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_interval_ms: int = 50,
        queue_limit: int = 100_000,
        store_events: frozenset[str] = DEFAULT_EVENTS,
        admit: bool = True,
        limiter: trio.CapacityLimiter | None = None,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._file = DatabaseFile(engine)
        self._interval = flush_interval_ms / 1000
        self._queue_limit = queue_limit
        # Shared with anything else that writes (retention), so writes never
        # contend for SQLite's lock with each other.
        self.limiter = limiter or trio.CapacityLimiter(1)
        self._retry_initial = retry_initial_s
        self._retry_max = retry_max_s
        self._queue: deque[Event] = deque()
        # Taken from the queue but not committed yet: kept across retries.
        self._pending: list[Event] = []
        self._wake = trio.Event()
        self._commit_lock = trio.Lock()
        self._urgent = 0
        self._failing_since: float | None = None
        self._database = describe_database(engine.url)
        self._lost_before = 0  # stats.dropped_overflow when the outage started
        # Events taken and events committed: flush() waits for "everything
        # before me" even while new lines keep arriving.
        self.accepted = 0
        self.committed = 0
        self.stats = WriterStats()
        # None: the events were admitted before they came (the worker process).
        self._admission = (
            Admission(queue_limit, store_events, self.stats, log) if admit else None
        )
        # Told the count of events committed so far after each commit (the
        # worker process reports it to the server, which then forgets them).
        self.on_commit: Callable[[int], None] | None = None
        # Told (database, cause) when an outage starts; when set, the writer
        # leaves the outage's log lines to it (the worker hands it to the server).
        self.on_outage: Callable[[str, str], None] | None = None

    # -- the message path ------------------------------------------------------

    def submit(self, event: Event) -> None:
        """Queue an event for storage. Call from the Trio thread; never blocks."""
        admission = self._admission
        if admission is not None and not admission.admit(event, self.backlog):
            return
        self.accepted += 1
        self._queue.append(event)
        if not self._wake.is_set():
            self._wake.set()

    @property
    def backlog(self) -> int:
        """Events submitted but not yet committed."""
        return len(self._queue) + len(self._pending)

    # -- the writer task -------------------------------------------------------

    async def run(
        self,
        *,
        flush_on_cancel_s: float | None = 10.0,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Commit queued events until cancelled; then flush what is left.

        On cancellation the remaining backlog is flushed under a shield for at
        most ``flush_on_cancel_s`` seconds (None: do not flush here).
        """
        task_status.started()
        next_commit = trio.current_time()
        failures = 0
        try:
            while True:
                if not (self._queue or self._pending):
                    await self._wake.wait()
                self._wake = trio.Event()
                if not self._urgent:
                    await trio.sleep_until(next_commit)
                next_commit = trio.current_time() + self._interval
                if await self._commit_backlog():
                    failures = 0
                    continue
                failures += 1
                await trio.sleep(min(self._retry_initial * 2 ** (failures - 1), self._retry_max))
        except trio.Cancelled:
            if flush_on_cancel_s is not None and self.backlog:
                with trio.CancelScope(shield=True), trio.move_on_after(flush_on_cancel_s):
                    await self.flush()
                if self.backlog:
                    log.error(
                        "history: %d events could not be written before the writer stopped",
                        self.backlog,
                    )
            raise

    async def flush(self, upto: int | None = None) -> bool:
        """Commit everything submitted before this call (or the first ``upto``
        events ever submitted); True when it is written.

        Lines submitted meanwhile do not keep it waiting. It retries while the
        database is unavailable, so bound it with a deadline
        (``trio.move_on_after``) at shutdown; it works inside a shielded cancel
        scope. A deadline that ends it early loses nothing (the events stay
        queued), so it is not logged as an error; whoever gives up on them for
        good says so.
        """
        target = self.accepted if upto is None else upto
        if self.committed >= target:
            return True
        self._urgent += 1
        failures = 0
        try:
            while self.committed < target:
                if await self._commit_backlog():
                    failures = 0
                    continue
                failures += 1
                await trio.sleep(min(self._retry_initial * 2 ** (failures - 1), self._retry_max))
            return True
        finally:
            self._urgent -= 1
            if self.committed < target:
                log.debug("history: flush gave up with %d events waiting", target - self.committed)

    async def _commit_backlog(self) -> bool:
        """Commit the pending batch plus everything queued. False on a retryable error."""
        async with self._commit_lock:
            if self._queue:
                self._pending.extend(self._queue)
                self._queue.clear()
            # Dropped (overflow) events are never queued, so this counts exactly.
            upto = self.accepted
            if not self._pending:
                self._set_committed(upto)
                return True
            events = self._pending
            try:
                await trio.to_thread.run_sync(self._write, events, limiter=self.limiter)
            except Exception as exc:
                # Never let the writer die: it would take the server with it.
                self._note_failure(exc, len(events))
                return False
            # No checkpoint between the commit and forgetting the events.
            self._pending = []
            self._set_committed(upto)
            self._note_success(len(events))
            return True

    def _set_committed(self, upto: int) -> None:
        changed = upto != self.committed
        self.committed = upto
        if changed and self.on_commit is not None:
            self.on_commit(upto)

    # -- in the worker thread --------------------------------------------------

    def _write(self, events: Sequence[Event]) -> None:
        self._file.check()
        try:
            batch = to_batch(events)
            write_batch(self._engine, batch)
        except Exception as exc:
            if _retryable(exc):
                raise
            # Something in the batch itself is wrong (a value the database
            # refuses, a conversion bug): find it, so only that event is lost.
            log.warning("history: a batch was refused (%s); writing events one by one", exc)
            self._write_one_by_one(events)
            return
        self.stats.rows += len(batch.history)

    def _write_one_by_one(self, events: Sequence[Event]) -> None:
        for ev in events:
            try:
                batch = to_batch([ev])
                write_batch(self._engine, batch)
            except Exception as exc:
                if _retryable(exc):
                    raise  # the whole batch is retried; rows already in are skipped
                self.stats.dropped_rejected += 1
                log.error("history: dropped an event the database refuses (%s): %r", exc, ev)
            else:
                self.stats.rows += len(batch.history)

    # -- bookkeeping (Trio thread) ---------------------------------------------

    def _note_failure(self, exc: Exception, waiting: int) -> None:
        self.stats.failed_commits += 1
        if self._failing_since is not None:
            log.debug("history: still cannot write (%s)", exc)
            return
        self._failing_since = time.monotonic()
        self._lost_before = self.stats.dropped_overflow
        cause = describe_fault(exc)
        if self.on_outage is not None:
            log.debug("history: cannot write (%s); %d events kept", cause, waiting)
            self.on_outage(self._database, cause)
        else:
            log.error(outage.started(self._database, cause, self._queue_limit))

    def _note_success(self, count: int) -> None:
        self.stats.written += count
        self.stats.batches += 1
        if self._failing_since is not None:
            seconds = time.monotonic() - self._failing_since
            lost = self.stats.dropped_overflow - self._lost_before
            # In the worker the server's client tells the end, from its own counts.
            level = logging.DEBUG if self.on_outage is not None else logging.WARNING
            log.log(level, outage.ended(self._database, seconds, count, lost))
            self._failing_since = None
        if self._admission is not None:
            self._admission.settle(self.backlog)

"""Deleting history older than ``[history] retention_days``, a little at a time.

Each batch is its own short transaction taken through the writer's limiter, so
the writer waits at most one small delete and never a long purge. Rows are
picked in insertion order (the primary key), which is time order but for clock
jumps, so no extra index on time is needed on the write path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import trio
from sqlalchemy import Engine, delete, select

from ircish.store.database import BEGIN_OPTION
from ircish.store.schema import conversations, history

log = logging.getLogger("ircish.store.retention")

MICROS_PER_DAY = 86_400 * 1_000_000


def delete_expired_batch(engine: Engine, cutoff: int, batch_size: int) -> int:
    """Delete up to ``batch_size`` rows older than ``cutoff`` (µs); return how many."""
    oldest = (
        select(history.c.id)
        .where(history.c.time < cutoff)
        .order_by(history.c.id)
        .limit(batch_size)
        .scalar_subquery()
    )
    with engine.connect().execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"}) as conn:
        with conn.begin():
            deleted = conn.execute(delete(history).where(history.c.id.in_(oldest))).rowcount
            if deleted < batch_size:
                # Last batch of this pass: drop conversations that went quiet too.
                conn.execute(delete(conversations).where(conversations.c.last_time < cutoff))
    return deleted


async def purge_expired(
    engine: Engine,
    cutoff: int,
    *,
    batch_size: int = 2_000,
    limiter: trio.CapacityLimiter | None = None,
    pause_s: float = 0.01,
) -> int:
    """Delete everything older than ``cutoff`` in batches; return the total."""
    total = 0
    while True:
        deleted = await trio.to_thread.run_sync(
            delete_expired_batch, engine, cutoff, batch_size, limiter=limiter
        )
        total += deleted
        if deleted < batch_size:
            return total
        # Let the writer (and anything else waiting on the limiter) go first.
        await trio.sleep(pause_s)


async def run_retention(
    engine: Engine,
    retention_days: int,
    *,
    interval_s: float = 3_600.0,
    batch_size: int = 2_000,
    limiter: trio.CapacityLimiter | None = None,
    now_micros: Callable[[], int] = lambda: time.time_ns() // 1_000,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Purge expired rows now and then every ``interval_s``; 0 days keeps forever."""
    task_status.started()
    if retention_days <= 0:
        return
    while True:
        cutoff = now_micros() - retention_days * MICROS_PER_DAY
        try:
            deleted = await purge_expired(engine, cutoff, batch_size=batch_size, limiter=limiter)
        except Exception as exc:
            # A locked or missing database is retried next time; never fatal.
            log.error("history retention: could not delete expired rows (%s)", exc)
        else:
            if deleted:
                log.info(
                    "history retention: deleted %d lines older than %d days",
                    deleted,
                    retention_days,
                )
        await trio.sleep(interval_s)

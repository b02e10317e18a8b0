"""How a write outage is told: one line when it starts, one when it ends.

A database that refuses writes after start (locked, full, gone, read-only, a
damaged page, an I/O error) is one outage, not one error per line: the lines
stay queued (up to ``[storage] queue_limit``) and are retried, and the log and
the operators hear about it twice, at its start and at its end with what it
cost. The in-process writer and the server's client of the worker process
both phrase it here (no SQLAlchemy: the server process imports this).
"""

from __future__ import annotations


def started(database: str, cause: str, queue_limit: int) -> str:
    return (
        f"history: cannot write to the database {database} ({cause}); chat goes on, new "
        f"lines are kept (up to [storage] queue_limit = {queue_limit}) and retried"
    )


def ended(database: str, seconds: float, written: int, lost: int) -> str:
    lost_text = f", {lost} lost (the queue was full)" if lost else ", none lost"
    return (
        f"history: the database {database} is writable again after {seconds:.1f} s; "
        f"{written} delayed events written{lost_text}"
    )

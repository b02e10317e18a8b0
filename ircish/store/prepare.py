"""Bringing the schema to head (or checking it is there), optionally in a process of its own.

Alembic is needed once, at start, and then never again; imported into the
long-lived history worker it would stay there for nothing (about 10 MB of its
RSS). So the worker runs ``python -m ircish.store.prepare``, which reads
``{"url": ..., "auto_migrate": ..., "log_level": ...}`` as JSON on stdin (not
argv: the URL may hold a password), migrates, and exits 0, or 2 with the
message (naming ``[storage]``) on stdout. Its log lines (Alembic's "Running
upgrade ...") go to stderr, the server's log. A damaged database file is
refused before anything writes to it (``integrity``).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from ircish.history.errors import StorageError

# Tries at a schema step that met a locked database (about 9 s in all).
LOCKED_ATTEMPTS = 10


def prepare_schema(engine: Any, auto_migrate: bool) -> None:
    """Check the file is sound, then migrate to head, or with ``auto_migrate``
    off check the schema is there.

    Raises StorageError naming the cause. Synchronous: run it in a thread or
    in the process below.
    """
    from ircish.store import migrate  # Alembic: only where a migration runs
    from ircish.store.integrity import refuse_if_damaged

    # Before anything connects through the engine: its connect settings write.
    refuse_if_damaged(engine.url)

    url = engine.url.render_as_string()
    for attempt in range(LOCKED_ATTEMPTS):
        try:
            if auto_migrate:
                migrate.upgrade(engine)
                return
            at_head = migrate.is_at_head(engine)
            break
        except Exception as exc:
            cause = getattr(exc, "orig", None) or exc
            # An operator's `ircish-server account` (or `db`) reading the file as the
            # server starts makes SQLite answer "database is locked" at once, whatever
            # the busy timeout, when both want to write: wait and try again rather
            # than refuse to start.
            if "database is locked" in str(cause) and attempt < LOCKED_ATTEMPTS - 1:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise StorageError(f"[storage] url = {url!r}: cannot migrate: {cause}") from exc
    if not at_head:
        raise StorageError(
            f"[storage] url = {url!r}: the database schema is not at the newest "
            "revision and auto_migrate is off; run `ircish-server db upgrade`"
        )


async def prepare_in_subprocess(url: str, auto_migrate: bool, log_level: int) -> None:
    """Run ``prepare_schema`` in a short-lived child; StorageError if it failed."""
    import trio

    request = json.dumps({"url": url, "auto_migrate": auto_migrate, "log_level": log_level})
    result = await trio.run_process(
        [sys.executable, "-m", "ircish.store.prepare"],
        stdin=request.encode(),
        capture_stdout=True,
        check=False,
    )
    if result.returncode != 0:
        message = result.stdout.decode(errors="replace").strip()
        raise StorageError(
            message or f"[storage] the schema check exited with status {result.returncode}"
        )


def main() -> int:
    request = json.loads(sys.stdin.read())
    logging.basicConfig(
        level=request.get("log_level", logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from ircish.store.database import open_engine

    try:
        engine = open_engine(request["url"])
    except Exception as exc:
        print(f"[storage] {exc}")
        return 2
    try:
        prepare_schema(engine, request["auto_migrate"])
    except StorageError as exc:
        print(exc)
        return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

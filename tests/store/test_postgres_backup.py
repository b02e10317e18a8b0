"""``db backup`` on PostgreSQL: pg_dump's snapshot restores into a new database, and a
machine without pg_dump gets an error that says what to install."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from ircish.store import migrate
from ircish.store.cli import main as db_main
from ircish.store.database import open_engine
from ircish.store.writer import HistoryWriter

from . import postgres
from .helpers import msg
from .test_writer import count


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with postgres.fresh_database() as url:
        engine = open_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


async def test_a_dump_restores_into_a_new_database(pg_engine: Engine, tmp_path: Path) -> None:
    writer = HistoryWriter(pg_engine)
    for i in range(50):
        writer.submit(msg(f"kept {i}"))
    with trio.fail_after(10):
        assert await writer.flush()
    url = pg_engine.url.render_as_string(hide_password=False)
    dest = tmp_path / "ircish.dump"
    out, err = io.StringIO(), io.StringIO()
    assert db_main(["backup", str(dest)], url, tmp_path, out=out, err=err) == 0, err.getvalue()
    assert f"backup written to {dest}" in out.getvalue()
    assert not list(tmp_path.glob(".*partial*"))
    restore = shutil.which("pg_restore")
    if restore is None:
        pytest.skip("pg_restore is not installed")
    with postgres.fresh_database() as copy_url:
        libpq = make_url(copy_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        subprocess.run([restore, "--no-owner", f"--dbname={libpq}", str(dest)], check=True)
        copy = open_engine(copy_url)
        try:
            assert migrate.is_at_head(copy)
            assert count(copy) == 50
        finally:
            copy.dispose()


def test_without_pg_dump_the_error_says_what_to_install(
    pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find there
    url = pg_engine.url.render_as_string(hide_password=False)
    out, err = io.StringIO(), io.StringIO()
    assert db_main(["backup", str(tmp_path / "x.dump")], url, tmp_path, out=out, err=err) == 1
    assert "pg_dump" in err.getvalue() and "postgresql-client" in err.getvalue()
    assert not (tmp_path / "x.dump").exists()

"""``db downgrade`` never runs under a live server, asks for --yes, and backs up first."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from ircish.store import liveness, migrate
from ircish.store.cli import main as db_main
from ircish.testing import start_server

from .test_worker_process import leaves


def _config(db_url: str) -> dict[str, object]:
    return {"storage": {"url": db_url, "flush_interval_ms": 20}}


async def test_downgrade_is_refused_while_a_server_uses_the_database(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    out, err = io.StringIO(), io.StringIO()
    saved = tmp_path / "saved"
    async with start_server(tmp_path, _config(db_url)):
        rc = db_main(["downgrade", "base", "--yes", "--backup", str(saved)], db_url, tmp_path,
                     out=out, err=err)
        assert rc == 1
        assert "a running ircish server is using" in err.getvalue()
        assert migrate.is_at_head(engine) and not saved.exists()
    # Stopped: the same command backs up, then downgrades.
    err.truncate(0)
    err.seek(0)
    rc = db_main(["downgrade", "base", "--yes", "--backup", str(saved)], db_url, tmp_path,
                 out=out, err=err)
    assert (rc, err.getvalue()) == (0, "")
    assert saved.is_file() and f"backup written to {saved}" in out.getvalue()
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


async def test_without_yes_nothing_is_dropped(engine: Engine, db_url: str, tmp_path: Path
                                              ) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert db_main(["downgrade", "0004"], db_url, tmp_path, out=out, err=err) == 2
    assert "--yes" in err.getvalue()
    assert migrate.is_at_head(engine) and "read_markers" in inspect(engine).get_table_names()
    assert out.getvalue() == ""  # no backup either


async def test_a_server_does_not_start_during_a_downgrade(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with liveness.exclusive(engine) as checked:
        assert checked
        with pytest.raises(BaseExceptionGroup) as caught:
            async with start_server(tmp_path, _config(db_url)):
                pass  # pragma: no cover
    assert "db downgrade" in " ".join(str(e) for e in leaves(caught.value))
    # Released: the server starts.
    async with start_server(tmp_path, _config(db_url)):
        pass

"""A damaged database file: refused at start, reported by ``db check``, never touched."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from sqlalchemy import Engine

from ircish.history.errors import StorageError
from ircish.store import cli as db_cli
from ircish.store import migrate
from ircish.store.database import open_engine
from ircish.store.prepare import prepare_schema
from ircish.store.writer import HistoryWriter

from .helpers import msg

# Damage to SQLite's file format; PostgreSQL has no such file to check.
pytestmark = pytest.mark.sqlite_only

SERVER = [sys.executable, "-c", "import sys; from ircish.cli import server_main; "
          "sys.exit(server_main())"]


async def write_history(engine: Engine, lines: int = 3000) -> None:
    writer = HistoryWriter(engine)
    for i in range(lines):
        writer.submit(msg(f"line {i} " + "x" * 50))
    with trio.fail_after(10):
        assert await writer.flush()
    engine.dispose()  # the last connection checkpoints: everything is in the file


def garble(path: Path, which: str) -> None:
    """Overwrite one whole page (not page 1, the schema) with bytes no page holds."""
    data = path.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    pages = len(data) // page_size
    assert pages > 10, "the test database should span many pages"
    k = pages // 2 if which == "middle" else pages - 1
    with path.open("r+b") as f:
        f.seek(page_size * k)
        f.write(b"\xa5" * page_size)


@pytest.fixture
async def damaged(engine: Engine, db_url: str, request: pytest.FixtureRequest) -> Path:
    await write_history(engine)
    path = Path(db_url.removeprefix("sqlite:///"))
    assert not Path(f"{path}-wal").exists()
    garble(path, request.param)
    return path


def db_check(db_url: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = db_cli.main(["check"], db_url, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("damaged", ["middle", "last"], indirect=True)
async def test_start_refuses_a_damaged_file_and_leaves_it_alone(
    damaged: Path, tmp_path: Path
) -> None:
    before = damaged.read_bytes()
    config = tmp_path / "config.toml"
    config.write_text(
        f"[server]\nlisten = ['127.0.0.1:0']\n[storage]\nurl = 'sqlite:///{damaged.name}'\n"
    )
    with trio.fail_after(60):
        result = await trio.run_process(
            [*SERVER, "--config", str(config)],
            capture_stdout=True, capture_stderr=True, check=False,
        )
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(damaged) in lines[0] and "is damaged (quick_check: " in lines[0]
    assert "restore a backup made with `ircish-server db backup`" in lines[0]
    assert "the file was left untouched" in lines[0]
    assert damaged.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    engine = open_engine(f"sqlite:///{path}")
    with pytest.raises(StorageError, match=r"is damaged.*file is not a database"):
        prepare_schema(engine, auto_migrate=True)
    engine.dispose()
    assert path.read_bytes() == b"these are my notes, not a database\n" * 200


async def test_a_sound_database_passes_the_start_check(engine: Engine, db_url: str) -> None:
    await write_history(engine)
    prepare_schema(engine, auto_migrate=True)  # raises if the check complained
    assert migrate.is_at_head(engine)
    engine.dispose()


async def test_db_check_on_a_sound_database(engine: Engine, db_url: str) -> None:
    await write_history(engine)
    code, out, err = db_check(db_url)
    assert (code, err) == (0, "")
    assert out == f"{db_url.removeprefix('sqlite:///')}: ok\n"


@pytest.mark.parametrize("damaged", ["middle", "last"], indirect=True)
async def test_db_check_reports_damage(damaged: Path, db_url: str) -> None:
    before = damaged.read_bytes()
    code, out, err = db_check(db_url)
    assert code == 1 and err == ""
    *problems, summary = out.strip().splitlines()
    assert problems and all(problems)
    assert summary.startswith(f"{damaged}: damaged ({len(problems)} problem(s)); restore a backup")
    assert damaged.read_bytes() == before


def test_db_check_on_a_missing_file(tmp_path: Path) -> None:
    code, out, err = db_check(f"sqlite:///{tmp_path / 'absent.db'}")
    assert code == 1 and out == ""
    assert "there is no database file" in err and "absent.db" in err
    assert not (tmp_path / "absent.db").exists()


def test_db_check_through_the_server_cli(engine: Engine, tmp_path: Path) -> None:
    engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text("[storage]\nurl = 'sqlite:///history.db'\n")
    result = subprocess.run(
        [*SERVER, "--config", str(config), "db", "check"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'history.db'}: ok\n"

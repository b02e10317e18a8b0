"""``ircish-server account``: accounts made by an operator log in over SASL."""

from __future__ import annotations

import io
from pathlib import Path

from ircish import testing
from ircish.accounts.cli import main
from ircish.testing import start_server
from tests.accounts.conftest import accounts_config
from tests.accounts.helpers import sasl_plain, sasl_scram, start_sasl


def run(tmp_path: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    config = testing.test_config(tmp_path, accounts_config())
    code = main(list(argv), config, stdin=io.StringIO(stdin), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def test_create_list_show_passwd_delete(tmp_path: Path) -> None:
    assert run(tmp_path, "create", "Oscar", "--email", "o@example.org",
               stdin="oscar-password\n")[0] == 0
    code, _, err = run(tmp_path, "create", "oscar", stdin="other-password\n")
    assert code == 1 and "already registered" in err
    assert run(tmp_path, "create", "bad name", stdin="x-password\n")[0] == 1
    assert run(tmp_path, "create", "empty", stdin="\n")[0] == 1
    code, out, _ = run(tmp_path, "list")
    assert code == 0 and out.startswith("Oscar\t") and "o@example.org" in out
    code, out, _ = run(tmp_path, "show", "OSCAR")
    assert "name: Oscar" in out and "password" not in out
    async with start_server(tmp_path, accounts_config()) as srv:
        client = await start_sasl(srv.port, "o1")
        assert await sasl_scram(client, "oscar", "oscar-password") == "903"
        await client.aclose()
        assert run(tmp_path, "passwd", "oscar", stdin="changed-password\n")[0] == 0
        client = await start_sasl(srv.port, "o2")
        assert await sasl_plain(client, "oscar", "oscar-password") == "904"
        assert await sasl_plain(client, "oscar", "changed-password") == "903"
        await client.aclose()
    assert run(tmp_path, "delete", "oscar")[0] == 0
    assert run(tmp_path, "show", "oscar")[0] == 1
    assert run(tmp_path, "passwd", "oscar", stdin="changed-password\n")[0] == 1

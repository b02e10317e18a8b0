"""SASL login and account registration: the pure parts, the session, and the
whole client against the scripted server's SASL responder."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from ircish.accounts.scram import Exchange, derive, parse_client_first
from ircish.client.app import Client
from ircish.client.cli import ask_sasl_password, main
from ircish.client.commands import Context, run_input
from ircish.client.config import ConfigError, build
from ircish.client.model import Buffers
from ircish.client.plain import run_plain
from ircish.client.sasl import (
    ChallengeReader,
    SaslSettings,
    choose,
    encode_response,
    plain_is_safe,
)
from ircish.client.scram import ScramClient, ScramFailure
from ircish.client.session import Identity, Session
from tests.client.fakeircd import FakeIrcd
from tests.client.helpers import client_for, config, texts, wait_for

# RFC 7677 section 3.
RFC_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = (
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC_CLIENT_FINAL = (
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

SASL_CAPS = {"sasl": "PLAIN,SCRAM-SHA-256,EXTERNAL", "server-time": ""}


# -- SCRAM --------------------------------------------------------------------------


def test_scram_client_matches_the_rfc_7677_vector() -> None:
    client = ScramClient("user", "pencil", nonce=RFC_NONCE)
    assert client.first() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert client.final(RFC_SERVER_FIRST) == RFC_CLIENT_FINAL
    client.verify(RFC_SERVER_FINAL)  # raises on a mismatch
    assert "pencil" not in repr(client)


def test_scram_client_refuses_a_wrong_server_signature() -> None:
    client = ScramClient("user", "pencil", nonce=RFC_NONCE)
    client.final(RFC_SERVER_FIRST)
    with pytest.raises(ScramFailure, match="signature does not match"):
        client.verify("v=" + "A" * 43 + "=")
    with pytest.raises(ScramFailure, match="refused the login: invalid-proof"):
        client.verify("e=invalid-proof")


@pytest.mark.parametrize(
    ("server_first", "reason"),
    [
        ("r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce does not extend ours"),
        (f"r={RFC_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce does not extend ours"),
        (f"r={RFC_NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1", "asks for 1 iterations"),
        (f"r={RFC_NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999", "asks for 99999999"),
        (f"r={RFC_NONCE}x,s=not base64!,i=4096", "salt is not base64"),
        (f"m=ext,r={RFC_NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "extension"),
        ("garbage", "malformed attribute"),
    ],
)
def test_scram_client_refuses_bad_server_first(server_first: str, reason: str) -> None:
    with pytest.raises(ScramFailure, match=reason):
        ScramClient("user", "pencil", nonce=RFC_NONCE).final(server_first)


def test_scram_client_against_the_servers_scram_code() -> None:
    # The client and ircish.accounts.scram agree on a login neither scripted.
    credentials = derive("pencil ü", iterations=4096)
    client = ScramClient("ada,=x", "pencil ü")
    exchange = Exchange(parse_client_first(client.first()), credentials)
    assert exchange.client_first.username == "ada,=x"
    client.verify(exchange.final(client.final(exchange.server_first)))


# -- framing and choice ----------------------------------------------------------------


def test_authenticate_chunks_of_400_with_a_final_plus() -> None:
    assert encode_response(b"") == ["+"]
    assert encode_response(b"abc") == ["YWJj"]
    exact = encode_response(b"x" * 300)  # 400 base64 characters
    assert [len(c) for c in exact] == [400, 1] and exact[1] == "+"
    long = encode_response(b"y" * 700)
    assert [len(c) for c in long] == [400, 400, 136]
    reader = ChallengeReader()
    assert [reader.feed(c) for c in long] == [None, None, b"y" * 700]
    assert [reader.feed(c) for c in exact] == [None, b"x" * 300]
    assert reader.feed("+") == b""
    with pytest.raises(ValueError, match="not base64"):
        reader.feed("!!!")


def test_mechanism_choice_prefers_scram_and_guards_plain() -> None:
    assert choose(["PLAIN", "SCRAM-SHA-256", "EXTERNAL"], set(), False) == "SCRAM-SHA-256"
    assert choose(["PLAIN", "SCRAM-SHA-256"], {"SCRAM-SHA-256"}, True) == "PLAIN"
    assert choose(["PLAIN"], set(), False) is None
    assert choose(["EXTERNAL"], set(), True) is None
    assert choose(None, set(), True) == "SCRAM-SHA-256"  # unlisted: try, and read the 908
    assert plain_is_safe("127.0.0.1", False, True, False)
    assert plain_is_safe("::1", False, True, False)
    assert plain_is_safe("localhost", False, True, False)
    assert not plain_is_safe("irc.example.org", False, True, False)
    assert not plain_is_safe("irc.example.org", True, False, False)  # TLS, but unchecked
    assert plain_is_safe("irc.example.org", True, True, False)
    assert plain_is_safe("irc.example.org", False, True, True)  # the user said so


# -- the session without a network -------------------------------------------------------


def test_plain_only_server_without_tls_gets_no_password() -> None:
    sent: list[str] = []
    settings = SaslSettings("ada", "hunter2", allow_plain=False)
    session = Session(Identity("ada"), Buffers("srv"), [], sasl=settings)
    session.connection_made(sent.append)
    session.handle_line(":srv CAP * LS :sasl=PLAIN server-time")
    assert sent[-2:] == ["CAP REQ server-time", "CAP REQ sasl"]
    session.handle_line(":srv CAP * ACK :server-time")
    session.handle_line(":srv CAP * ACK :sasl")
    assert not any(line.startswith("AUTHENTICATE") for line in sent)
    assert sent[-1] == "CAP END"
    shown = [line.text for line in session.buffers.server.lines]
    assert any("offers only PLAIN" in t and "sasl_plain_without_tls" in t for t in shown)
    assert "hunter2" not in repr(settings)


def test_cap_end_waits_for_both_requests_and_the_login() -> None:
    sent: list[str] = []
    session = Session(Identity("ada"), Buffers("srv"), [], sasl=SaslSettings("ada", "pw"))
    session.connection_made(sent.append)
    session.handle_line(":srv CAP * LS :sasl=SCRAM-SHA-256 batch")
    session.handle_line(":srv CAP * ACK :sasl")
    assert sent[-1] == "AUTHENTICATE SCRAM-SHA-256"
    session.handle_line(":srv CAP * ACK :batch")
    assert "CAP END" not in sent  # the login is still under way
    session.handle_line(":srv 904 ada :SASL authentication failed")
    assert sent[-1] == "CAP END"
    assert any("904" in line.text for line in session.buffers.server.lines)


def test_echoed_services_password_is_masked() -> None:
    sent: list[str] = []
    session = Session(Identity("ada"), Buffers("srv"), [])
    session.connection_made(sent.append)
    session.handle_line(":srv 001 ada :Welcome")
    session.say("NickServ", "IDENTIFY hunter2")  # no echo-message: shown at once
    session.handle_line(":ada!u@h PRIVMSG NickServ :REGISTER hunter2 a@b.c")  # an echo
    query = session.buffers.get("NickServ")
    assert query is not None
    assert [line.text for line in query.lines] == ["IDENTIFY ****", "REGISTER ****"]
    assert sent[-1] == "PRIVMSG NickServ :IDENTIFY hunter2"


# -- settings ----------------------------------------------------------------------------


def test_sasl_keys_are_checked_and_imply_sasl(tmp_path: Path) -> None:
    path = tmp_path / "client.toml"
    path.write_text('nick = "ada"\nsasl_password = "pw"\n')
    config = build({}, path)
    assert config.wants_sasl and config.effective_account == "ada"
    assert "pw" not in repr(config)
    path.write_text('sasl = "yes"\n')
    with pytest.raises(ConfigError, match="'sasl' must be bool"):
        build({}, path)
    path.write_text("sasl_acount = 'ada'\n")
    with pytest.raises(ConfigError, match="unknown key 'sasl_acount'"):
        build({}, path)
    config = build({"sasl_required": True, "sasl_account": "lovelace"}, None)
    assert config.wants_sasl and config.effective_account == "lovelace"


def test_plain_mode_never_prompts_for_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("IRCISH_SASL_PASSWORD", raising=False)
    assert main(["--plain", "--nick", "ada", "--sasl"]) == 2
    err = capsys.readouterr().err
    assert "sasl_password" in err and "IRCISH_SASL_PASSWORD" in err


# -- against the scripted server ----------------------------------------------------------


def sasl_client(port: int, password: str = "pencil", **overrides: object) -> Client:
    return client_for(port, sasl=True, sasl_password=password, **overrides)


def shown_anywhere(client: Client, secret: str) -> bool:
    return any(secret in line.text for b in client.buffers.all for line in b.lines)


async def test_scram_is_preferred_and_cap_end_follows_the_login(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps=SASL_CAPS, accounts={"ada": "pencil"})
    port = await nursery.start(fake.serve)
    client = sasl_client(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#lobby") is not None)
    assert fake.logins == [("SCRAM-SHA-256", "ada")]
    assert client.session.account == "ada"
    assert "AUTHENTICATE PLAIN" not in fake.received
    order = [line for line in fake.received if line.startswith(("AUTHENTICATE", "CAP END"))]
    assert order[0] == "AUTHENTICATE SCRAM-SHA-256" and order[-1] == "CAP END"
    assert any("SASL login succeeded (SCRAM-SHA-256)" in t for t in texts(client, "*"))
    assert not shown_anywhere(client, "pencil")


async def test_plain_when_scram_is_not_offered(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps={"sasl": "PLAIN"}, accounts={"ada": "pencil"})
    port = await nursery.start(fake.serve)
    client = sasl_client(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    assert fake.logins == [("PLAIN", "ada")]
    assert "AUTHENTICATE SCRAM-SHA-256" not in fake.received


async def test_unlisted_mechanisms_are_learnt_from_908(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps={"sasl": ""}, mechanisms=["PLAIN"], accounts={"ada": "pencil"})
    port = await nursery.start(fake.serve)
    client = sasl_client(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    assert fake.lines("AUTHENTICATE")[0] == "AUTHENTICATE SCRAM-SHA-256"
    assert fake.logins == [("PLAIN", "ada")]


@pytest.mark.parametrize(("length", "chunks"), [(295, [400, 1]), (600, [400, 400, 8])])
async def test_long_plain_payload_is_chunked(
    nursery: trio.Nursery, length: int, chunks: list[int]
) -> None:
    password = "p" * length  # "\0ada\0" + password: 300 bytes (exactly 400 base64) or 605
    fake = FakeIrcd(caps={"sasl": "PLAIN"}, accounts={"ada": password})
    port = await nursery.start(fake.serve)
    client = sasl_client(port, password)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    payload = [line.split(" ", 1)[1] for line in fake.lines("AUTHENTICATE")[1:]]
    assert [len(p) for p in payload] == chunks
    assert fake.logins == [("PLAIN", "ada")]


async def test_failed_login_is_shown_and_registration_goes_on(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps=SASL_CAPS, accounts={"ada": "pencil"})
    port = await nursery.start(fake.serve)
    client = sasl_client(port, "wrong")
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#lobby") is not None)
    failure = [t for t in texts(client, "*") if "SASL login as ada failed" in t]
    assert failure and "904" in failure[0] and "Continuing without" in failure[0]
    assert "CAP END" in fake.received and fake.logins == []
    assert client.session.account is None
    assert "AUTHENTICATE PLAIN" not in fake.received  # a refused SCRAM is not retried


async def test_sasl_required_failure_disconnects_and_stops(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps=SASL_CAPS, accounts={"ada": "pencil"})
    port = await nursery.start(fake.serve)
    client = sasl_client(port, "wrong", sasl_required=True)
    nursery.start_soon(client.connection.run)
    with trio.fail_after(5):
        await client.connection.closed.wait()
    assert "CAP END" not in fake.received and fake.lines("QUIT")
    assert fake.connections == 1 and not client.session.ever_registered
    assert any("SASL is required" in t for t in texts(client, "*"))


async def test_wrong_server_signature_aborts_the_login(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps=SASL_CAPS, accounts={"ada": "pencil"}, bad_signature=True)
    port = await nursery.start(fake.serve)
    client = sasl_client(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    assert "AUTHENTICATE *" in fake.received
    assert "AUTHENTICATE PLAIN" not in fake.received  # no password for this server
    assert any("signature does not match" in t for t in texts(client, "*"))
    assert fake.logins == [] and client.session.account is None
    assert fake.received.index("CAP END") > fake.received.index("AUTHENTICATE *")


async def test_reconnect_logs_in_again(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps=SASL_CAPS, accounts={"ada": "pencil"})
    port = await nursery.start(fake.serve)
    client = sasl_client(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    await fake.drop_all()
    await wait_for(lambda: fake.connections == 2 and client.session.registered)
    assert fake.logins == [("SCRAM-SHA-256", "ada"), ("SCRAM-SHA-256", "ada")]
    assert client.session.account == "ada"


def context(client: Client) -> Context:
    return Context(client.session, client.buffers, lambda reason: None)


async def test_register_uses_the_register_command_when_offered(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps={"draft/account-registration": "", "server-time": ""})
    port = await nursery.start(fake.serve)
    client = client_for(port, join=())  # replies go to the current window: the server's
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    run_input(context(client), "/register s3cret ada@example.org")
    await wait_for(lambda: any("Registration of ada succeeded" in t for t in texts(client, "*")))
    assert "REGISTER * ada@example.org s3cret" in fake.received
    assert fake.accounts == {"ada": "s3cret"}
    run_input(context(client), "/register again")
    await wait_for(lambda: any("failed" in t for t in texts(client, "*")))
    assert "Registration of ada failed: Account already exists (ACCOUNT_EXISTS)" in texts(
        client, "*"
    )
    assert "REGISTER * * again" in fake.received
    assert not shown_anywhere(client, "s3cret")


async def test_register_asks_nickserv_otherwise(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps={"echo-message": "", "server-time": ""})
    port = await nursery.start(fake.serve)
    client = client_for(port, join=())
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    run_input(context(client), "/register s3cret")
    await wait_for(lambda: any("Nickname ada registered" in t for t in texts(client, "*")))
    assert "PRIVMSG NickServ :REGISTER s3cret" in fake.received
    assert not fake.lines("REGISTER")
    await wait_for(lambda: client.buffers.get("NickServ") is not None)  # the echo
    assert texts(client, "NickServ") == ["REGISTER ****"]
    assert not shown_anywhere(client, "s3cret")
    run_input(context(client), "/register")
    assert texts(client, "*")[-1] == "Usage: /register password [email]"


async def test_plain_mode_exits_1_when_the_required_login_fails(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps=SASL_CAPS, accounts={"ada": "pencil"})
    port = await nursery.start(fake.serve)
    output: list[str] = []

    async def no_input() -> str | None:
        return None

    settings = config(port, sasl_required=True, sasl_password="wrong")
    with trio.fail_after(10):
        status = await run_plain(settings, no_input, output.append)
    assert status == 1
    assert any("SASL login as ada failed" in line for line in output)
    assert not any("wrong" in line for line in output)


def test_the_password_prompt_does_not_echo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return "typed-secret"

    monkeypatch.setattr("ircish.client.cli.getpass.getpass", fake_getpass)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    settings = build({"nick": "ada", "sasl": True}, None)
    assert ask_sasl_password(settings, None, plain=False) == "typed-secret"
    assert asked == ["Password for account ada: "]
    assert ask_sasl_password(settings, None, plain=True) is None  # a script is not asked

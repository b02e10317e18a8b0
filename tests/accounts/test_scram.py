"""SCRAM-SHA-256 against the example exchange of RFC 7677 section 3."""

from __future__ import annotations

import base64

import pytest

from ircish.accounts import hashing, scram

# RFC 7677, section 3: user "user", password "pencil".
CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
SERVER_FIRST = (
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
CLIENT_FINAL = (
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _credentials() -> scram.ScramCredentials:
    return scram.derive("pencil", base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096)


def test_rfc7677_exchange() -> None:
    first = scram.parse_client_first(CLIENT_FIRST)
    assert first.username == "user"
    exchange = scram.Exchange(first, _credentials(), SERVER_NONCE)
    assert exchange.server_first == SERVER_FIRST
    assert exchange.final(CLIENT_FINAL) == SERVER_FINAL


def test_wrong_proof_and_nonce_mismatch_are_refused() -> None:
    first = scram.parse_client_first(CLIENT_FIRST)
    exchange = scram.Exchange(first, scram.derive("not pencil", b"salt", 4096), SERVER_NONCE)
    with pytest.raises(scram.ScramError, match="wrong password"):
        exchange.final(CLIENT_FINAL)
    exchange = scram.Exchange(first, _credentials(), "another-server-nonce")
    with pytest.raises(scram.ScramError, match="nonce mismatch"):
        exchange.final(CLIENT_FINAL.replace("$k0", "$k1"))


@pytest.mark.parametrize("message", [
    "", "n,,", "p=tls-unique,,n=user,r=abc", "n,,n=user", "n,,r=abc", "n,,m=ext,n=u,r=a",
    "x,,n=user,r=abc", "n,,n=us=er,r=abc", "n,,garbage",
])
def test_malformed_client_first(message: str) -> None:
    with pytest.raises(scram.ScramError):
        scram.parse_client_first(message)


@pytest.mark.parametrize("message", [
    "c=biws,r=x", "c=biws,r=x,p=!!!", "c=eSws,r=NONCE,p=AAAA", "c=biws,r=NONCE,p=AAAA",
])
def test_malformed_client_final(message: str) -> None:
    first = scram.parse_client_first(CLIENT_FIRST)
    exchange = scram.Exchange(first, _credentials(), SERVER_NONCE)
    with pytest.raises(scram.ScramError):
        exchange.final(message.replace("NONCE", exchange.nonce))


def test_credentials_hold_no_password() -> None:
    cred = hashing.make_credentials("hunter2 long")
    assert cred.password_hash.startswith("$argon2id$")
    assert hashing.verify("hunter2 long", cred.password_hash)
    assert not hashing.verify("hunter3 long", cred.password_hash)
    assert not hashing.verify("x", "not a hash")
    assert b"hunter2" not in cred.scram.stored_key + cred.scram.server_key

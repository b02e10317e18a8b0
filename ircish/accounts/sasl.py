"""IRCv3 SASL 3.1/3.2: the ``AUTHENTICATE`` command with PLAIN, SCRAM-SHA-256, EXTERNAL
(EXTERNAL only where TLS client certificates work: see ``mechanisms``).

A client names a mechanism, the server answers ``AUTHENTICATE +`` (or a SCRAM
challenge), and the client's responses come base64-encoded in chunks of at most
400 bytes: a chunk of exactly 400 means more follows, ``+`` is an empty chunk
(or ends a response that was a multiple of 400), ``*`` aborts (906). What the
specifications give for bad input, and the exchange is then over:

- a chunk over 400 bytes: 905; a response over ``MAX_RESPONSE`` bytes in all: 904;
- base64 that does not decode, a malformed PLAIN or SCRAM message, a SCRAM
  nonce that is not ours, a wrong password, an unknown account or
  certificate: 904 (a mechanism named mid-exchange is just bad base64: 904);
- an unknown mechanism: 908 with the list, then 904;
- already logged in: 907.

Password checks (PLAIN) run off the loop through ``AccountService.offload``;
SCRAM's account look-up is a store request answered on the loop
(``look_up``: it must not wait behind argon2 checks for a thread), and its
proof check is two HMACs, done inline.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ircish.accounts import scram
from ircish.accounts.records import Account, AccountRequest
from ircish.accounts.service import AccountService, Unavailable
from ircish.core import numerics as N

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message

CAP = "sasl"
MECHANISMS = ("PLAIN", "SCRAM-SHA-256")
EXTERNAL = "EXTERNAL"


def mechanisms(service: AccountService) -> tuple[str, ...]:
    """What this server offers: EXTERNAL only with a TLS listener that can take
    self-signed client certificates (``ircish.net.clientcert``)."""
    return (*MECHANISMS, EXTERNAL) if service.external else MECHANISMS

CHUNK = 400
# The longest response we reassemble (PLAIN with a long password fits easily).
MAX_RESPONSE = 4096
EXT = "sasl"


@dataclass
class Exchange:
    mechanism: str
    chunks: list[str] = field(default_factory=list)
    size: int = 0
    step: int = 0
    busy: bool = False
    scram: scram.Exchange | None = None
    account: str | None = None


def _state(user: User) -> Exchange | None:
    state = user.ext.get(EXT)
    return state if isinstance(state, Exchange) else None


def _end(user: User) -> None:
    user.ext.pop(EXT, None)


def _fail(server: Server, user: User, text: str = "SASL authentication failed") -> None:
    _end(user)
    server.numeric(user, N.ERR_SASLFAIL, text)


def send_challenge(server: Server, user: User, data: bytes) -> None:
    encoded = base64.b64encode(data).decode() if data else ""
    chunks = [encoded[i:i + CHUNK] for i in range(0, len(encoded), CHUNK)]
    for chunk in chunks:
        server.send_from_server(user, "AUTHENTICATE", chunk)
    if not chunks or len(chunks[-1]) == CHUNK:
        server.send_from_server(user, "AUTHENTICATE", "+")


def authenticate(service: AccountService, server: Server, user: User, msg: Message) -> None:
    param = msg.params[0]
    state = _state(user)
    if state is None:
        _start(service, server, user, param)
        return
    if state.busy:
        return  # a check is running; the shell holds lines, so this is a stray
    if param == "*":
        _end(user)
        server.numeric(user, N.ERR_SASLABORTED, "SASL authentication aborted")
        return
    if len(param) > CHUNK:
        _end(user)
        server.numeric(user, N.ERR_SASLTOOLONG, "SASL message too long")
        return
    if param != "+":
        state.chunks.append(param)
        state.size += len(param)
        if state.size > MAX_RESPONSE:
            _fail(server, user, "SASL response too long")
            return
        if len(param) == CHUNK:
            return  # more follows
    text = "".join(state.chunks)
    state.chunks.clear()
    state.size = 0
    try:
        data = base64.b64decode(text, validate=True) if text else b""
    except (binascii.Error, ValueError):
        _fail(server, user, "SASL authentication failed: the response is not valid base64")
        return
    _step(service, server, user, state, data)


def _start(service: AccountService, server: Server, user: User, mechanism: str) -> None:
    if user.account is not None:
        server.numeric(user, N.ERR_SASLALREADY, "You have already authenticated using SASL")
        return
    mech = mechanism.upper()
    offered = mechanisms(service)
    if mech not in offered:
        server.numeric(user, N.RPL_SASLMECHS, ",".join(offered),
                       "are available SASL mechanisms")
        server.numeric(user, N.ERR_SASLFAIL, "SASL authentication failed")
        return
    if service.refused(user, None):
        server.numeric(user, N.ERR_SASLFAIL,
                       "SASL authentication failed: too many failed attempts, try again later")
        return
    user.ext[EXT] = Exchange(mech)
    server.send_from_server(user, "AUTHENTICATE", "+")


def _step(service: AccountService, server: Server, user: User, state: Exchange,
          data: bytes) -> None:
    if state.mechanism == "PLAIN":
        _plain(service, server, user, state, data)
    elif state.mechanism == "EXTERNAL":
        _external(service, server, user, state, data)
    elif state.step == 0:
        _scram_first(service, server, user, state, data)
    elif state.step == 1:
        _scram_final(service, server, user, state, data)
    elif data:
        _fail(server, user)
    else:
        _succeed(service, server, user, state.account or "", "SASL SCRAM-SHA-256")


def _succeed(service: AccountService, server: Server, user: User, name: str, how: str) -> None:
    _end(user)
    service.login(user, name, how, lambda: server.numeric(
        user, N.RPL_SASLSUCCESS, "SASL authentication successful"))


def _refused(service: AccountService, server: Server, user: User, name: str) -> bool:
    if service.refused(user, name):
        _fail(server, user, "SASL authentication failed: too many failed attempts, try again "
                            "later")
        return True
    return False


def _plain(service: AccountService, server: Server, user: User, state: Exchange,
           data: bytes) -> None:
    try:
        authzid, authcid, password = data.decode("utf-8").split("\0")
    except (UnicodeDecodeError, ValueError):
        service.failed(user, None, "SASL PLAIN", "malformed response")
        _fail(server, user)
        return
    if not authcid or not password or (authzid and authzid != authcid):
        service.failed(user, authcid or None, "SASL PLAIN",
                       "empty name or password, or another authorization identity")
        _fail(server, user)
        return
    if _refused(service, server, user, authcid):
        return
    state.busy = True

    def then(result: Account | Unavailable | None) -> None:
        if isinstance(result, Unavailable):
            _fail(server, user, "SASL authentication failed: accounts are unavailable")
        elif result is None:
            service.failed(user, authcid, "SASL PLAIN", "wrong name or password")
            _fail(server, user)
        else:
            _succeed(service, server, user, result.name, "SASL PLAIN")

    service.offload(user, lambda: service.check_password_blocking(authcid, password), then)


def _external(service: AccountService, server: Server, user: User, state: Exchange,
              data: bytes) -> None:
    authzid = data.decode("utf-8", "replace")
    if user.certfp is None:
        service.failed(user, authzid or None, "SASL EXTERNAL", "no client certificate")
        _fail(server, user, "SASL authentication failed: no TLS client certificate")
        return
    if _refused(service, server, user, authzid):
        return
    state.busy = True
    fingerprint = user.certfp

    def work() -> Account | None:
        found: Account | None = service.ask_blocking(AccountRequest("by_cert", (fingerprint,)))
        return found

    def then(result: Account | Unavailable | None) -> None:
        if isinstance(result, Unavailable):
            _fail(server, user, "SASL authentication failed: accounts are unavailable")
        elif result is None or (authzid and authzid.casefold() != result.name.casefold()):
            service.failed(user, authzid or None, "SASL EXTERNAL", "unknown certificate")
            _fail(server, user)
        else:
            _succeed(service, server, user, result.name, "SASL EXTERNAL")

    service.offload(user, work, then)


def _scram_first(service: AccountService, server: Server, user: User, state: Exchange,
                 data: bytes) -> None:
    try:
        first = scram.parse_client_first(data.decode("utf-8"))
    except (UnicodeDecodeError, scram.ScramError) as exc:
        service.failed(user, None, "SASL SCRAM-SHA-256", str(exc) or "malformed message")
        _fail(server, user)
        return
    authzid = first.gs2_header.split(",")[1][2:]
    if authzid and authzid != first.username:
        service.failed(user, first.username, "SASL SCRAM-SHA-256", "another authorization id")
        _fail(server, user)
        return
    if _refused(service, server, user, first.username):
        return
    state.busy = True

    def then(result: Account | Unavailable | None) -> None:
        state.busy = False
        if isinstance(result, Unavailable):
            _fail(server, user, "SASL authentication failed: accounts are unavailable")
        elif result is None or result.scram is None:
            service.failed(user, first.username, "SASL SCRAM-SHA-256", "no such account")
            _fail(server, user)
        else:
            state.scram = scram.Exchange(first, result.scram)
            state.account = result.name
            state.step = 1
            send_challenge(server, user, state.scram.server_first.encode())

    # No hashing here: a look-up on the loop, not behind the argon2 checks' threads.
    service.look_up(user, AccountRequest("get", (first.username,)), then)


def _scram_final(service: AccountService, server: Server, user: User, state: Exchange,
                 data: bytes) -> None:
    assert state.scram is not None
    try:
        server_final = state.scram.final(data.decode("utf-8"))
    except (UnicodeDecodeError, scram.ScramError) as exc:
        service.failed(user, state.account, "SASL SCRAM-SHA-256", str(exc) or "malformed")
        _fail(server, user)
        return
    state.step = 2
    send_challenge(server, user, server_final.encode())

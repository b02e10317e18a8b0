"""TLS client certificates for SASL EXTERNAL: ask for any certificate, keep its fingerprint.

IRC client certificates are self-signed: what identifies a user is the
certificate's SHA-256 fingerprint, registered with ``NickServ CERT ADD``, not a
CA's signature. Python's ``ssl`` module cannot accept such a certificate on its
own: with ``CERT_OPTIONAL`` OpenSSL verifies whatever the client sends against
the loaded CAs and aborts the handshake when that fails ("unknown ca"), and the
module exposes no verify callback. OpenSSL has one (``SSL_CTX_set_verify``), so
``accept_any_client_certificate`` installs a callback that accepts every
certificate, through ``ctypes`` on the ``SSL_CTX`` behind the context. The
pointer is read at the place CPython keeps it (right after the object header)
and trusted only if OpenSSL, asked through it, reports the verify mode and the
options the ``ssl`` module reports; otherwise nothing is changed and client
certificates stay off (EXTERNAL is then not offered). The certificate is never
trusted for anything but its fingerprint.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import ssl
from typing import Any

log = logging.getLogger("ircish.net")

SSL_VERIFY_PEER = 0x01

_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


def _accept(preverify_ok: int, store: int | None) -> int:
    return 1  # any certificate: only its fingerprint is used, never its chain


# Kept for the life of the process: OpenSSL calls it from every handshake.
_ACCEPT = _VERIFY_CALLBACK(_accept)
_lib: Any = None


def _openssl() -> Any:
    global _lib
    if _lib is None:
        # The _ssl extension's handle finds the libssl it is linked with.
        lib = ctypes.CDLL(ssl._ssl.__file__)  # type: ignore[attr-defined]
        lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CALLBACK]
        lib.SSL_CTX_set_verify.restype = None
        _lib = lib
    return _lib


def accept_any_client_certificate(context: ssl.SSLContext) -> bool:
    """Make a server ``context`` ask for a client certificate and accept any; True
    if that worked, else False with ``context`` as it was."""
    before = context.verify_mode
    try:
        lib = _openssl()
        context.verify_mode = ssl.CERT_OPTIONAL
        pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
        if not pointer or lib.SSL_CTX_get_verify_mode(pointer) != SSL_VERIFY_PEER \
                or lib.SSL_CTX_get_options(pointer) != int(context.options):
            raise OSError("the SSL_CTX is not where it was expected")
        lib.SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, _ACCEPT)
    except (OSError, AttributeError, ValueError, TypeError) as exc:
        context.verify_mode = before
        log.warning("TLS client certificates are off (SASL EXTERNAL is not offered): %s", exc)
        return False
    return True


def supported() -> bool:
    """Whether this Python and OpenSSL let us accept self-signed client certificates."""
    global _supported
    if _supported is None:
        _supported = accept_any_client_certificate(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    return _supported


_supported: bool | None = None


def fingerprint(stream: object) -> str | None:
    """The SHA-256 of the peer's certificate (lowercase hex) on a finished handshake."""
    getpeercert = getattr(stream, "getpeercert", None)
    if getpeercert is None:
        return None
    try:
        der = getpeercert(binary_form=True)
    except (ValueError, ssl.SSLError):
        return None
    return hashlib.sha256(der).hexdigest() if der else None

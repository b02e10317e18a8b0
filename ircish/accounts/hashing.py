"""Account passwords: an argon2id hash for PLAIN and NickServ, SCRAM keys for SCRAM.

Both are made at once when a password is set (``make_credentials``), since only
then is the password known. argon2id parameters are the OWASP baseline (19 MiB,
2 passes, 1 lane): about 35 ms per check on this project's 2-core test machine,
with the GIL released, so it runs in a worker thread (``Server.run_blocking``),
never on the event loop. A hash made with other parameters still verifies (they
are in the hash string); ``needs_rehash`` says when to renew it.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ircish.accounts.scram import DEFAULT_ITERATIONS, ScramCredentials, derive

TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB,
                         parallelism=PARALLELISM)

# Longer passwords are refused before any hashing (a megabyte password is work).
MAX_PASSWORD_BYTES = 1024
MIN_PASSWORD_LENGTH = 4


@dataclass(frozen=True, slots=True)
class Credentials:
    password_hash: str
    scram: ScramCredentials


def password_problem(password: str, min_length: int = MIN_PASSWORD_LENGTH) -> str | None:
    """Why ``password`` cannot be an account password, or None. Operators (the
    CLI) may set shorter ones than users may choose."""
    if len(password) < max(min_length, 1):
        return f"Passwords must be at least {max(min_length, 1)} characters long"
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        return f"Passwords must be at most {MAX_PASSWORD_BYTES} bytes long"
    if any(ch in password for ch in "\r\n\0"):
        return "Passwords may not contain line breaks or NUL"
    return None


def make_credentials(password: str, iterations: int = DEFAULT_ITERATIONS) -> Credentials:
    """Slow (argon2id and PBKDF2): call it from a thread."""
    return Credentials(_hasher.hash(password), derive(password, iterations=iterations))


def hash_only(password: str) -> str:
    return _hasher.hash(password)


def verify(password: str, password_hash: str) -> bool:
    """Slow: call it from a thread. A broken or foreign hash is a mismatch."""
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False

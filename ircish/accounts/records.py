"""Account values both processes use: what the worker stores and the server asks.

Nothing here imports SQLAlchemy or Trio. An ``AccountRequest`` travels as it is
to the history worker (``StoreClient.account``), which answers it with
``ircish.store.accounts.answer`` in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ircish.accounts.scram import ScramCredentials

# Outcomes of a change, as the worker answers them.
OK = "ok"
EXISTS = "exists"  # the name (or the certificate) is taken
NO_SUCH = "no-such-account"
LIMIT = "limit"

MAX_CERTS = 10


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    registered_micros: int
    email: str | None
    password_hash: str | None
    scram: ScramCredentials | None
    certfps: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:  # never the hash, not even in a log line
        return f"<Account {self.name}>"


@dataclass(frozen=True, slots=True)
class ChannelRegistration:
    """A channel registered with ChanServ: its founder account, when and by whom."""

    channel: str
    founder: str
    registered_micros: int
    registered_by: str


@dataclass(frozen=True, slots=True)
class AccountRequest:
    """One operation on the accounts tables.

    ``op`` is one of ``get`` (name), ``by_cert`` (fingerprint), ``list``,
    ``create`` (name, micros, email, password_hash, scram, certfp),
    ``set_password`` (name, password_hash, scram), ``delete`` (name),
    ``cert_add`` / ``cert_del`` (name, fingerprint), ``set_setting`` (name,
    setting, value or None); for ChanServ's registrations (``store/registrations``)
    ``channel_register`` (channel, founder, micros, registered_by, most per
    founder), ``channel_drop`` (channel), ``channel_list``; for network bans
    (``store/bans``) ``ban_list``, ``ban_add`` (ban), ``ban_del`` (kind, mask),
    ``ban_expire`` (micros).
    """

    op: str
    args: tuple[Any, ...] = ()

    def __repr__(self) -> str:  # args may hold hashes; the log gets the op only
        return f"<AccountRequest {self.op}>"

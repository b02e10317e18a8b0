"""The accounts tables, worker side: ``answer(conn, request)`` in one transaction.

The server asks with ``ircish.accounts.records.AccountRequest`` (through
``StoreClient.account``); the answer is a plain value from ``records``. Names
are looked up by their casefolded key; the unique constraint on that key is
what settles two registrations of one name at once: the loser's insert fails
and it is answered ``EXISTS``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ircish.accounts.records import EXISTS, LIMIT, MAX_CERTS, NO_SUCH, OK, Account, AccountRequest
from ircish.accounts.scram import ScramCredentials
from ircish.protocol import casefold
from ircish.store import bans, markers, metadata, registrations
from ircish.store.schema import account_certs, account_settings, accounts, read_markers


def _scram(row: Row) -> ScramCredentials | None:  # type: ignore[type-arg]
    if row.scram_salt is None or row.scram_stored_key is None or row.scram_server_key is None:
        return None
    return ScramCredentials(
        bytes(row.scram_salt), int(row.scram_iterations or 0), bytes(row.scram_stored_key),
        bytes(row.scram_server_key),
    )


def _account(conn: Connection, row: Row) -> Account:  # type: ignore[type-arg]
    certs = conn.execute(
        select(account_certs.c.fingerprint).where(account_certs.c.account_id == row.id)
        .order_by(account_certs.c.fingerprint)
    ).scalars().all()
    settings = conn.execute(
        select(account_settings.c.name, account_settings.c.value)
        .where(account_settings.c.account_id == row.id).order_by(account_settings.c.name)
    ).all()
    return Account(row.name, row.registered, row.email, row.password_hash, _scram(row),
                   tuple(certs), tuple((n, v) for n, v in settings))


def _row(conn: Connection, name: str) -> Row | None:  # type: ignore[type-arg]
    return conn.execute(select(accounts).where(accounts.c.key == casefold(name))).first()


def _scram_values(scram: ScramCredentials | None) -> dict[str, Any]:
    if scram is None:
        return {"scram_salt": None, "scram_iterations": None, "scram_stored_key": None,
                "scram_server_key": None}
    return {"scram_salt": scram.salt, "scram_iterations": scram.iterations,
            "scram_stored_key": scram.stored_key, "scram_server_key": scram.server_key}


def answer(conn: Connection, request: AccountRequest) -> Any:
    op, args = request.op, request.args
    if op in markers.OPS:
        return markers.answer(conn, request)
    if op in metadata.OPS:
        return metadata.answer(conn, request)
    if op in bans.OPS:
        return bans.answer(conn, request)
    if op.startswith("channel_"):
        return registrations.answer(conn, request)
    if op == "get":
        row = _row(conn, args[0])
        return _account(conn, row) if row is not None else None
    if op == "by_cert":
        row = conn.execute(
            select(accounts).join(account_certs, account_certs.c.account_id == accounts.c.id)
            .where(account_certs.c.fingerprint == args[0].lower())
        ).first()
        return _account(conn, row) if row is not None else None
    if op == "list":
        return [
            (r.name, r.registered, r.email)
            for r in conn.execute(select(accounts).order_by(accounts.c.key))
        ]
    if op == "names_since":
        return [
            (r.name, r.registered)
            for r in conn.execute(
                select(accounts.c.name, accounts.c.registered)
                .where(accounts.c.registered >= args[0]))
        ]
    if op == "create":
        name, micros, email, password_hash, scram, certfp = args
        try:
            with conn.begin_nested():
                result = conn.execute(insert(accounts).values(
                    key=casefold(name), name=name, registered=micros, email=email,
                    password_hash=password_hash, **_scram_values(scram),
                ))
                if certfp:
                    conn.execute(insert(account_certs).values(
                        fingerprint=certfp.lower(), account_id=result.inserted_primary_key[0]))
        except IntegrityError:
            return EXISTS
        return OK
    row = _row(conn, args[0])
    if row is None:
        return NO_SUCH
    if op == "set_password":
        _, password_hash, scram = args
        conn.execute(update(accounts).where(accounts.c.id == row.id).values(
            password_hash=password_hash, **_scram_values(scram)))
        return OK
    if op == "delete":
        # Foreign keys cascade on SQLite only when enabled; delete the children first.
        for table in (account_certs, account_settings, read_markers):
            conn.execute(delete(table).where(table.c.account_id == row.id))
        registrations.forget_founder(conn, row.id)
        conn.execute(delete(accounts).where(accounts.c.id == row.id))
        return OK
    if op == "cert_add":
        count = conn.execute(
            select(func.count()).where(account_certs.c.account_id == row.id)
        ).scalar_one()
        if count >= MAX_CERTS:
            return LIMIT
        try:
            with conn.begin_nested():
                conn.execute(insert(account_certs).values(
                    fingerprint=args[1].lower(), account_id=row.id))
        except IntegrityError:
            return EXISTS
        return OK
    if op == "cert_del":
        result = conn.execute(delete(account_certs).where(
            account_certs.c.account_id == row.id,
            account_certs.c.fingerprint == args[1].lower()))
        return OK if result.rowcount else NO_SUCH
    if op == "set_setting":
        _, setting, value = args
        conn.execute(delete(account_settings).where(
            account_settings.c.account_id == row.id, account_settings.c.name == setting))
        if value is not None:
            conn.execute(insert(account_settings).values(
                account_id=row.id, name=setting, value=value))
        return OK
    raise ValueError(f"unknown account operation {op!r}")


def answer_in_transaction(engine: Any, request: AccountRequest) -> Any:
    with engine.begin() as conn:
        return answer(conn, request)

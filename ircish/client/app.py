"""Wiring shared by both views: settings into a session, buffers and connection."""

from __future__ import annotations

from dataclasses import dataclass

from ircish.client.config import ClientConfig
from ircish.client.connection import Backoff, Connection, Endpoint
from ircish.client.model import Buffers
from ircish.client.sasl import SaslSettings, plain_is_safe
from ircish.client.session import Identity, Session


@dataclass
class Client:
    """One client's parts, made from settings by :func:`make_client`."""

    config: ClientConfig
    buffers: Buffers
    session: Session
    connection: Connection


def make_client(config: ClientConfig, give_up_after: int | None = None) -> Client:
    buffers = Buffers(config.host)
    identity = Identity(
        nick=config.nick,
        username=config.username or "ircish",
        realname=config.realname,
        password=config.password or None,
    )
    sasl = None
    if config.wants_sasl:
        sasl = SaslSettings(
            config.effective_account,
            config.sasl_password,
            required=config.sasl_required,
            allow_plain=plain_is_safe(
                config.host, config.tls, config.tls_verify, config.sasl_plain_without_tls
            ),
        )
    session = Session(
        identity, buffers, list(config.join), history_lines=config.history_lines, sasl=sasl
    )
    endpoint = Endpoint(config.host, config.effective_port, config.tls, config.tls_verify)
    connection = Connection(
        session,
        endpoint,
        Backoff(config.reconnect_delay, config.reconnect_max),
        give_up_after=give_up_after,
    )
    return Client(config, buffers, session, connection)

"""Wiring shared by both views: settings into a session, buffers and connection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ircish.client.chatlog import ChatLog, default_dir
from ircish.client.commands import Context
from ircish.client.config import ClientConfig, save_list
from ircish.client.connection import Backoff, Connection, Endpoint
from ircish.client.model import Buffers, Listener, Tee
from ircish.client.sasl import SaslSettings, plain_is_safe
from ircish.client.session import Identity, Session


@dataclass
class Client:
    """One client's parts, made from settings by :func:`make_client`."""

    config: ClientConfig
    buffers: Buffers
    session: Session
    connection: Connection
    chatlog: ChatLog | None = None

    def attach(self, view: Listener) -> None:
        """Make ``view`` (and the window logs, when they are on) the model's listener."""
        self.buffers.listener = Tee(view, self.chatlog) if self.chatlog else view

    def context(self, quit: Callable[[str], None]) -> Context:
        def save_ignores(masks: list[str]) -> None:
            save_list(Path(self.config.config_path), "ignore", masks)

        return Context(
            self.session,
            self.buffers,
            quit,
            aliases=dict(self.config.aliases),
            save_ignores=save_ignores if self.config.config_path else None,
        )


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
        identity,
        buffers,
        list(config.join),
        history_lines=config.history_lines,
        sasl=sasl,
        highlights=list(config.highlight),
        ignores=list(config.ignore),
    )
    endpoint = Endpoint(config.host, config.effective_port, config.tls, config.tls_verify)
    connection = Connection(
        session,
        endpoint,
        Backoff(config.reconnect_delay, config.reconnect_max),
        give_up_after=give_up_after,
    )
    chatlog = None
    if config.log:
        chatlog = ChatLog(
            Path(config.log_dir).expanduser() if config.log_dir else default_dir(),
            network=lambda: session.isupport.network or config.host,
            casefold=lambda name: session.buffers.casefold(name),
            report=lambda text: session.info(text, kind="error"),
        )
    return Client(config, buffers, session, connection, chatlog)

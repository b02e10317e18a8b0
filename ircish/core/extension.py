"""An extension: everything one feature adds to the server, declared in one value.

History, plugins, and later accounts and the WebSocket listener are features
beyond the core rules. Each one hands the server a single ``Extension`` saying
what it adds; ``ircish.net.app.IrcServer`` installs them in order, and
``ircish.app.build_server`` is the one place that decides which features run.
To learn who sees an event or answers a verb, read the extensions, nothing else.

The core half (commands, capabilities, ISUPPORT tokens, listeners, message
filters) is installed into ``ircish.core.server.Server``; the Trio half
(services and shutdown steps) is run by the shell. Types here import no I/O
library, so the core can hold them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ircish.core.filters import FilterResult

if TYPE_CHECKING:
    from ircish.config import Config
    from ircish.core.commands import Command
    from ircish.core.events import Event
    from ircish.core.server import Server
    from ircish.core.state import Channel, User

# Called after a user's JOIN burst into a channel (history replay hooks in here).
JoinListener = Callable[["Server", "User", "Channel"], None]
# Called inside the registration burst, after LUSERS and before the MOTD
# (metadata's batch of the client's own keys must precede 376).
WelcomeListener = Callable[["Server", "User"], None]
# ``(server, asker, target)``: called in a WHOIS reply before 318 (metadata's 760).
WhoisListener = Callable[["Server", "User", "User"], None]
# ``(server, user, cap)``: ``user`` has just dropped ``cap`` (``CAP REQ -cap``), called
# after the ACK for each capability it held; what a feature keeps for the capability's
# sake goes here (metadata's subscriptions), since nothing else tells it.
CapDroppedListener = Callable[["Server", "User", str], None]
# The same signature for ``names_listeners``: called inside the burst, after the
# JOIN line and topic, before the names (read-marker's MARKREAD must precede 366).
# ``(sender, verb, target, text)``: None keeps the text, a str replaces it, Reject refuses.
MessageFilter = Callable[["User", str, str, str], FilterResult]
# Runs in the server's nursery: ``await service(app, task_status=...)``, calls
# ``task_status.started()`` once ready, returns (or is cancelled) at shutdown.
Service = Callable[..., Awaitable[None]]
# Awaited once at shutdown, after the clients are told, before the nursery ends.
ShutdownStep = Callable[[], Awaitable[None]]
_Listener = TypeVar("_Listener", bound=Callable[..., None])


def listens_to(*kinds: type) -> Callable[[_Listener], _Listener]:
    """Marks an event listener that does nothing with any event but these kinds.

    The shell then calls it for those alone (``event_kinds``): a channel line is
    nearly every event, and most listeners have nothing to do with one. A
    listener left unmarked hears every event.
    """

    def mark(listener: _Listener) -> _Listener:
        listener.event_kinds = kinds  # type: ignore[attr-defined]
        return listener

    return mark


def listens_for(listener: Callable[..., None], kind: type) -> bool:
    """Whether ``listener`` is to hear an event of class ``kind`` (see ``listens_to``)."""
    kinds = getattr(listener, "event_kinds", None)
    return kinds is None or issubclass(kind, kinds)

@dataclass(frozen=True)
class Extension:
    name: str
    commands: tuple[Command, ...] = ()
    capabilities: Mapping[str, str] = field(default_factory=dict)
    isupport: Mapping[str, str] = field(default_factory=dict)
    event_listeners: tuple[Callable[[Event], None], ...] = ()
    join_listeners: tuple[JoinListener, ...] = ()
    names_listeners: tuple[JoinListener, ...] = ()
    welcome_listeners: tuple[WelcomeListener, ...] = ()
    whois_listeners: tuple[WhoisListener, ...] = ()
    cap_dropped_listeners: tuple[CapDroppedListener, ...] = ()
    message_filters: tuple[MessageFilter, ...] = ()
    services: tuple[Service, ...] = ()
    shutdown_steps: tuple[ShutdownStep, ...] = ()
    # Called on the loop with the new config once a reload (SIGHUP, REHASH) is
    # accepted; see ircish.reload for the keys that only a restart changes.
    reload_listeners: tuple[Callable[[Config], None], ...] = ()
    # HELP topics beyond the verbs (plugins' bot commands, "!seen" -> text), asked
    # each time: the set may change while the server runs.
    help_topics: Callable[[], Mapping[str, str]] | None = None
    # The feature's own object (the history service, the plugin runner), for
    # tools and tests that inspect it; the server never looks inside.
    owner: Any = None

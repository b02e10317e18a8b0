"""``soju.im/search``: the SEARCH command over stored history.

``search_feature(app, store)`` is listed by ``ircish.app.build_server`` after
history, on the same ``StoreClient``. The command checks the attributes and
decides where the asker may look, on the loop and from the rules CHATHISTORY
uses (``core.chathistory.may_read`` and ``history_epoch`` for channels; private
lines by account or connection, in the store's ``queries``); the worker runs the
search (``ircish.store.search``) and the lines come back in a ``soju.im/search``
batch through the reply buffer, labeled if the command was.

Without ``in`` a search covers the channels the asker is in now and its own
private conversations. Errors are ``FAIL SEARCH INVALID_PARAMS <attribute>`` and
``FAIL SEARCH INTERNAL_ERROR`` (no store, or a search over its budget).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

import trio

from ircish.core import chathistory as ch
from ircish.core.commands import Command
from ircish.core.extension import Extension
from ircish.history.client import StoreClient
from ircish.history.deferred import DeferredAnswers
from ircish.history.errors import StoreQueryError, StoreUnavailable
from ircish.protocol.casemap import casefold
from ircish.protocol.numbers import parse_decimal
from ircish.search.request import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_WORDS,
    SearchAnswer,
    SearchRequest,
    like_nick,
    parse_attributes,
    phrases_of,
    word_count,
)

if TYPE_CHECKING:
    from ircish.core.replies import Replies
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.history.records import HistoryRecord
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.search")

CAP = "soju.im/search"
BATCH_TYPE = "soju.im/search"
# Searches one client may have running; more are refused, not queued.
MAX_IN_FLIGHT = 2

SEARCH_HELP = (
    "SEARCH <attributes>\n"
    "Search the history you may read (soju.im/search). Attributes, separated by ';':\n"
    "in=<channel or nick>, from=<nick or account>, after=<time>, before=<time>\n"
    "(server-time format, inclusive), text=<words> (all must appear; \"a b\" is a phrase)\n"
    "and limit=<n> (default 50, at most 100). Without in: the channels you are in and\n"
    "your own private conversations. e.g. SEARCH in=#chan;text=release\\snotes;limit=10"
)


def _invalid(server: Server, user: User, attribute: str, text: str) -> None:
    server.fail(user, "SEARCH", "INVALID_PARAMS", attribute, text)


def _widen_before(micros: int) -> int:
    """``before`` at or before a millisecond means all of that millisecond: time tags
    go out to the millisecond, lines are stored to the microsecond."""
    return micros + 999 if micros % 1000 == 0 else micros


def parse_search(server: Server, user: User, msg: Message) -> SearchRequest | None:
    """The request for ``user``'s SEARCH line, or None after the FAIL saying why."""
    if not msg.params or not msg.params[0]:
        _invalid(server, user, "*", "Missing search attributes")
        return None
    attrs, bad = parse_attributes(msg.params[0])
    if bad is not None:
        _invalid(server, user, bad, "Unknown, repeated or empty search attribute")
        return None
    limit = DEFAULT_LIMIT
    if "limit" in attrs:
        asked = parse_decimal(attrs["limit"], minimum=1)
        if asked is None:
            _invalid(server, user, "limit", "The limit must be a positive number")
            return None
        limit = min(asked, MAX_LIMIT)
    bounds: dict[str, int] = {}
    for name in ("after", "before"):
        if name in attrs:
            micros = ch.parse_timestamp(attrs[name])
            if micros is None:
                _invalid(server, user, name, "A time is YYYY-MM-DDThh:mm:ss.sssZ")
                return None
            bounds[name] = _widen_before(micros) if name == "before" else micros
    phrases: tuple[tuple[str, ...], ...] = ()
    if "text" in attrs:
        phrases = phrases_of(attrs["text"])
        if not phrases:
            _invalid(server, user, "text", "The text has no words to search for")
            return None
        if word_count(phrases) > MAX_WORDS:
            _invalid(server, user, "text", f"At most {MAX_WORDS} words")
            return None
    viewer = ch.viewer_of(user)
    sender = attrs.get("from")
    common = {
        "viewer": viewer,
        "sender": sender,
        "sender_like": like_nick(sender) if sender is not None else None,
        "after": bounds.get("after"),
        "before": bounds.get("before"),
        "phrases": phrases,
        "limit": limit,
    }
    target = attrs.get("in")
    if target is None:
        # Everything the asker may read now: its channels and its own conversations.
        channels = tuple((c.name, ch.history_epoch(server, c)) for c in user.channels.values())
        return SearchRequest(channels=channels, private=True, **common)  # type: ignore[arg-type]
    if not ch.may_read(server, user, target):
        # The same answer whether the channel exists or not.
        _invalid(server, user, "in", "You cannot search that target's history")
        return None
    channel = server.find_channel(target) if target.startswith("#") else None
    if channel is not None:
        return SearchRequest(channels=((channel.name, ch.history_epoch(server, channel)),),
                             **common)  # type: ignore[arg-type]
    return SearchRequest(channels=(), private_with=target, **common)  # type: ignore[arg-type]


def _from_matches(record: HistoryRecord, sender: str) -> bool:
    """The exact check of ``from`` the store's LIKE pattern left loose (casemapping)."""
    if record.account is not None and record.account.lower() == sender.lower():
        return True
    return casefold(record.nick) == casefold(sender)


class SearchService:
    def __init__(self, app: IrcServer, store: StoreClient) -> None:
        self.core: Server = app.core
        self.store = store
        self.deferred = DeferredAnswers(MAX_IN_FLIGHT)

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self.deferred.nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self.deferred.nursery = None

    def on_command(self, server: Server, user: User, msg: Message) -> None:
        request = parse_search(server, user, msg)
        if request is None:
            return
        if not self.deferred.start(server, user, partial(self._answer, user, request)):
            server.fail(user, "SEARCH", "INTERNAL_ERROR", "Too many searches at once")

    async def _answer(
        self, user: User, request: SearchRequest, replies: Replies | None,
    ) -> None:
        core = self.core
        try:
            (found,) = await self.store.ask(request)
            if not isinstance(found, SearchAnswer):
                raise StoreQueryError(f"a search came back as {type(found).__name__}")
            if user not in core.connections:
                return
            with core.replies.collecting(replies):
                if found.stopped:
                    core.fail(user, "SEARCH", "INTERNAL_ERROR",
                              "The search took too long: narrow it with in, from, after, "
                              "before or more words")
                    return
                records = found.records
                if request.sender is not None:
                    sender = request.sender
                    records = tuple(r for r in records if _from_matches(r, sender))
                ch.send_batch(core, user, BATCH_TYPE, [], records)
        except Exception as exc:
            # A search task must never take the server down with it.
            if isinstance(exc, StoreUnavailable | StoreQueryError):
                log.warning("search failed: %s", exc)
            else:
                log.exception("search failed")
            if user in core.connections:
                with core.replies.collecting(replies):
                    core.fail(user, "SEARCH", "INTERNAL_ERROR", "The search could not be run")


def search_feature(app: IrcServer, store: StoreClient) -> Extension:
    """Search across history: what it adds to a server, in one value."""
    service = SearchService(app, store)
    return Extension(
        name="search",
        commands=(Command("SEARCH", service.on_command, help=SEARCH_HELP),),
        capabilities={CAP: ""},
        services=(service.serve,),
        owner=service,
    )

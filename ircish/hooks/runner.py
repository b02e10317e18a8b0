"""Running hooks: off the message path, under a time limit, one plugin's failure
never anyone else's.

The core emits events synchronously on the message path; ``listener`` only puts
them in a bounded queue. The ``dispatch`` task (in the server's nursery) takes
them out, calls each plugin's hook implementation with the named arguments it
declares, and gives every awaitable a task of its own under ``hook_timeout``.
Hook implementations are called one by one rather than through pluggy's
``pm.hook.x()`` so that an exception or a timeout is charged to the plugin that
caused it and the other plugins still run.

A plain ``def`` hook runs in a worker thread (``threads``): it may block, the
loop does not wait for it; each plugin has ``THREADS_PER_PLUGIN`` of them and at
most ``THREAD_BACKLOG`` calls waiting, beyond which its events are dropped (for
it alone). The message filter cannot leave the message path; it has a time
budget instead (``[plugins] filter_budget_ms``), and going over it counts.

A plugin that fails ``max_failures`` times within ``FAILURE_WINDOW`` seconds is
disabled: unregistered, its commands and filters removed, its tasks cancelled,
its bots quit. A history store that does not answer (``HistoryUnavailable``) is
not the plugin's failure.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import pluggy
import trio

from ircish.core import bots, events
from ircish.core.filters import Reject
from ircish.core.server import Server
from ircish.core.state import User
from ircish.hooks.api import Bot, PluginAPI, UserView
from ircish.hooks.commands import close_awaitable
from ircish.hooks.history import (
    MAX_GONE,
    MAX_GONE_WITH_STORE,
    HistoryUnavailable,
    MemoryHistory,
    ReadMark,
    StoreHealth,
    read_mark,
)
from ircish.hooks.routing import CommandRouter
from ircish.hooks.threads import HookTimedOut, run_in_thread
from ircish.protocol.casemap import casefold

log = logging.getLogger("ircish.hooks")

QUEUE_SIZE = 10000
MAX_PENDING_TASKS = 1000
FAILURE_WINDOW = 600.0
DRAIN_AT_SHUTDOWN = 1.0
COALESCE = 0.005
THREADS_PER_PLUGIN = 4
THREAD_BACKLOG = 100
# A store read may take this share of hook_timeout before it is given up.
HISTORY_SHARE = 0.5

# The events plugins hear about, and the hook each one fires.
_HOOK_FOR_EVENT: dict[type, str] = {
    events.WelcomeEvent: "on_welcome",
    events.JoinEvent: "on_join",
    events.LeaveEvent: "on_leave",
    events.MessageEvent: "on_message",
    events.NickEvent: "on_nick",
    events.TopicEvent: "on_topic",
    events.RenameEvent: "on_rename",
}
# The memory history also needs these, which fire no hook.
_RECORDED = frozenset((*_HOOK_FOR_EVENT, events.DisconnectEvent, events.AccountEvent))


def _hook_for(event: events.Event) -> str | None:
    """The hook ``event`` fires: one per type, but an AccountEvent is a login or a
    logout (``account`` None)."""
    if type(event) is events.AccountEvent:
        return "on_login" if event.account is not None else "on_logout"
    return _HOOK_FOR_EVENT.get(type(event))


@dataclass
class LoadedPlugin:
    name: str
    plugin: Any  # the module (or object) registered with pluggy
    source: str
    version: str
    api: PluginAPI
    enabled: bool = True
    failures: deque[float] = field(default_factory=deque)
    verbs: list[str] = field(default_factory=list)
    bots: set[str] = field(default_factory=set)  # casefolded nicks
    scopes: set[trio.CancelScope] = field(default_factory=set)
    limiter: trio.CapacityLimiter = field(
        default_factory=lambda: trio.CapacityLimiter(THREADS_PER_PLUGIN))
    backlog: int = 0  # calls waiting for or running in its threads
    dropped: int = 0


@dataclass(frozen=True)
class _Impl:
    plugin: LoadedPlugin
    function: Callable[..., Any]
    argnames: tuple[str, ...]
    threaded: bool  # a plain def: runs in a worker thread



K = TypeVar("K")


class ScopesFor(Generic[K]):
    """Cancel scopes of work done for someone (a user, a nick), by that someone: all
    cancelled together when they go, each forgotten when its work ends."""

    __slots__ = ("_by",)

    def __init__(self) -> None:
        self._by: dict[K, set[trio.CancelScope]] = {}

    def __bool__(self) -> bool:
        return bool(self._by)

    def keys(self) -> list[K]:
        return list(self._by)

    def add(self, key: K, scope: trio.CancelScope) -> None:
        self._by.setdefault(key, set()).add(scope)

    def discard(self, key: K, scope: trio.CancelScope) -> None:
        scopes = self._by.get(key)
        if scopes is not None:
            scopes.discard(scope)
            if not scopes:
                del self._by[key]

    def cancel(self, key: K) -> None:
        for scope in self._by.pop(key, ()):
            scope.cancel()

class HookRunner:
    def __init__(self, app: Any, pm: pluggy.PluginManager, history_reader: Any = None) -> None:
        self.app = app
        self.core: Server = app.core
        self.pm = pm
        self.history_reader = history_reader  # the store's, for api.history; None: memory
        settings = app.config.plugins
        self.timeout = settings.hook_timeout
        self.max_failures = settings.max_failures
        self.filter_budget = settings.filter_budget_ms / 1000
        self.store_health = StoreHealth()
        self.history_timeout = self.timeout * HISTORY_SHARE
        # With a store, the store answers for nicks that left long ago.
        self.memory = MemoryHistory(self.core.channels.__contains__, max_gone=(
            MAX_GONE if history_reader is None else MAX_GONE_WITH_STORE),
            lines=history_reader is None, holds=self.core.users.__contains__)
        self.plugins: dict[str, LoadedPlugin] = {}
        self.commands = CommandRouter(self)
        self.bot_users: dict[str, User] = {}
        self._impls: dict[str, list[_Impl]] = {}
        self._queue: deque[events.Event] = deque()
        self._wakeup = trio.Event()
        self._idle = False
        self._slots = trio.Semaphore(MAX_PENDING_TASKS)
        self._nursery: trio.Nursery | None = None
        # A server command's task by the user it answers: cancelled when that user
        # goes, so no store read waits for (and keeps alive) someone who has left.
        self._for_user: ScopesFor[User] = ScopesFor()
        # Work a plugin does for whoever holds a nick (``api.for_nick``), by casefolded
        # nick: cancelled when that nick is given up (a quit, a rename), so a greeting
        # nobody will read does not keep a store read waiting under churn.
        self._for_nick: ScopesFor[str] = ScopesFor()
        self.dropped = 0

    def reconfigure(self, config: Any) -> None:
        """A reloaded config: the hook limits and each plugin's ``api.config``.

        A plugin reading ``api.config`` in its hooks sees the new settings at once;
        one that copied them at ``on_server_start`` keeps its copy until a restart.
        """
        settings = config.plugins
        self.timeout = settings.hook_timeout
        self.max_failures = settings.max_failures
        self.filter_budget = settings.filter_budget_ms / 1000
        for name, loaded in self.plugins.items():
            loaded.api.config = MappingProxyType(dict(settings.settings.get(name, {})))

    # ---- plugins ------------------------------------------------------------------

    def add(self, name: str, plugin: Any, source: str, version: str) -> LoadedPlugin:
        settings = self.app.config.plugins.settings.get(name, {})
        loaded = LoadedPlugin(name, plugin, source, version, PluginAPI(self, name, settings))
        self.plugins[name] = loaded
        self._impls.clear()
        return loaded

    def impls(self, hook: str) -> list[_Impl]:
        """Enabled implementations of ``hook`` in call order (cached)."""
        found = self._impls.get(hook)
        if found is None:
            caller = getattr(self.pm.hook, hook)
            by_name = self.plugins
            order = {name: i for i, name in enumerate(by_name)}
            # The order of [plugins] enabled (not pluggy's last-registered-first),
            # so an operator decides whose filter is asked first; tryfirst and
            # trylast still move a plugin to the front or the back.
            impls = sorted(
                (impl for impl in caller.get_hookimpls()
                 if impl.plugin_name in by_name and by_name[impl.plugin_name].enabled),
                key=lambda impl: (0 if impl.tryfirst else 2 if impl.trylast else 1,
                                  order[impl.plugin_name]),
            )
            found = [_Impl(by_name[impl.plugin_name], impl.function, tuple(impl.argnames),
                           not inspect.iscoroutinefunction(impl.function))
                     for impl in impls]
            self._impls[hook] = found
        return found

    def call_impl(self, impl: _Impl, hook: str, kwargs: dict[str, Any]) -> Any:
        """Call one implementation here and now; exceptions propagate to the caller."""
        return impl.function(**self._chosen(impl, kwargs))

    @staticmethod
    def _chosen(impl: _Impl, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs["api"] = impl.plugin.api
        return {name: kwargs[name] for name in impl.argnames}

    # ---- the event path -------------------------------------------------------------

    def listener(self, event: events.Event) -> None:
        """On the message path: queue and return, never wait."""
        if type(event) not in _RECORDED:
            return
        if type(event) is events.DisconnectEvent and self._for_user:
            self._drop_departed()
        if self._for_nick:
            if type(event) is events.DisconnectEvent:
                self._nick_given_up(event.nick)
            elif type(event) is events.NickEvent and casefold(event.old) != casefold(event.new):
                self._nick_given_up(event.old)
        queue = self._queue
        if len(queue) >= QUEUE_SIZE:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("plugin event queue full: %d events dropped so far", self.dropped)
            return
        queue.append(event)
        if self._idle:
            self._idle = False
            self._wakeup.set()

    async def dispatch(self) -> None:
        # A deque and a wake-up event rather than a memory channel: appending is
        # the whole cost on the message path, and a busy dispatcher never needs
        # waking at all.
        queue = self._queue
        while True:
            while not queue:
                self._wakeup = trio.Event()
                self._idle = True
                await self._wakeup.wait()
            record = self.memory.record
            while queue:
                event = queue.popleft()
                hook = _hook_for(event)
                # Most events interest no plugin: skip the coroutine for those.
                if hook is not None and (self.impls(hook) or (
                        self.commands.bot_commands and type(event) is events.MessageEvent)):
                    await self._fire(event, hook)
                # Recorded after the hooks ran, so a hook asking for someone's
                # last sighting gets the one before this event.
                record(event)
            # Under load, waking for every message costs a task switch each: let
            # a few milliseconds of events gather instead (hooks hear of them that
            # much later, which no chat bot notices).
            await trio.sleep(COALESCE)

    async def _fire(self, event: events.Event, hook: str) -> None:
        impls = self.impls(hook)
        if impls:
            kwargs = self._arguments(event)
            for impl in impls:
                await self._run(impl, hook, dict(kwargs))
        if type(event) is events.MessageEvent and self.commands.bot_commands:
            await self.commands.on_message(event)

    def _arguments(self, event: Any) -> dict[str, Any]:
        kwargs = {name: getattr(event, name) for name in event.__slots__}
        # Plugins are given the time as a datetime (hookspecs' ``time``).
        kwargs["time"] = events.as_datetime(kwargs.pop("micros"))
        if isinstance(event, events.NickEvent):
            return kwargs
        if isinstance(event, events.AccountEvent):
            if event.account is None:
                kwargs["account"] = event.previous  # the account logged out of
            return kwargs
        if isinstance(event, events.MessageEvent | events.JoinEvent | events.LeaveEvent):
            kwargs["from_bot"] = casefold(event.nick) in self.bot_users
        return kwargs

    async def _run(self, impl: _Impl, hook: str, kwargs: dict[str, Any]) -> None:
        plugin = impl.plugin
        if not plugin.enabled:
            return
        if impl.threaded:
            await self.spawn_sync(plugin, hook, impl.function, self._chosen(impl, kwargs))
            return
        try:
            result = self.call_impl(impl, hook, kwargs)
        except Exception:
            self.failed(plugin, hook, "raised an exception", exc_info=True)
            return
        if inspect.isawaitable(result):
            await self.spawn(plugin, hook, result, self.timeout)

    async def spawn_sync(self, plugin: LoadedPlugin, what: str, fn: Callable[..., Any],
                         kwargs: dict[str, Any]) -> None:
        """From the dispatcher: ``fn(**kwargs)`` in one of the plugin's threads.

        The dispatcher does not wait for it; a plugin whose threads are all
        busy and whose backlog is full loses this event (it alone).
        """
        if plugin.backlog >= THREAD_BACKLOG:
            plugin.dropped += 1
            if plugin.dropped == 1 or plugin.dropped % 1000 == 0:
                log.warning("plugin %s falls behind: its %d threads are busy and %d calls "
                            "wait; %d events dropped for it so far", plugin.name,
                            THREADS_PER_PLUGIN, plugin.backlog, plugin.dropped)
            return
        plugin.backlog += 1
        try:
            await self.spawn(plugin, what, self.in_thread(plugin, what, fn, kwargs), None)
        except BaseException:
            plugin.backlog -= 1
            raise

    async def in_thread(self, plugin: LoadedPlugin, what: str, fn: Callable[..., Any],
                        kwargs: dict[str, Any], counted: bool = True) -> Any:
        """Run ``fn(**kwargs)`` in a thread under ``hook_timeout``; an awaitable it
        returns is awaited here, under the same limit. HookTimedOut past it."""
        try:
            result = await run_in_thread(plugin.name, what, fn, kwargs, plugin.limiter,
                                         self.timeout)
        finally:
            if counted:
                plugin.backlog -= 1
        if inspect.isawaitable(result):
            with trio.move_on_after(self.timeout) as scope:
                await result
            if scope.cancelled_caught:
                raise HookTimedOut(f"timed out after {self.timeout}s")
        return result

    async def spawn(
        self, plugin: LoadedPlugin, what: str, awaitable: Awaitable[Any], timeout: float | None
    ) -> None:
        """From the dispatcher: wait for a free slot (back-pressure), then run in a task."""
        try:
            await self._slots.acquire()
        except BaseException:
            close_awaitable(awaitable)
            raise
        try:
            self.nursery.start_soon(self.guard, plugin, what, awaitable, timeout, True)
        except BaseException:
            self._slots.release()
            close_awaitable(awaitable)
            raise

    def start_awaitable(self, plugin: LoadedPlugin, what: str, awaitable: Awaitable[Any],
                        user: User | None = None) -> None:
        """From synchronous code (a server command): run it in a task, under the
        timeout; cancelled if ``user`` (whom it answers) goes first."""
        if self._nursery is None:
            close_awaitable(awaitable)
            return
        scope = trio.CancelScope()
        if user is not None:
            self._for_user.add(user, scope)
        self._nursery.start_soon(self._acquire_then_guard, plugin, what, awaitable, scope, user)

    async def _acquire_then_guard(self, plugin: LoadedPlugin, what: str,
                                  awaitable: Awaitable[Any], scope: trio.CancelScope,
                                  user: User | None) -> None:
        try:
            with scope:
                try:
                    await self._slots.acquire()
                except BaseException:
                    close_awaitable(awaitable)
                    raise
                await self.guard(plugin, what, awaitable, self.timeout, True)
        finally:
            if user is not None:
                self._for_user.discard(user, scope)

    def _drop_departed(self) -> None:
        """Cancel the server commands of users who are no longer connected."""
        connections = self.core.connections
        for user in [u for u in self._for_user.keys() if u not in connections]:
            self._for_user.cancel(user)

    @contextmanager
    def nick_scope(self, nick: str) -> Iterator[trio.CancelScope]:
        """A cancel scope around work for the holder of ``nick``: cancelled when the
        nick is given up, at once when nobody holds it now (gone before the hook ran)."""
        scope = trio.CancelScope()
        if self.core.find_user(nick) is None:
            scope.cancel()
        key = casefold(nick)
        self._for_nick.add(key, scope)
        try:
            with scope:
                yield scope
        finally:
            self._for_nick.discard(key, scope)

    def _nick_given_up(self, nick: str) -> None:
        self._for_nick.cancel(casefold(nick))

    async def guard(
        self, plugin: LoadedPlugin, what: str, awaitable: Awaitable[Any], timeout: float | None,
        holds_slot: bool = False,
    ) -> None:
        """Await on behalf of ``plugin``: failures and timeouts are charged to it."""
        scope = trio.CancelScope(deadline=trio.current_time() + timeout if timeout else
                                 float("inf"))
        plugin.scopes.add(scope)
        mark = ReadMark()
        read_mark.set(mark)  # this task's own context: seen by api.history in it
        try:
            with scope:
                await awaitable
        except HistoryUnavailable as exc:
            log.debug("plugin %s: %s gave up: %s", plugin.name, what, exc)
        except Exception as exc:
            if not plugin.enabled:
                # Already running (in a thread) when its plugin was disabled.
                log.debug("plugin %s (disabled): %s ended with %r", plugin.name, what, exc)
            elif isinstance(exc, HookTimedOut):
                self.failed(plugin, what, str(exc))
            else:
                self.failed(plugin, what, "raised an exception", exc_info=True)
        else:
            if scope.cancelled_caught and plugin.enabled and timeout is not None:
                if mark.interrupted:
                    # The deadline passed while the store was being asked.
                    self.store_health.trouble(plugin.name, f"{what} timed out waiting "
                                              "for it")
                else:
                    self.failed(plugin, what, f"timed out after {timeout}s")
        finally:
            plugin.scopes.discard(scope)
            close_awaitable(awaitable)
            if holds_slot:
                self._slots.release()

    @property
    def nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError("the plugin runner is not running yet")
        return self._nursery

    def start_soon(
        self, name: str, fn: Callable[..., Awaitable[Any]], args: Iterable[Any],
        timeout: float | None,
    ) -> None:
        plugin = self.plugins[name]
        if not plugin.enabled:
            return
        if self._nursery is None:
            raise RuntimeError("api.start_soon works once the server runs "
                               "(from on_server_start on)")
        label = f"task {getattr(fn, '__qualname__', fn)!s}"
        # Background work holds no hook slot: it may run for the server's lifetime.
        self._nursery.start_soon(self.guard, plugin, label, _call_async(fn, tuple(args)),
                                 timeout)

    # ---- start and stop ----------------------------------------------------------

    async def fire_and_wait(self, hook: str, kwargs: dict[str, Any]) -> list[str]:
        """For start and stop: each implementation in turn, awaited in place.

        Returns the failures as "plugin: problem" lines (they are also logged).
        """
        problems: list[str] = []
        for impl in self.impls(hook):
            problem = None
            try:
                if impl.threaded:
                    await self.in_thread(impl.plugin, hook, impl.function,
                                         self._chosen(impl, dict(kwargs)), counted=False)
                else:
                    result = self.call_impl(impl, hook, dict(kwargs))
                    if inspect.isawaitable(result):
                        with trio.move_on_after(self.timeout) as scope:
                            await result
                        if scope.cancelled_caught:
                            raise HookTimedOut(f"timed out after {self.timeout}s")
            except HookTimedOut as exc:
                problem = str(exc)
                self.failed(impl.plugin, hook, problem)
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
                self.failed(impl.plugin, hook, "raised an exception", exc_info=True)
            if problem is not None:
                problems.append(f"{impl.plugin.name}: {hook} {problem}")
        return problems

    async def service(self, app: Any, task_status: trio.TaskStatus[None]) -> None:
        problems: list[str] = []
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            problems = await self.fire_and_wait("on_server_start", {})
            if problems:
                nursery.cancel_scope.cancel()
            else:
                nursery.start_soon(self.dispatch)
                task_status.started()
        if problems:
            # A plugin that cannot start is a start-up error, like a bad config.
            from ircish.hooks.manager import PluginError

            name, _, problem = problems[0].partition(": ")
            raise PluginError(self.app.config, name, problem)

    async def shutdown(self) -> None:
        # Let the events of the goodbyes reach the plugins, briefly, then stop.
        with trio.move_on_after(DRAIN_AT_SHUTDOWN):
            while self._queue:
                await trio.sleep(0.01)
        await self.fire_and_wait("on_server_stop", {})

    # ---- failures -------------------------------------------------------------------

    def failed(self, plugin: LoadedPlugin, what: str, problem: str, exc_info: bool = False,
               level: int = logging.ERROR) -> None:
        now = time.monotonic()
        plugin.failures.append(now)
        while plugin.failures and plugin.failures[0] < now - FAILURE_WINDOW:
            plugin.failures.popleft()
        count = len(plugin.failures)
        log.log(level, "plugin %s: %s %s (failure %d of %d allowed within %ds)",
                plugin.name, what, problem, count, self.max_failures, FAILURE_WINDOW,
                exc_info=exc_info)
        if count >= self.max_failures and plugin.enabled:
            self.disable(plugin, f"{count} failures within {FAILURE_WINDOW:.0f}s, "
                                 f"the last in {what}")

    def disable(self, plugin: LoadedPlugin, why: str) -> None:
        plugin.enabled = False
        self._impls.clear()
        if self.pm.is_registered(plugin.plugin):
            self.pm.unregister(plugin.plugin)
        self.commands.remove(plugin)
        for scope in list(plugin.scopes):
            scope.cancel()
        for key in plugin.bots:
            still_used = any(p.enabled and key in p.bots for p in self.plugins.values())
            bot = self.bot_users.get(key)
            if bot is not None and not still_used:
                del self.bot_users[key]
                bots.bot_quit(self.core, bot, "Plugin disabled")
        log.error("plugin %s disabled: %s", plugin.name, why)

    # ---- bots -----------------------------------------------------------------------

    def bot_for(self, plugin_name: str, nick: str, realname: str) -> Bot:
        key = casefold(nick)
        user = self.bot_users.get(key)
        if user is None or self.core.users.get(key) is not user:
            user = bots.create_bot(self.core, nick, realname=realname)
            self.bot_users[key] = user
        self.plugins[plugin_name].bots.add(key)
        return Bot(self, user)

    # ---- the message filter -----------------------------------------------------------

    def message_filter(self, user: User, command: str, target: str, text: str) -> Any:
        """Installed in core.message_filters: runs on the message path, synchronously."""
        impls = self.impls("filter_message")
        if not impls:
            return None
        kwargs = {"sender": UserView(user), "command": command, "target": target,
                  "is_channel": target[:1] == "#", "text": text}
        budget = self.filter_budget
        for impl in impls:
            started = time.perf_counter()
            try:
                result = self.call_impl(impl, "filter_message", kwargs)
            except Exception:
                self.failed(impl.plugin, "filter_message", "raised an exception", exc_info=True)
                continue
            finally:
                spent = time.perf_counter() - started
                if spent > budget:
                    # It cannot be interrupted (it is the message path): only charged.
                    self.failed(impl.plugin, "filter_message",
                                f"took {spent * 1000:.1f} ms, over [plugins] filter_budget_ms "
                                f"= {budget * 1000:g} (every message waits for a filter)",
                                level=logging.WARNING)
            if result is None:
                continue
            if isinstance(result, Reject):
                return result
            if isinstance(result, str):
                return result or Reject("message removed")
            close_awaitable(result)
            self.failed(impl.plugin, "filter_message",
                        f"returned {type(result).__name__}; a filter returns None, a str or "
                        "Reject and cannot be async")
        return None


async def _call_async(fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> Any:
    return await fn(*args)

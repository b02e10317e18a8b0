"""Synchronous hooks in worker threads, and the plugin API carried back to the loop.

A plain ``def`` hook may block (a sleep, a socket, a slow library): run on the
event loop it would freeze every client. So the runner calls it through
``run_in_thread``, in a worker thread taken from the plugin's own
``CapacityLimiter`` (one plugin's stuck threads never take another's), and
abandons it when ``hook_timeout`` runs out. The clock starts when the thread
starts, not while the call waits for a free thread: a burst of events is not
the plugin's failure.

The core is not thread-safe, so everything in the plugin API that reads or
changes server state is marked ``@on_loop``: called on the loop (async hooks)
it runs directly; called from a hook's thread it is carried to the loop with
``trio.from_thread.run_sync`` and the thread waits for the answer. A thread
that was abandoned (timed out, or its plugin disabled) and calls the API
afterwards gets ``HookAbandoned`` instead, once logged: it cannot act late.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import trio

log = logging.getLogger("ircish.hooks")

P = ParamSpec("P")
R = TypeVar("R")


class HookAbandoned(RuntimeError):
    """Raised in a hook's thread that calls the API after its hook was given up."""


class HookTimedOut(Exception):
    """A hook's thread ran past ``hook_timeout``; the runner counts it as a failure."""


class ThreadCall:
    """One hook call in a thread: who it belongs to, and whether it was given up."""

    __slots__ = ("abandoned", "plugin", "told", "what")

    def __init__(self, plugin: str, what: str) -> None:
        self.plugin = plugin
        self.what = what
        self.abandoned = False
        self.told = False

    def run(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        # In the worker thread: the call is visible to @on_loop through the
        # context, which trio.to_thread copies into the thread.
        _current.set(self)
        return fn(**kwargs)

    def refuse(self, name: str) -> HookAbandoned:
        if not self.told:
            self.told = True
            log.warning("plugin %s: %s called %s after it was abandoned; the call was "
                        "dropped (and any later ones from that thread)",
                        self.plugin, self.what, name)
        return HookAbandoned(f"{self.what} was abandoned; {name} is not run")


_current: ContextVar[ThreadCall | None] = ContextVar("ircish_hook_thread", default=None)


def on_loop(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` on the Trio loop even when a hook's thread calls it."""
    name = fn.__qualname__

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        call = _current.get()
        if call is None:
            # The loop, or start-up before it runs (both in the main thread); a
            # thread of the plugin's own would race the loop.
            if not trio.lowlevel.in_trio_run() and (
                    threading.current_thread() is not threading.main_thread()):
                raise RuntimeError(f"{name}: the plugin API is not thread-safe; call it "
                                   "from a hook (its own thread is fine) or from the loop")
            return fn(*args, **kwargs)
        if call.abandoned:
            raise call.refuse(name)
        try:
            return trio.from_thread.run_sync(_on_the_loop, functools.partial(fn, *args, **kwargs))
        except trio.RunFinishedError:
            call.abandoned = True
            raise call.refuse(name) from None

    return wrapper


def _on_the_loop(call: Callable[[], R]) -> R:
    # from_thread runs this in a copy of the thread's context: clear the mark
    # there, so API calls nested in this one know they are on the loop.
    _current.set(None)
    return call()


def loop_property(getter: Callable[[Any], Any], doc: str | None = None) -> property:
    """A read-only property whose getter runs on the loop (see ``on_loop``)."""
    return property(on_loop(getter), doc=doc)


class _StartTheClock:
    """A limiter that starts the hook's deadline when a thread is granted.

    ``trio.to_thread.run_sync`` takes any object with these two methods; it
    releases only when the thread really finishes, so an abandoned thread still
    holds its place and a plugin whose hooks hang cannot pile up threads.
    """

    def __init__(self, limiter: trio.CapacityLimiter, scope: trio.CancelScope,
                 timeout: float) -> None:
        self._limiter = limiter
        self._scope = scope
        self._timeout = timeout

    async def acquire_on_behalf_of(self, borrower: object) -> None:
        await self._limiter.acquire_on_behalf_of(borrower)
        self._scope.deadline = trio.current_time() + self._timeout

    def release_on_behalf_of(self, borrower: object) -> None:
        self._limiter.release_on_behalf_of(borrower)


async def run_in_thread(
    plugin: str, what: str, fn: Callable[..., Any], kwargs: dict[str, Any],
    limiter: trio.CapacityLimiter, timeout: float,
) -> Any:
    """``fn(**kwargs)`` in a worker thread; HookTimedOut after ``timeout`` seconds
    of running (the thread is then abandoned, left to finish on its own)."""
    call = ThreadCall(plugin, what)
    scope = trio.CancelScope()
    try:
        with scope:
            return await trio.to_thread.run_sync(
                call.run, fn, kwargs, limiter=_StartTheClock(limiter, scope, timeout),
                abandon_on_cancel=True, thread_name=f"plugin {plugin} {what}")
    except BaseException:
        # Cancelled from outside (the plugin disabled, the server stopping).
        call.abandoned = True
        raise
    finally:
        if scope.cancelled_caught:
            call.abandoned = True
    raise HookTimedOut(f"timed out after {timeout}s in its thread (abandoned; "
                       "it may still be running)")

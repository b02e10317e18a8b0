"""The history worker process: the one writer, and every read, off the server.

Started by ``client.StoreClient`` as ``python -m ircish.store.worker FD`` with
one end of a socketpair as file descriptor FD (protocol in ``rpc``). It runs
its own Trio loop around ``local.Store``: migrate (in a short-lived process,
see ``prepare``), optionally load the persistent channels, then commit what
arrives and answer queries until the stream ends.

Events and queries come on the one ordered stream, so a query sees every event
the server sent before it: the worker commits those first (group commit goes
on: it forces the pending batch, whatever it holds), then answers with
``HistoryReader.ask``. That is read-your-writes without a round trip of its own.
A commit that takes longer than the query's wait is not waited for: the answer
is read anyway and says how many events were left out, and the server counts a
slow writer.

The end of the stream is how the server says "that was all", and also what the
kernel says when the server was killed: either way the worker commits what it
has received and exits, so a SIGKILL of the server loses only what had not yet
been shipped. It ignores SIGINT and SIGTERM, which a terminal or a service
manager sends to the whole process group: the server decides when it ends.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import signal
import socket
import sys
from typing import Any

import trio

from ircish.accounts.records import AccountRequest
from ircish.core.chathistory import HistoryRequest
from ircish.history import codec
from ircish.history.rpc import FrameStream, LinkClosed
from ircish.history.settings import StoreSettings
from ircish.store import liveness
from ircish.store.accounts import answer_in_transaction as answer_account
from ircish.store.local import Store
from ircish.store.prepare import prepare_in_subprocess

log = logging.getLogger("ircish.store.worker")

# After the stream ends, how long the worker keeps retrying to commit what it
# has (a database that stays locked must not keep an orphan alive forever).
FINAL_FLUSH_S = 60.0


def worker_settings(settings: StoreSettings) -> StoreSettings:
    """The server batches by the flush interval; the worker commits on arrival."""
    return dataclasses.replace(settings, flush_interval_ms=0)


def describe(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause)
    return text if text.startswith("[storage]") else f"[storage] {text}"


class Worker:
    def __init__(self, link: FrameStream) -> None:
        self.link = link
        self.store: Store | None = None
        # Queries being answered, by call id, so an asker who gave up can stop them.
        self._queries: dict[int, trio.CancelScope] = {}
        self.abandoned = 0  # queries dropped because their asker gave up
        self._out_send, self._out_receive = trio.open_memory_channel[Any](math.inf)
        self._sent_all = trio.Event()
        # Cancelled when the server stops taking our frames: a worker that kept
        # reading then committed events nobody would hear were committed.
        self._receiving = trio.CancelScope()

    async def run(self) -> int:
        hello = await self.link.receive()
        _, settings, config_dir, log_level, restore = hello
        logging.getLogger().setLevel(log_level)
        try:
            # The server's client admitted every event (store_events, queue_limit).
            store = Store.open(worker_settings(settings), config_dir, admit=False)
        except Exception as exc:
            await self.link.send(("fatal", describe(exc)))
            return 2
        try:
            url = store.engine.url
            if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
                await store.prepare()  # another process would see another database
            else:
                # In a process of its own, so Alembic never stays in this one.
                await prepare_in_subprocess(
                    url.render_as_string(hide_password=False), settings.auto_migrate, log_level
                )
            channels = await store.reader.load_channels() if restore else []
        except Exception as exc:
            await self.link.send(("fatal", describe(exc)))
            store.close()
            return 2
        try:
            # While it is held, `db downgrade` refuses to run (see ``liveness``).
            mark = liveness.hold(store.engine)
            mark.__enter__()
        except Exception as exc:
            busy = isinstance(exc, liveness.DatabaseBusy)
            await self.link.send(("fatal", (
                "[storage] `ircish-server db downgrade` is changing the database; start "
                "again when it is done" if busy else describe(exc))))
            store.close()
            return 2
        self.store = store
        store.writer.on_commit = lambda count: self._out_send.send_nowait(("acked", count))
        # The server logs the outage and tells its operators; its end is the next ack.
        store.writer.on_outage = lambda database, cause: self._out_send.send_nowait(
            ("outage", database, cause)
        )
        await self.link.send(("ready", channels))
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(store.run)
                nursery.start_soon(self._send_loop)
                async with trio.open_nursery() as calls:
                    with self._receiving:
                        await self._receive_loop(calls)
                # The server is gone or done: commit everything received.
                with trio.move_on_after(FINAL_FLUSH_S):
                    await store.flush()
                if store.writer.backlog:
                    log.error(
                        "history worker: %d events could not be written before it stopped",
                        store.writer.backlog,
                    )
                # Let the last acks and answers go out if anyone still listens.
                self._out_send.close()
                with trio.move_on_after(1.0):
                    await self._sent_all.wait()
                nursery.cancel_scope.cancel()
        finally:
            mark.__exit__(None, None, None)
            store.close()
        return 0

    async def _receive_loop(self, calls: trio.Nursery) -> None:
        store = self.store
        assert store is not None
        submit = store.submit
        writer = store.writer
        while True:
            try:
                frame = await self.link.receive()
            except LinkClosed:
                return
            kind = frame[0]
            if kind == "events":
                for event in codec.decode(frame[1]):
                    submit(event)
            elif kind == "query":
                # Everything received so far is what this query must see.
                scope = self._queries[frame[1]] = trio.CancelScope()
                calls.start_soon(self._answer, scope, writer.accepted, *frame[1:])
            elif kind == "cancel":
                # Their askers gave up: no reads for nobody ahead of the writer.
                for call_id in frame[1]:
                    given_up = self._queries.pop(call_id, None)
                    if given_up is not None:
                        given_up.cancel()
            elif kind == "account":
                calls.start_soon(self._account, *frame[1:])
            else:
                log.error("history worker: unknown frame %r ignored", kind)

    async def _answer(
        self,
        scope: trio.CancelScope,
        seen: int,
        call_id: int,
        requests: tuple[HistoryRequest, ...],
        wait_s: float,
    ) -> None:
        store = self.store
        assert store is not None
        try:
            with scope:
                with trio.move_on_after(wait_s):
                    await store.writer.flush(seen)
                left_out = max(0, seen - store.writer.committed)
                value = await store.reader.ask(*requests)
            if scope.cancelled_caught:
                self.abandoned += 1
                return
        except Exception as exc:
            log.warning("history query %s failed: %s", [r.sub for r in requests], exc)
            reply: tuple[Any, ...] = ("error", call_id, f"{type(exc).__name__}: {exc}")
        else:
            reply = ("result", call_id, value, left_out)
        finally:
            self._queries.pop(call_id, None)
        try:
            self._out_send.send_nowait(reply)
        except trio.ClosedResourceError:
            pass

    async def _account(self, call_id: int, request: AccountRequest) -> None:
        # Account changes are rare and small: one transaction each, in the
        # writer's slot, so they never meet a history commit on SQLite's lock.
        store = self.store
        assert store is not None
        try:
            value = await trio.to_thread.run_sync(
                answer_account, store.engine, request, limiter=store.writer.limiter
            )
        except Exception as exc:
            log.warning("account request %s failed: %s", request.op, exc)
            reply: tuple[Any, ...] = ("error", call_id, f"{type(exc).__name__}: {exc}")
        else:
            reply = ("result", call_id, value, 0)
        try:
            self._out_send.send_nowait(reply)
        except trio.ClosedResourceError:
            pass

    async def _send_loop(self) -> None:
        try:
            async for frame in self._out_receive:
                await self.link.send(frame)
        except LinkClosed as exc:
            # No ack or answer can reach the server any more, so this session is
            # over: commit what came and exit. The server sees the end, starts a
            # new worker and sends it what was never acknowledged. Reading on
            # instead left the server's unacknowledged events and its queries
            # waiting for good.
            log.warning("history worker: the server stopped reading (%s); ending", exc)
            self._receiving.cancel()
        finally:
            self._sent_all.set()


async def _main(fd: int) -> int:
    sock = socket.socket(fileno=fd)
    link = FrameStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))
    try:
        return await Worker(link).run()
    except LinkClosed:
        return 0  # the server went away before it said anything
    finally:
        await link.aclose()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    return trio.run(_main, int(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Window logs on disk: ``<log dir>/NETWORK/TARGET.log``, one line per event.

A :class:`ChatLog` is one more model listener: every live line of a channel or
private window is appended as ``YYYY-MM-DD HH:MM:SS <nick> text`` (formatting
codes removed, like plain mode). History fetched from the server is not
logged again: the log holds what this client saw arrive. Each line is
flushed, so a crash loses nothing. The files of the ``max_open`` windows
written to last stay open (a busy channel costs no reopen per message); the
least recently written one is closed when another is needed, so a client in
hundreds of channels holds a handful of descriptors, not one per window.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ircish.client.format import plain_text
from ircish.client.model import Buffer, BufferKind, Line

_UNSAFE = re.compile(r"[^\w#&+!.@-]")
# Open log files kept at once; a window past them reopens its file (append) when
# it is written to again.
MAX_OPEN = 16


def default_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ircish" / "logs"


def file_name(name: str) -> str:
    """A target as a file name: no path separators, no leading dot, never empty."""
    safe = _UNSAFE.sub("_", name).lstrip(".")
    return safe or "_"


class ChatLog:
    """Appends each window's lines to its own file under ``directory``/network."""

    def __init__(
        self,
        directory: Path,
        network: Callable[[], str],
        casefold: Callable[[str], str],
        report: Callable[[str], None] = lambda text: None,
        max_open: int = MAX_OPEN,
    ) -> None:
        self.directory = directory
        self.network = network
        self.casefold = casefold
        self.report = report  # told once when a file can not be written
        self.max_open = max(1, max_open)
        # The open files, least recently written first.
        self.files: OrderedDict[tuple[str, str], TextIO] = OrderedDict()
        self.failed: set[Path] = set()

    def path_for(self, buffer: Buffer) -> Path:
        network = file_name(self.casefold(self.network()))
        return self.directory / network / (file_name(self.casefold(buffer.name)) + ".log")

    def line_added(self, buffer: Buffer, line: Line) -> None:
        if buffer.kind not in (BufferKind.CHANNEL, BufferKind.QUERY):
            return
        path = self.path_for(buffer)
        key = (str(path.parent), path.name)
        handle = self.files.get(key)
        try:
            if handle is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                while len(self.files) >= self.max_open:
                    _, oldest = self.files.popitem(last=False)
                    oldest.close()
                handle = self.files[key] = path.open("a", encoding="utf-8")
            else:
                self.files.move_to_end(key)
            stamp = line.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            handle.write(f"{stamp} {plain_text(line)}\n")
            handle.flush()
        except OSError as exc:
            if path not in self.failed:
                self.failed.add(path)
                self.report(f"Could not write the log {path}: {exc}")

    def history_added(self, buffer: Buffer, lines: list[Line]) -> None:
        pass

    def changed(self) -> None:
        pass

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()
        self.files.clear()

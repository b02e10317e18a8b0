"""The two log formats: ``text`` (one readable line) and ``json`` (one JSON object a line).

Both say the same fields: time (UTC, ISO 8601), level, logger name, message, and
a traceback when there is one, so a log shipper reading JSON loses nothing the
text had.
"""

from __future__ import annotations

import json
import logging
import time

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        # ensure_ascii keeps every object on one line whatever a nick holds.
        return json.dumps(entry, ensure_ascii=True)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        millis = int(record.msecs)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{millis:03d}Z"


def formatter(kind: str) -> logging.Formatter:
    """The formatter for ``[logging] format`` (checked by config: "text" or "json")."""
    return JsonFormatter() if kind == "json" else logging.Formatter(TEXT)

"""Events as plain tuples for the trip to the history worker.

Pickling the frozen slotted dataclasses themselves is the slow way (each pickles
as a call to a constructor found by name). So an event travels as ``(kind code,
its field values)`` and the worker rebuilds it. Every field is already a plain
value: times are integer microseconds from the moment the core reads its clock
(``core.events``), so nothing is converted on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any

from ircish.core.events import (
    ChannelStateEvent,
    Event,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    NickEvent,
    RedactEvent,
    RenameEvent,
    TopicEvent,
)

# Only what the store keeps; the order is the wire format (append only).
_CLASSES: tuple[type[Any], ...] = (
    MessageEvent,
    JoinEvent,
    LeaveEvent,
    NickEvent,
    TopicEvent,
    ChannelStateEvent,
    RedactEvent,
    RenameEvent,
)
_CODES = {cls: code for code, cls in enumerate(_CLASSES)}
_GETTERS: list[Callable[[Any], tuple[Any, ...]]] = [
    attrgetter(*[f.name for f in fields(cls)]) for cls in _CLASSES
]

Encoded = list[tuple[int, tuple[Any, ...]]]


def code_of(cls: type[Any]) -> int:
    """The kind code ``cls``'s events travel under (a reader of the tuples themselves)."""
    return _CODES[cls]


def encode(events: Sequence[Event]) -> Encoded:
    codes, getters = _CODES, _GETTERS
    return [(code := codes[type(ev)], getters[code](ev)) for ev in events]


def decode(encoded: Encoded) -> list[Event]:
    classes = _CLASSES
    return [classes[code](*values) for code, values in encoded]

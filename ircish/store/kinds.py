"""The kinds of stored lines, as plain constants.

Kept apart from ``schema`` so the server process (which never imports
SQLAlchemy, see ``client``) can name them.
"""

from __future__ import annotations

# The line kinds that count as "messages" (the rest are channel events, only
# replayed to clients that negotiated draft/event-playback).
MESSAGE_KINDS = frozenset({"PRIVMSG", "NOTICE"})
EVENT_KINDS = frozenset({"TAGMSG", "JOIN", "PART", "KICK", "QUIT", "NICK", "TOPIC"})
ALL_KINDS = MESSAGE_KINDS | EVENT_KINDS

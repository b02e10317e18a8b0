"""benchmarks.calibrate times real protocol work: its lines are channel lines with tags
that survive the round trip, and the figure it prints is that time."""

from __future__ import annotations

import math

from benchmarks import calibrate
from ircish.protocol.message import format_line, parse


def test_the_reference_lines_round_trip() -> None:
    for text in calibrate._LINES:
        msg = parse(text)
        assert msg.command == "PRIVMSG" and msg.params[0] == "#bench"
        assert "msgid" in msg.tags
        assert parse(format_line(msg.command, msg.params, msg.source, msg.tags)) == msg


def test_line_us_is_a_positive_time() -> None:
    us = calibrate.line_us(rounds=2, repeat=1)
    assert math.isfinite(us) and 0 < us < 10_000
    assert calibrate.describe().startswith("machine speed: ")

"""A live line and its copy from history carry the same ``time`` tag."""

from __future__ import annotations

import pytest

from ircish.core.events import micros_from
from ircish.core.lines import format_time, server_time


@pytest.mark.parametrize(
    "ts",
    [1767268800.29, 1767268800.9999996, 1767268800.0005, 1767268800.123456, 0.0],
)
def test_a_live_tag_is_the_stored_lines_tag(ts: float) -> None:
    # The store keeps micros_from(ts); the live line is tagged from ts itself.
    assert server_time(ts) == format_time(micros_from(ts))


def test_tags_are_utc_to_the_millisecond() -> None:
    assert server_time(1767268800.29) == "2026-01-01T12:00:00.290Z"
    assert format_time(1_767_268_800_999_999) == "2026-01-01T12:00:00.999Z"

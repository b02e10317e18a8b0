"""Numbers in client input: ASCII decimals only, bounded."""

from __future__ import annotations

import pytest

from ircish.protocol.numbers import is_decimal, parse_decimal

NOT_ASCII_DECIMALS = ["²", "999999²9999", "٣", "\uff11\uff12", " 1", "1_000", "+1", "", "-"]


@pytest.mark.parametrize("text", NOT_ASCII_DECIMALS)
def test_non_ascii_and_python_only_forms_are_refused(text: str) -> None:
    assert parse_decimal(text) is None
    assert parse_decimal(text, signed=True) is None
    assert not is_decimal(text)


def test_values_and_bounds() -> None:
    assert parse_decimal("0") == 0
    assert parse_decimal("0042") == 42
    assert parse_decimal("-3") is None
    assert parse_decimal("-3", signed=True) == -3
    assert parse_decimal("5", minimum=1, maximum=5) == 5
    assert parse_decimal("0", minimum=1) is None
    assert parse_decimal("6", maximum=5) is None


def test_absurdly_long_input_is_refused_before_conversion() -> None:
    assert parse_decimal("9" * 5000) is None
    assert parse_decimal("9" * 20) == int("9" * 20)

"""The one place a number in client input is read.

``str.isdigit`` and ``int`` both accept far more than ASCII digits (``"²".isdigit()``
is true yet ``int("²")`` raises; ``int("٣")`` is 3), and ``int`` also takes
whitespace, underscores and signs. IRC numbers are plain ASCII decimals, so every
parameter that should be one goes through ``parse_decimal``.
"""

from __future__ import annotations

_DIGITS = frozenset("0123456789")
# Long enough for any 64-bit value; longer input is refused before int() sees it.
_MAX_DIGITS = 20


def is_decimal(text: str) -> bool:
    """True for a non-empty run of ASCII digits and nothing else."""
    return 0 < len(text) <= _MAX_DIGITS and _DIGITS.issuperset(text)


def parse_decimal(
    text: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    signed: bool = False,
) -> int | None:
    """``text`` as an int, or None if it is not an ASCII decimal within the bounds.

    With ``signed`` a single leading ``-`` is allowed (WHOWAS counts may be negative).
    """
    digits = text[1:] if signed and text[:1] == "-" else text
    if not is_decimal(digits):
        return None
    value = int(digits)
    if digits is not text:
        value = -value
    if minimum is not None and value < minimum:
        return None
    if maximum is not None and value > maximum:
        return None
    return value

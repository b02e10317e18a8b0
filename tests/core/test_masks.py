"""Wildcard masks: the public irc-parser-tests mask-match vectors, and our own rules.

The vectors are plain ``*``/``?`` globs over ``nick!user@host`` with no escapes and
no character classes (``[`` is a literal); they do not depend on case, so they hold
under our rfc1459 casemapping too.
"""

from __future__ import annotations

import pytest
from parser_tests import data

from ircish.core.masks import mask_matches, normalize_ban_mask

_VECTORS = data.mask_match["tests"]


@pytest.mark.parametrize("case", _VECTORS, ids=lambda c: c["mask"])
def test_mask_match_vectors(case: dict) -> None:
    for text in case["matches"]:
        assert mask_matches(case["mask"], text), (case["mask"], text)
    for text in case.get("fails", []):
        assert not mask_matches(case["mask"], text), (case["mask"], text)


def test_vectors_were_loaded() -> None:
    assert len(_VECTORS) >= 5


@pytest.mark.parametrize(
    ("mask", "text", "expected"),
    [
        ("*", "", True),
        ("*", "anything!at@all", True),
        ("?", "", False),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "aXXbYY", False),
        ("NICK!*@*", "nick!u@h", True),
        ("[a]!*@*", "{A}!u@h", True),  # rfc1459: [ and { are one letter
        ("a|b", "A\\B", True),
        ("a.b", "axb", False),  # regex characters are literal
        ("a+b", "aab", False),
        ("(x)", "(x)", True),
        ("*.example", "host.example", True),
        ("*!*@*", "n!u@line\nbreak", True),
    ],
)
def test_mask_rules(mask: str, text: str, expected: bool) -> None:
    assert mask_matches(mask, text) is expected


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("nick", "nick!*@*"),
        ("host.example", "*!*@host.example"),
        ("::1", "*!*@::1"),
        ("user@host", "*!user@host"),
        ("nick!user", "nick!user@*"),
        ("n!u@h", "n!u@h"),
    ],
)
def test_ban_masks_are_completed(given: str, stored: str) -> None:
    assert normalize_ban_mask(given) == stored

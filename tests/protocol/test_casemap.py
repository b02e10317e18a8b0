"""The rfc1459 case mapping: the ASCII fast path folds exactly as the table does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ircish.protocol.casemap import _RFC1459, casefold


def test_rfc1459_folds_letters_and_the_four_specials_only() -> None:
    assert casefold("Nick[A]\\~") == "nick{a}|^"
    assert casefold("#Chan-{x}|^") == "#chan-{x}|^"
    assert casefold("ÀÉ#Straße[") == "ÀÉ#straße{"  # non-ASCII letters are kept
    assert casefold("") == ""


@given(st.text())
def test_casefold_is_the_table_on_any_text(name: str) -> None:
    assert casefold(name) == name.translate(_RFC1459)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_casefold_is_the_table_on_ascii(name: str) -> None:
    assert casefold(name) == name.translate(_RFC1459)

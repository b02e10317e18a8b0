"""The public irc-parser-tests vectors (msg-split and msg-join) against our parser."""

import pytest
from parser_tests import data

from ircish.protocol import Message, parse


@pytest.mark.parametrize("case", data.msg_split["tests"], ids=lambda c: c["input"][:40])
def test_msg_split(case: dict) -> None:
    msg = parse(case["input"])
    atoms = case["atoms"]
    assert msg.tags == {k: ("" if v is None else v) for k, v in (atoms.get("tags") or {}).items()}
    assert msg.source == atoms.get("source")
    assert msg.command.upper() == atoms["verb"].upper()
    assert msg.params == atoms.get("params", [])


@pytest.mark.parametrize("case", data.msg_join["tests"], ids=lambda c: c["desc"][:40])
def test_msg_join(case: dict) -> None:
    atoms = case["atoms"]
    line = Message(
        command=atoms["verb"],
        params=list(atoms.get("params", [])),
        source=atoms.get("source"),
        tags={k: ("" if v is None else v) for k, v in (atoms.get("tags") or {}).items()},
    ).encode()
    # Tag order and the optional ':' on the trailing parameter may differ from
    # the listed forms, so compare what the line means, and check it is one of them
    # when the vector has no tags.
    assert parse(line) == parse(case["matches"][0])
    if not atoms.get("tags"):
        assert line in case["matches"]

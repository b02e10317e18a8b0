"""docs/plugins.md keeps up with the hookspecs, and its tutorial plugin works."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from ircish.hooks import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
MARKER = "<!-- tutorial-plugin: dice.py"


def hookspec_names() -> list[str]:
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(fn, f"{hookspecs.PROJECT}_spec")]


def hook_sections() -> dict[str, str]:
    text = DOCS.read_text()
    hooks_part = text.split("\n## Hooks\n", 1)[1]
    sections = re.split(r"^### `(\w+)`\n", hooks_part, flags=re.MULTILINE)
    return dict(zip(sections[1::2], sections[2::2], strict=True))


def test_every_hook_has_a_section_with_its_exact_signature() -> None:
    sections = hook_sections()
    names = hookspec_names()
    assert len(names) >= 10
    missing = [name for name in names if name not in sections]
    assert not missing, f"hooks without a section in docs/plugins.md: {missing}"
    stale = sorted(set(sections) - set(names))
    assert not stale, f"sections for hooks that do not exist: {stale}"
    for name in names:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"def {name}({params}): ..." in sections[name], name


def test_every_hookspec_has_a_docstring() -> None:
    for name in hookspec_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def tutorial_plugin() -> str:
    text = DOCS.read_text()
    after = text.split(MARKER, 1)[1]
    return after.split("```python\n", 1)[1].split("\n```\n", 1)[0]


async def test_tutorial_plugin(plugin_server: Any) -> None:
    settings = {"dice": {"channels": ["#games"], "max_dice": 5}}
    async with plugin_server({"dice": tutorial_plugin()}, settings=settings) as h:
        assert h.runner.plugins["dice"].version == "0.1"
        alice = await h.client("alice")
        hello = await alice.expect("NOTICE")
        assert hello.source.startswith("Dice!")
        assert hello.params[1] == "Hi alice! Say !roll in a channel where I am."
        await alice.send("JOIN #games")
        names = await alice.expect("353")
        assert "Dice" in names.params[-1].lstrip("@").replace("@", "").split()

        await alice.send("PRIVMSG #games :!roll 3d6")
        said = await alice.expect("PRIVMSG")
        match = re.fullmatch(r"alice rolls 3d6: (\d) \+ (\d) \+ (\d) = (\d+)", said.params[1])
        assert match is not None, said
        dice = [int(d) for d in match.groups()[:3]]
        assert all(1 <= d <= 6 for d in dice) and sum(dice) == int(match.group(4))

        await alice.send("PRIVMSG #games :!roll 9d6")
        assert (await alice.expect("PRIVMSG")).params[1] == "alice: that is too many dice"
        await alice.send("PRIVMSG #games :!roll lots")
        assert (await alice.expect("PRIVMSG")).params[1] == \
            "alice: say !roll NdM, like !roll 2d6"
        await alice.send("PRIVMSG #games :!rolls")
        reply = (await alice.expect("PRIVMSG")).params[1]
        assert re.fullmatch(r"3 rolls in the last \d+ messages of #games", reply), reply
        await alice.send("PRIVMSG #games :!help roll")
        help_line = await alice.expect("NOTICE")
        assert help_line.source.startswith("Dice!") and help_line.params[1] == "!roll NdM"

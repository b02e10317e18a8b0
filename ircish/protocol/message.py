"""One IRC message: parsing a line into parts and serialising parts into a line.

The grammar follows the Modern IRC client protocol document: optional ``@tags``,
optional ``:source``, a verb, then up to 15 middle parameters and an optional
trailing parameter. Several spaces between parts count as one, like most servers do.
Only the space (0x20) separates: a tab or U+3000 is part of a parameter, as in the
grammar, so that a last parameter holding one round-trips without a ``:``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ircish.protocol.tags import format_tags, parse_tags


class ProtocolError(ValueError):
    """A line that cannot be read as an IRC message at all (e.g. it has no verb)."""


@dataclass(slots=True)
class Message:
    command: str
    params: list[str] = field(default_factory=list)
    source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def encode(self) -> str:
        """The message as one line, without CRLF.

        The last parameter gets a ``:`` prefix whenever it needs one (empty, has a
        space, or starts with ``:``), so any list of parameters round-trips.
        """
        return format_line(self.command, self.params, self.source, self.tags)

    def param(self, index: int, default: str = "") -> str:
        return self.params[index] if index < len(self.params) else default


def format_line(
    command: str,
    params: list[str] | tuple[str, ...] = (),
    source: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    last = ""
    if params:
        last = params[-1]
        if not last or " " in last or last[0] == ":":
            last = ":" + last
        if not tags and source and len(params) == 2:
            # A relayed line (source, verb, target, text): every channel line is
            # one, formatted in one step instead of a list of parts joined.
            return f":{source} {command} {params[0]} {last}"
    parts: list[str] = []
    if tags:
        parts.append("@" + format_tags(tags))
    if source:
        parts.append(":" + source)
    parts.append(command)
    if params:
        parts.extend(params[:-1])
        parts.append(last)
    return " ".join(parts)


def parse(line: str) -> Message:
    """Parse one line (CR/LF already stripped, or stripped here) into a Message.

    The verb is returned as sent; the server upper-cases it where it dispatches.
    """
    line = line.rstrip("\r\n")
    tags: dict[str, str] = {}
    source: str | None = None
    rest = line.lstrip(" ")
    if rest.startswith("@"):
        section, _, rest = rest[1:].partition(" ")
        tags = parse_tags(section)
        rest = rest.lstrip(" ")
    if rest.startswith(":"):
        # An empty source (a lone ':') is no source: it could not be written back.
        source, _, rest = rest[1:].partition(" ")
        source = source or None
        rest = rest.lstrip(" ")
    trailing: str | None = None
    if " :" in rest:
        rest, _, trailing = rest.partition(" :")
    elif rest.startswith(":"):
        # Reached only when there is no verb at all.
        raise ProtocolError("missing command")
    words = rest.split(" ")
    if "" in words:
        words = [word for word in words if word]
    if not words or words[0][0] in "@:":
        # A second tag section or source where the verb should be: written back,
        # it would read as tags or a source.
        raise ProtocolError("missing command")
    command = words[0]
    params = words[1:]
    if trailing is not None:
        params.append(trailing)
    return Message(command=command, params=params, source=source, tags=tags)

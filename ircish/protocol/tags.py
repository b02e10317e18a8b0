"""IRCv3 message-tag value escaping (https://ircv3.net/specs/extensions/message-tags)."""

_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def escape_tag_value(value: str) -> str:
    return value.translate(_ESCAPE_TABLE)


def unescape_tag_value(raw: str) -> str:
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\\":
            i += 1
            if i == n:
                # A lone trailing backslash is dropped, as the spec says.
                break
            nxt = raw[i]
            # An unknown escape stands for the character itself.
            out.append(_UNESCAPES.get(nxt, nxt))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def parse_tags(section: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in section.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not key:
            continue
        # Later duplicates win, per the spec.
        tags[key] = unescape_tag_value(value) if sep else ""
    return tags


def format_tags(tags: dict[str, str]) -> str:
    return ";".join(f"{k}={escape_tag_value(v)}" if v else k for k, v in tags.items())

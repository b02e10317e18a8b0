"""Numeric replies as readable lines: one generic rule, and layouts for the common ones.

A numeric's first parameter is our own nick, so it is dropped; everything else
is shown, because the last parameter alone ("1796109860", or a topic without
its channel) does not say what it is about. WHOIS is laid out as irssi lays it
out: a heading line, then ``key : value`` lines. Pure functions of the
parameters, shared by both views.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Params = list[str]  # the numeric's parameters after our nick

# Which channel a reply is about (its first parameter), so it goes to that
# channel's window when one is open.
CHANNEL_REPLIES = frozenset(
    {"324", "329", "331", "332", "333", "341", "346", "347", "348", "349", "367", "368"}
)
WHOIS_REPLIES = frozenset(
    {"276", "301", "307", "311", "312", "313", "317", "318", "319", "320", "330", "335",
     "338", "378", "379", "671", "314", "369"}
)  # fmt: skip

# Answers to a query the user just typed, shown where they typed it.
QUERY_REPLIES = frozenset({"221", "302", "303", "315", "341", "352", "354", "391"})
# Errors numbered outside 400-599: invalid mode parameter, no privileges, monitor list full.
ERRORS = frozenset({"696", "723", "734"})


def is_error(code: str) -> bool:
    return code[:1] in ("4", "5") or code in ERRORS


def when(value: str) -> str:
    """A Unix time as a local date and time; anything else as it came."""
    if not value.isdigit():
        return value
    try:
        moment = datetime.fromtimestamp(int(value), UTC).astimezone()
    except (OverflowError, OSError, ValueError):
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} days {hours} hours {minutes} mins {secs} secs"


def generic(params: Params) -> str:
    """All the parameters; a last one that is a sentence after a colon, unless what comes
    before it is only numbers ("0 operator(s) online")."""
    shown = [p for p in params if p != ""]
    if not shown:
        return ""
    if len(shown) > 1 and " " in shown[-1] and not all(p.isdigit() for p in shown[:-1]):
        return " ".join(shown[:-1]) + ": " + shown[-1]
    return " ".join(shown)


def _p(params: Params, index: int) -> str:
    return params[index] if index < len(params) else ""


def _field(key: str, value: str) -> str:
    return f" {key:<9}: {value}"


def _whois_user(p: Params) -> str:
    return f"{_p(p, 0)} [{_p(p, 1)}@{_p(p, 2)}]\n" + _field("ircname", _p(p, 4))


def _whois_idle(p: Params) -> str:
    idle = _p(p, 1)
    text = duration(int(idle)) if idle.isdigit() else idle
    if _p(p, 2).isdigit():
        text += f" [signon: {when(_p(p, 2))}]"
    return _field("idle", text)


def _list_entry(kind: str) -> Callable[[Params], str]:
    def show(p: Params) -> str:
        text = f"{_p(p, 0)}: {kind} {_p(p, 1)}"
        if len(p) > 2 and p[2]:
            text += f" [by {p[2].split('!')[0]}"
            text += f", {when(p[3])}]" if len(p) > 3 and p[3] else "]"
        return text

    return show


def _who(p: Params) -> str:
    # 352: channel user host server nick flags :hopcount realname
    hops, _, realname = _p(p, 6).partition(" ")
    return (
        f"{_p(p, 0):<12} {_p(p, 4):<12} {_p(p, 5):<4} {_p(p, 1)}@{_p(p, 2)}"
        f" ({realname}) [{_p(p, 3)}, {hops} hops]"
    )


def _time(p: Params) -> str:
    # 391: "server :text", or the newer "server timestamp offset :text".
    text = p[-1] if len(p) > 2 else when(_p(p, 1))
    return f"Time on {_p(p, 0)}: {text}"


def _userhost(p: Params) -> str:
    # 302: "nick*=+user@host ...": * an operator, - away.
    found = []
    for entry in _p(p, 0).split():
        nick, _, rest = entry.partition("=")
        notes = (["operator"] if nick.endswith("*") else []) + (
            ["away"] if rest.startswith("-") else []
        )
        text = f"{nick.rstrip('*')} is {rest[1:]}"
        found.append(text + (f" ({', '.join(notes)})" if notes else ""))
    return "; ".join(found) or "No such nick"


def _sentence(p: Params) -> str:
    # 265/266 repeat their numbers in the sentence: "Current local users 4, max 5".
    return p[-1] if len(p) > 1 and " " in p[-1] else generic(p)


def _mode(p: Params) -> str:
    return f"Mode {_p(p, 0)}: " + " ".join(p[1:])


LAYOUTS: dict[str, Callable[[Params], str]] = {
    "221": lambda p: f"Your user mode is {_p(p, 0)}",
    "301": lambda p: _field("away", _p(p, 1)),
    "307": lambda p: _field("", "is a registered nick"),
    "311": _whois_user,
    "314": lambda p: f"{_p(p, 0)} [{_p(p, 1)}@{_p(p, 2)}] was\n" + _field("ircname", _p(p, 4)),
    "312": lambda p: _field("server", f"{_p(p, 1)} [{_p(p, 2)}]"),
    "313": lambda p: _field("", _p(p, 1)),
    "317": _whois_idle,
    "318": lambda p: "End of WHOIS",
    "319": lambda p: _field("channels", _p(p, 1)),
    "320": lambda p: _field("", _p(p, 1)),
    "330": lambda p: _field("account", _p(p, 1)),
    "335": lambda p: _field("", _p(p, 1)),
    "338": lambda p: _field("actually", " ".join(p[1:-1]) or _p(p, 1)),
    "369": lambda p: "End of WHOWAS",
    "378": lambda p: _field("hostname", _p(p, 1)),
    "379": lambda p: _field("modes", _p(p, 1)),
    "671": lambda p: _field("secure", _p(p, 1)),
    "276": lambda p: _field("certfp", _p(p, 1)),
    "321": lambda p: "Channel list:",
    "323": lambda p: "End of channel list",
    "324": _mode,
    "329": lambda p: f"Channel {_p(p, 0)} created {when(_p(p, 1))}",
    "331": lambda p: f"No topic set for {_p(p, 0)}",
    "332": lambda p: f"Topic for {_p(p, 0)}: {_p(p, 1)}",
    "333": lambda p: f"Topic set by {_p(p, 1).split('!')[0]} [{when(_p(p, 2))}]",
    "341": lambda p: f"Inviting {_p(p, 0)} to {_p(p, 1)}",
    "346": _list_entry("invite"),
    "347": lambda p: f"{_p(p, 0)}: end of invite list",
    "348": _list_entry("ban exception"),
    "349": lambda p: f"{_p(p, 0)}: end of ban exception list",
    "352": _who,
    "315": lambda p: f"End of WHO list for {_p(p, 0)}",
    "367": _list_entry("ban"),
    "368": lambda p: f"{_p(p, 0)}: end of ban list",
    "728": lambda p: _list_entry("quiet")([_p(p, 0), *p[2:]]),
    "729": lambda p: f"{_p(p, 0)}: end of quiet list",
    "391": _time,
    "302": _userhost,
    "303": lambda p: "Online: " + (_p(p, 0) or "nobody of those"),
    "265": _sentence,
    "266": _sentence,
    "005": lambda p: " ".join(p),
}


def render(code: str, params: Params) -> str:
    """The readable text of numeric ``code`` with ``params`` (our nick already dropped)."""
    layout = LAYOUTS.get(code)
    if layout is not None:
        try:
            return layout(params)
        except (ValueError, IndexError):
            pass  # an odd server's variant: all its parameters, as below
    return generic(params)


def list_row(name_width: int, channel: str, users: str, topic: str) -> str:
    """One row of the /list window: channel, user count and topic in columns."""
    return f"{channel:<{name_width}} {users:>5}  {topic}"

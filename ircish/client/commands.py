"""What the user types: ``/commands`` and plain text, shared by both views.

Each command is a function plus its usage and one line of help, in one table,
so ``/help`` and tab completion can never disagree with what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ircish.client import search
from ircish.client.model import BufferKind, Buffers
from ircish.client.session import Session


@dataclass
class Context:
    """What a command may touch; the view supplies how quitting is done."""

    session: Session
    buffers: Buffers
    # Starts a clean exit; the view decides how (close the screen, stop reading stdin).
    quit: Callable[[str], None]
    # The user's own aliases from the settings: name -> "command [args]".
    aliases: dict[str, str] = field(default_factory=dict)
    # Keeps /ignore's list in the settings file; None: for this run only.
    save_ignores: Callable[[list[str]], None] | None = None


Handler = Callable[[Context, str], None]


@dataclass(frozen=True)
class Command:
    """A command's handler with the usage and help text ``/help`` shows."""

    handler: Handler
    usage: str
    help: str


COMMANDS: dict[str, Command] = {}
ALIASES = {
    "j": "join",
    "q": "query",
    "quote": "raw",
    "w": "window",
    "wc": "close",
    "leave": "part",
    "k": "kick",
    "t": "topic",
    "n": "names",
}
ALIAS_DEPTH = 5  # an alias may use another, but not loop for ever


def command(usage: str, help_text: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[handler.__name__.removeprefix("cmd_")] = Command(handler, usage, help_text)
        return handler

    return register


def expand_alias(expansion: str, args: str) -> str:
    """``$*`` takes the arguments; without it they go after the expansion."""
    body = expansion.lstrip("/")
    if "$*" in body:
        return "/" + body.replace("$*", args)
    return "/" + (f"{body} {args}" if args else body)


def run_input(ctx: Context, text: str, depth: int = 0) -> None:
    """One line from the input: a command, or a message to the current buffer."""
    if text.startswith("/") and not text.startswith("//"):
        name, _, args = text[1:].partition(" ")
        lowered = name.lower()
        if lowered in ctx.aliases and lowered not in COMMANDS:
            if depth >= ALIAS_DEPTH:
                error(ctx, f"Alias /{lowered} expands into itself; check aliases in the settings")
                return
            run_input(ctx, expand_alias(ctx.aliases[lowered], args.strip()), depth + 1)
            return
        name = ALIASES.get(lowered, lowered)
        entry = COMMANDS.get(name)
        if entry is None:
            error(ctx, f"Unknown command /{name}; /help lists them")
            return
        entry.handler(ctx, args.strip())
        return
    if text.startswith("//"):
        text = text[1:]  # "//" sends a line that starts with a slash
    if not text:
        return
    buffer = ctx.buffers.current
    if buffer.kind in (BufferKind.SERVER, BufferKind.LIST, BufferKind.SEARCH):
        error(ctx, f"This is the {buffer.kind.value} window: /join a channel or /msg someone")
        return
    ctx.session.say(buffer.name, text)


def info(ctx: Context, text: str) -> None:
    ctx.session.info(text, buffer=ctx.buffers.current)


def error(ctx: Context, text: str) -> None:
    ctx.session.info(text, kind="error", buffer=ctx.buffers.current)


def usage(ctx: Context, name: str) -> None:
    error(ctx, "Usage: " + COMMANDS[name].usage)


def need_connection(ctx: Context, sent: bool) -> None:
    if not sent:
        error(ctx, "Not connected.")


def current_channel(ctx: Context) -> str | None:
    buffer = ctx.buffers.current
    return buffer.name if buffer.kind is BufferKind.CHANNEL else None


@command("/join #channel[,#other] [key]", "Join channels and switch to the first one.")
def cmd_join(ctx: Context, args: str) -> None:
    if not args:
        usage(ctx, "join")
        return
    channels, _, keys = args.partition(" ")
    need_connection(ctx, ctx.session.join(channels.split(","), keys.split(",") if keys else None))


@command("/part [#channel] [reason]", "Leave a channel (the current one by default).")
def cmd_part(ctx: Context, args: str) -> None:
    first, _, rest = args.partition(" ")
    if first and ctx.session.isupport.is_channel(first):
        channel, reason = first, rest
    else:
        channel, reason = current_channel(ctx), args
    if channel is None:
        error(ctx, "Not in a channel: /part #channel")
        return
    params = [channel, reason] if reason else [channel]
    need_connection(ctx, ctx.session.send("PART", *params))


@command("/msg target text", "Send a message to a nick or channel without switching.")
def cmd_msg(ctx: Context, args: str) -> None:
    _message(ctx, args, "msg", notice=False)


def _message(ctx: Context, args: str, name: str, *, notice: bool) -> None:
    target, _, text = args.partition(" ")
    if not target or not text:
        usage(ctx, name)
        return
    ctx.session.say(target, text, notice=notice)


@command("/query nick [text]", "Open a private conversation with nick.")
def cmd_query(ctx: Context, args: str) -> None:
    nick, _, text = args.partition(" ")
    if not nick:
        usage(ctx, "query")
        return
    ctx.session.open_query(nick, focus=True)
    if text:
        ctx.session.say(nick, text)


@command("/me action", "Describe what you are doing, in the third person.")
def cmd_me(ctx: Context, args: str) -> None:
    buffer = ctx.buffers.current
    if buffer.kind in (BufferKind.SERVER, BufferKind.LIST, BufferKind.SEARCH):
        error(ctx, "/me works in a channel or query")
        return
    ctx.session.say(buffer.name, args, action=True)


@command("/notice target text", "Send a notice.")
def cmd_notice(ctx: Context, args: str) -> None:
    _message(ctx, args, "notice", notice=True)


@command("/nick newnick", "Change your nickname.")
def cmd_nick(ctx: Context, args: str) -> None:
    if not args:
        info(ctx, f"Your nick is {ctx.session.nick}")
        return
    need_connection(ctx, ctx.session.send("NICK", args.split()[0]))


def channel_and_rest(ctx: Context, args: str) -> tuple[str | None, str]:
    """irssi's ``[#channel] rest``: a leading channel name, else the current window's."""
    first, _, rest = args.partition(" ")
    if first and ctx.session.isupport.is_channel(first):
        return first, rest.strip()
    return current_channel(ctx), args


@command("/topic [#channel] [new topic]", "Ask for a channel's topic, or set it.")
def cmd_topic(ctx: Context, args: str) -> None:
    channel, text = channel_and_rest(ctx, args)
    if channel is None:
        error(ctx, "Not in a channel: /topic #channel")
        return
    if not text:
        need_connection(ctx, ctx.session.send("TOPIC", channel))
        return
    need_connection(ctx, ctx.session.send("TOPIC", channel, text))


@command("/list [-name|-users] [pattern]", "List channels in a window of their own.")
def cmd_list(ctx: Context, args: str) -> None:
    sort, pattern = "users", ""
    for word in args.split():
        if word in ("-name", "-users"):
            sort = word[1:]
        elif word.startswith("-"):
            usage(ctx, "list")
            return
        else:
            pattern = word
    need_connection(ctx, ctx.session.request_list(pattern, sort))


@command(
    search.USAGE,
    "Search the server's history (this window's channel or query unless -in or -all).",
)
def cmd_search(ctx: Context, args: str) -> None:
    buffer = ctx.buffers.current
    here = buffer.name if buffer.kind in (BufferKind.CHANNEL, BufferKind.QUERY) else None
    try:
        query = search.parse(args, here)
    except search.SearchUsage as exc:
        error(ctx, str(exc))
        return
    problem = ctx.session.search(query)
    if problem is not None:
        error(ctx, problem)


@command("/mode [#channel|nick] [modes [args]]", "Show or change modes.")
def cmd_mode(ctx: Context, args: str) -> None:
    words = args.split()
    if words and (ctx.session.isupport.is_channel(words[0]) or words[0][0] not in "+-"):
        target, rest = words[0], words[1:]
    else:
        target, rest = current_channel(ctx) or ctx.session.nick, words
    need_connection(ctx, ctx.session.send("MODE", target, *rest))


def _prefix_mode(ctx: Context, args: str, name: str, sign: str, mode: str) -> None:
    channel, rest = channel_and_rest(ctx, args)
    nicks = rest.split()
    if channel is None or not nicks:
        usage(ctx, name)
        return
    per_line = ctx.session.isupport.modes_per_line
    for start in range(0, len(nicks), per_line):
        chunk = nicks[start : start + per_line]
        need_connection(ctx, ctx.session.send("MODE", channel, sign + mode * len(chunk), *chunk))


@command("/op nick...", "Give channel operator status.")
def cmd_op(ctx: Context, args: str) -> None:
    _prefix_mode(ctx, args, "op", "+", "o")


@command("/deop nick...", "Take channel operator status away.")
def cmd_deop(ctx: Context, args: str) -> None:
    _prefix_mode(ctx, args, "deop", "-", "o")


@command("/voice nick...", "Let someone speak in a moderated channel.")
def cmd_voice(ctx: Context, args: str) -> None:
    _prefix_mode(ctx, args, "voice", "+", "v")


@command("/devoice nick...", "Take voice away.")
def cmd_devoice(ctx: Context, args: str) -> None:
    _prefix_mode(ctx, args, "devoice", "-", "v")


@command("/kick [#channel] nick [reason]", "Remove someone from the channel.")
def cmd_kick(ctx: Context, args: str) -> None:
    channel, rest = channel_and_rest(ctx, args)
    nick, _, reason = rest.partition(" ")
    if channel is None or not nick:
        usage(ctx, "kick")
        return
    params = [channel, nick, reason.strip()] if reason.strip() else [channel, nick]
    need_connection(ctx, ctx.session.send("KICK", *params))


@command("/ban [#channel] [nick|mask...]", "Ban a nick's host (*!*@host) or a mask; list bans.")
def cmd_ban(ctx: Context, args: str) -> None:
    channel, rest = channel_and_rest(ctx, args)
    if channel is None:
        usage(ctx, "ban")
        return
    if not rest.split():
        need_connection(ctx, ctx.session.send("MODE", channel, "+b"))  # the ban list
        return
    need_connection(ctx, ctx.session.ban(channel, rest.split()))


@command("/unban [#channel] mask...", "Lift bans.")
def cmd_unban(ctx: Context, args: str) -> None:
    channel, rest = channel_and_rest(ctx, args)
    found = rest.split()
    if channel is None or not found:
        usage(ctx, "unban")
        return
    per_line = ctx.session.isupport.modes_per_line
    for start in range(0, len(found), per_line):
        chunk = [ctx.session.ban_mask(m) or m for m in found[start : start + per_line]]
        need_connection(ctx, ctx.session.send("MODE", channel, "-" + "b" * len(chunk), *chunk))


@command("/invite nick [#channel]", "Invite someone (to the current channel by default).")
def cmd_invite(ctx: Context, args: str) -> None:
    words = args.split()
    channel = words[1] if len(words) > 1 else current_channel(ctx)
    if not words or channel is None:
        usage(ctx, "invite")
        return
    need_connection(ctx, ctx.session.send("INVITE", words[0], channel))


@command("/ignore [nick|mask]", "Hide someone's messages (kept in the settings); list ignores.")
def cmd_ignore(ctx: Context, args: str) -> None:
    words = args.split()
    if not words:
        listing = ", ".join(ctx.session.ignores) or "nobody"
        info(ctx, f"Ignoring: {listing}")
        return
    fold = ctx.buffers.casefold
    for word in words:
        if all(fold(word) != fold(old) for old in ctx.session.ignores):
            ctx.session.ignores.append(word)
    _save_ignores(ctx, f"Ignoring {', '.join(words)}")


@command("/unignore nick|mask", "Stop ignoring.")
def cmd_unignore(ctx: Context, args: str) -> None:
    words = args.split()
    if not words:
        usage(ctx, "unignore")
        return
    fold = ctx.buffers.casefold
    gone = {fold(word) for word in words}
    missing = [word for word in words if all(fold(word) != fold(o) for o in ctx.session.ignores)]
    if missing:
        error(ctx, f"Not ignored: {', '.join(missing)}")
    ctx.session.ignores[:] = [old for old in ctx.session.ignores if fold(old) not in gone]
    _save_ignores(ctx, f"No longer ignoring {', '.join(w for w in words if w not in missing)}")


def _save_ignores(ctx: Context, said: str) -> None:
    if ctx.save_ignores is None:
        info(ctx, said + " (for this run)")
        return
    try:
        ctx.save_ignores(list(ctx.session.ignores))
    except OSError as exc:
        error(ctx, f"{said}, but the settings file could not be written: {exc}")
        return
    info(ctx, said)


@command("/clear", "Empty the current window.")
def cmd_clear(ctx: Context, args: str) -> None:
    ctx.buffers.clear(ctx.buffers.current)


@command("/names [#channel]", "List who is in a channel.")
def cmd_names(ctx: Context, args: str) -> None:
    channel = args.split()[0] if args else current_channel(ctx)
    if channel is None:
        usage(ctx, "names")
        return
    need_connection(ctx, ctx.session.request_names(channel))


@command("/whois nick", "Ask the server who someone is.")
def cmd_whois(ctx: Context, args: str) -> None:
    if not args:
        if ctx.buffers.current.kind is BufferKind.QUERY:
            args = ctx.buffers.current.name  # irssi: the person you are talking to
        else:
            usage(ctx, "whois")
            return
    need_connection(ctx, ctx.session.send("WHOIS", args.split()[0]))


@command("/away [message]", "Mark yourself away; without a message, back again.")
def cmd_away(ctx: Context, args: str) -> None:
    need_connection(ctx, ctx.session.set_away(args))


@command("/quit [reason]", "Disconnect and exit.")
def cmd_quit(ctx: Context, args: str) -> None:
    ctx.quit(args or "Leaving")


@command("/raw LINE", "Send a line to the server exactly as typed.")
def cmd_raw(ctx: Context, args: str) -> None:
    if not args:
        usage(ctx, "raw")
        return
    need_connection(ctx, ctx.session.send_raw(args))


@command(
    "/register password [email]",
    "Register an account for your nick (IRCv3 REGISTER, else NickServ).",
)
def cmd_register(ctx: Context, args: str) -> None:
    words = args.split()
    if not 1 <= len(words) <= 2:
        usage(ctx, "register")
        return
    need_connection(ctx, ctx.session.register(words[0], words[1] if len(words) > 1 else None))


@command("/verify account code", "Confirm a registration with the code the server sent.")
def cmd_verify(ctx: Context, args: str) -> None:
    words = args.split()
    if len(words) != 2:
        usage(ctx, "verify")
        return
    need_connection(ctx, ctx.session.verify(words[0], words[1]))


@command("/close", "Close the current window (leaving the channel).")
def cmd_close(ctx: Context, args: str) -> None:
    buffer = ctx.buffers.current
    if buffer.kind is BufferKind.SERVER:
        error(ctx, "The server window stays open; /quit to exit")
        return
    if buffer.kind is BufferKind.CHANNEL and buffer.joined:
        ctx.session.send("PART", *([buffer.name, args] if args else [buffer.name]))
    ctx.buffers.close(buffer)


@command("/window [N|name|next|prev|close]", "Switch to window N (also Alt-N, Ctrl-N, Ctrl-P).")
def cmd_window(ctx: Context, args: str) -> None:
    word = args.strip().lower()
    if not word:
        listing = " ".join(f"{ctx.buffers.number(b)}:{b.name}" for b in ctx.buffers.all)
        info(ctx, f"Windows: {listing}")
    elif word == "close":  # irssi's spelling of /close
        cmd_close(ctx, "")
    elif word in ("next", "n"):
        ctx.buffers.switch_relative(1)
    elif word in ("prev", "p"):
        ctx.buffers.switch_relative(-1)
    elif not word.isdigit() or not ctx.buffers.switch_number(int(word)):
        target = ctx.buffers.get(args.strip()) if args.strip() else None
        if target is None:
            error(ctx, f"No window {args}: there are {len(ctx.buffers.all)}")
            return
        ctx.buffers.switch_to(target)


@command("/help [command]", "List the commands, or explain one.")
def cmd_help(ctx: Context, args: str) -> None:
    name = args.strip().lstrip("/").lower()
    if name:
        entry = COMMANDS.get(ALIASES.get(name, name))
        if entry is None and name in ctx.aliases:
            info(ctx, f"/{name} is an alias for {expand_alias(ctx.aliases[name], '$*')}")
            return
        if entry is None:
            error(ctx, f"No such command: /{name}")
            return
        info(ctx, f"{entry.usage}  {entry.help}")
        return
    info(ctx, "Commands: " + " ".join("/" + key for key in sorted(COMMANDS)))
    shortcuts = {**ALIASES, **ctx.aliases}
    info(ctx, "Aliases: " + " ".join(f"/{k}" for k in sorted(shortcuts)))
    info(ctx, "Text without a slash goes to the current window. /help COMMAND for more.")
    info(ctx, "Keys: Alt-1..9 or Ctrl-N/Ctrl-P switch windows, PageUp/PageDown scroll,")
    info(ctx, "Tab completes nicks, channels and commands, Up/Down recall what you typed.")

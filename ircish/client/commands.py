"""What the user types: ``/commands`` and plain text, shared by both views.

Each command is a function plus its usage and one line of help, in one table,
so ``/help`` and tab completion can never disagree with what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ircish.client.model import BufferKind, Buffers
from ircish.client.session import Session


@dataclass
class Context:
    """What a command may touch; the view supplies how quitting is done."""

    session: Session
    buffers: Buffers
    # Starts a clean exit; the view decides how (close the screen, stop reading stdin).
    quit: Callable[[str], None]


Handler = Callable[[Context, str], None]


@dataclass(frozen=True)
class Command:
    """A command's handler with the usage and help text ``/help`` shows."""

    handler: Handler
    usage: str
    help: str


COMMANDS: dict[str, Command] = {}
ALIASES = {"j": "join", "q": "query", "quote": "raw", "w": "window", "leave": "part"}


def command(usage: str, help_text: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[handler.__name__.removeprefix("cmd_")] = Command(handler, usage, help_text)
        return handler

    return register


def run_input(ctx: Context, text: str) -> None:
    """One line from the input: a command, or a message to the current buffer."""
    if text.startswith("/") and not text.startswith("//"):
        name, _, args = text[1:].partition(" ")
        name = ALIASES.get(name.lower(), name.lower())
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
    if buffer.kind is BufferKind.SERVER:
        error(ctx, "This is the server window: /join a channel or /msg someone")
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
    ctx.buffers.open(nick, BufferKind.QUERY, focus=True)
    if text:
        ctx.session.say(nick, text)


@command("/me action", "Describe what you are doing, in the third person.")
def cmd_me(ctx: Context, args: str) -> None:
    buffer = ctx.buffers.current
    if buffer.kind is BufferKind.SERVER:
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


@command("/topic [new topic]", "Show the channel topic, or set it.")
def cmd_topic(ctx: Context, args: str) -> None:
    channel = current_channel(ctx)
    if channel is None:
        error(ctx, "/topic works in a channel")
        return
    if not args:
        topic = ctx.buffers.current.topic
        info(ctx, f"Topic: {topic}" if topic else "No topic is set")
        return
    need_connection(ctx, ctx.session.send("TOPIC", channel, args))


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
        usage(ctx, "whois")
        return
    need_connection(ctx, ctx.session.send("WHOIS", args.split()[0]))


@command("/away [message]", "Mark yourself away; without a message, back again.")
def cmd_away(ctx: Context, args: str) -> None:
    need_connection(ctx, ctx.session.send("AWAY", args) if args else ctx.session.send("AWAY"))


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


@command("/window N", "Switch to window N (also Alt-N, Ctrl-N, Ctrl-P).")
def cmd_window(ctx: Context, args: str) -> None:
    word = args.strip().lower()
    if word in ("next", "n"):
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
        if entry is None:
            error(ctx, f"No such command: /{name}")
            return
        info(ctx, f"{entry.usage}  {entry.help}")
        return
    info(ctx, "Commands: " + " ".join("/" + key for key in sorted(COMMANDS)))
    info(ctx, "Text without a slash goes to the current window. /help COMMAND for more.")
    info(ctx, "Keys: Alt-1..9 or Ctrl-N/Ctrl-P switch windows, PageUp/PageDown scroll,")
    info(ctx, "Tab completes nicks, channels and commands, Up/Down recall what you typed.")

"""``draft/multiline``: the capability and the client's ``BATCH`` verb.

``multiline_feature(app)`` is listed by ``ircish.app.build_server`` always. The
capability's value is ``max-bytes=N,max-lines=M`` from ``[limits]
multiline_max_bytes`` / ``multiline_max_lines`` (4096 and 32 by default, Ergo's
test limits); a reload changes them for the next batch and the next CAP LS.
The batch is assembled in ``assembly`` and delivered by ``delivery``; the core's
part (encodings, history's stored form) is ``ircish.core.multiline``.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

from ircish.core import numerics as N
from ircish.core.commands import Command
from ircish.core.extension import Extension
from ircish.core.multiline import BATCH_TYPE, CAP
from ircish.core.state import TAG_MESSAGE_TAGS
from ircish.multiline.assembly import OpenBatch, SpentBatch

if TYPE_CHECKING:
    from ircish.config import Config, LimitsSection
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

_REF_CHARS = frozenset(string.ascii_letters + string.digits + "-_.")
_REF_MAX = 64

HELP = """BATCH +<ref> draft/multiline <target>
Opens a multiline message to <target> (a channel or a nick); with the
draft/multiline and batch capabilities. The PRIVMSG or NOTICE lines that follow
carry the tag batch=<ref> (draft/multiline-concat joins a line to the one before
it without a line break); BATCH -<ref> sends the whole message at once. The
capability value says the limits: max-bytes of text, max-lines of lines."""


def cap_value(limits: LimitsSection) -> str:
    return f"max-bytes={limits.multiline_max_bytes},max-lines={limits.multiline_max_lines}"


def _valid_ref(ref: str) -> bool:
    return 0 < len(ref) <= _REF_MAX and _REF_CHARS.issuperset(ref)


def batch_command(server: Server, user: User, msg: Message) -> None:
    param = msg.params[0]
    sign, ref = param[:1], param[1:]
    if msg.tags and "batch" in msg.tags:
        server.fail(user, "BATCH", "MULTILINE_INVALID", "Nested batches are not allowed")
        if sign == "+" and ref:
            user.batch = SpentBatch(ref)
        return
    if sign not in ("+", "-") or not _valid_ref(ref):
        server.fail(user, "BATCH", "INVALID_REFTAG", param[:_REF_MAX] or "*",
                    "Batch reference tags are letters, digits, '-', '_' and '.'")
        return
    current = user.batch
    if sign == "-":
        if isinstance(current, OpenBatch) and current.ref == ref:
            current.finish(server, user)
        else:
            server.fail(user, "BATCH", "MULTILINE_INVALID", f"No multiline batch {ref} is open")
        return
    if isinstance(current, OpenBatch):
        current.refuse(server, user, "MULTILINE_INVALID", "Nested batches are not allowed",
                       refs=(ref,))
        return
    if len(msg.params) < 2:
        server.numeric(user, N.ERR_NEEDMOREPARAMS, "BATCH", "Not enough parameters")
        return
    if msg.params[1] != BATCH_TYPE:
        user.batch = SpentBatch(ref)
        server.fail(user, "BATCH", "UNKNOWN_TYPE", ref, msg.params[1], "Unknown batch type")
        return
    if CAP not in user.caps:
        user.batch = SpentBatch(ref)
        server.fail(user, "BATCH", "MULTILINE_INVALID",
                    f"Invalid multiline batch: {CAP} was not negotiated")
        return
    target = msg.params[2] if len(msg.params) > 2 else ""
    if not target or "," in target:
        user.batch = SpentBatch(ref)
        server.fail(user, "BATCH", "MULTILINE_INVALID",
                    "Invalid multiline batch: it needs one target")
        return
    client_tags = None
    if msg.tags and user.tagmask & TAG_MESSAGE_TAGS:
        # The message's own client tags come on the BATCH line (the spec).
        client_tags = {k: v for k, v in msg.tags.items() if k.startswith("+")} or None
    user.batch = OpenBatch(ref, target, client_tags, server.defer_replies(user))


def multiline_extension(server: Server) -> Extension:
    def reloaded(config: Config) -> None:
        server.capabilities[CAP] = cap_value(config.limits)

    return Extension(
        name="multiline",
        commands=(Command("BATCH", batch_command, min_params=1, help=HELP),),
        capabilities={CAP: cap_value(server.limits)},
        reload_listeners=(reloaded,),
    )


def multiline_feature(app: IrcServer) -> Extension:
    return multiline_extension(app.core)

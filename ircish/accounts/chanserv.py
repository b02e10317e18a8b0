"""ChanServ: the service user that registers channels to accounts.

A bot user like NickServ, answering by NOTICE. Commands: REGISTER, OP, DEOP,
DROP, INFO, HELP (who may use which: ``chanreg``). A registered channel is kept
like a +P one: its topic, modes (key and limit too) and bans reach the store on
every change (``Server.channel_state_changed``) and come back at start; its
founder account is a row of ``channel_registrations`` (``store/registrations``),
asked through the history worker like every account change. The founder gets +o
from ChanServ on joining, and on identifying while in the channel.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ircish.accounts import chanreg
from ircish.accounts.records import EXISTS, LIMIT, NO_SUCH, AccountRequest, ChannelRegistration
from ircish.accounts.service import AccountService, Unavailable
from ircish.core import events
from ircish.core.bots import create_bot
from ircish.core.extension import listens_to
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User

log = logging.getLogger("ircish.accounts")

CHANSERV = "ChanServ"
UNAVAILABLE = "Channel registrations are unavailable right now, try again later."
# IRC operators register past the per-account limit.
_NO_LIMIT = 2**31 - 1

# Command -> (usage, what it does).
HELP: dict[str, tuple[str, str]] = {
    "REGISTER": ("REGISTER <#channel>",
                 "Register a channel you are an operator in, to your account: you become "
                 "its founder, and its topic, modes and bans are kept across restarts."),
    "OP": ("OP [#channel] [nick]",
           "Give operator status (+o) in a registered channel; founder or IRC operator. "
           "Without a nick: you. Without a channel: the one channel you manage and are in."),
    "DEOP": ("DEOP [#channel] [nick]", "Take operator status (-o), like OP."),
    "DROP": ("DROP <#channel>",
             "Unregister a channel (founder or IRC operator); its state is kept no more "
             "unless it is +P."),
    "INFO": ("INFO <#channel>", "Who founded a registered channel, and when."),
    "HELP": ("HELP [command]", "The commands, or more about one."),
}


class ChanServ:
    def __init__(self, service: AccountService) -> None:
        self.service = service
        self.core: Server = service.core
        # By casefolded channel name; ``Channel.founder`` mirrors the founder.
        self.registrations: dict[str, ChannelRegistration] = {}
        self.source = CHANSERV
        service.drop_listeners.append(self.account_dropped)

    def start(self) -> None:
        bot = create_bot(self.core, CHANSERV, "services", "Channel services")
        bot.service = self.handle
        self.source = bot.source

    async def load(self) -> None:
        """Read the registrations (at start, before clients are accepted)."""
        try:
            listed: list[ChannelRegistration] = await self.service.ask(
                AccountRequest("channel_list"))
        except Unavailable as exc:
            log.error("chanserv: cannot read the channel registrations (%s)", exc)
            return
        for reg in listed:
            channel = self.core.find_channel(reg.channel)
            lost_state = channel is None
            if channel is None:
                channel = self.core.get_or_create_channel(reg.channel)
            channel.founder = reg.founder
            if lost_state:
                # Registered, but its state never reached the store: keep it from now.
                self.core.channel_state_changed(channel)
            self.registrations[channel.key] = reg
        log.info("chanserv: %d registered channel(s)", len(listed))

    def say(self, user: User, text: str) -> None:
        head = f":{self.source} NOTICE {user.nick} :"
        # A topic near its length limit would not fit behind "Topic: ".
        self.core.send_line(user, head + self.core.fit_trailing(head, text))

    def handle(self, user: User, verb: str, text: str) -> None:
        if verb != "PRIVMSG":
            return  # NOTICEs are never answered
        words = text.split()
        if not words:
            self.say(user, "Send HELP for a list of commands.")
            return
        command, args = words[0].upper(), words[1:]
        handler = getattr(self, "cmd_" + command.lower(), None) if command in HELP else None
        if handler is None:
            self.say(user, f"Unknown command {command}. Send HELP for a list of commands.")
            return
        handler(user, args)

    def usage(self, user: User, command: str) -> None:
        self.say(user, f"Usage: {HELP[command][0]}")

    # ---- commands -----------------------------------------------------------------

    def cmd_help(self, user: User, args: list[str]) -> None:
        if args:
            entry = HELP.get(args[0].upper())
            if entry is None:
                self.say(user, f"No help for {args[0]}. Send HELP for a list of commands.")
                return
            self.say(user, f"{entry[0]}: {entry[1]}")
            return
        self.say(user, "ChanServ commands:")
        for usage, _ in HELP.values():
            self.say(user, usage)
        self.say(user, "HELP <command> says more about one.")

    def cmd_register(self, user: User, args: list[str]) -> None:
        if len(args) != 1:
            self.usage(user, "REGISTER")
            return
        name = args[0]
        channel = self.core.find_channel(name) if name.startswith("#") else None
        refusal = chanreg.register_refusal(user, name, channel, self._owned(user.account))
        if refusal is not None:
            self.say(user, refusal)
            return
        assert channel is not None and user.account is not None
        account, chan_name, by = user.account, channel.name, user.source
        micros = self.core.micros(self.core.clock())
        most = _NO_LIMIT if user.oper else chanreg.MAX_CHANNELS_PER_ACCOUNT
        request = AccountRequest("channel_register", (chan_name, account, micros, by, most))
        svc = self.service

        def then(result: str | Unavailable) -> None:
            if isinstance(result, Unavailable):
                self.say(user, UNAVAILABLE)
            elif result == EXISTS:
                self.say(user, f"{chan_name} is already registered.")
            elif result == NO_SUCH:
                self.say(user, f"The account {account} is not registered any more.")
            elif result == LIMIT:
                self.say(user, "You have registered the most channels one account may; "
                               "drop one first.")
            else:
                # Registered in the store: keep it even if it emptied meanwhile.
                registered = self.core.get_or_create_channel(chan_name)
                registered.founder = account
                self.registrations[registered.key] = ChannelRegistration(
                    registered.name, account, micros, by)
                self.core.channel_state_changed(registered)
                log.info("%s registered %s to %r", by, registered.name, account)
                self.say(user, f"{registered.name} is now registered to {account}.")

        svc.offload(user, lambda: svc.ask_blocking(request), then)

    def cmd_drop(self, user: User, args: list[str]) -> None:
        if len(args) != 1:
            self.usage(user, "DROP")
            return
        name = args[0]
        channel = self.core.find_channel(name)
        refusal = chanreg.manage_refusal(user, name, channel)
        if refusal is not None:
            self.say(user, refusal)
            return
        assert channel is not None
        chan_name = channel.name
        svc = self.service

        def then(result: str | Unavailable) -> None:
            if isinstance(result, Unavailable):
                self.say(user, UNAVAILABLE)
                return
            # NO_SUCH too: gone from the store already, so gone here as well.
            self.unregister(chan_name)
            log.info("%s dropped the registration of %s", user.source, chan_name)
            self.say(user, f"{chan_name} is no longer registered.")

        svc.offload(user, lambda: svc.ask_blocking(AccountRequest("channel_drop", (chan_name,))),
                    then)

    def cmd_op(self, user: User, args: list[str]) -> None:
        self._set_op(user, args, "OP", True)

    def cmd_deop(self, user: User, args: list[str]) -> None:
        self._set_op(user, args, "DEOP", False)

    def _set_op(self, user: User, args: list[str], command: str, on: bool) -> None:
        parsed = chanreg.split_channel_nick(args)
        if parsed is None:
            self.usage(user, command)
            return
        name, nick = parsed
        if name is None:
            channel = chanreg.implied_channel(user)
            if channel is None:
                self.say(user, f"Which channel? {HELP[command][0]}")
                return
            name = channel.name
        else:
            channel = self.core.find_channel(name)
        refusal = chanreg.manage_refusal(user, name, channel)
        if refusal is not None:
            self.say(user, refusal)
            return
        assert channel is not None
        target = user if nick is None else self.core.find_user(nick)
        if target is None:
            self.say(user, f"{nick} is not online.")
        elif target not in channel.members:
            self.say(user, f"{target.nick} is not on {channel.name}.")
        elif not self.give(channel, target, on):
            self.say(user, f"{target.nick} is {'already' if on else 'not'} an operator on "
                           f"{channel.name}.")
        else:
            log.info("%s used ChanServ %s on %s in %s", user.source, command, target.nick,
                     channel.name)
            self.say(user, f"{target.nick} is {'now' if on else 'no longer'} an operator on "
                           f"{channel.name}.")

    def cmd_info(self, user: User, args: list[str]) -> None:
        if len(args) != 1:
            self.usage(user, "INFO")
            return
        channel = self.core.find_channel(args[0])
        if channel is None or channel.founder is None:
            self.say(user, f"{args[0]} is not registered.")
            return
        self.say(user, f"{channel.name} is registered to {channel.founder}.")
        reg = self.registrations.get(channel.key)
        if reg is not None:
            when = datetime.fromtimestamp(reg.registered_micros / 1e6, UTC)
            self.say(user, f"Registered {when:%Y-%m-%d %H:%M:%S} UTC.")
            if chanreg.may_manage(user, channel):
                self.say(user, f"Registered by {reg.registered_by}.")
        member = channel.key in user.channels
        if "s" in channel.modes and not (member or user.oper):
            return  # a secret channel shows outsiders only that it is registered
        flags, params = channel.mode_string(show_password=member or chanreg.may_manage(
            user, channel))
        self.say(user, f"Modes: {' '.join([flags, *params])}")
        if channel.topic:
            self.say(user, f"Topic: {channel.topic}")

    # ---- rules applied as things happen ---------------------------------------------

    def give(self, channel: Channel, target: User, on: bool) -> bool:
        """+o/-o for ``target`` in ``channel``, announced as ChanServ's MODE."""
        if not chanreg.set_prefix(channel, target, "o", on):
            return False
        self.core.relay_channel(channel, "MODE", [channel.name, "+o" if on else "-o",
                                                  target.nick], self.source)
        return True

    def on_join(self, server: Server, user: User, channel: Channel) -> None:
        if chanreg.should_auto_op(user, channel):
            self.give(channel, user, True)

    @listens_to(events.RenameEvent, events.AccountEvent)
    def on_event(self, event: events.Event) -> None:
        if type(event) is events.RenameEvent:
            # The registration follows the channel (the store re-keys its row).
            reg = self.registrations.pop(casefold(event.old), None)
            if reg is not None:
                self.registrations[casefold(event.new)] = replace(reg, channel=event.new)
            return
        if not isinstance(event, events.AccountEvent) or event.account is None:
            return
        user = self.core.find_user(event.nick)
        if user is None:
            return
        for channel in list(user.channels.values()):
            if chanreg.should_auto_op(user, channel):
                self.give(channel, user, True)

    def unregister(self, name: str) -> None:
        """Forget a registration here; the store has forgotten it already."""
        self.registrations.pop(casefold(name), None)
        channel = self.core.find_channel(name)
        if channel is None or channel.founder is None:
            return
        channel.founder = None
        # The store forgets its state too, unless it is still kept (+P).
        self.core.channel_state_changed(channel, force=True)
        if not channel.members and not channel.persistent:
            self.core.channels.pop(channel.key, None)

    def account_dropped(self, name: str) -> None:
        """The store deleted the account's registrations with it."""
        key = casefold(name)
        for channel in list(self.core.channels.values()):
            if channel.founder is not None and casefold(channel.founder) == key:
                log.info("%s is no longer registered: its founder %r was dropped",
                         channel.name, name)
                self.unregister(channel.name)

    def _owned(self, account: str | None) -> int:
        if account is None:
            return 0
        key = casefold(account)
        return sum(1 for c in self.core.channels.values()
                   if c.founder is not None and casefold(c.founder) == key)

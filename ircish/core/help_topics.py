"""HELP texts for the core's verbs; extensions and plugins give theirs with
``Command(help=...)`` (and bot commands with ``BotCommand(help=...)``).

Each text is a usage line, then what the command does. HELP sends it line by
line; tests/core/test_help.py checks that every verb in the table has a topic.
"""

from __future__ import annotations

CORE_TOPICS: dict[str, str] = {
    "CAP": "CAP LS [302] | LIST | REQ :<caps> | END\n"
           "Capability negotiation (IRCv3): list what the server offers, ask for\n"
           "capabilities, and end negotiation so that registration can finish.",
    "PASS": "PASS <password>\n"
            "The connection password, sent before NICK and USER when the server has one.",
    "NICK": "NICK <nickname>\n"
            "Choose your nickname, or change it once registered. Everyone sharing a\n"
            "channel with you sees the change.",
    "USER": "USER <username> 0 * :<realname>\n"
            "Give your username and real name during registration.",
    "PING": "PING <token>\n"
            "Ask the server to answer PONG with the same token.",
    "PONG": "PONG <token>\n"
            "The answer to a PING from the server.",
    "QUIT": "QUIT [:<reason>]\n"
            "Leave the server; the reason is shown to those sharing a channel with you.",
    "JOIN": "JOIN <#channel>[,<#channel>...] [<key>[,<key>...]]\n"
            "Join channels, creating them if they do not exist. JOIN 0 leaves them all.",
    "PART": "PART <#channel>[,<#channel>...] [:<reason>]\n"
            "Leave channels.",
    "TOPIC": "TOPIC <#channel> [:<topic>]\n"
             "Show a channel's topic or, with a text, set it (operators only when +t).",
    "NAMES": "NAMES [<#channel>]\n"
             "List who is in a channel.",
    "LIST": "LIST [<#channel>[,...]] [<filter>]\n"
            "List channels with their user counts and topics; filters: >N, <N, and masks.",
    "KICK": "KICK <#channel> <nick>[,<nick>...] [:<reason>]\n"
            "Remove someone from a channel (channel operators only).",
    "INVITE": "INVITE <nick> <#channel>\n"
              "Invite someone to a channel; they may then join it even if it is +i.",
    "PRIVMSG": "PRIVMSG <target>[,<target>...] :<text>\n"
               "Send a message to a channel or a user.",
    "NOTICE": "NOTICE <target>[,<target>...] :<text>\n"
              "Like PRIVMSG, but never answered automatically.",
    "TAGMSG": "TAGMSG <target>\n"
              "Send only message tags (typing notifications, reactions) to a target.",
    "MODE": "MODE <#channel> [<modes> [<arguments>...]] | MODE <nick> [<modes>]\n"
            "Show or change a channel's modes (the letters are in ISUPPORT CHANMODES;\n"
            "o and v for members) or your own user modes (such as i, w and B).",
    "WHO": "WHO <mask> [o][%<fields>[,<token>]]\n"
           "List users in a channel or matching a mask. With %fields (WHOX) only\n"
           "the fields asked for come back, in the order t c u i h s n f d l a o r.",
    "WHOIS": "WHOIS [<server>] <nick>\n"
             "Show who a user is: their name, channels, idle time and account.",
    "WHOWAS": "WHOWAS <nick> [<count>]\n"
              "Show who recently used a nickname that is no longer online.",
    "ISON": "ISON <nick> [<nick>...]\n"
            "Which of the given nicks are online.",
    "USERHOST": "USERHOST <nick> [<nick>...]\n"
                "Show the user@host of up to five nicks, with their away and operator state.",
    "AWAY": "AWAY [:<message>]\n"
            "Mark yourself away with a message, or back without one.",
    "MOTD": "MOTD [<server>]\n"
            "Show the message of the day.",
    "LUSERS": "LUSERS\n"
              "Show how many users, operators and channels there are.",
    "VERSION": "VERSION [<server>]\n"
               "Show the server's version and what it supports (ISUPPORT).",
    "TIME": "TIME [<server>]\n"
            "Show the server's time.",
    "INFO": "INFO [<server>]\n"
            "Show information about the server software.",
    "LINKS": "LINKS [<mask>]\n"
             "List the servers of the network (this one only).",
    "ADMIN": "ADMIN [<server>]\n"
             "Show who runs the server and how to reach them.",
    "OPER": "OPER <name> <password>\n"
            "Become an IRC operator.",
    "KILL": "KILL <nick> :<reason>\n"
            "Disconnect a user (IRC operators only).",
    "WALLOPS": "WALLOPS :<text>\n"
               "Send a message to everyone with user mode +w (IRC operators only).",
    "REHASH": "REHASH\n"
              "Re-read the config file without a restart; a notice tells how it went\n"
              "(IRC operators only).",
    "MONITOR": "MONITOR + <nick>[,<nick>...] | - <nick>[,...] | C | L | S\n"
               "Be told when nicks come online or go offline: + adds nicks to your\n"
               "list, - removes them, C clears it, L lists it, S shows who is online.\n"
               "With extended-monitor you also hear of their away, account and\n"
               "real name changes (given away-notify, account-notify, setname).",
    "SETNAME": "SETNAME :<new real name>\n"
               "Change your real name; those sharing a channel with you and having\n"
               "the setname capability are told.",
    "HELP": "HELP [<topic>]\n"
            "Help on a command or a bot command (such as !seen); without a topic,\n"
            "the list of topics.",
    "HELPOP": "HELPOP [<topic>]\n"
              "The same as HELP.",
}

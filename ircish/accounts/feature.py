"""The accounts feature: what it adds to a server, in one value.

``accounts_feature(app, store)`` is listed by ``ircish.app.build_server`` when
``[storage]`` is configured (accounts live in the history database, reached
through the history worker). It adds:

- the commands ``AUTHENTICATE`` (SASL: ``sasl``), ``REGISTER`` and ``VERIFY``
  (``draft/account-registration``), all allowed before connection registration;
- the capabilities ``sasl=PLAIN,SCRAM-SHA-256[,EXTERNAL]`` (EXTERNAL with TLS),
  ``account-notify``, ``draft/account-registration``;
- the NickServ and ChanServ service users, created when the server starts
  (ChanServ reads the channel registrations then, before clients come);
- a join listener: ChanServ ops a registered channel's founder;
- an event listener for nick reservation (``[accounts] nick_reservation``);
- a service: list the accounts, then run the reservation timers.

The object behind it (``owner``) is the ``AccountService``, the API other
features call.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import trio

from ircish.accounts import register, sasl
from ircish.accounts.chanserv import ChanServ
from ircish.accounts.nickserv import NickServ
from ircish.accounts.service import ACCOUNT_NOTIFY, AccountService
from ircish.core.commands import Command
from ircish.core.extension import Extension

if TYPE_CHECKING:
    from ircish.history.client import StoreClient
    from ircish.net.app import IrcServer


AUTHENTICATE_HELP = (
    "AUTHENTICATE <mechanism> | <base64 data> | *\n"
    "Log in to an account with SASL (PLAIN, SCRAM-SHA-256, EXTERNAL), after\n"
    "CAP REQ :sasl; * aborts the exchange."
)
REGISTER_HELP = (
    "REGISTER <account> <email or *> <password>\n"
    "Create an account (IRCv3 draft/account-registration); * for the account\n"
    "means your current nick."
)
VERIFY_HELP = (
    "VERIFY <account> <code>\n"
    "Finish a registration with the code the server sent you."
)


def accounts_feature(app: IrcServer, store: StoreClient) -> Extension:
    service = AccountService(app, store)
    nickserv = NickServ(service)
    chanserv = ChanServ(service)

    async def serve(app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        nickserv.start()
        chanserv.start()
        await chanserv.load()
        await service.serve(app, task_status=task_status)

    return Extension(
        name="accounts",
        commands=(
            Command("AUTHENTICATE", partial(sasl.authenticate, service), min_params=1,
                    before_registration=True, help=AUTHENTICATE_HELP),
            Command("REGISTER", partial(register.register, service), min_params=3,
                    before_registration=True, help=REGISTER_HELP),
            Command("VERIFY", partial(register.verify, service), min_params=2,
                    before_registration=True, help=VERIFY_HELP),
        ),
        capabilities={
            sasl.CAP: ",".join(sasl.mechanisms(service)),
            ACCOUNT_NOTIFY: "",
            register.CAP: register.cap_value(service),
        },
        event_listeners=(service.on_event, chanserv.on_event),
        join_listeners=(chanserv.on_join,),
        services=(serve,),
        owner=service,
    )

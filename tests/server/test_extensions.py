"""Extensions: one value per feature, installed by IrcServer in one visible place."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from ircish import testing
from ircish.core import events
from ircish.core.commands import Command
from ircish.core.extension import Extension, listens_to
from ircish.core.server import Server
from ircish.core.state import User
from ircish.net.app import IrcServer
from ircish.protocol import Message
from ircish.testing import start_server
from tests.core.helpers import Net, commands, isupport
from tests.ircclient import RawClient


def hello(server: Server, user: User, msg: Message) -> None:
    server.numeric(user, "300", "hello from an extension")


def test_install_adds_what_is_declared_and_nothing_leaks_to_other_servers(
    tmp_path: Path,
) -> None:
    joined: list[str] = []
    ext = Extension(
        name="demo",
        commands=(Command("HELLO", hello),),
        capabilities={"draft/demo": "1"},
        isupport={"DEMO": "yes"},
        join_listeners=(lambda server, user, channel: joined.append(channel.name),),
    )
    config = testing.test_config(tmp_path)
    server, other = Server(config), Server(config)
    server.install(ext)
    alice = Net(server).raw_client()
    burst = alice.send("CAP LS 302", "NICK alice", "USER a 0 * :a", "CAP END")
    assert "draft/demo=1" in burst[0].params[-1]
    assert isupport(burst)["DEMO"] == "yes"
    assert commands(alice.send("HELLO")) == ["300"]
    alice.send("JOIN #x")
    assert joined == ["#x"]
    # The table is the server's own: a second server never saw the extension.
    assert "HELLO" not in other.commands and "draft/demo" not in other.capabilities


@pytest.mark.parametrize(
    "clash",
    [
        Extension(name="bad", commands=(Command("PRIVMSG", hello),)),
        Extension(name="bad", capabilities={"batch": ""}),
    ],
)
def test_two_features_claiming_one_name_is_an_error(tmp_path: Path, clash: Extension) -> None:
    with pytest.raises(ValueError, match="already provided"):
        Server(testing.test_config(tmp_path)).install(clash)


async def test_services_listeners_and_shutdown_steps_run_in_the_shell(tmp_path: Path) -> None:
    seen: list[str] = []
    started = trio.Event()

    async def service(app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        seen.append("service started")
        task_status.started()
        started.set()
        await trio.sleep_forever()

    async def shutdown() -> None:
        seen.append("shutdown step")

    def listener(event: events.Event) -> None:
        if isinstance(event, events.JoinEvent):
            seen.append(f"join {event.channel}")

    def feature(app: IrcServer) -> Extension:
        assert app.core is not None  # a feature may look at the app it extends
        return Extension(name="demo", event_listeners=(listener,), services=(service,),
                         shutdown_steps=(shutdown,))

    app = IrcServer(testing.test_config(tmp_path), [feature])
    assert app.extension("demo") is not None and app.extension("nope") is None
    async with start_server(tmp_path, app=app) as srv:
        assert started.is_set()
        client = await RawClient.connect(srv.port)
        await client.register("bob")
        await client.send("JOIN #room")
        await client.expect("366")
        await client.aclose()
    assert seen == ["service started", "join #room", "shutdown step"]


def test_a_feature_installed_twice_is_refused(tmp_path: Path) -> None:
    def feature(app: IrcServer) -> Extension:
        return Extension(name="twice")

    with pytest.raises(ValueError, match="installed twice"):
        IrcServer(testing.test_config(tmp_path), [feature, feature])



def test_a_listener_marked_with_its_kinds_hears_those_alone_in_order(tmp_path: Path) -> None:
    heard: list[tuple[str, str]] = []

    @listens_to(events.JoinEvent, events.LeaveEvent)
    def joins(event: events.Event) -> None:
        heard.append(("joins", type(event).__name__))

    def every(event: events.Event) -> None:
        heard.append(("every", type(event).__name__))

    def features(name: str, listener: object) -> object:
        return lambda app: Extension(name=name, event_listeners=(listener,))

    app = IrcServer(testing.test_config(tmp_path),
                    [features("a", joins), features("b", every)])  # type: ignore[list-item]
    alice = Net(app.core).raw_client()
    alice.send("NICK alice", "USER a 0 * :a", "JOIN #x", "PRIVMSG #x :hi", "PART #x")
    assert heard == [
        ("every", "WelcomeEvent"),
        ("joins", "JoinEvent"), ("every", "JoinEvent"),
        ("every", "MessageEvent"),
        ("joins", "LeaveEvent"), ("every", "LeaveEvent"),
    ]

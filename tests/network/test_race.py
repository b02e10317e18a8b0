"""The nick race at the issue's scale: 60 clients, 20 on each of three nodes, released
together, claim the same 5 nicks (rfc1459 case variants) round after round. Exactly
one holder per nick at every moment: samplers on every node read who holds the nicks
all through the rounds, and every sample of a round names that round's winner or
nobody; the losers get 433; every node agrees on the winners."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from ircish.protocol.casemap import casefold
from tests.ircclient import RawClient
from tests.network.nodes import Network, eventually, network
from tests.network.test_nodes import _names

PER_NODE = 20
WANTED = ["Race[a]", "race{b}", "RACE|c", "rAce^d", "race\\e"]
VARIANTS = (str.lower, str.upper, lambda s: s)
ROUNDS = 50


class Phase:
    """Which round is on (claims being decided and held), or None between rounds."""

    def __init__(self) -> None:
        self.round: int | None = None


async def _holders(asker: RawClient) -> dict[str, str]:
    """casefolded nick -> username of its holder, as the asker's node sees it."""
    await asker.send("USERHOST " + " ".join(WANTED))
    reply = await asker.expect("302")
    held = {}
    for entry in reply.params[-1].split():
        nick, _, rest = entry.partition("=")
        held[casefold(nick.rstrip("*"))] = rest[1:].split("@", 1)[0].lstrip("~")
    return held


async def _sample(asker: RawClient, phase: Phase,
                  samples: list[tuple[int, str, dict[str, str]]], node: str) -> None:
    while True:
        before = phase.round
        held = await _holders(asker)
        if before is not None and phase.round == before:
            samples.append((before, node, held))
        await trio.sleep(0.01)


async def _clients(net: Network) -> list[tuple[RawClient, str]]:
    nodes = [net.add(f"n{i}") for i in (1, 2, 3)]
    await net.start(nodes[0])
    await net.start(*nodes[1:])
    clients: list[tuple[RawClient, str]] = []
    for i, node in enumerate(nodes):
        for j in range(PER_NODE):
            client = await node.client(f"u{i}x{j}")
            clients.append((client, f"u{i}x{j}"))
    return clients


async def test_sixty_clients_race_for_five_nicks(tmp_path: Path, postgres_url: str) -> None:
    async with network(tmp_path) as net:
        clients = await _clients(net)
        # Askers and samplers of their own on each node, not in the race.
        askers = [await node.client(f"ask{k}") for k, node in enumerate(net.nodes)]
        samplers = [await node.client(f"smp{k}") for k, node in enumerate(net.nodes)]
        phase = Phase()
        samples: list[tuple[int, str, dict[str, str]]] = []
        winners: list[dict[str, str]] = []
        async with trio.open_nursery() as sampling:
            for sampler, node in zip(samplers, net.nodes, strict=True):
                sampling.start_soon(_sample, sampler, phase, samples, node.node_id)
            for round_no in range(ROUNDS):
                winners.append(await _round(round_no, clients, askers, phase))
            sampling.cancel_scope.cancel()
        # Every sample taken while a round was on names its winner or nobody.
        assert len(samples) >= ROUNDS, len(samples)
        for round_no, node, held in samples:
            for key, username in held.items():
                assert username == winners[round_no][key], (round_no, node, key, username)
        assert {node for _, node, _ in samples} == {"n1", "n2", "n3"}
        # Afterwards, one channel across the three nodes: each line reaches all.
        for client, _ in clients:
            await client.send("JOIN #all")
            await client.expect("366")
        speaker = clients[-1][0]

        async def everyone_is_in() -> bool:
            return len(await _names(speaker, "#all")) == len(clients)

        await eventually(everyone_is_in, timeout=30)
        await speaker.send("PRIVMSG #all :to all three nodes")
        for client, _ in clients[:-1]:
            got = await client.expect(lambda m: m.command == "PRIVMSG")
            assert got.params == ["#all", "to all three nodes"]


async def _round(round_no: int, clients: list[tuple[RawClient, str]], askers: list[RawClient],
                 phase: Phase) -> dict[str, str]:
    """One round: all claim at once; the winners, as casefolded nick -> username."""
    tries = [(client, username,
              VARIANTS[(k + round_no) % len(VARIANTS)](WANTED[k % len(WANTED)]))
             for k, (client, username) in enumerate(clients)]
    go = trio.Event()

    async def claim(client: RawClient, nick: str) -> None:
        await go.wait()
        await client.send(f"NICK {nick}")

    phase.round = round_no
    async with trio.open_nursery() as nursery:
        for client, _, nick in tries:
            nursery.start_soon(claim, client, nick)
        await trio.testing.wait_all_tasks_blocked()
        go.set()
    winners: dict[str, list[str]] = {}
    lost = 0
    for client, username, nick in tries:
        answer = await client.expect(lambda m: m.command in ("NICK", "433"), timeout=30)
        if answer.command == "NICK":
            winners.setdefault(casefold(nick), []).append(username)
        else:
            assert answer.params[1] == nick, answer
            lost += 1
    assert sorted(winners) == sorted(casefold(n) for n in WANTED), winners
    assert all(len(held) == 1 for held in winners.values()), winners
    assert lost == len(clients) - len(WANTED)
    won = {key: held[0] for key, held in winners.items()}
    for asker in askers:

        async def agrees(asker: RawClient = asker) -> bool:
            return await _holders(asker) == won

        await eventually(agrees, timeout=20)
    # The holders give the nicks back; the next round starts when every node has
    # seen them all free.
    phase.round = None
    for k, (client, username) in enumerate(clients):
        if username in won.values():
            await client.send(f"NICK back{round_no}x{k}")
            await client.expect("NICK")
    for asker in askers:

        async def all_free(asker: RawClient = asker) -> bool:
            return await _holders(asker) == {}

        await eventually(all_free, timeout=20)
    return won

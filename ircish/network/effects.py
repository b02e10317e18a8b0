"""The lasting effect of the operations added after the first slice, and what a node
that starts later reads of them (the network worker only; psycopg's cursor).

``apply`` runs in the transaction that commits the operation (``db._append``),
before the first slice's effects, so a later node finds: the server name of
each node, users' away messages, real names and hosts, the channels' +b/+e/+I
lists (JSON, the whole lists as the origin had them after the change), the
oldest creation time of a channel, renamed channels under their new key (with the
lines other nodes said to them before they heard of the RENAME), and no channel
whose last member quit.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    import psycopg

Op = dict[str, Any]


def apply(cur: psycopg.Cursor[Any], op: Op) -> None:
    kind = op.get("t")
    if kind == "node":
        cur.execute("UPDATE network_nodes SET server_name = %s WHERE node_id = %s",
                    (op["server"], op["node"]))
    elif kind == "user":
        cur.execute("UPDATE network_users SET away = %s WHERE session = %s",
                    (op.get("away"), op["session"]))
    elif kind == "umode":
        cur.execute("UPDATE network_users SET modes = %s WHERE session = %s",
                    (op["modes"], op["session"]))
    elif kind == "away":
        cur.execute("UPDATE network_users SET away = %s WHERE session = %s",
                    (op["away"], op["session"]))
    elif kind == "realname":
        cur.execute("UPDATE network_users SET realname = %s WHERE session = %s",
                    (op["realname"], op["session"]))
    elif kind == "host":
        cur.execute("UPDATE network_users SET username = %s, host = %s WHERE session = %s",
                    (op["username"], op["host"], op["session"]))
    elif kind == "join":
        # The channel's own creation time (not the joiner's), the oldest one kept.
        cur.execute(
            "INSERT INTO network_channels (key, name, created, topic, topic_setter, topic_time,"
            " modes) VALUES (%s, %s, %s, '', '', 0, %s) ON CONFLICT (key) DO UPDATE"
            " SET created = LEAST(network_channels.created, EXCLUDED.created)",
            (casefold(op["channel"]), op["channel"], op.get("created", op["micros"]),
             op.get("modes", "")))
    elif kind == "mode" and "lists" in op:
        cur.execute("UPDATE network_channels SET lists = %s WHERE key = %s",
                    (json.dumps(op["lists"], separators=(",", ":")), casefold(op["channel"])))
    elif kind == "rename":
        old, new = casefold(op["old"]), casefold(op["new"])
        cur.execute("UPDATE network_channels SET key = %s, name = %s WHERE key = %s",
                    (new, op["new"], old))
        if old != new:
            cur.execute("UPDATE network_members SET channel_key = %s WHERE channel_key = %s",
                        (new, old))
    elif kind == "move":
        # Lines another node said to a channel before it heard of its RENAME, stored
        # under the old key after the rename had moved the rest (``replica.flush``).
        cur.execute("UPDATE history SET target_key = %s, target = %s"
                    " WHERE target_key = %s AND msgid = ANY(%s)",
                    (op["to"], op["name"], op["from"], op["msgids"]))
    elif kind == "quit":
        # Its channels that it leaves empty go with it (a part's are removed by db).
        cur.execute("DELETE FROM network_members WHERE session = %s RETURNING channel_key",
                    (op["session"],))
        keys = [row[0] for row in cur.fetchall()]
        if keys:
            cur.execute("DELETE FROM network_channels c WHERE key = ANY(%s) AND NOT EXISTS"
                        " (SELECT 1 FROM network_members m WHERE m.channel_key = c.key)",
                        (keys,))


def read_state(cur: psycopg.Cursor[Any], node: str) -> dict[str, Any]:
    """What ``Replica.load`` takes beyond the first slice's snapshot, read in the
    snapshot's transaction: live nodes' server names, away messages, lists."""
    cur.execute("SELECT node_id, server_name FROM network_nodes WHERE alive = 1"
                " AND node_id <> %s AND server_name IS NOT NULL", (node,))
    nodes = {r[0]: r[1] for r in cur.fetchall()}
    cur.execute("SELECT session, away FROM network_users WHERE away IS NOT NULL"
                " AND node_id <> %s", (node,))
    away = {r[0]: r[1] for r in cur.fetchall()}
    cur.execute("SELECT key, lists FROM network_channels WHERE lists IS NOT NULL")
    lists = {}
    for key, text in cur.fetchall():
        try:
            lists[key] = json.loads(text)
        except ValueError:
            continue  # never written so; a bad row costs its lists, not the start
    return {"nodes": nodes, "away": away, "lists": lists}

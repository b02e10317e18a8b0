"""``ircish-server network status``: the nodes, their leases, users and how far behind.

It reads the shared tables (``ircish.network.db.status`` and
``ircish.network.positions.lag``) in this process, not in a server; any
node's config that names the database will do.

The lag is what each node itself reported (``network_positions``, about every
second): for each other origin, how many of its events the node had not yet
applied when it reported, and how old the oldest of those was then. A node
that stopped reporting shows the age of its last report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ircish.config import Config


def main(argv: list[str], config: Config) -> int:
    parser = argparse.ArgumentParser(prog="ircish-server network")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="nodes, leases, users per node, how far behind each node is")
    parser.parse_args(argv)
    if not config.network.node_id:
        print(f"network: {config.path}: [network] node_id is not set: this server is not "
              "part of a network", file=sys.stderr)
        return 2
    import psycopg

    from ircish.network import db, positions

    try:
        conn = db.connect(config.storage.url, autocommit=True)
    except psycopg.Error as exc:
        print(f"network: cannot reach [storage] url: {exc}", file=sys.stderr)
        return 1
    try:
        rows = db.status(conn)
        lags = positions.lag(conn)
    except psycopg.errors.UndefinedTable:
        print("network: the database has no network tables yet (start a node, or "
              "`ircish-server db upgrade`)", file=sys.stderr)
        return 1
    finally:
        conn.close()
    print(f"{'node':<20} {'state':<6} {'epoch':>5} {'lease left':>10} {'users':>6} "
          f"{'seq':>9} {'last event':>10}")
    for row in rows:
        state = "live" if row["alive"] and row["lease_left_s"] > 0 else "dead"
        lease = f"{max(row['lease_left_s'], 0):.1f} s"
        last = "-" if row["last_event_s"] is None else f"{row['last_event_s']:.1f} s ago"
        print(f"{row['node']:<20} {state:<6} {row['epoch']:>5} {lease:>10} {row['users']:>6} "
              f"{row['last_seq']:>9} {last:>10}")
    print()
    print_lag(lags)
    return 0


def print_lag(lags: list[dict[str, Any]]) -> None:
    print("replication lag (as each node last reported it):")
    if not lags:
        print("  no node has reported yet")
        return
    print(f"  {'node':<20} {'origin':<20} {'applied':>9} {'head':>9} {'behind':>7} "
          f"{'oldest':>9} {'reported':>10}")
    for lag in lags:
        print(f"  {lag['node']:<20} {lag['origin']:<20} {lag['applied']:>9} {lag['head']:>9} "
              f"{lag['behind']:>7} {lag['behind_s']:>7.1f} s {lag['report_age_s']:>6.1f} s ago")

"""Network positions: how far each node has applied each origin's events.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 18:20:00.000000

One new table (``network_positions``, a row per reading node and origin with
the last seq it applied and when it said so), read by ``network status`` for
the replication lag and by the pruning of ``network_events``, which deletes
only what every live node has applied. Upgrading keeps everything else; a
downgrade drops that table only. On SQLite it exists and stays empty.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('network_positions',
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('updated', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('node_id', 'origin', name=op.f('pk_network_positions'))
    )


def downgrade() -> None:
    op.drop_table('network_positions')

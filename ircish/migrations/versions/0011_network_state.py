"""Network: what a node that starts later must know beyond the first slice.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 18:30:00.000000

Three nullable columns on the network's tables (ircish/network/effects.py
writes them): each node's server name (WHOIS, WHO and LUSERS on the other
nodes), a user's away message, and a channel's +b/+e/+I lists (JSON); NULL is
"not known yet", so rows written before the upgrade stay valid. A downgrade
drops the three columns and nothing else. On SQLite they exist and stay empty,
as 0008's tables.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('network_nodes') as batch:
        batch.add_column(sa.Column('server_name', sa.String(length=200), nullable=True))
    with op.batch_alter_table('network_users') as batch:
        batch.add_column(sa.Column('away', sa.Text(), nullable=True))
    with op.batch_alter_table('network_channels') as batch:
        batch.add_column(sa.Column('lists', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('network_channels') as batch:
        batch.drop_column('lists')
    with op.batch_alter_table('network_users') as batch:
        batch.drop_column('away')
    with op.batch_alter_table('network_nodes') as batch:
        batch.drop_column('server_name')

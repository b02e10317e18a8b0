"""Network bans: K-lines and D-lines set by operators (KLINE, DLINE).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:15:00.000000

One new table, so upgrading keeps everything else; a downgrade drops that
table only (and the bans in it).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('network_bans',
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('mask', sa.String(length=512), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sa.String(length=512), nullable=False),
    sa.Column('set_at', sa.BigInteger(), nullable=False),
    sa.Column('expires', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'mask', name=op.f('pk_network_bans'))
    )


def downgrade() -> None:
    op.drop_table('network_bans')

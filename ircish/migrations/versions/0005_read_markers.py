"""Read markers (draft/read-marker): per account and target, the last message read.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00.000000

One new table, so upgrading keeps all history, every account and every
registered channel; a downgrade drops that table only.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('read_markers',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('target_key', sa.String(length=200), nullable=False),
    sa.Column('time', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                            name=op.f('fk_read_markers_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'target_key', name=op.f('pk_read_markers'))
    )


def downgrade() -> None:
    op.drop_table('read_markers')

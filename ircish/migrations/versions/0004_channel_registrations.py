"""Registered channels: the founder account of each channel registered with ChanServ.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:50:00.000000

One new table (the channel's state stays in ``channels``/``channel_bans``), so
upgrading keeps all history and every account; a downgrade drops that table
only.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_registrations',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('founder_id', sa.Integer(), nullable=False),
    sa.Column('registered', sa.BigInteger(), nullable=False),
    sa.Column('registered_by', sa.String(length=512), nullable=False),
    sa.ForeignKeyConstraint(['founder_id'], ['accounts.id'],
                            name=op.f('fk_channel_registrations_founder_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_channel_registrations'))
    )
    with op.batch_alter_table('channel_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_channel_registrations_founder_id', ['founder_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_registrations_founder_id')
    op.drop_table('channel_registrations')

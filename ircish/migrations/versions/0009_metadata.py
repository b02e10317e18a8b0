"""Metadata: users' keys per account, registered channels' keys (METADATA).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:00:00.000000

Two new tables, so upgrading keeps everything else; a downgrade drops those two
tables only (and the keys in them). A channel's rows follow its registration:
deleted with it, renamed with it (ON UPDATE CASCADE).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account_metadata',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                            name=op.f('fk_account_metadata_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'key', name=op.f('pk_account_metadata'))
    )
    op.create_table('channel_metadata',
    sa.Column('channel_key', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['channel_key'], ['channel_registrations.key'],
                            name=op.f('fk_channel_metadata_channel_key_channel_registrations'),
                            onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel_key', 'key', name=op.f('pk_channel_metadata'))
    )


def downgrade() -> None:
    op.drop_table('channel_metadata')
    op.drop_table('account_metadata')

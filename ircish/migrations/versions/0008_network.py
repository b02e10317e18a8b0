"""Network: several nodes as one network on one PostgreSQL (ircish/network).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:10:00.000000

New tables only (nodes with their epoch and lease, users with the unique
casefolded nick, channels, memberships, each node's event sequence), so an
upgrade keeps everything else; a downgrade drops these tables and nothing else.
On SQLite they exist and stay empty: a network needs PostgreSQL.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('network_nodes',
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.Column('alive', sa.Integer(), nullable=False),
    sa.Column('lease_until', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('started', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_network_nodes'))
    )
    op.create_table('network_channels',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('topic_setter', sa.String(length=512), nullable=False),
    sa.Column('topic_time', sa.BigInteger(), nullable=False),
    sa.Column('modes', sa.String(length=64), nullable=False),
    sa.Column('mode_key', sa.String(length=200), nullable=True),
    sa.Column('user_limit', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_network_channels'))
    )
    op.create_table('network_events',
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('committed', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('origin', 'seq', name=op.f('pk_network_events'))
    )
    op.create_table('network_users',
    sa.Column('session', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('nick', sa.String(length=200), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('host', sa.String(length=512), nullable=False),
    sa.Column('realname', sa.String(length=512), nullable=False),
    sa.Column('account', sa.String(length=200), nullable=True),
    sa.Column('modes', sa.String(length=64), nullable=False),
    sa.Column('registered', sa.Integer(), nullable=False),
    sa.Column('since', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['network_nodes.node_id'],
                            name=op.f('fk_network_users_node_id_network_nodes')),
    sa.PrimaryKeyConstraint('session', name=op.f('pk_network_users')),
    sa.UniqueConstraint('key', name=op.f('uq_network_users_key'))
    )
    op.create_index('ix_network_users_node_id', 'network_users', ['node_id'], unique=False)
    op.create_table('network_members',
    sa.Column('channel_key', sa.String(length=200), nullable=False),
    sa.Column('session', sa.String(length=32), nullable=False),
    sa.Column('held', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['session'], ['network_users.session'],
                            name=op.f('fk_network_members_session_network_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel_key', 'session', name=op.f('pk_network_members'))
    )
    op.create_index('ix_network_members_session', 'network_members', ['session'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_network_members_session', table_name='network_members')
    op.drop_table('network_members')
    op.drop_index('ix_network_users_node_id', table_name='network_users')
    op.drop_table('network_users')
    op.drop_table('network_events')
    op.drop_table('network_channels')
    op.drop_table('network_nodes')

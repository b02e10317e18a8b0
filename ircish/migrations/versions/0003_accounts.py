"""Accounts: credentials, certificate fingerprints, settings; private history by account.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 10:00:00.000000

New tables only, plus two indexes on history's account columns (rows already
stored keep every value), so upgrading keeps all history; a downgrade drops
the three tables and the two indexes, nothing else.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('registered', sa.BigInteger(), nullable=False),
    sa.Column('email', sa.String(length=512), nullable=True),
    sa.Column('password_hash', sa.String(length=512), nullable=True),
    sa.Column('scram_salt', sa.LargeBinary(length=64), nullable=True),
    sa.Column('scram_iterations', sa.Integer(), nullable=True),
    sa.Column('scram_stored_key', sa.LargeBinary(length=64), nullable=True),
    sa.Column('scram_server_key', sa.LargeBinary(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('key', name=op.f('uq_accounts_key'))
    )
    op.create_table('account_certs',
    sa.Column('fingerprint', sa.String(length=128), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                            name=op.f('fk_account_certs_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_account_certs'))
    )
    with op.batch_alter_table('account_certs', schema=None) as batch_op:
        batch_op.create_index('ix_account_certs_account_id', ['account_id'], unique=False)
    op.create_table('account_settings',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                            name=op.f('fk_account_settings_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'name', name=op.f('pk_account_settings'))
    )
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.create_index('ix_history_account', ['account', 'time', 'id'], unique=False)
        batch_op.create_index(
            'ix_history_recipient_account', ['recipient_account', 'time', 'id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_recipient_account')
        batch_op.drop_index('ix_history_account')
    op.drop_table('account_settings')
    with op.batch_alter_table('account_certs', schema=None) as batch_op:
        batch_op.drop_index('ix_account_certs_account_id')
    op.drop_table('account_certs')
    op.drop_table('accounts')

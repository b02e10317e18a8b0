"""Private rows record each party's connection session.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:20:00.000000

A private line was shown to whoever held a party's nick; from this revision on
it is shown to the party's account or to the connection that sent or received
it. Rows written before have no session (NULL) and stay visible to accounts
only. Both columns are nullable, so upgrading keeps every row as it is, and a
downgrade drops only the two columns and their indexes.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_session', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('recipient_session', sa.String(length=32), nullable=True))
        batch_op.create_index(
            'ix_history_sender_session', ['sender_session', 'time', 'id'], unique=False
        )
        batch_op.create_index(
            'ix_history_recipient_session', ['recipient_session', 'time', 'id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_recipient_session')
        batch_op.drop_index('ix_history_sender_session')
        batch_op.drop_column('recipient_session')
        batch_op.drop_column('sender_session')

"""bind failures by time: bursts of wrong invite codes are counted across accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bind_failures", schema=None) as batch_op:
        batch_op.create_index("ix_bind_failures_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bind_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_bind_failures_at")

"""Judge reliability records: each judge's agreement with the others, learned at each run's
end, so judges keep their weights across restarts and every worker shares them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "judge_reliability",
        sa.Column("judge", sa.String(length=200), nullable=False),
        sa.Column("verdicts", sa.Integer(), nullable=False),
        sa.Column("agreement_sum", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("judge"),
    )


def downgrade() -> None:
    op.drop_table("judge_reliability")

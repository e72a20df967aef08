"""An index on the event log by (thread, type, seq).

Response chunks are now kept in the log, so a thread has many more events; resuming a run
reads only its `response` and `evaluation` events, and a thread's detail only its
`improvement` events: this index finds them without scanning the chunks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 07:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_events_thread_type_seq", "events", ["thread_id", "type", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_thread_type_seq", table_name="events")

"""The Zalo Official Account channel: its tokens, and when each person last wrote.

* ``channel_tokens``: a channel's OAuth tokens (encrypted), their expiry, and ``dead_at`` once
  the platform refused the refresh token. One row per channel, locked while it is refreshed.
* ``identities.last_seen_at``: when the person last wrote. A Zalo OA may message someone only
  for a while after that; reminders for the others wait until they write again.

Revision ID: 0011_zalo_oa
Revises: 0010_inbox_replies
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_zalo_oa"
down_revision: str | None = "0010_inbox_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_tokens",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("last_seen_at")
    op.drop_table("channel_tokens")

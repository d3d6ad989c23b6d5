"""Replies that survive a crash: what an update's effect must show is kept on its inbox row.

* ``inbox.reply``: the answer to the update (the channel-neutral ``Outbound``, as JSON), written
  in the transaction that applies the update, with ``done_at``. NULL: nothing to show.
* ``inbox.replied_at``: when the channel took the answer (sent, or given up as undeliverable).
  A row with a reply and no ``replied_at`` is an answer a crash kept from its person: the
  runner sends it at the next start (``bot/runtime/outbox.py``). A partial index keeps those
  few rows quick to find among the many answered ones.
* ``identities.channel`` is no longer limited to telegram, zalo and terminal: a channel is an
  adapter (``bot/runtime/channel.py``), and adding one must not need a migration.

Revision ID: 0010_inbox_replies
Revises: 0009_official_bases
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_inbox_replies"
down_revision: str | None = "0009_official_bases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_inbox_unsent"
UNSENT = sa.text("reply IS NOT NULL AND replied_at IS NULL")


CHANNEL_CHECK = "ck_identities_channel"


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_constraint(op.f(CHANNEL_CHECK), type_="check")
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("reply", sa.Text(), nullable=True))
        batch.add_column(sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        INDEX,
        "inbox",
        ["channel", "update_id"],
        sqlite_where=UNSENT,
        postgresql_where=UNSENT,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("replied_at")
        batch.drop_column("reply")
    with op.batch_alter_table("identities") as batch:
        batch.create_check_constraint(
            "channel", sa.text("channel IN ('telegram', 'zalo', 'terminal')")
        )

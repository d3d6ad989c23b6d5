"""Reminders that campaigns plan once and one job sends once; broadcasts; settings; a lease.

``reminders`` is dropped and made again in its new shape: nothing wrote to it before this
revision, and no table points to it. ``identities`` gains ``blocked_at`` with ALTER TABLE (no
rebuild: other tables point to it, see migration 0004).

Revision ID: 0008_reminders
Revises: 0007_unit_totals
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_reminders"
down_revision: str | None = "0007_unit_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.drop_table("reminders")
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        _utc("created_at"),
        _utc("reported_at", nullable=True),
        _fk("broadcasts", "unit_id", "units"),
        _fk("broadcasts", "author_id", "people"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index(op.f("ix_broadcasts_unit_id"), "broadcasts", ["unit_id"])
    op.create_index(op.f("ix_broadcasts_author_id"), "broadcasts", ["author_id"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        _utc("due_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _utc("done_at", nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        _utc("created_at"),
        _fk("reminders", "person_id", "people"),
        _fk("reminders", "broadcast_id", "broadcasts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_reminders_key")),
    )
    op.create_index(op.f("ix_reminders_person_id"), "reminders", ["person_id"])
    op.create_index(op.f("ix_reminders_broadcast_id"), "reminders", ["broadcast_id"])
    op.create_index(
        "ix_reminders_done_at_channel_due_at", "reminders", ["done_at", "channel", "due_at"]
    )
    op.create_table(
        "campaign_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("day", sa.String(5), nullable=True),
        sa.Column("days", sa.Integer(), nullable=True),
        _utc("updated_at"),
        _fk("campaign_settings", "unit_id", "units"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_settings")),
        sa.UniqueConstraint("unit_id", "kind", name=op.f("uq_campaign_settings_unit_id_kind")),
    )
    op.create_table(
        "reminder_choices",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _utc("updated_at"),
        _fk("reminder_choices", "person_id", "people"),
        sa.PrimaryKeyConstraint("person_id", "kind", name=op.f("pk_reminder_choices")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        _utc("until"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.add_column("identities", _utc("blocked_at", nullable=True))


def downgrade() -> None:
    op.drop_column("identities", "blocked_at")
    op.drop_table("leases")
    op.drop_table("reminder_choices")
    op.drop_table("campaign_settings")
    op.drop_table("reminders")
    op.drop_table("broadcasts")
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        _utc("due_at"),
        _utc("sent_at", nullable=True),
        _utc("failed_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _utc("created_at"),
        _fk("reminders", "person_id", "people"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
    )
    op.create_index(op.f("ix_reminders_person_id"), "reminders", ["person_id"])
    op.create_index("ix_reminders_sent_at_due_at", "reminders", ["sent_at", "due_at"])

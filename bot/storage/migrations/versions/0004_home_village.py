"""People's home village, so a citizen's self-check counts in their village's totals.

A plain indexed column, added and dropped with ALTER TABLE on both databases. A foreign key
would make SQLite rebuild ``people`` (copy, drop, rename), and dropping a table that other rows
point to fails once there are people; units are never deleted (only made inactive), and the
service checks the village exists before it is set.

Revision ID: 0004_home_village
Revises: 0003_invites
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_home_village"
down_revision: str | None = "0003_invites"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("people", sa.Column("home_unit_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_people_home_unit_id"), "people", ["home_unit_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_people_home_unit_id"), table_name="people")
    op.drop_column("people", "home_unit_id")

"""People's home village, so a citizen's self-check counts in their village's totals.

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
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("home_unit_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_people_home_unit_id_units"), "units", ["home_unit_id"], ["id"]
        )
        batch.create_index(op.f("ix_people_home_unit_id"), ["home_unit_id"])


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_index(op.f("ix_people_home_unit_id"))
        batch.drop_constraint(op.f("fk_people_home_unit_id_units"), type_="foreignkey")
        batch.drop_column("home_unit_id")

"""The four groups of Công dân học tập: each person's own.

* ``people.citizen_group``: the group whose form the person self-checks with (QĐ 324/QĐ-KHVN
  has four). People who already self-checked did so with the first form, người dân trong xã,
  so they are in that group; everyone else chooses when they next start a self-check.

Revision ID: 0012_citizen_groups
Revises: 0011_zalo_oa
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_citizen_groups"
down_revision: str | None = "0011_zalo_oa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE on both databases (a batch would make SQLite rebuild ``people``,
    # which other tables point to: see 0004).
    op.add_column("people", sa.Column("citizen_group", sa.String(16), nullable=True))
    op.execute(
        "UPDATE people SET citizen_group = 'resident' WHERE id IN ("
        " SELECT person_id FROM assessments"
        " WHERE subject = 'person' AND form_key = 'cong-dan-hoc-tap')"
    )


def downgrade() -> None:
    op.drop_column("people", "citizen_group")

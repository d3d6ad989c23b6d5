"""Targets on either base: ``targets.base`` is "all" (the subjects in scope, as before) or
"registered" (those registered for the year), since local plans count both ways.

Revision ID: 0016_target_bases
Revises: 0015_clans
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_target_bases"
down_revision: str | None = "0015_clans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "targets", sa.Column("base", sa.String(16), nullable=False, server_default="all")
    )


def downgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.drop_column("base")

"""One-time codes that join a person's identities on two messengers (Telegram and Zalo).

Revision ID: 0005_link_codes
Revises: 0004_home_village
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_link_codes"
down_revision: str | None = "0004_home_village"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_codes",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_link_codes_person_id_people")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_link_codes")),
    )


def downgrade() -> None:
    op.drop_table("link_codes")

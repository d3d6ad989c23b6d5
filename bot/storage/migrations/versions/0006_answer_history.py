"""Earlier values of changed answers, so edits before recognition keep their history.

A new table, and a count of submissions on assessments (a plain ADD COLUMN with a default, so
SQLite does not rebuild a table that answers point to). Assessments already submitted count one
submission; dropping the column again is a plain ALTER TABLE too.

Revision ID: 0006_answer_history
Revises: 0005_link_codes
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_answer_history"
down_revision: str | None = "0005_link_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "assessments",
        sa.Column("submissions", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.execute("UPDATE assessments SET submissions = 1 WHERE submitted_at IS NOT NULL")
    op.create_table(
        "answer_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by", sa.Integer(), nullable=False),
        sa.Column("submission_round", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_answer_revisions_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by"], ["people.id"], name=op.f("fk_answer_revisions_replaced_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_revisions")),
    )
    op.create_index(
        op.f("ix_answer_revisions_assessment_id_replaced_at"),
        "answer_revisions",
        ["assessment_id", "replaced_at"],
    )
    op.create_index(op.f("ix_answer_revisions_replaced_by"), "answer_revisions", ["replaced_by"])


def downgrade() -> None:
    op.drop_index(op.f("ix_answer_revisions_replaced_by"), table_name="answer_revisions")
    op.drop_index(
        op.f("ix_answer_revisions_assessment_id_replaced_at"), table_name="answer_revisions"
    )
    op.drop_table("answer_revisions")
    op.drop_column("assessments", "submissions")

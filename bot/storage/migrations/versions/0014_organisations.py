"""Learning units (Đơn vị học tập): the schools, agencies, enterprises and cooperatives of a
commune, assessed by their heads and recognised by the commune.

* ``organisations``: one per unit, in a commune, with its kind, staff and head.
* ``assessments.organisation_id`` and the subject "organisation" (``unit_id`` its commune).
* ``invites.organisation_id``: a code that makes the person who uses it the unit's head.

``assessments`` is rebuilt on SQLite as in migration 0013 (foreign keys off, checked before the
commit; its totals triggers made again).

Revision ID: 0014_organisations
Revises: 0013_village_subjects
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_organisations"
down_revision: str | None = "0013_village_subjects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "state IN ('draft', 'submitted', 'returned', 'recognised', 'not_recognised')"
GIVEN = (
    "(subject = 'household' AND household_id IS NOT NULL)"
    " OR (subject = 'person' AND person_id IS NOT NULL)"
    " OR (subject = 'village' AND unit_id IS NOT NULL AND household_id IS NULL"
    " AND person_id IS NULL)"
)
OLD = {"subject": "subject IN ('household', 'person', 'village')", "subject_given": GIVEN}
NEW = {
    "subject": "subject IN ('household', 'person', 'village', 'organisation')",
    "subject_given": GIVEN + " OR (subject = 'organisation' AND organisation_id IS NOT NULL)",
}
ASSESSMENT_COLUMNS = "household_id, person_id, unit_id, year, form_key, subject, state, passed"
BUMP = "UPDATE units SET totals_version = totals_version + 1 WHERE id ="
VILLAGE_OF = "(SELECT village_id FROM households WHERE id = {row}.household_id)"
TRIGGERS = (
    ("insert", "INSERT", ("NEW.unit_id", VILLAGE_OF.format(row="NEW"))),
    ("update", f"UPDATE OF {ASSESSMENT_COLUMNS}",
     ("OLD.unit_id", "NEW.unit_id", VILLAGE_OF.format(row="OLD"), VILLAGE_OF.format(row="NEW"))),
    ("delete", "DELETE", ("OLD.unit_id", VILLAGE_OF.format(row="OLD"))),
)  # fmt: skip
FK = "fk_assessments_organisation_id_organisations"
INDEX = "ix_assessments_organisation_id"
INVITE_FK = "fk_invites_organisation_id_organisations"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _triggers() -> None:
    for event, when, units in TRIGGERS:
        bumps = " ".join(f"{BUMP} {unit};" for unit in units)
        op.execute(
            f"CREATE TRIGGER trg_assessments_totals_{event} AFTER {when} ON assessments "
            f"BEGIN {bumps} END"
        )


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("staff", sa.Integer(), nullable=True),
        sa.Column("head_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["units.id"], name=op.f("fk_organisations_commune_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["head_id"], ["people.id"], name=op.f("fk_organisations_head_id_people")
        ),
        sa.CheckConstraint(
            "kind IN ('school', 'agency', 'enterprise', 'cooperative')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.CheckConstraint(
            "staff IS NULL OR staff >= 0", name=op.f("ck_organisations_staff_not_negative")
        ),
    )
    op.create_index(op.f("ix_organisations_commune_id"), "organisations", ["commune_id"])
    op.create_index(op.f("ix_organisations_head_id"), "organisations", ["head_id"])
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(INVITE_FK, "organisations", ["organisation_id"], ["id"])
    if _sqlite():
        with op.batch_alter_table("assessments", recreate="always") as batch:
            batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(FK, "organisations", ["organisation_id"], ["id"])
            batch.create_index(INDEX, ["organisation_id"])
            for name, condition in {**NEW, "state": STATES}.items():
                batch.create_check_constraint(name, condition)
        _triggers()
        return
    op.add_column("assessments", sa.Column("organisation_id", sa.Integer(), nullable=True))
    op.create_foreign_key(FK, "assessments", "organisations", ["organisation_id"], ["id"])
    op.create_index(INDEX, "assessments", ["organisation_id"])
    for name, condition in NEW.items():
        op.drop_constraint(op.f(f"ck_assessments_{name}"), "assessments", type_="check")
        op.create_check_constraint(name, "assessments", condition)


def downgrade() -> None:
    op.execute(
        "DELETE FROM answers WHERE assessment_id IN"
        " (SELECT id FROM assessments WHERE subject = 'organisation')"
    )
    op.execute(
        "DELETE FROM answer_revisions WHERE assessment_id IN"
        " (SELECT id FROM assessments WHERE subject = 'organisation')"
    )
    op.execute("DELETE FROM assessments WHERE subject = 'organisation'")
    if _sqlite():
        with op.batch_alter_table("assessments", recreate="always") as batch:
            batch.drop_index(INDEX)
            batch.drop_constraint(FK, type_="foreignkey")
            batch.drop_column("organisation_id")
            for name, condition in {**OLD, "state": STATES}.items():
                batch.create_check_constraint(name, condition)
        _triggers()
    else:
        for name, condition in OLD.items():
            op.drop_constraint(op.f(f"ck_assessments_{name}"), "assessments", type_="check")
            op.create_check_constraint(name, "assessments", condition)
        op.drop_index(INDEX, table_name="assessments")
        op.drop_constraint(FK, "assessments", type_="foreignkey")
        op.drop_column("assessments", "organisation_id")
    with op.batch_alter_table("invites") as batch:
        batch.drop_constraint(INVITE_FK, type_="foreignkey")
        batch.drop_column("organisation_id")
    op.drop_table("organisations")

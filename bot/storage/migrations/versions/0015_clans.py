"""Clans (Dòng họ học tập): a commune's clans, their member households (in any of its
villages), their heads, and their assessments.

* ``clans`` and ``clan_households`` (one clan per household).
* ``assessments.clan_id`` and the subject "clan" (``unit_id`` the commune).
* ``invites.clan_id``: a code that makes the person who uses it the clan's head.

``assessments`` is rebuilt on SQLite as in migration 0013.

Revision ID: 0015_clans
Revises: 0014_organisations
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_clans"
down_revision: str | None = "0014_organisations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "state IN ('draft', 'submitted', 'returned', 'recognised', 'not_recognised')"
GIVEN = (
    "(subject = 'household' AND household_id IS NOT NULL)"
    " OR (subject = 'person' AND person_id IS NOT NULL)"
    " OR (subject = 'village' AND unit_id IS NOT NULL AND household_id IS NULL"
    " AND person_id IS NULL)"
    " OR (subject = 'organisation' AND organisation_id IS NOT NULL)"
)
OLD = {
    "subject": "subject IN ('household', 'person', 'village', 'organisation')",
    "subject_given": GIVEN,
}
NEW = {
    "subject": "subject IN ('household', 'person', 'village', 'organisation', 'clan')",
    "subject_given": GIVEN + " OR (subject = 'clan' AND clan_id IS NOT NULL)",
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
FK = "fk_assessments_clan_id_clans"
INDEX = "ix_assessments_clan_id"
INVITE_FK = "fk_invites_clan_id_clans"


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
        "clans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("head_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clans")),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["units.id"], name=op.f("fk_clans_commune_id_units")
        ),
        sa.ForeignKeyConstraint(["head_id"], ["people.id"], name=op.f("fk_clans_head_id_people")),
    )
    op.create_index(op.f("ix_clans_commune_id"), "clans", ["commune_id"])
    op.create_index(op.f("ix_clans_head_id"), "clans", ["head_id"])
    op.create_table(
        "clan_households",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("clan_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_clan_households")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"],
            name=op.f("fk_clan_households_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["clan_id"], ["clans.id"], name=op.f("fk_clan_households_clan_id_clans")
        ),
    )  # fmt: skip
    op.create_index(op.f("ix_clan_households_clan_id"), "clan_households", ["clan_id"])
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("clan_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(INVITE_FK, "clans", ["clan_id"], ["id"])
    if _sqlite():
        with op.batch_alter_table("assessments", recreate="always") as batch:
            batch.add_column(sa.Column("clan_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(FK, "clans", ["clan_id"], ["id"])
            batch.create_index(INDEX, ["clan_id"])
            for name, condition in {**NEW, "state": STATES}.items():
                batch.create_check_constraint(name, condition)
        _triggers()
        return
    op.add_column("assessments", sa.Column("clan_id", sa.Integer(), nullable=True))
    op.create_foreign_key(FK, "assessments", "clans", ["clan_id"], ["id"])
    op.create_index(INDEX, "assessments", ["clan_id"])
    for name, condition in NEW.items():
        op.drop_constraint(op.f(f"ck_assessments_{name}"), "assessments", type_="check")
        op.create_check_constraint(name, "assessments", condition)


def downgrade() -> None:
    for table in ("answers", "answer_revisions"):
        op.execute(
            f"DELETE FROM {table} WHERE assessment_id IN"
            " (SELECT id FROM assessments WHERE subject = 'clan')"
        )
    op.execute("DELETE FROM assessments WHERE subject = 'clan'")
    if _sqlite():
        with op.batch_alter_table("assessments", recreate="always") as batch:
            batch.drop_index(INDEX)
            batch.drop_constraint(FK, type_="foreignkey")
            batch.drop_column("clan_id")
            for name, condition in {**OLD, "state": STATES}.items():
                batch.create_check_constraint(name, condition)
        _triggers()
    else:
        for name, condition in OLD.items():
            op.drop_constraint(op.f(f"ck_assessments_{name}"), "assessments", type_="check")
            op.create_check_constraint(name, "assessments", condition)
        op.drop_index(INDEX, table_name="assessments")
        op.drop_constraint(FK, "assessments", type_="foreignkey")
        op.drop_column("assessments", "clan_id")
    with op.batch_alter_table("invites") as batch:
        batch.drop_constraint(INVITE_FK, type_="foreignkey")
        batch.drop_column("clan_id")
    op.drop_table("clan_households")
    op.drop_table("clans")

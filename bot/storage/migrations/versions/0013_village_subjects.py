"""Villages as subjects of their own title: a village's assessment for Cộng đồng học tập.

* ``assessments.subject`` may be "village": an assessment of the village ``unit_id`` itself
  (no household, no person), made by its branch leader or the commune officer and recognised
  by the commune, as a household's is.

SQLite changes a CHECK only by rebuilding the table; ``bot.storage.db`` runs migrations with
foreign keys off for that (and checks them all before the commit), so the answers pointing at
the assessments are kept. SQLite drops a table's triggers with it: the totals triggers of
migration 0007 are made again. PostgreSQL swaps the two constraints in place.

Revision ID: 0013_village_subjects
Revises: 0012_citizen_groups
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_village_subjects"
down_revision: str | None = "0012_citizen_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "state IN ('draft', 'submitted', 'returned', 'recognised', 'not_recognised')"
OLD = {
    "subject": "subject IN ('household', 'person')",
    "subject_given": "(subject = 'household' AND household_id IS NOT NULL)"
    " OR (subject = 'person' AND person_id IS NOT NULL)",
}
NEW = {
    "subject": "subject IN ('household', 'person', 'village')",
    "subject_given": "(subject = 'household' AND household_id IS NOT NULL)"
    " OR (subject = 'person' AND person_id IS NOT NULL)"
    " OR (subject = 'village' AND unit_id IS NOT NULL AND household_id IS NULL"
    " AND person_id IS NULL)",
}

# Migration 0007's totals triggers on assessments, as it made them on SQLite.
ASSESSMENT_COLUMNS = "household_id, person_id, unit_id, year, form_key, subject, state, passed"
BUMP = "UPDATE units SET totals_version = totals_version + 1 WHERE id ="
VILLAGE_OF = "(SELECT village_id FROM households WHERE id = {row}.household_id)"
TRIGGERS = (
    ("insert", "INSERT", ("NEW.unit_id", VILLAGE_OF.format(row="NEW"))),
    ("update", f"UPDATE OF {ASSESSMENT_COLUMNS}",
     ("OLD.unit_id", "NEW.unit_id", VILLAGE_OF.format(row="OLD"), VILLAGE_OF.format(row="NEW"))),
    ("delete", "DELETE", ("OLD.unit_id", VILLAGE_OF.format(row="OLD"))),
)  # fmt: skip


def _swap(checks: dict[str, str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        for name, condition in checks.items():
            op.drop_constraint(op.f(f"ck_assessments_{name}"), "assessments", type_="check")
            op.create_check_constraint(name, "assessments", condition)
        return
    # Batch mode leaves out the CHECKs it reflects: all three are given again.
    with op.batch_alter_table("assessments", recreate="always") as batch:
        for name, condition in {**checks, "state": STATES}.items():
            batch.create_check_constraint(name, condition)
    for event, when, units in TRIGGERS:
        bumps = " ".join(f"{BUMP} {unit};" for unit in units)
        op.execute(
            f"CREATE TRIGGER trg_assessments_totals_{event} AFTER {when} ON assessments "
            f"BEGIN {bumps} END"
        )


def upgrade() -> None:
    _swap(NEW)


def downgrade() -> None:
    # Foreign keys are off while migrating: their answers go first, by hand.
    for table in ("answers", "answer_revisions"):
        op.execute(
            f"DELETE FROM {table} WHERE assessment_id IN"
            " (SELECT id FROM assessments WHERE subject = 'village')"
        )
    op.execute("DELETE FROM assessments WHERE subject = 'village'")
    _swap(OLD)

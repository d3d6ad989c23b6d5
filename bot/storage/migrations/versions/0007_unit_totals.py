"""Stored totals per unit and year, and triggers that mark them out of date in the same
transaction as any change they count.

Counting a province of a million households from the rows takes seconds on SQLite: every
household is paired with its registration and its deciding assessment. So each unit keeps its
counted numbers in ``unit_totals`` with the ``units.totals_version`` they were counted at, and
every insert, delete or counted-column update of households, registrations and assessments bumps
that version for the units it touches. A report recounts only units whose stored version is
behind (bot/storage/queries.py), then adds up the stored rows.

The triggers live in the database, not in the services, so that no writer can forget them: bulk
imports, merges, the demo, tests that insert rows directly. SQLite has row triggers only;
PostgreSQL gets statement triggers over transition tables, so a bulk insert bumps each unit once.
Adding the column is a plain ALTER TABLE on both databases: ``units``, which many tables point
to, is never rebuilt.

Revision ID: 0007_unit_totals
Revises: 0006_answer_history
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_unit_totals"
down_revision: str | None = "0006_answer_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "households", "members", "registered", "assessed", "passing", "pending", "returned",
    "recognised", "checked", "certified",
)  # fmt: skip
# The columns the counts read; an update that touches none of them leaves the totals valid.
HOUSEHOLD_COLUMNS = ("village_id", "members", "created_at", "removed_at")
ASSESSMENT_COLUMNS = (
    "household_id", "person_id", "unit_id", "year", "form_key", "subject", "state", "passed",
)  # fmt: skip
BUMP = "UPDATE units SET totals_version = totals_version + 1 WHERE id IN"
BUMP_ONE = "UPDATE units SET totals_version = totals_version + 1 WHERE id ="
VILLAGES_OF = "SELECT village_id FROM households WHERE id IN"

VILLAGE_OF = "(SELECT village_id FROM households WHERE id = {row}.household_id)"

# (table, event, columns an UPDATE must touch, the units one row touches): one UPDATE by
# primary key each, the cheapest thing a row trigger can do (a unit bumped twice is harmless).
SQLITE_TRIGGERS = (
    ("households", "INSERT", (), ("NEW.village_id",)),
    ("households", "UPDATE", HOUSEHOLD_COLUMNS, ("OLD.village_id", "NEW.village_id")),
    ("households", "DELETE", (), ("OLD.village_id",)),
    ("registrations", "INSERT", (), (VILLAGE_OF.format(row="NEW"),)),
    ("registrations", "UPDATE", ("household_id", "year"),
     (VILLAGE_OF.format(row="OLD"), VILLAGE_OF.format(row="NEW"))),
    ("registrations", "DELETE", (), (VILLAGE_OF.format(row="OLD"),)),
    ("assessments", "INSERT", (), ("NEW.unit_id", VILLAGE_OF.format(row="NEW"))),
    ("assessments", "UPDATE", ASSESSMENT_COLUMNS,
     ("OLD.unit_id", "NEW.unit_id", VILLAGE_OF.format(row="OLD"), VILLAGE_OF.format(row="NEW"))),
    ("assessments", "DELETE", (), ("OLD.unit_id", VILLAGE_OF.format(row="OLD"))),
)  # fmt: skip

# PostgreSQL: the units one statement touched, from its transition tables (rows: old, new).
PG_UNITS = {
    "households": "SELECT village_id FROM {rows}",
    "registrations": f"{VILLAGES_OF} (SELECT household_id FROM {{rows}})",
    "assessments": (
        f"SELECT unit_id FROM {{rows}} UNION {VILLAGES_OF} (SELECT household_id FROM {{rows}})"
    ),
}
PG_CHANGED = {  # an UPDATE counts where one of these changed (registrations: always)
    "households": HOUSEHOLD_COLUMNS,
    "assessments": ASSESSMENT_COLUMNS,
}


def _trigger_name(table: str, event: str) -> str:
    return f"trg_{table}_totals_{event.lower()}"


def _sqlite_upgrade() -> None:
    for table, event, columns, units in SQLITE_TRIGGERS:
        of = f" OF {', '.join(columns)}" if columns else ""
        bumps = " ".join(f"{BUMP_ONE} {unit};" for unit in units)
        op.execute(
            f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event}{of} ON {table} "
            f"BEGIN {bumps} END"
        )


def _pg_function(table: str) -> str:
    units = PG_UNITS[table]
    columns = PG_CHANGED.get(table)
    changed = (
        f"EXISTS (SELECT FROM old_rows o JOIN new_rows n ON o.id = n.id "
        f"WHERE ({', '.join('o.' + c for c in columns)}) "
        f"IS DISTINCT FROM ({', '.join('n.' + c for c in columns)}))"
        if columns
        else "TRUE"
    )
    return f"""
CREATE FUNCTION totals_{table}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {BUMP} ({units.format(rows="new_rows")});
    ELSIF TG_OP = 'DELETE' THEN
        {BUMP} ({units.format(rows="old_rows")});
    ELSIF {changed} THEN
        {BUMP} ({units.format(rows="old_rows")} UNION {units.format(rows="new_rows")});
    END IF;
    RETURN NULL;
END $$"""


def _pg_upgrade() -> None:
    for table in PG_UNITS:
        op.execute(_pg_function(table))
        for event, transition in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} "
                f"REFERENCING {transition} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION totals_{table}_changed()"
            )


def upgrade() -> None:
    op.add_column(
        "units",
        sa.Column("totals_version", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "unit_totals",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("forms", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_totals_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "year", "forms", name=op.f("pk_unit_totals")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in PG_UNITS:
        for event in ("INSERT", "UPDATE", "DELETE"):
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(table, event)}{on}")
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS totals_{table}_changed()")
    op.drop_table("unit_totals")
    op.drop_column("units", "totals_version")

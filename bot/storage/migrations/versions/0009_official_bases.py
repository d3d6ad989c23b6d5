"""The official bases of the figures: working-age household members, confirmed titles, the
commune's own words, and national targets that move from the 2025 figures to the 2030 ones.

* ``households.working_age``: how many of the household's members are of working age (the base
  of the Công dân học tập share in QĐ 387/QĐ-TTg and QĐ 677/QĐ-TTg). NULL means not given yet,
  and a report then says its base is incomplete instead of guessing from the headcount. The
  households' UPDATE trigger (migration 0007) is made again to watch the new column.
* ``units.village_word``: the word a commune uses for its villages (thôn, ấp, bản, làng, khu,
  khu phố, tổ dân phố); NULL: the default of the commune's kind.
* ``assessments.reviewed_by``: who recognised, confirmed, refused or returned it (no foreign
  key, as ``people.home_unit_id`` in migration 0004: SQLite would rebuild the table).
* ``unit_totals`` counts three more numbers (``working_age``, ``working_age_missing``,
  ``confirmed``); it is a cache, so its rows are dropped and counted again on the next report.
* National targets: the rows migration 0002 seeded (2025 to 2030, the 2025 figures repeated up
  to 2029) are deleted, so the code's defaults apply (bot/services/targets.py: a straight line
  from the 2025 figure to the 2030 one, each named with its documents). A row an administrator
  changed is kept, as a target set for the whole country.

Revision ID: 0009_official_bases
Revises: 0008_reminders
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_official_bases"
down_revision: str | None = "0008_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COUNTS = ("working_age", "working_age_missing", "confirmed")
OLD_HOUSEHOLD_COLUMNS = ("village_id", "members", "created_at", "removed_at")
NEW_HOUSEHOLD_COLUMNS = (*OLD_HOUSEHOLD_COLUMNS, "working_age")
TRIGGER = "trg_households_totals_update"
# The covering index of the reports' count of households (migration 0002) covers the new column.
HOUSEHOLD_INDEX = "ix_households_village_id_removed_at_created_at"
INDEXED = ["village_id", "removed_at", "created_at", "members"]
BUMP_ONE = "UPDATE units SET totals_version = totals_version + 1 WHERE id ="
# Migration 0002's seeds, (title, year, percent), that this revision deletes and puts back on
# the way down.
SEEDED = [
    *((title, year, percent) for title, percent in (("gdht", 70.0), ("cdht", 40.0))
      for year in range(2025, 2030)),
    ("gdht", 2030, 80.0),
    ("cdht", 2030, 60.0),
]  # fmt: skip


def _sqlite_trigger(columns: Sequence[str]) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    bumps = f"{BUMP_ONE} OLD.village_id; {BUMP_ONE} NEW.village_id;"
    op.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER UPDATE OF {', '.join(columns)} ON households "
        f"BEGIN {bumps} END"
    )


def _pg_function(columns: Sequence[str]) -> None:
    # The function of migration 0007, replaced with a new list of the columns that count.
    old = ", ".join("o." + c for c in columns)
    new = ", ".join("n." + c for c in columns)
    units = "SELECT village_id FROM {rows}"
    op.execute(f"""
CREATE OR REPLACE FUNCTION totals_households_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE units SET totals_version = totals_version + 1
        WHERE id IN ({units.format(rows="new_rows")});
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE units SET totals_version = totals_version + 1
        WHERE id IN ({units.format(rows="old_rows")});
    ELSIF EXISTS (SELECT FROM old_rows o JOIN new_rows n ON o.id = n.id
                  WHERE ({old}) IS DISTINCT FROM ({new})) THEN
        UPDATE units SET totals_version = totals_version + 1
        WHERE id IN ({units.format(rows="old_rows")} UNION {units.format(rows="new_rows")});
    END IF;
    RETURN NULL;
END $$""")


def _watch(columns: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_function(columns)
    else:
        _sqlite_trigger(columns)


def upgrade() -> None:
    op.add_column("households", sa.Column("working_age", sa.Integer(), nullable=True))
    op.drop_index(HOUSEHOLD_INDEX, table_name="households")
    op.create_index(HOUSEHOLD_INDEX, "households", [*INDEXED, "working_age"])
    op.add_column("units", sa.Column("village_word", sa.String(16), nullable=True))
    op.add_column("assessments", sa.Column("reviewed_by", sa.Integer(), nullable=True))
    op.execute("DELETE FROM unit_totals")
    for name in NEW_COUNTS:
        op.add_column(
            "unit_totals",
            sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0")),
        )
    _watch(NEW_HOUSEHOLD_COLUMNS)
    for title, year, percent in SEEDED:
        op.execute(
            sa.text(
                "DELETE FROM targets WHERE unit_id IS NULL AND title = :title "
                "AND year = :year AND percent = :percent"
            ).bindparams(title=title, year=year, percent=percent)
        )


def downgrade() -> None:
    targets = sa.table(
        "targets",
        sa.column("unit_id", sa.Integer()),
        sa.column("title", sa.String()),
        sa.column("year", sa.Integer()),
        sa.column("percent", sa.Float()),
    )
    existing = {
        (title, year)
        for title, year in op.get_bind().execute(
            sa.text("SELECT title, year FROM targets WHERE unit_id IS NULL")
        )
    }
    rows = [
        {"unit_id": None, "title": title, "year": year, "percent": percent}
        for title, year, percent in SEEDED
        if (title, year) not in existing
    ]
    if rows:
        op.bulk_insert(targets, rows)
    _watch(OLD_HOUSEHOLD_COLUMNS)
    op.execute("DELETE FROM unit_totals")
    for name in NEW_COUNTS:
        op.drop_column("unit_totals", name)
    op.drop_column("assessments", "reviewed_by")
    op.drop_column("units", "village_word")
    op.drop_index(HOUSEHOLD_INDEX, table_name="households")
    op.create_index(HOUSEHOLD_INDEX, "households", INDEXED)
    op.drop_column("households", "working_age")

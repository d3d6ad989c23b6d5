"""National targets for the titles, and the indexes the reports count along.

Revision ID: 0002_national_targets
Revises: 0001
Create Date: 2025-11-22

Seeds the national default targets (rows with no unit) that a report falls back on when no unit
up the tree has set its own for the year:

* ``gdht`` (Gia đình học tập, share of households recognised): 70 % for 2025 to 2029, 80 % from
  2030. Source: Quyết định 387/QĐ-TTg (25 March 2022), Chương trình "Xây dựng xã hội học tập giai
  đoạn 2021-2030", targets for "gia đình học tập"; provincial plans repeat 70 % by 2025 and 80 %
  by 2030.
* ``cdht`` (Công dân học tập): 40 % for 2025 to 2029, 60 % from 2030. Source: QĐ 387/QĐ-TTg and
  Quyết định 677/QĐ-TTg (3 June 2022, Đề án "Đẩy mạnh học tập suốt đời trong gia đình, dòng họ,
  cộng đồng đến năm 2030"): workers in learning families, clans and communities holding the
  "Công dân học tập" title. The reports set it against the people living in the households in
  scope, the nearest count the product keeps to "workers" (see bot/storage/queries.py).

A report asking for a year after 2030 uses the 2030 row (the latest national year not after it).
Frozen: must not import bot.storage.models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_national_targets"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NATIONAL = [
    *({"title": "gdht", "year": year, "percent": 70.0} for year in range(2025, 2030)),
    {"title": "gdht", "year": 2030, "percent": 80.0},
    *({"title": "cdht", "year": year, "percent": 40.0} for year in range(2025, 2030)),
    {"title": "cdht", "year": 2030, "percent": 60.0},
]
HOUSEHOLD_INDEX = "ix_households_village_id_removed_at_created_at"
ASSESSMENT_INDEX = "ix_assessments_household_id_year_form_key"


def upgrade() -> None:
    # Covering indexes: the report reads households and their deciding assessment from the
    # index alone, without visiting the table rows.
    op.create_index(
        HOUSEHOLD_INDEX, "households", ["village_id", "removed_at", "created_at", "members"]
    )
    op.create_index(
        ASSESSMENT_INDEX,
        "assessments",
        ["household_id", "year", "form_key", "state", "passed", "unit_id"],
    )
    targets = sa.table(
        "targets",
        sa.column("unit_id", sa.Integer()),
        sa.column("title", sa.String()),
        sa.column("year", sa.Integer()),
        sa.column("percent", sa.Float()),
    )
    op.bulk_insert(targets, [{"unit_id": None, **row} for row in NATIONAL])


def downgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM targets WHERE unit_id IS NULL AND title IN ('gdht', 'cdht')"
            " AND year BETWEEN 2025 AND 2030"
        )
    )
    op.drop_index(ASSESSMENT_INDEX, table_name="assessments")
    op.drop_index(HOUSEHOLD_INDEX, table_name="households")

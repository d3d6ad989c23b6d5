"""Migrations: every revision goes up, down and up again (the stairway), and the migrated schema
is exactly what the models declare, on SQLite and, with HOCTAP_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import alembic_config, create_engine, downgrade, upgrade
from bot.storage.models import Base


def _revisions() -> list[Script]:
    scripts = ScriptDirectory.from_config(alembic_config())
    return list(reversed(list(scripts.walk_revisions("base", "heads"))))


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names) - {"alembic_version"}


async def test_every_revision_upgrades_downgrades_and_upgrades_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        for script in _revisions():
            await upgrade(engine, script.revision)
            await downgrade(engine, script.down_revision or "base")  # type: ignore[arg-type]
            await upgrade(engine, script.revision)
        assert await _tables(engine) == set(Base.metadata.tables)
        await downgrade(engine, "base")
        assert await _tables(engine) == set()
    finally:
        await engine.dispose()


async def test_the_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


def test_revisions_form_one_line() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1
    assert _revisions()[0].down_revision is None


async def test_every_revision_keeps_rows_that_other_tables_point_to(database_url: str) -> None:
    """A migration that rebuilds a table must not trip over foreign keys once there is data."""
    engine = create_engine(database_url)
    try:
        first = _revisions()[0].revision
        await upgrade(engine, first)
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO people (id, display_name, locale, created_at) "
                "VALUES (1, 'Lan', 'vi', '2026-01-01 00:00:00+00:00')"
            )
            await connection.exec_driver_sql(
                "INSERT INTO identities (person_id, channel, external_id, created_at) "
                "VALUES (1, 'telegram', '7', '2026-01-01 00:00:00+00:00')"
            )
            await connection.exec_driver_sql(
                "INSERT INTO units (id, code, name, kind, level, path, depth, active, created_at) "
                f"VALUES (1, '00070', 'Hoàn Kiếm', 'ward', 2, '/1/', 2, TRUE, {MOMENT})"
            )
            await connection.exec_driver_sql(
                "INSERT INTO assessments (id, form_key, form_version, year, subject, person_id, "
                "unit_id, created_by, state, created_at, updated_at, submitted_at) VALUES (1, "
                f"'cdht', 1, 2026, 'person', 1, 1, 1, 'submitted', {MOMENT}, {MOMENT}, {MOMENT})"
            )
            await connection.exec_driver_sql(
                "INSERT INTO answers (assessment_id, question_id, value, answered_at) "
                f"VALUES (1, 'cs1', 'kha', {MOMENT})"
            )
        for script in _revisions()[1:]:
            await upgrade(engine, script.revision)
            if script.revision == "0006_answer_history":
                async with engine.begin() as connection:
                    await connection.exec_driver_sql(
                        "INSERT INTO answer_revisions (assessment_id, question_id, value, "
                        "answered_at, replaced_at, replaced_by, submission_round) VALUES "
                        f"(1, 'cs1', 'chua', {MOMENT}, {MOMENT}, 1, 0)"
                    )
            if script.revision == "0007_unit_totals":
                async with engine.begin() as connection:
                    await connection.exec_driver_sql(
                        "INSERT INTO unit_totals VALUES (1, 2026, 'gdht/cdht', 0, "
                        "0, 0, 0, 0, 0, 0, 0, 0, 1, 1)"
                    )
                    await connection.exec_driver_sql(  # a counted change: the version moves
                        "UPDATE assessments SET passed = TRUE WHERE id = 1"
                    )
            if script.revision == "0008_reminders":
                async with engine.begin() as connection:
                    await connection.exec_driver_sql(
                        "INSERT INTO reminders (key, person_id, kind, due_at, attempts, "
                        f"created_at) VALUES ('k', 1, 'season_open', {MOMENT}, 0, {MOMENT})"
                    )
                    await connection.exec_driver_sql(
                        f"UPDATE identities SET blocked_at = {MOMENT} WHERE person_id = 1"
                    )
        assert await _number(engine, "SELECT count(*) FROM answer_revisions") == 1
        # Submitted before answers had a history: it counts as submitted once.
        assert await _number(engine, "SELECT submissions FROM assessments") == 1
        assert await _number(engine, "SELECT totals_version FROM units") > 0
        await downgrade(engine, first)
        await upgrade(engine)
        for table in ("identities", "units", "assessments", "answers"):
            assert await _number(engine, f"SELECT count(*) FROM {table}") == 1, table
    finally:
        await engine.dispose()


MOMENT = "'2026-01-01 00:00:00+00:00'"


async def _number(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.exec_driver_sql(sql)).scalar() or 0)

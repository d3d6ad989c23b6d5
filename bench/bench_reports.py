"""Time the reports on a generated province: 100 communes, 2,000 villages, 1,000,000 households and
two years of registrations, assessments (resubmissions included) and citizens' self-checks.

The data is written with a few INSERT … SELECT statements over a recursive number series, so
the same code fills SQLite and PostgreSQL in seconds rather than hours. Prints, for a village, a
commune and the province, the time spent in the database and in rendering (text, spreadsheet,
chart). Reports read stored per-unit totals and recount the units whose rows changed since (see
bot/storage/queries.py): the first run of a level recounts, the median reads; the last line is a
province report after every village changed, the worst case. Asserts nothing; goals on SQLite:
a commune under 100 ms, the province under 1 s.

Run: .venv/bin/python bench/bench_reports.py [--households N] [--keep FILE] [--postgresql URL]
PostgreSQL runs too when HOCTAP_TEST_DATABASE_URL (or --postgresql) names a reachable server.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    case,
    event,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import CTE

from bot.i18n import set_locale
from bot.reports import chart, xlsx
from bot.reports import text as text_report
from bot.services.context import (
    CDHT,
    CDHT_PUPILS,
    CDHT_STAFF,
    CDHT_WORKERS,
    CDONG,
    DHHT,
    DVHT,
    GDHT,
)
from bot.services.reports import Report, build_report
from bot.storage.db import create_engine, make_sessionmaker, upgrade
from bot.storage.geography import fill_paths
from bot.storage.models import (
    Answer,
    Assessment,
    Clan,
    ClanHousehold,
    Household,
    Organisation,
    Person,
    Registration,
    Unit,
    UTCDateTime,
    table_of,
)

PROVINCE_CODE = "BENCH"
COMMUNES = 100
VILLAGES_PER_COMMUNE = 20
YEARS = (2024, 2025)
REPEATS = 5


def _numbers(name: str, count: int) -> CTE:
    """A recursive series 1..count, the portable generate_series."""
    seq = select(literal_column("1").label("i")).cte(name, recursive=True)
    return seq.union_all(select(seq.c.i + 1).where(seq.c.i < count))


def _hash(column: Any, salt: int) -> Any:
    """A deterministic pseudo-random 0..999 from an id, the same on both databases."""
    return (sql_cast(column, BigInteger) * 48271 + salt * 40503) % 2147483647 % 1000


def _moment(year: int, month: int, day: int) -> Any:
    return literal(dt.datetime(year, month, day, 3, tzinfo=dt.UTC), UTCDateTime)


async def _units(session: AsyncSession) -> None:
    """The province, its communes and villages: three bulk inserts, paths filled in SQL."""
    now = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    units = table_of(Unit)

    def row(code: str, name: str, kind: str, level: int, parent: int | None) -> dict[str, Any]:
        return {
            "code": code,
            "name": name,
            "kind": kind,
            "level": level,
            "parent_id": parent,
            "path": "",
            "depth": level,
            "active": True,
            "created_at": now,
        }

    await session.execute(
        insert(units), [row(PROVINCE_CODE, "Tỉnh Thử Nghiệm", "province", 1, None)]
    )
    province = await session.scalar(select(Unit.id).where(Unit.code == PROVINCE_CODE))
    communes = [
        row(f"B{c:03d}", f"Xã Thử Nghiệm {c}", "commune", 2, province) for c in range(COMMUNES)
    ]
    await session.execute(insert(units), communes)
    ids = await session.execute(select(Unit.id, Unit.code).where(Unit.parent_id == province))
    villages = [
        row(f"{code}-{v:02d}", f"Thôn {v + 1}", "village", 3, commune_id)
        for commune_id, code in ids
        for v in range(VILLAGES_PER_COMMUNE)
    ]
    await session.execute(insert(units), villages)
    await fill_paths(session)


async def _households(session: AsyncSession, per_village: int) -> None:
    seq = _numbers("hh", per_village)
    villages = (
        select(Unit.id)
        .where(Unit.path.startswith(await _province_path(session)), Unit.level == 3)
        .subquery()
    )
    rows = (
        select(
            villages.c.id,
            literal("H") + sql_cast(seq.c.i, String),
            literal("Chủ hộ ") + sql_cast(seq.c.i, String),
            1 + seq.c.i % 6,
            _moment(YEARS[0] - 1, 6, 1),
        )
        .select_from(villages.join(seq, literal(True)))
        .order_by(villages.c.id, seq.c.i)
    )
    columns = ["village_id", "code", "head_name", "members", "created_at"]
    await session.execute(insert(Household).from_select(columns, rows))


async def _province_path(session: AsyncSession) -> str:
    path = await session.scalar(select(Unit.path).where(Unit.code == PROVINCE_CODE))
    assert path is not None
    return path


async def _registrations(session: AsyncSession, year: int, share: int) -> None:
    rows = select(Household.id, literal(year), _moment(year, 2, 1)).where(
        _hash(Household.id, year) < share
    )
    columns = ["household_id", "year", "registered_at"]
    await session.execute(insert(Registration).from_select(columns, rows))


async def _assessments(session: AsyncSession, year: int, leader: int, salt: int) -> None:
    """Most registered households assessed; states spread like a real year; some resubmitted."""
    base = (
        select(
            Registration.household_id.label("hid"),
            _hash(Registration.household_id, salt).label("h"),
            Household.village_id,
        )
        .join(Household, Household.id == Registration.household_id)
        .where(Registration.year == year)
        .subquery()
    )
    h = base.c.h
    state = case(
        (h < 520, "recognised"),
        (h < 640, "submitted"),
        (h < 760, "not_recognised"),
        (h < 820, "returned"),
        else_="draft",
    )
    passed = or_(h < 640, h % 7 == 0)
    columns = [
        "form_key",
        "form_version",
        "year",
        "subject",
        "household_id",
        "unit_id",
        "created_by",
        "state",
        "passed",
        "created_at",
        "updated_at",
    ]

    def rows(state: Any, passed: Any, day: Any) -> Any:
        return select(
            literal(GDHT),
            literal(1),
            literal(year),
            literal("household"),
            base.c.hid,
            base.c.village_id,
            literal(leader),
            state,
            passed,
            day,
            day,
        )

    # Two households in a hundred first have an older row, since superseded: counted once.
    older = rows(literal("returned"), literal(False), _moment(year, 4, 1)).where(h % 50 == 0)
    await session.execute(insert(Assessment).from_select(columns, older))
    latest = rows(state, passed, _moment(year, 5, 1))
    await session.execute(insert(Assessment).from_select(columns, latest))


async def _people(session: AsyncSession, year: int, count: int, salt: int) -> None:
    """Citizens' self-checks spread over the villages, about 60 % passing."""
    seq = _numbers("pp", count)
    first = (await session.scalar(select(func.coalesce(func.max(Person.id), 0)))) or 0
    await session.execute(
        insert(Person).from_select(
            ["display_name", "locale", "created_at"],
            select(
                literal("Công dân ") + sql_cast(seq.c.i, String),
                literal("vi"),
                _moment(year, 1, 2),
            ),
        )
    )
    province = await _province_path(session)
    villages = select(Unit.id).where(Unit.path.startswith(province), Unit.level == 3)
    lowest = await session.scalar(select(func.min(villages.subquery().c.id)))
    count_villages = COMMUNES * VILLAGES_PER_COMMUNE
    day = _moment(year, 7, 1)
    # The four groups' forms in proportion (60 / 20 / 10 / 10 %); of those passing, two in
    # three confirmed (recognised), each with an answer to the digital indicator.
    group = _hash(Person.id, salt + 1)
    form = case(
        (group < 600, CDHT), (group < 800, CDHT_WORKERS), (group < 900, CDHT_STAFF),
        else_=CDHT_PUPILS,
    )  # fmt: skip
    passed = _hash(Person.id, salt) < 600
    state = case((_hash(Person.id, salt) < 400, "recognised"), else_="submitted")
    rows = select(
        form,
        literal(1),
        literal(year),
        literal("person"),
        Person.id,
        literal(lowest) + Person.id % count_villages,
        Person.id,
        state,
        passed,
        day,
        day,
        day,
    ).where(Person.id > first)
    columns = [
        "form_key",
        "form_version",
        "year",
        "subject",
        "person_id",
        "unit_id",
        "created_by",
        "state",
        "passed",
        "created_at",
        "updated_at",
        "submitted_at",
    ]
    await session.execute(insert(Assessment).from_select(columns, rows))
    level = case((_hash(Assessment.id, salt + 2) < 500, "thuong-xuyen"),
                 (_hash(Assessment.id, salt + 2) < 800, "kha"), else_="hiem-khi")  # fmt: skip
    answers = select(Assessment.id, literal("cs5"), level, day).where(
        Assessment.subject == "person", Assessment.year == year, Assessment.state == "recognised"
    )
    await session.execute(
        insert(Answer).from_select(
            ["assessment_id", "question_id", "value", "answered_at"], answers
        )
    )


UNITS_PER_COMMUNE, CLANS_PER_COMMUNE = 5, 10


async def _subjects(session: AsyncSession) -> None:
    """Every other title in proportion: the province's learning units (5 a commune) and clans
    (10 a commune, with 30 % of the households as members)."""
    province = await _province_path(session)
    communes = select(Unit.id).where(Unit.path.startswith(province), Unit.level == 2).subquery()
    made = _moment(2023, 1, 2)
    for count, model, values in (
        (UNITS_PER_COMMUNE, Organisation, {"kind": literal("school"), "staff": literal(30)}),
        (CLANS_PER_COMMUNE, Clan, {}),
    ):
        seq = _numbers(f"n{model.__tablename__}", count)
        columns = {"commune_id": communes.c.id, "name": literal("Bench ") +
                   sql_cast(seq.c.i, String), "created_at": made, **values}  # fmt: skip
        await session.execute(
            insert(model).from_select(list(columns), select(*columns.values()).select_from(
                communes.join(seq, literal(True))))
        )  # fmt: skip
    village = aliased(Unit)
    first_clan = await session.scalar(select(func.min(Clan.id)))
    members = (
        select(Household.id, literal(first_clan) + (village.parent_id - select(func.min(Unit.id))
               .where(Unit.level == 2).scalar_subquery()) * CLANS_PER_COMMUNE
               + Household.id % CLANS_PER_COMMUNE, made)
        .join(village, village.id == Household.village_id)
        .where(_hash(Household.id, 7) < 300)
    )  # fmt: skip
    await session.execute(
        insert(ClanHousehold).from_select(["household_id", "clan_id", "added_at"], members)
    )


async def _subject_assessments(session: AsyncSession, year: int, leader: int) -> None:
    """A year's assessments of the villages (80 % assessed, 65 % recognised), the learning
    units and the clans (the same shares)."""
    province = await _province_path(session)
    day = _moment(year, 11, 20)
    for subject, form, source, column in (
        ("village", CDONG, select(Unit.id.label("id"), Unit.id.label("unit"))
         .where(Unit.path.startswith(province), Unit.level == 3), "unit_id"),
        ("organisation", DVHT, select(Organisation.id.label("id"),
         Organisation.commune_id.label("unit")), "organisation_id"),
        ("clan", DHHT, select(Clan.id.label("id"), Clan.commune_id.label("unit")), "clan_id"),
    ):  # fmt: skip
        found = source.subquery()
        chance = _hash(found.c.id, year + len(subject))
        state = case((chance < 650, "recognised"), else_="submitted")
        own = [found.c.id] if column != "unit_id" else []
        rows = select(literal(form), literal(1), literal(year), literal(subject), found.c.unit,
                      *own, literal(leader), state, literal(True), day, day, day
                      ).where(chance < 800)  # fmt: skip
        columns = ["form_key", "form_version", "year", "subject", "unit_id",
                   *([column] if own else []), "created_by", "state", "passed", "created_at",
                   "updated_at", "submitted_at"]  # fmt: skip
        await session.execute(insert(Assessment).from_select(columns, rows))


async def generate(sessions: async_sessionmaker[AsyncSession], households: int) -> None:
    """Fill the database with the bench province, each step committed and timed."""
    per_village = max(1, households // (COMMUNES * VILLAGES_PER_COMMUNE))
    steps: list[tuple[str, Callable[[AsyncSession], Awaitable[None]]]] = [
        ("units", _units),
        ("households", partial(_households, per_village=per_village)),
        ("leader", _leader),
        ("units and clans", _subjects),
    ]
    for number, year in enumerate(YEARS):
        share = 850 + number * 30  # registered per thousand households
        steps += [
            (f"registrations {year}", partial(_registrations, year=year, share=share)),
            (f"assessments {year}", partial(_assessments_as_leader, year=year)),
            (f"self-checks {year}", partial(_people, year=year, count=households // 8, salt=year)),
            (f"other titles {year}", partial(_subjects_as_leader, year=year)),
        ]
    for label, step in steps:
        started = time.perf_counter()
        async with sessions() as session:
            await step(session)
            await session.commit()
        print(f"  generate {label:<22} {time.perf_counter() - started:7.1f} s", flush=True)


async def _leader(session: AsyncSession) -> None:
    session.add(Person(display_name="Bench leader", locale="vi"))
    await session.flush()


async def _assessments_as_leader(session: AsyncSession, year: int) -> None:
    leader = await session.scalar(select(Person.id).where(Person.display_name == "Bench leader"))
    assert leader is not None
    await _assessments(session, year, leader, year)


async def _subjects_as_leader(session: AsyncSession, year: int) -> None:
    leader = await session.scalar(select(Person.id).where(Person.display_name == "Bench leader"))
    assert leader is not None
    await _subject_assessments(session, year, leader)


RENDERERS: dict[str, Callable[[Report], object]] = {
    "text": text_report.render,
    "xlsx": xlsx.render,
    "png": chart.render,
}


async def _time_level(sessions: async_sessionmaker[AsyncSession], code: str) -> dict[str, Any]:
    """Database and rendering times of one unit's report: first run, then the median."""
    database: list[float] = []
    report: Report | None = None
    for _run in range(REPEATS):
        async with sessions() as session:
            started = time.perf_counter()
            report = await build_report(session, code, YEARS[-1])
            await session.commit()  # as a chat turn does: the recounted totals are kept
            database.append(time.perf_counter() - started)
    assert report is not None
    rendering = {name: _median_of(render, report) for name, render in RENDERERS.items()}
    return {
        "rows": len(report.lines),
        "households": report.total.households,
        "first": database[0],
        "database": statistics.median(database[1:]),
        **rendering,
    }


def _median_of(render: Callable[[Report], object], report: Report) -> float:
    times = []
    for _run in range(REPEATS):
        started = time.perf_counter()
        render(report)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def report_times(sessions: async_sessionmaker[AsyncSession], label: str) -> None:
    """Print the table of report times for a village, a commune and the province, then the
    province once more after every village changed (all its stored totals recounted)."""
    levels = (
        ("village", f"B{COMMUNES // 2:03d}-05"),
        ("commune", f"B{COMMUNES // 2:03d}"),
        ("province", PROVINCE_CODE),
    )
    print(f"\n{label}: report {YEARS[-1]}, milliseconds (database: first run, then median)")
    print(
        f"  {'level':<9}{'rows':>6}{'households':>12}{'db first':>10}{'db':>9}"
        f"{'text':>8}{'xlsx':>8}{'png':>8}"
    )
    for name, code in levels:
        t = await _time_level(sessions, code)
        ms = {key: t[key] * 1000 for key in ("first", "database", "text", "xlsx", "png")}
        print(
            f"  {name:<9}{t['rows']:>6}{t['households']:>12,}{ms['first']:>10.1f}"
            f"{ms['database']:>9.1f}{ms['text']:>8.1f}{ms['xlsx']:>8.1f}{ms['png']:>8.1f}",
            flush=True,
        )
    print(f"  province after every village changed: {await _recount_all(sessions):.1f} ms")


async def _recount_all(sessions: async_sessionmaker[AsyncSession]) -> float:
    """Milliseconds of a province report when no stored total is current: the worst case."""
    async with sessions() as session:
        await session.execute(update(Unit).values(totals_version=Unit.totals_version + 1))
        await session.commit()
    async with sessions() as session:
        started = time.perf_counter()
        await build_report(session, PROVINCE_CODE, YEARS[-1])
        await session.commit()
        return (time.perf_counter() - started) * 1000


async def _prepared(url: str, households: int, fresh: bool) -> Any:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        present = await session.scalar(select(Unit.id).where(Unit.code == PROVINCE_CODE))
    if present is None or fresh:
        started = time.perf_counter()
        await generate(sessions, households)
        print(f"  generated {households:,} households in {time.perf_counter() - started:.1f} s")
    else:
        print("  reusing the generated province already in the database")
    return engine


async def run_sqlite(path: Path, households: int) -> None:
    """Generate (or reuse) the province in a SQLite file and time the reports."""
    url = f"sqlite+aiosqlite:///{path}"
    print(f"SQLite {path}")
    engine = await _prepared(url, households, fresh=False)
    try:
        await report_times(make_sessionmaker(engine), "SQLite, default page cache (2 MB)")
    finally:
        await engine.dispose()
    engine = create_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def bigger_cache(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA cache_size=-65536")

    try:
        await report_times(make_sessionmaker(engine), "SQLite, PRAGMA cache_size=-65536 (64 MB)")
    finally:
        await engine.dispose()


async def run_postgresql(server: str, households: int) -> None:
    """Generate the province in a throwaway PostgreSQL database, time the reports, drop it."""
    name = f"hoctap_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as error:  # any failure means: no PostgreSQL today
        print(f"PostgreSQL not reachable ({type(error).__name__}); skipped")
        await admin.dispose()
        return
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    print(f"\nPostgreSQL {make_url(server).render_as_string(hide_password=True)} ({name})")
    try:
        engine = await _prepared(url, households, fresh=True)
        # What autovacuum does after a bulk load: statistics, and the visibility map that
        # lets index-only scans skip the table.
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")
        try:
            await report_times(make_sessionmaker(engine), "PostgreSQL")
        finally:
            await engine.dispose()
    finally:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


async def main(args: argparse.Namespace) -> None:
    """SQLite always; PostgreSQL when a server URL is given or configured for the tests."""
    set_locale("vi")
    if args.keep is not None:
        await run_sqlite(args.keep, args.households)
    else:
        with tempfile.TemporaryDirectory() as directory:
            await run_sqlite(Path(directory) / "bench.db", args.households)
    server = args.postgresql or os.environ.get("HOCTAP_TEST_DATABASE_URL")
    if server:
        await run_postgresql(server, args.households)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="SQLite file to keep and reuse between runs")
    parser.add_argument("--postgresql", help="a postgresql+asyncpg:// server URL")
    asyncio.run(main(parser.parse_args()))

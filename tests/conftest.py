"""Database fixtures for the tests: a fresh, migrated database per test.

Every database test runs on a new SQLite file. With HOCTAP_TEST_DATABASE_URL set to a PostgreSQL
URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) it runs a second time on a throwaway
database created through that server and dropped afterwards, so tests never share state.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_admin_engine

from bot.storage.db import create_engine, make_sessionmaker, upgrade
from bot.storage.geography import load_geography

PG_ENV = "HOCTAP_TEST_DATABASE_URL"
# python-telegram-bot 22 warns unless durations are timedeltas; the product opts in too.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a new SQLite file, whatever database the suite runs on."""
    return f"sqlite+aiosqlite:///{tmp_path / 'hoctap.db'}"


# The storage, service and report tests (tests/bot) run on both databases; the end-to-end
# journeys run on SQLite, where the channel stack is the same, and PostgreSQL has its own
# end-to-end test with two workers. This keeps the whole suite within five minutes.
BOTH_DATABASES = ("tests/bot/",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "postgresql: a test of PostgreSQL's own behaviour (row locks, dropped connections, "
        f"deadlocks); collected only when {PG_ENV} is set",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server, leave out the tests that are about PostgreSQL alone."""
    if os.environ.get(PG_ENV):
        return
    left_out = [item for item in items if item.get_closest_marker("postgresql")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``database_url`` by backend: SQLite always, PostgreSQL where it matters."""
    if "database_url" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("postgresql"):
        if os.environ.get(PG_ENV):  # otherwise the test is left out (above)
            metafunc.parametrize("database_url", ["postgresql"], indirect=True)
        return
    where = metafunc.definition.nodeid
    both = os.environ.get(PG_ENV) and where.startswith(BOTH_DATABASES)
    metafunc.parametrize(
        "database_url", ["sqlite", "postgresql"] if both else ["sqlite"], indirect=True
    )


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[str]:
    """A URL of an empty database: SQLite, and a throwaway PostgreSQL database when configured."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield sqlite_url
        return
    async with throwaway_database(os.environ[PG_ENV]) as url:
        yield url


@asynccontextmanager
async def throwaway_database(server: str, prefix: str = "hoctap_test") -> AsyncIterator[str]:
    """A new PostgreSQL database on ``server`` for one test, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    # CREATE/DROP DATABASE cannot run inside a transaction.
    admin = create_admin_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, migrated to the newest revision."""
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory the bot would build for this database."""
    return make_sessionmaker(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One session for the test body; the test decides when to commit."""
    async with session_factory() as session:
        yield session


@pytest.fixture
async def geography(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The official provinces and communes, loaded and committed."""
    async with session_factory() as session:
        await load_geography(session)
        await session.commit()

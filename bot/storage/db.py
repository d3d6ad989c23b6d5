"""Engine, sessions, migrations and the dialect-aware upsert for the bot's database.

Holds `create_engine` (SQLite in WAL mode with BEGIN IMMEDIATE transactions, or PostgreSQL through
asyncpg, from the same code), `make_sessionmaker`, `upgrade`/`downgrade` (Alembic run in-process),
`insert_ignore`/`insert_new`, `DatabaseUnavailable`, `dropped`/`reconnecting` for work whose
connection the server had closed, and `conflicted` for work the server rolled back.

Must not import services, channels, conversations or any platform library, and must not format text
for people: the only words it produces are error messages, and those go through gettext.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, CursorResult, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from bot.i18n import _

log = logging.getLogger(__name__)
T = TypeVar("T")
_CONFLICTS = frozenset({"40001", "40P01"})  # SQLSTATEs: serialization failure, deadlock
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"
DEFAULT_BUSY_TIMEOUT_MS = 5000
# Connections kept open to PostgreSQL. A busy Telegram runner has 8 chats' units of work at once
# (CHATS_AT_ONCE), beside its poller, its scans and the reminder job; a connection opened past
# the pool is closed again on return, and a new one costs a server process and every statement
# prepared anew. At SQLAlchemy's default of 5, a busy bot opened a dozen connections a second.
POSTGRES_POOL = 12
# Both drivers cap the bind parameters of one statement (SQLite 32766, asyncpg 32767).
_MAX_PARAMS = 30000


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened or stayed locked; str() is one line without the password."""


def create_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> AsyncEngine:
    """Create the async engine for a `sqlite+aiosqlite://` or `postgresql+asyncpg://` URL."""
    parsed = _parse(url)
    if parsed.drivername == SQLITE_DRIVER:
        # SQLite has one writer and every transaction here takes the write lock at BEGIN, so a
        # second connection of this process could only wait for the first, polling (its busy
        # handler sleeps up to 100 ms at a time). With one connection, concurrent units of work
        # queue in asyncio instead, first come first served, and start the moment it is free.
        # aiosqlite runs every statement in its own thread, so a wait for another process's
        # lock (the busy handler) or a long recount never holds the event loop.
        engine = create_async_engine(parsed, pool_size=1, max_overflow=0)
        _configure_sqlite(engine, parsed, busy_timeout_ms)
    else:
        # No ping before each use: it was a round trip per unit of work, a sixth of the CPU of
        # a typed answer. A connection the server dropped (a restart) fails its first
        # statement instead; SQLAlchemy then discards it and every older pooled one, and the
        # callers that must not fail run the work once more (see `dropped`, `reconnecting`).
        engine = create_async_engine(parsed, pool_size=POSTGRES_POOL, max_overflow=POSTGRES_POOL)
    _translate_connect_errors(engine, parsed)
    return engine


def dropped(error: BaseException) -> bool:
    """True for the error of a connection the server had closed (a restart, an idle timeout):
    SQLAlchemy has discarded it and the pool's older ones, so the same work can be run again at
    once, on a new connection."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


def conflicted(error: BaseException) -> bool:
    """True when PostgreSQL rolled the transaction back for a conflict with another one running
    at the same time (a deadlock, a serialization failure): running it again is the remedy."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in _CONFLICTS


async def reconnecting(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` (a whole unit of work: it opens its own session and commits), and once more
    when its connection turned out to be dropped (see `dropped`)."""
    try:
        return await work()
    except DBAPIError as error:
        if not dropped(error):
            raise
        log.warning("the database connection was dropped; trying again on a new one")
        return await work()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory; objects stay readable after commit (no implicit IO)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def upgrade(url_or_engine: str | AsyncEngine, revision: str = "head") -> None:
    """Migrate the database up to `revision` (Alembic, in one transaction)."""
    await _run_alembic(url_or_engine, command.upgrade, revision)


async def downgrade(url_or_engine: str | AsyncEngine, revision: str = "base") -> None:
    """Migrate the database down to `revision` (Alembic, in one transaction)."""
    await _run_alembic(url_or_engine, command.downgrade, revision)


def alembic_config() -> Config:
    """Return an Alembic config pointing at the migrations packaged with the bot."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def insert_ignore(
    session: AsyncSession,
    model: type[Any],
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    index_elements: Sequence[str],
) -> int:
    """Insert rows, skipping those that hit the unique key `index_elements`; return rows added."""
    rows = [values] if isinstance(values, Mapping) else list(values)
    if not rows:
        return 0
    insert = insert_of(session)
    added = 0
    for chunk in _chunks(rows, max(1, _MAX_PARAMS // len(rows[0]))):
        statement = (
            insert(model).values(chunk).on_conflict_do_nothing(index_elements=list(index_elements))
        )
        result = cast(CursorResult[Any], await session.execute(statement))
        added += result.rowcount
    return added


async def insert_new(
    session: AsyncSession,
    model: type[Any],
    rows: Sequence[Mapping[str, Any]],
    index_elements: Sequence[str],
    key: str,
) -> set[Any]:
    """Insert rows, skipping those that hit the unique key `index_elements`; return the ``key``
    of each row added.

    The rows go as parameter sets of one statement, which SQLAlchemy sends as multi-row INSERTs
    ("insertmanyvalues"): unlike `insert_ignore`'s, the statement is the same for any number
    of rows, so it is compiled once (that compiling cost more than the rest of storing a few
    updates). RETURNING gives only the rows added, on both databases.
    """
    if not rows:
        return set()
    table = model.__table__
    statement = (
        insert_of(session)(table)
        .on_conflict_do_nothing(index_elements=list(index_elements))
        .returning(table.c[key])
    )
    return set((await session.execute(statement, list(rows))).scalars())


def on_postgresql(session: AsyncSession) -> bool:
    """True when the session's database is PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def insert_of(session: AsyncSession) -> Any:
    """The INSERT of the session's database, the one with ON CONFLICT clauses."""
    return postgresql.insert if on_postgresql(session) else sqlite.insert


def _chunks(rows: list[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            _("Cannot open the database {url}: {reason}").format(
                url=url.split("@")[-1], reason=_("this is not a database URL")
            )
        ) from None
    if parsed.drivername not in (SQLITE_DRIVER, POSTGRES_DRIVER):
        reason = _("unsupported scheme {scheme}; use {sqlite}:// or {postgres}://").format(
            scheme=parsed.drivername, sqlite=SQLITE_DRIVER, postgres=POSTGRES_DRIVER
        )
        raise _unavailable(parsed, reason)
    if parsed.drivername == SQLITE_DRIVER and parsed.database in (None, "", ":memory:"):
        # Each pooled connection would get its own empty in-memory database.
        raise _unavailable(parsed, _("SQLite needs a file path, not an in-memory database"))
    return parsed


def _unavailable(url: URL, reason: str) -> DatabaseUnavailable:
    if url.password:
        reason = reason.replace(str(url.password), "***")
    first_line = reason.strip().splitlines()[0] if reason.strip() else "?"
    return DatabaseUnavailable(
        _("Cannot open the database {url}: {reason}").format(
            url=url.render_as_string(hide_password=True), reason=first_line
        )
    )


def _configure_sqlite(engine: AsyncEngine, url: URL, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control from the driver so that every transaction (reads included)
        # starts with BEGIN IMMEDIATE: writers wait for the lock there, up to the busy timeout,
        # instead of failing with "database is locked" when a read transaction later writes.
        # (SQLAlchemy's recipe for pysqlite and aiosqlite: "Serializable isolation".)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"busy_timeout={int(busy_timeout_ms)}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "handle_error")
    def on_error(context: ExceptionContext) -> None:
        original = context.original_exception
        if _is_busy(original):
            reason = _("another process kept it locked for more than {ms} ms").format(
                ms=busy_timeout_ms
            )
            raise _unavailable(url, reason) from original


def _is_busy(error: BaseException) -> bool:
    """True for SQLite's refusal of a lock another connection kept past the busy timeout."""
    text = str(error)
    return isinstance(error, sqlite3.OperationalError) and (
        "database is locked" in text or "database is busy" in text
    )


def _translate_connect_errors(engine: AsyncEngine, url: URL) -> None:
    # Connect failures come out as driver errors or bare OSErrors (asyncpg); turning them all
    # into DatabaseUnavailable here gives callers one exception with a readable reason.
    @event.listens_for(engine.sync_engine, "do_connect")
    def on_do_connect(
        dialect: Dialect, _record: ConnectionPoolEntry, cargs: Any, cparams: Any
    ) -> Any:
        reason = _sqlite_directory_problem(url)
        if reason is not None:
            # Checked before connecting, for a reason that says what to fix (sqlite3 would only
            # say "unable to open database file").
            raise _unavailable(url, reason)
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as error:
            raise _unavailable(url, _connect_reason(url, error)) from error


def _sqlite_directory_problem(url: URL) -> str | None:
    if url.drivername != SQLITE_DRIVER or not url.database:
        return None
    directory = Path(url.database).expanduser().resolve().parent
    if not directory.is_dir():
        return _("the directory {path} does not exist").format(path=directory)
    if not os.access(directory, os.W_OK):
        return _("the directory {path} is not writable").format(path=directory)
    return None


def _connect_reason(url: URL, error: Exception) -> str:
    if isinstance(error, ConnectionRefusedError):
        return _("the server at {host}:{port} refused the connection").format(
            host=url.host or "localhost", port=url.port or 5432
        )
    return str(error) or type(error).__name__


async def _run_alembic(url_or_engine: str | AsyncEngine, action: Any, revision: str) -> None:
    owned = isinstance(url_or_engine, str)
    engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_alembic_in_connection, action, revision)
    finally:
        if owned:
            await engine.dispose()


def _alembic_in_connection(connection: Connection, action: Any, revision: str) -> None:
    config = alembic_config()
    # env.py runs the migration on this connection instead of opening its own.
    config.attributes["connection"] = connection
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A migration that rebuilds a table other tables point to (SQLite's only way to change
        # a CHECK) drops the old one: with foreign keys on, that would delete, or refuse, the
        # rows pointing at it. SQLite's own procedure turns them off outside the transaction
        # and checks them all before the commit (https://sqlite.org/lang_altertable.html).
        _driver_sql(connection, "PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            action(config, revision)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            _driver_sql(connection, "PRAGMA foreign_keys=ON")


def _driver_sql(connection: Connection, statement: str) -> None:
    """Run a statement on the driver's connection outside any transaction (a PRAGMA that is a
    no-op inside one)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "MIGRATIONS_DIR",
    "DatabaseUnavailable",
    "alembic_config",
    "conflicted",
    "create_engine",
    "downgrade",
    "dropped",
    "insert_ignore",
    "insert_new",
    "insert_of",
    "make_sessionmaker",
    "on_postgresql",
    "reconnecting",
    "upgrade",
]

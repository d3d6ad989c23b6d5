"""The engine: SQLite pragmas and BEGIN IMMEDIATE really in force, a wait for another process's
lock that leaves the event loop free, unopenable URLs refused with one readable line, and the
dialect-aware insert_ignore on whichever database the suite runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.i18n import use_locale
from bot.storage import inbox
from bot.storage.db import (
    DatabaseUnavailable,
    conflicted,
    create_engine,
    dropped,
    insert_ignore,
    upgrade,
)
from bot.storage.models import InboxUpdate, utcnow


async def test_sqlite_connections_use_wal_normal_sync_foreign_keys_and_the_busy_timeout(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url, busy_timeout_ms=1234)
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    # synchronous: 1 is NORMAL. The busy handler sleeps in aiosqlite's thread, not the loop's.
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 1234,
    }


async def test_transactions_of_one_process_queue_for_sqlites_one_writer(sqlite_url: str) -> None:
    # A busy timeout far shorter than the first transaction: the second one must wait in the
    # process for the connection, not on SQLite's lock (which would give up after 50 ms).
    engine = create_engine(sqlite_url, busy_timeout_ms=50)
    order: list[str] = []
    try:
        async with engine.begin() as first:
            await first.exec_driver_sql("SELECT 1")

            async def second() -> None:
                async with engine.begin() as connection:
                    await connection.exec_driver_sql("SELECT 1")
                    order.append("second")

            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.2)
            order.append("first")
        await waiting
    finally:
        await engine.dispose()
    assert order == ["first", "second"]


async def test_a_second_transaction_waits_for_the_first_then_gives_up(sqlite_url: str) -> None:
    first, second = create_engine(sqlite_url), create_engine(sqlite_url, busy_timeout_ms=150)
    try:
        async with first.begin() as holder:
            # A read is enough: BEGIN IMMEDIATE takes the write lock when the transaction opens.
            await holder.exec_driver_sql("SELECT 1")
            started = time.perf_counter()
            with (
                use_locale("en"),
                pytest.raises(DatabaseUnavailable, match="for more than 150 ms"),
            ):
                async with second.begin() as waiter:
                    await waiter.exec_driver_sql("SELECT 1")
            waited = time.perf_counter() - started
        async with second.begin() as after:
            assert (await after.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        await first.dispose()
        await second.dispose()
    assert waited >= 0.14


async def test_transactions_begin_immediate(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    statements: list[str] = []
    try:
        event.listen(
            engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_args: statements.append(statement),
        )
        async with engine.begin() as connection:
            await connection.exec_driver_sql("SELECT 1")
    finally:
        await engine.dispose()
    assert statements[0] == "BEGIN IMMEDIATE"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite+aiosqlite:///{tmp}/missing/dir/hoctap.db", "missing/dir does not exist"),
        ("mysql://root:s3cret@localhost/hoctap", "unsupported scheme mysql"),
        ("sqlite:///{tmp}/hoctap.db", "unsupported scheme sqlite;"),
        ("sqlite+aiosqlite://", "not an in-memory database"),
        ("not a url", "not a database URL"),
        ("postgresql+asyncpg://hoctap:s3cret@127.0.0.1:1/hoctap", "127.0.0.1:1 refused"),
    ],
)
async def test_unopenable_urls_raise_one_line_without_the_password(
    tmp_path: Path, url: str, reason: str
) -> None:
    url = url.format(tmp=tmp_path)
    with use_locale("en"), pytest.raises(DatabaseUnavailable) as raised:
        await upgrade(url)
    message = str(raised.value)
    assert reason in message
    assert "s3cret" not in message
    assert "\n" not in message


async def test_a_locked_database_is_unavailable_for_migrations(sqlite_url: str) -> None:
    holder, waiter = create_engine(sqlite_url), create_engine(sqlite_url, busy_timeout_ms=50)
    try:
        async with holder.begin() as connection:
            await connection.exec_driver_sql("SELECT 1")
            with use_locale("en"), pytest.raises(DatabaseUnavailable, match="for more than 50 ms"):
                await upgrade(waiter)
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_insert_ignore_adds_only_new_rows(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    def update(number: int) -> dict[str, object]:
        return {
            "channel": "telegram",
            "update_id": number,
            "chat_key": "42",
            "payload": "{}",
            "received_at": utcnow(),
        }

    keys = ["channel", "update_id"]
    assert await insert_ignore(session, InboxUpdate, [update(1), update(2)], keys) == 2
    assert await insert_ignore(session, InboxUpdate, update(2), keys) == 0
    assert await insert_ignore(session, InboxUpdate, [update(2), update(3)], keys) == 1
    assert await insert_ignore(session, InboxUpdate, [], keys) == 0
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 3


async def test_update_ids_beyond_32_bits_fit(session: AsyncSession) -> None:
    big = 2**40
    row = {"channel": "zalo", "update_id": big, "chat_key": "c", "payload": "{}"}
    await insert_ignore(session, InboxUpdate, row, ["channel", "update_id"])
    await session.commit()
    assert await session.scalar(select(InboxUpdate.update_id)) == big


async def test_schema_changes_roll_back_with_their_transaction(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await connection.exec_driver_sql("CREATE TABLE scratch (id INTEGER)")
            await transaction.rollback()
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    assert "scratch" not in tables


@pytest.mark.postgresql
async def test_a_deadlock_between_two_transactions_is_a_conflict_to_run_again(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    await inbox.store(session_factory, "t", [inbox.Received(i, "c", "{}") for i in (1, 2)], now)
    async with session_factory() as one, session_factory() as other:
        assert await inbox.claim(one, "t", 1, now)
        assert await inbox.claim(other, "t", 2, now)
        # Each now waits for the row the other holds; the server rolls one of them back.
        outcomes = await asyncio.gather(
            inbox.claim(one, "t", 2, now), inbox.claim(other, "t", 1, now), return_exceptions=True
        )
        [error] = [o for o in outcomes if isinstance(o, BaseException)]
        assert isinstance(error, DBAPIError)
        assert conflicted(error) and not dropped(error)


async def test_waiting_for_another_writer_leaves_the_loop_free(sqlite_url: str) -> None:
    holder, waiter = create_engine(sqlite_url), create_engine(sqlite_url, busy_timeout_ms=5000)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        async with holder.begin() as held:
            await held.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock is taken

            async def write() -> float:
                async with waiter.begin() as connection:
                    await connection.exec_driver_sql("SELECT 1")
                return time.perf_counter()

            writing = asyncio.create_task(write())
            await asyncio.sleep(0.3)
            assert not writing.done()
            released = time.perf_counter()
        got_in = await writing
    finally:
        ticker.cancel()
        await holder.dispose()
        await waiter.dispose()
    assert ticks >= 15  # a busy handler sleeping on this thread would have stopped the ticks
    assert got_in - released < 0.2  # and the waiter went on soon after the lock was free

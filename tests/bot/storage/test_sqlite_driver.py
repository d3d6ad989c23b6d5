"""The SQLite connection that runs statements on the event loop's thread: waiting for another
process's lock never holds the loop, the wait ends as soon as the lock is free (or fails after the
busy timeout, see test_db.py), and ``off_loop`` moves a block's statements to a worker thread."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import text

from bot.storage.db import create_engine, make_sessionmaker
from bot.storage.sqlite_driver import off_loop


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


async def test_off_loop_runs_statements_in_a_worker_thread(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            raw = await (await session.connection()).get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.create_function("thread_id", 0, threading.get_ident)
            inline = (await session.execute(text("SELECT thread_id()"))).scalar_one()
            with off_loop():
                away = (await session.execute(text("SELECT thread_id()"))).scalar_one()
            back = (await session.execute(text("SELECT thread_id()"))).scalar_one()
            await session.commit()
    finally:
        await engine.dispose()
    assert inline == back == threading.get_ident()
    assert away != threading.get_ident()

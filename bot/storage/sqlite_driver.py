"""SQLite on the event loop's own thread, for SQLAlchemy's ``sqlite+aiosqlite`` dialect.

aiosqlite hands every call (open a cursor, execute, fetch, close) to a worker thread and back
through the event loop: about 25 hand-offs for one typed answer. Measured on the 2-core machine
(``bench/bench_telegram.py``), those hand-offs were half of the bot's CPU time per answer on
SQLite, while the statements themselves take microseconds. This connection has the same shape as
aiosqlite's, so the dialect and every query stay as they are (``create_engine`` passes it as the
engine's ``async_creator``), but it runs each statement right where it is awaited.

What could hold the loop for long, and how it does not:

- *Waiting for another process's lock.* The connection's own busy timeout is 0: a statement that
  finds the database locked (another ``hoctap`` process writing) fails at once, and is tried
  again after an ``asyncio.sleep`` (1 ms, growing to 50 ms), so the loop answers everyone else
  meanwhile. After ``busy_timeout_ms`` it fails as SQLite's own busy handler would ("database is
  locked", which ``db.py`` turns into ``DatabaseUnavailable``). Transactions start with BEGIN
  IMMEDIATE (``db.py``), so this is the only statement that waits: in WAL mode nothing inside a
  transaction holding the write lock is refused as busy.
- *Known long work.* A report recount can read a million rows for seconds. Code that knows it is
  about to do that wraps it in ``off_loop()``: its statements then run in a worker thread, one at
  a time, as aiosqlite's would.

What still runs on the loop: every other statement (milliseconds at most: reminder planning,
inbox pruning in batches of 1,000) and the WAL checkpoint SQLite runs after a commit now and
then (a write of the pages changed since the last, with ``synchronous=NORMAL`` its only fsync).

The one connection is only ever used by one session at a time (the engine's pool holds one),
and each call is awaited before the next, so the thread of ``off_loop`` never overlaps the loop's
own use of it (hence ``check_same_thread=False``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

FIRST_PAUSE = 0.001  # seconds before the first retry of a statement refused as busy
LONGEST_PAUSE = 0.05  # the pause doubles up to this

_OFF_LOOP: contextvars.ContextVar[bool] = contextvars.ContextVar("hoctap_sqlite_off_loop")


@contextlib.contextmanager
def off_loop() -> Iterator[None]:
    """Run this block's SQLite statements in a worker thread: for work known to take long (a
    recount over a province), so that the event loop keeps answering people meanwhile. Has no
    effect on PostgreSQL, whose driver never holds the loop."""
    token = _OFF_LOOP.set(True)
    try:
        yield
    finally:
        _OFF_LOOP.reset(token)


def is_busy(error: BaseException) -> bool:
    """True for SQLite's refusal of a lock another connection holds."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    text = str(error)
    return "database is locked" in text or "database is busy" in text


class Connection:
    """The subset of ``aiosqlite.Connection`` that SQLAlchemy's dialect uses."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # the dialect checks it
        self._busy_timeout = busy_timeout_ms / 1000
        self._tx = _Inline()  # the dialect's isolation-level setter posts calls here

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """Call ``call(*args)`` on the sqlite3 connection; retry while the database is locked by
        another process, without blocking the loop, until the busy timeout."""
        pause, waited = FIRST_PAUSE, 0.0
        while True:
            try:
                if _OFF_LOOP.get(False):
                    return await self._in_thread(call, *args)
                return call(*args)
            except sqlite3.OperationalError as error:
                if not is_busy(error) or waited >= self._busy_timeout:
                    raise
            pause = min(pause, self._busy_timeout - waited)
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, LONGEST_PAUSE)

    async def _in_thread(self, call: Callable[..., T], *args: Any) -> T:
        """Run the call in a worker thread. Cancelled meanwhile (a stop that ran out of time),
        it interrupts SQLite and waits for the thread to let go of the connection before the
        cancellation goes on: the loop must never use the connection while the thread does."""
        running = asyncio.ensure_future(asyncio.to_thread(call, *args))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            self._conn.interrupt()
            await asyncio.wait({running})
            raise

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        cursor = self.cursor()
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        await self.run(self._conn.commit)

    async def rollback(self) -> None:
        await self.run(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def __await__(self) -> Any:  # the dialect awaits the connection it is given, as aiosqlite's
        yield from ()
        return self


class Cursor:
    """The subset of ``aiosqlite.Cursor`` that SQLAlchemy's dialect uses."""

    def __init__(self, owner: Connection, cursor: sqlite3.Cursor) -> None:
        self._owner = owner
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        await self._owner.run(self._cursor.execute, sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        rows = list(rows)  # a retry must see them all again
        await self._owner.run(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return await self._owner.run(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self._cursor.arraysize if size is None else size
        return await self._owner.run(self._cursor.fetchmany, size)

    async def fetchall(self) -> list[Any]:
        return await self._owner.run(self._cursor.fetchall)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _Inline:
    """Stands in for aiosqlite's call queue: the dialect puts ``(future, call)`` on it."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, call = item
        try:
            result = call()
        except Exception as error:
            if future is not None:
                future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


def connector(busy_timeout_ms: int) -> Callable[..., Connection]:
    """What the dialect calls instead of ``aiosqlite.connect`` (the engine's connect argument
    ``async_creator_fn``): open the database file with SQLite's busy handler off (the connection
    waits itself, see ``Connection.run``) and transactions left to the caller."""

    def connect(database: str, uri: bool = False, **_dialect_defaults: Any) -> Connection:
        connection = sqlite3.connect(
            database, timeout=0, isolation_level=None, check_same_thread=False, uri=uri
        )
        return Connection(connection, busy_timeout_ms)

    return connect

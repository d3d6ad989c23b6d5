"""Benchmark the headroom of the whole Telegram path: the bot as its own process against a local
fake Bot API, with stock parts (SQLAlchemy's aiosqlite driver, python-telegram-bot's
HTTPXRequest).

Prints, per database (SQLite, and PostgreSQL when one answers): answered steps per second that
one bot process sustains with many people walking the self-check at once (each types the next
answer when the last one was answered; the fake's flood limits off, so this is the bot's own
ceiling), goal at least 3 × Telegram's 30 messages a second (90 steps/s); and p50/p99 latency
from the update being queued to the bot's reply reaching the Bot API. For reference, not as a
goal, a bare python-telegram-bot echo bot (stock ``Application.run_polling``) under the same
load right before, and the ratio to it, also from the CPU each step costs either bot. Then the
production throttle (30 messages a second, against the fake's limits), and resident memory of
the bot with 10,000 open self-check drafts in the database (goal < 200 MB). The latency at a
realistic load and after kills is ``bench_runner.py``'s. Asserts nothing.
Run: ``python bench/bench_telegram.py [--seconds 15] [--people 40]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.chat.callbacks import ANSWER, CONSENT, pack  # noqa: E402
from bot.chat.presenting import REVIEW_STEP, SUBMIT  # noqa: E402
from bot.services.context import CDHT  # noqa: E402
from bot.storage.db import create_engine, upgrade  # noqa: E402
from bot.storage.models import (  # noqa: E402
    Answer,
    Assessment,
    ChatState,
    Identity,
    Person,
    table_of,
)
from conversations.loader import load_forms  # noqa: E402
from tests.support.bot_process import BotProcess, bot_environment  # noqa: E402
from tests.support.fake_telegram import ANSWER_METHODS, FakeBotApi, FakeUser  # noqa: E402

POSTGRES = os.environ.get(
    "HOCTAP_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
DRAFTS = 10_000
FIRST_USER = 300_000


# ----------------------------------------------------------------- replies and latency


class Replies:
    """The first reply each person got since their last step, read once from the fake's calls."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.scanned = 0
        self.in_flight: list[int] = []  # indexes of answering calls not finished yet
        self.marks: dict[int, int] = {}  # chat id -> index of the first call that may answer
        self.first: dict[int, float] = {}  # chat id -> when its answer reached the Bot API
        self.count: dict[int, int] = {}  # chat id -> answers since the mark

    def expect(self, chat_id: int) -> None:
        self.marks[chat_id] = len(self.api.calls)
        self.first.pop(chat_id, None)
        self.count[chat_id] = 0

    def answered(self, chat_id: int, replies: int = 1) -> float | None:
        """When the first answer reached the Bot API, once ``replies`` answers did."""
        self._scan()
        return self.first.get(chat_id) if self.count.get(chat_id, 0) >= replies else None

    def _scan(self) -> None:
        calls = self.api.calls
        fresh = [i for i in range(self.scanned, len(calls)) if calls[i].method in ANSWER_METHODS]
        self.scanned = len(calls)
        waiting, self.in_flight = [*self.in_flight, *fresh], []
        for index in waiting:
            call = calls[index]
            if call.status is None:
                self.in_flight.append(index)
                continue
            chat = call.chat_id or 0
            if call.ok and index >= self.marks.get(chat, len(calls)):
                self.first.setdefault(chat, call.at)
                self.count[chat] = self.count.get(chat, 0) + 1


@dataclass
class Tally:
    """Steps answered inside the measuring window, with their latencies."""

    start: float = 0.0
    end: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cpu: float = float("nan")  # seconds of CPU the bot process used inside the window

    def add(self, sent: float, answered: float) -> None:
        if self.start <= sent and answered <= self.end:
            self.latencies.append(answered - sent)

    def running(self) -> bool:
        return time.time() < self.end

    def rate(self) -> float:
        return len(self.latencies) / (self.end - self.start)

    def cpu_per_step(self) -> float:
        """Milliseconds of the bot's CPU per answered step."""
        return self.cpu / max(1, len(self.latencies)) * 1000

    def line(self, name: str) -> str:
        ordered = sorted(self.latencies) or [float("nan")]
        p50 = ordered[len(ordered) // 2] * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        return (
            f"{name:<34} {self.rate():7.1f} steps/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
            f"   CPU {self.cpu_per_step():4.1f} ms/step   ({len(self.latencies)} steps)"
        )

    def ratio(self, baseline: Tally) -> str:
        """Throughput against the echo bot's, and the same from the CPU each step costs (the
        steadier figure here: both bots are CPU-bound, and the machine's speed drifts)."""
        by_cpu = baseline.cpu_per_step() / self.cpu_per_step()
        return f"  ratio {self.rate() / baseline.rate():.2f} (by CPU per step {by_cpu:.2f})"


Step = Callable[[], int]  # queues one update, returns its id


async def timed(
    api: FakeBotApi, replies: Replies, tally: Tally, user: FakeUser, step: Step, answers: int = 1
) -> None:
    """Queue one update; wait until the bot sent all ``answers`` replies to it (so the next
    step's first reply is its own: the bot acknowledges an update once stored, before it is
    applied). The latency is to the first reply."""
    replies.expect(user.id)
    sent = time.time()
    update_id = step()

    def done() -> float | None:
        answered = replies.answered(user.id, answers)
        return answered if answered is not None and api.is_acknowledged(update_id) else None

    try:
        answered = await api.wait_until(done, timeout=30)
    except AssertionError:
        raise SystemExit(f"no reply to update {update_id} within 30 s") from None
    assert answered is not None
    tally.add(sent, answered)


def newest_with(api: FakeBotApi, chat_id: int, prefix: str) -> tuple[int, str]:
    """The newest bot message with a button whose data starts with ``prefix``: (id, data)."""
    for message in reversed(api.messages_to(chat_id)):
        for row in message.buttons:
            for _label, data in row:
                if data.startswith(prefix):
                    return message.message_id, data
    raise SystemExit(f"no {prefix} button in chat {chat_id}")


def say(api: FakeBotApi, user: FakeUser, text: str) -> Step:
    return lambda: api.send_text(user, text)


def tap(api: FakeBotApi, user: FakeUser, message: int, data: str) -> Step:
    return lambda: api.press(user, message, data)


async def citizen(api: FakeBotApi, replies: Replies, tally: Tally, user: FakeUser) -> None:
    """Greet, consent, then do self-checks over and over: typed answers, a tapped Submit."""
    questions = len(load_forms().get(CDHT).questions)
    await timed(api, replies, tally, user, say(api, user, "/start"))
    message, _data = newest_with(api, user.id, f"{CONSENT}:")
    consent = tap(api, user, message, pack(CONSENT, "yes", "vi", ""))
    await timed(api, replies, tally, user, consent, answers=2)  # the tapped message, the menu
    number = 0
    while tally.running():
        await timed(api, replies, tally, user, say(api, user, "/selfcheck"))
        for _ in range(questions):
            number += 1
            await timed(api, replies, tally, user, say(api, user, str(1 + number % 3)))
        message, data = newest_with(api, user.id, f"{ANSWER}:")
        submit = pack(ANSWER, data.split(":")[1], REVIEW_STEP, SUBMIT)
        await timed(api, replies, tally, user, tap(api, user, message, submit), answers=2)


async def echo_user(api: FakeBotApi, replies: Replies, tally: Tally, user: FakeUser) -> None:
    """Type message after message to the echo bot."""
    number = 0
    while tally.running():
        number += 1
        await timed(api, replies, tally, user, say(api, user, f"tin nhắn {number}"))


Walker = Callable[[FakeBotApi, Replies, Tally, FakeUser], Coroutine[Any, Any, None]]


async def measure(
    api: FakeBotApi, walker: Walker, people: int, seconds: float, first_user: int, pid: int
) -> Tally:
    """Run ``people`` walkers; count what is answered after a 3 s warm-up for ``seconds``, and
    the CPU the bot process ``pid`` used meanwhile."""
    replies = Replies(api)
    now = time.time()
    tally = Tally(start=now + 3, end=now + 3 + seconds)
    users = [api.user(first_user + n, f"Người {n}", "vi") for n in range(people)]
    # Walkers stop by themselves after the window (cancelling one inside the fake's wait_until
    # can be swallowed on Python 3.11, and it would go on typing).
    walkers = [asyncio.create_task(walker(api, replies, tally, u)) for u in users]
    await asyncio.sleep(tally.start - time.time())
    before = cpu_seconds(pid)
    await asyncio.sleep(tally.end - time.time())
    tally.cpu = cpu_seconds(pid) - before
    await asyncio.gather(*walkers)
    return tally


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------- the processes


async def started(api: FakeBotApi, bot: BotProcess) -> None:
    """Start the bot and wait for its first getUpdates."""
    mark = len(api.calls)
    await bot.start()
    await api.wait_until(
        lambda: bot.exited or any(c.method == "getUpdates" for c in api.calls[mark:]), 60
    )
    if bot.exited:
        raise SystemExit(f"the bot did not start\n{bot.tail()}")


async def hoctap(database_url: str, people: int, seconds: float, max_rate: int = 0) -> Tally:
    engine = create_engine(database_url)
    await upgrade(engine)
    await engine.dispose()
    with tempfile.TemporaryDirectory() as workdir:
        async with FakeBotApi() as api:
            env = bot_environment(
                token=api.token,
                base_url=api.base_url,
                base_file_url=api.base_file_url,
                database_url=database_url,
                telegram_max_rate=str(max_rate),
            )
            if not max_rate:  # the bot's own ceiling, not Telegram's flood limits
                api.rate_limit(None, None)
            bot = BotProcess(env, Path(workdir))
            try:
                await started(api, bot)
                assert bot.process is not None
                return await measure(api, citizen, people, seconds, FIRST_USER, bot.process.pid)
            finally:
                await bot.kill()


ECHO_BOT = """
import os, sys
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)

app = Application.builder().token(sys.argv[1]).base_url(sys.argv[2]).build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling()
"""


async def echo(people: int, seconds: float) -> Tally:
    with tempfile.TemporaryDirectory() as workdir:
        script = Path(workdir) / "echo_bot.py"
        script.write_text(ECHO_BOT, encoding="utf-8")
        async with FakeBotApi() as api:
            api.rate_limit(None, None)
            env = {**os.environ, "PTB_TIMEDELTA": "1", "NO_PROXY": "127.0.0.1"}
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(script), api.token, api.base_url, env=env
            )
            try:
                await api.wait_until(lambda: bool(api.calls_to("getUpdates")), 60)
                return await measure(api, echo_user, people, seconds, FIRST_USER, process.pid)
            finally:
                process.kill()
                await process.wait()


# ----------------------------------------------------------------- memory with open drafts


async def with_drafts(database_url: str, drafts: int) -> None:
    """``drafts`` consented citizens, each in the middle of a self-check (3 answers given)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    form = load_forms().get(CDHT)
    now = dt.datetime.now(dt.UTC)
    ids = range(1, drafts + 1)
    first = [q.id for q in form.questions[:3]]
    async with engine.begin() as connection:
        await connection.execute(
            insert(table_of(Person)),
            [dict(id=i, display_name=f"Người {i}", locale="vi", consent_at=now) for i in ids],
        )
        await connection.execute(
            insert(table_of(Identity)),
            [
                dict(person_id=i, channel="telegram", external_id=str(FIRST_USER + i),
                     chat_id=str(FIRST_USER + i), created_at=now)
                for i in ids
            ],
        )  # fmt: skip
        await connection.execute(
            insert(table_of(Assessment)),
            [
                dict(id=i, form_key=form.key, form_version=form.version, year=now.year,
                     subject="person", person_id=i, created_by=i, state="draft",
                     created_at=now, updated_at=now)
                for i in ids
            ],
        )  # fmt: skip
        await connection.execute(
            insert(table_of(Answer)),
            [
                dict(assessment_id=i, question_id=q, value=form.question(q).options[1].id,
                     answered_at=now)
                for i in ids
                for q in first
            ],
        )  # fmt: skip
        await connection.execute(
            insert(table_of(ChatState)),
            [
                dict(person_id=i, flow="assess", data=json.dumps({"id": i}), updated_at=now)
                for i in ids
            ],
        )
    await engine.dispose()


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak, in MB (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    values = {
        line.split(":")[0]: int(line.split()[1]) / 1024
        for line in status.splitlines()
        if line.startswith(("VmRSS", "VmHWM"))
    }
    return values["VmRSS"], values["VmHWM"]


async def memory(drafts: int, touched: int) -> tuple[float, float, float]:
    """RSS after start, RSS and peak after ``touched`` draft owners each answered 2 questions."""
    with tempfile.TemporaryDirectory() as workdir:
        database_url = f"sqlite+aiosqlite:///{Path(workdir) / 'drafts.db'}"
        await with_drafts(database_url, drafts)
        async with FakeBotApi() as api:
            env = bot_environment(
                token=api.token,
                base_url=api.base_url,
                base_file_url=api.base_file_url,
                database_url=database_url,
            )
            bot = BotProcess(env, Path(workdir))
            try:
                await started(api, bot)
                assert bot.process is not None
                at_start = rss_mb(bot.process.pid)[0]
                step = max(1, drafts // touched)
                users = [
                    api.user(FIRST_USER + i, f"Người {i}") for i in range(1, drafts + 1, step)
                ]
                for answer in ("2", "3"):
                    for user in users:
                        api.send_text(user, answer)
                await api.wait_until(lambda: not api.pending_ids(), timeout=300)
                return (at_start, *rss_mb(bot.process.pid))
            finally:
                await bot.kill()


# ----------------------------------------------------------------- main


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str | None]:
    """A throwaway database on the local PostgreSQL server, or None when none answers."""
    url = make_url(POSTGRES)
    try:
        socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1).close()
    except OSError:
        yield None
        return
    name = f"hoctap_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


async def sessions_opened(url: str) -> int:
    """Connections opened to a database so far (PostgreSQL 14 and newer count them): beyond
    the pool's size, connections were opened and closed while the bot ran."""
    admin = create_async_engine(POSTGRES)
    try:
        async with admin.connect() as connection:
            opened = await connection.scalar(
                text("SELECT sessions FROM pg_stat_database WHERE datname = :name"),
                {"name": make_url(url).database},
            )
    finally:
        await admin.dispose()
    return int(opened or 0)


async def main(seconds: float, people: int, drafts: int) -> None:
    print(f"{os.cpu_count()} CPUs; {people} people at once; {seconds:g} s measured after 3 s")
    # The echo bot runs right before each hoctap run and each ratio is to that one: a virtual
    # machine's speed drifts over a minute of full load, and comparing runs far apart would
    # measure the drift.
    baseline = await echo(people, seconds)
    print(baseline.line("python-telegram-bot echo bot"))
    with tempfile.TemporaryDirectory() as workdir:
        sqlite = await hoctap(f"sqlite+aiosqlite:///{Path(workdir) / 'b.db'}", people, seconds)
    print(sqlite.line("hoctap, SQLite"), sqlite.ratio(baseline), "  (goal >= 90 steps/s)")
    async with postgres_database() as url:
        if url is None:
            print("hoctap, PostgreSQL                 (no server on 127.0.0.1:5432)")
        else:
            baseline = await echo(people, seconds)
            print(baseline.line("python-telegram-bot echo bot, again"))
            pg = await hoctap(url, people, seconds)
            print(pg.line("hoctap, PostgreSQL"), pg.ratio(baseline), "  (goal >= 90 steps/s)")
            print(f"  connections the bot opened: {await sessions_opened(url)}")
    with tempfile.TemporaryDirectory() as workdir:
        capped = await hoctap(
            f"sqlite+aiosqlite:///{Path(workdir) / 'c.db'}", people, seconds / 2, max_rate=30
        )
    print(capped.line("hoctap, SQLite, 30 msg/s throttle"), "  (the production default)")
    start_mb, now_mb, peak_mb = await memory(drafts, touched=500)
    print(
        f"memory with {drafts:,} open drafts: {start_mb:.0f} MB after start, {now_mb:.0f} MB "
        f"after 1,000 answers by 500 of them (peak {peak_mb:.0f} MB; goal < 200 MB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--drafts", type=int, default=DRAFTS)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.people, args.drafts))

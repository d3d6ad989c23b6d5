"""Benchmark the runner at a realistic load: latency for everyone, with and without an officer
asking for the province report, and replies missing after SIGKILLs.

The bot runs as its own process (``hoctap run``, SQLite file) against a local fake Bot API in
this process. ``--people`` citizens (200) do the self-check over and over, each thinking a
random while (exponential) between steps, so that together they make ``--rate`` steps a second
(30, Telegram's own limit for a bot; the fake's flood limits and the bot's throttle are off, so
the figures are the bot's). Prints p50 and p99 from an update being queued to its first reply
reaching the Bot API:

1. the load alone (goal p99 under 50 ms);
2. the same while an officer asks for the report of a province of ``--households``
   (1,000,000) households every 5 seconds (goal p99 under 200 ms for everyone else); the
   officer's own wait is printed beside it;
3. the load while the bot is killed with SIGKILL ``--kills`` (20) times and started again:
   replies that never came (goal 0). A step waits up to 60 s for its reply.

Asserts nothing. Run: ``python bench/bench_runner.py [--seconds 30] [--households 1000000]``
(generating the province takes a minute or two; ``--households 0`` skips phase 2).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "bench"))

from bench_reports import PROVINCE_CODE, generate  # noqa: E402
from bench_telegram import Replies, newest_with  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.chat.callbacks import ANSWER, CONSENT, pack  # noqa: E402
from bot.chat.presenting import REVIEW_STEP, SUBMIT  # noqa: E402
from bot.services.context import CDHT  # noqa: E402
from bot.services.housekeeping import keep_totals_fresh  # noqa: E402
from bot.services.people import grant  # noqa: E402
from bot.storage.db import create_engine, make_sessionmaker, upgrade  # noqa: E402
from bot.storage.models import Identity, Person, Unit  # noqa: E402
from conversations.loader import load_forms  # noqa: E402
from tests.support.bot_process import BotProcess, bot_environment  # noqa: E402
from tests.support.fake_telegram import FakeBotApi, FakeUser  # noqa: E402

FIRST_USER = 400_000
OFFICER = 399_999
REPORT_EVERY = 5.0
WARM_UP = 5.0  # seconds after the last person arrived
WAIT = 60.0  # seconds a step waits for its reply before it counts as missing


class Load:
    """Steps in the window: latencies of the citizens and the officer, and replies missing."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.citizens: list[float] = []
        self.officer: list[float] = []
        self.missing = 0
        self.steps = 0
        self.when: list[tuple[float, float]] = []

    def running(self) -> bool:
        return time.time() < self.end

    def add(self, sent: float, answered: float | None, officer: bool = False) -> None:
        if not self.start <= sent <= self.end:
            return
        self.steps += 1
        if answered is None:
            self.missing += 1
        else:
            (self.officer if officer else self.citizens).append(answered - sent)
            if not officer:
                self.when.append((sent - self.start, answered - sent))


def percentiles(values: list[float]) -> str:
    ordered = sorted(values) or [float("nan")]
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   ({len(values)} steps)"


async def step(
    api: FakeBotApi,
    replies: Replies,
    load: Load,
    user: FakeUser,
    send: object,
    answers: int = 1,
    officer: bool = False,
) -> bool:
    """Queue one update and wait for its replies; False when they never came."""
    replies.expect(user.id)
    sent = time.time()
    update_id = send()  # type: ignore[operator]

    def done() -> float | None:
        answered = replies.answered(user.id, answers)
        return answered if answered is not None and api.is_acknowledged(update_id) else None

    try:
        answered = await api.wait_until(done, timeout=WAIT)
    except AssertionError:
        load.add(sent, None, officer)
        return False
    load.add(sent, answered, officer)
    return True


async def citizen(
    api: FakeBotApi, replies: Replies, load: Load, user: FakeUser, think: float
) -> None:
    """Greet, consent, then self-check again and again, thinking between steps."""
    rng = random.Random(user.id)
    questions = len(load_forms().get(CDHT).questions)
    await asyncio.sleep(rng.uniform(0, think))
    if not await step(api, replies, load, user, lambda: api.send_text(user, "/start")):
        return
    message, _data = newest_with(api, user.id, f"{CONSENT}:")
    consent = pack(CONSENT, "yes", "vi", "")
    await step(api, replies, load, user, lambda: api.press(user, message, consent), answers=2)
    number = 0
    while load.running():
        await asyncio.sleep(rng.expovariate(1 / think))
        await step(api, replies, load, user, lambda: api.send_text(user, "/selfcheck"))
        for _ in range(questions):
            if not load.running():
                return
            await asyncio.sleep(rng.expovariate(1 / think))
            number += 1
            answer = str(1 + number % 3)
            await step(api, replies, load, user, lambda a=answer: api.send_text(user, a))
        await asyncio.sleep(rng.expovariate(1 / think))
        tapped, data = newest_with(api, user.id, f"{ANSWER}:")
        submit = pack(ANSWER, data.split(":")[1], REVIEW_STEP, SUBMIT)
        press = lambda m=tapped, d=submit: api.press(user, m, d)  # noqa: E731
        await step(api, replies, load, user, press, 2)


async def officer(api: FakeBotApi, replies: Replies, load: Load, user: FakeUser) -> None:
    """Ask for the province's report every ``REPORT_EVERY`` seconds (text, file, chart)."""
    while load.running():
        await step(api, replies, load, user, lambda: api.send_text(user, "/report"), officer=True)
        await asyncio.sleep(REPORT_EVERY)


async def prepared(database_url: str, households: int) -> None:
    """Migrate; with ``households``, the bench province and its officer, totals counted."""
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    if households:
        await generate(sessions, households)
        now = dt.datetime.now(dt.UTC)
        async with sessions() as session:
            province = await session.scalar(select(Unit).where(Unit.code == PROVINCE_CODE))
            assert province is not None
            person = Person(display_name="Cán bộ tỉnh", locale="vi", created_at=now)
            person.consent_at = now
            session.add(person)
            await session.flush()
            session.add(
                Identity(
                    person_id=person.id,
                    channel="telegram",
                    external_id=str(OFFICER),
                    chat_id=str(OFFICER),
                    created_at=now,
                )
            )
            await grant(session, person.id, "province", province.id, now)
            await session.commit()
        started = time.perf_counter()
        await keep_totals_fresh(sessions, now.year)  # as the bot's housekeeping would have
        print(f"  totals counted in {time.perf_counter() - started:.1f} s", flush=True)
    await engine.dispose()


async def run(
    database_url: str, workdir: Path, args: argparse.Namespace, report: bool, kills: int
) -> Load:
    async with FakeBotApi() as api:
        api.rate_limit(None, None)
        env = bot_environment(
            token=api.token,
            base_url=api.base_url,
            base_file_url=api.base_file_url,
            database_url=database_url,
        )
        bot = BotProcess(env, workdir, name=f"bot-{report}-{kills}")
        await bot.start()
        await api.wait_until(lambda: bool(api.calls_to("getUpdates")) or bot.exited, 120)
        replies = Replies(api)
        now = time.time()
        think = args.people / args.rate
        # People arrive over ``think`` seconds, each greeting and consenting at once: about
        # three times the steady rate. Measuring starts once all are in their self-checks.
        warm_up = think + WARM_UP
        load = Load(now + warm_up, now + warm_up + args.seconds)
        users = [api.user(FIRST_USER + n, f"Người {n}", "vi") for n in range(args.people)]
        tasks = [asyncio.create_task(citizen(api, replies, load, u, think)) for u in users]
        if report:
            who = api.user(OFFICER, "Cán bộ", "vi")
            tasks.append(asyncio.create_task(officer(api, replies, load, who)))
        try:
            if kills:
                rng = random.Random(2026)
                await asyncio.sleep(load.start - time.time())
                for _ in range(kills):
                    await asyncio.sleep(rng.uniform(0.5, 2.5 * args.seconds / kills))
                    await bot.kill()
                    await bot.start()
            await asyncio.gather(*tasks)
        finally:
            await bot.kill()
        return load


async def main(args: argparse.Namespace) -> None:
    print(
        f"{args.people} people, {args.rate:g} steps/s together, {args.seconds:g} s measured "
        f"after everyone arrived ({args.people / args.rate:.1f} s) and a {WARM_UP:g} s warm-up; "
        "SQLite; flood limits off"
    )
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        await prepared(url, 0)
        alone = await run(url, workdir, args, report=False, kills=0)
        print(f"load alone                  {percentiles(alone.citizens)}   (goal p99 < 50 ms)")
        if args.households:
            url = f"sqlite+aiosqlite:///{workdir / 'province.db'}"
            print(f"generating a province of {args.households:,} households", flush=True)
            await prepared(url, args.households)
            busy = await run(url, workdir, args, report=True, kills=0)
            print(
                f"with the province report    {percentiles(busy.citizens)}   (goal p99 < 200 ms)"
            )
            print(f"  the officer's own wait    {percentiles(busy.officer)}")
        url = f"sqlite+aiosqlite:///{workdir / 'kills.db'}"
        await prepared(url, 0)
        killed = await run(url, workdir, args, report=False, kills=args.kills)
        print(
            f"{args.kills} SIGKILLs under load: {killed.missing} replies missing of "
            f"{killed.steps} steps (goal 0); {percentiles(killed.citizens)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--kills", type=int, default=20)
    asyncio.run(main(parser.parse_args()))

"""Benchmark a broadcast to 10,000 people against a local fake Bot API enforcing Telegram's
limits.

Issue 7's goal: total time within 10 % of the 334 s minimum (10,000 / 30 per second, so at most
367 s), no message lost, no 429 answer after the first second, and each recipient messaged
exactly once, also when the sender is restarted halfway.

How: a fresh SQLite file (migrated, then filled directly: one commune, ``--recipients``
citizens who agreed to the commune's messages, each with a Telegram chat, one Broadcast and its
reminder rows through ``reminders.add``). The fake Bot API runs in a process of its own and
enforces 30 sends per second overall and 1 per second per chat on a clock running ``--scale``
times faster than the real one; the sender (``Deliverer`` with the Telegram channel's
``remind`` over a python-telegram-bot ``Bot``, the production code) runs in another process at
28 × scale per second and one send per 1 / scale s per chat. Its service clock starts at
2026-11-20 10:00 in Vietnam (outside quiet hours) and runs scale times faster too, so leases
and retries lapse at the scaled pace. Once half of the rows are closed the sender is stopped
cleanly (SIGTERM: it finishes the sends in flight and gives its lease back), or with ``--kill``
by SIGKILL (the new sender then waits for the old lease to lapse, 30 s of scaled time, and
resends what was in flight unclosed); a new sender process continues on the same file.

Prints, from the fake's record of calls: recipients, messages delivered, duplicates (recipients
messaged more than once), lost (never messaged), 429 answers in all and after the first
(scaled) second, the time from the first send to the last in scaled seconds, its real-time
equivalent (the restart gap counted at its real length, the sending at the scaled pace), the
rate achieved while sending, the time lost in pauses between sends, and CPU per message of the
sender and of the fake. A ``retry_after`` (scaled seconds) is divided by the scale before the
sender holds. Asserts nothing. The sender costs several ms of CPU per message (a transaction
per row), so beyond a scale of about 2 on two cores it runs short of CPU and the times show it.
Run: ``python bench/bench_broadcast.py [--recipients 10000] [--scale 2] [--kill]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import logging
import os
import signal
import sqlite3
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from sqlalchemy import insert  # noqa: E402

from bot.services import reminders  # noqa: E402
from bot.services.campaigns import BROADCAST  # noqa: E402
from bot.storage.db import create_engine, make_sessionmaker, upgrade  # noqa: E402
from bot.storage.models import (  # noqa: E402
    Broadcast,
    Identity,
    Person,
    ReminderChoice,
    Unit,
    table_of,
)
from tests.support.fake_telegram import READY_PREFIX, FakeBotApi  # noqa: E402

TOKEN = "123:BROADCAST"
START = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)  # 10:00 in Vietnam: not quiet hours
FIRST_USER = 500_000
TELEGRAM_RATE = 30  # sends per second overall, what the fake enforces (scaled)
SENDER_RATE = 28  # the Deliverer's default pace
COMMUNE, AUTHOR = 1, 1


def scaled(epoch: float, scale: float) -> float:
    """Now on a clock that agrees with ``time.time()`` at ``epoch`` and runs ``scale`` times
    faster."""
    return epoch + (time.time() - epoch) * scale


# ----------------------------------------------------------------- the database


async def prepare(database_url: str, recipients: int) -> int:
    """Migrate, add the commune, the author and the recipients, then the broadcast's rows."""
    engine = create_engine(database_url)
    await upgrade(engine)
    ids = range(AUTHOR + 1, AUTHOR + 1 + recipients)
    async with engine.begin() as connection:
        await connection.execute(
            insert(table_of(Unit)),
            [dict(id=COMMUNE, code="BENCH", name="Xã Bình An", kind="commune", level=2,
                  path=f"/{COMMUNE}/", depth=1, active=True, created_at=START)],
        )  # fmt: skip
        await connection.execute(
            insert(table_of(Person)),
            [dict(id=AUTHOR, display_name="Cán bộ xã", locale="vi", created_at=START)]
            + [
                dict(id=i, display_name=f"Người {i}", locale="vi", consent_at=START,
                     created_at=START)
                for i in ids
            ],
        )  # fmt: skip
        await connection.execute(
            insert(table_of(Identity)),
            [
                dict(person_id=i, channel="telegram", external_id=str(FIRST_USER + i),
                     chat_id=str(FIRST_USER + i), created_at=START)
                for i in ids
            ],
        )  # fmt: skip
        await connection.execute(
            insert(table_of(ReminderChoice)),
            [dict(person_id=i, kind=BROADCAST, enabled=True, updated_at=START) for i in ids],
        )
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        broadcast = Broadcast(
            unit_id=COMMUNE,
            author_id=AUTHOR,
            audience="citizens",
            text="Thông báo: họp dân toàn xã lúc 19:00 thứ Bảy tại nhà văn hoá.",
            created_at=START,
        )
        session.add(broadcast)
        await session.flush()
        planned = [
            reminders.Planned(
                f"broadcast:{broadcast.id}:{person}",
                person,
                BROADCAST,
                START,
                {"broadcast": broadcast.id},
            )
            for person in ids
        ]
        broadcast.recipients = await reminders.add(session, planned, START)
        await session.commit()
        added = broadcast.recipients
    await engine.dispose()
    return added


def closed_rows(path: Path) -> int:
    """Broadcast rows closed so far (read-only; WAL readers do not hold the sender up)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as connection:
        row = connection.execute(
            "SELECT count(*) FROM reminders WHERE kind = ? AND done_at IS NOT NULL", (BROADCAST,)
        ).fetchone()
    return int(row[0])


def outcomes(path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as connection:
        rows = connection.execute(
            "SELECT coalesce(outcome, 'open'), count(*) FROM reminders WHERE kind = ? GROUP BY 1",
            (BROADCAST,),
        ).fetchall()
    return {str(outcome): int(count) for outcome, count in rows}


# ----------------------------------------------------------------- the two child processes


async def serve_fake(recipients: int, scale: float, epoch: float) -> None:
    """The fake Bot API, limits on the scaled clock, every recipient's chat known; until
    SIGTERM. Its ``/_control/calls`` gives the record at the end."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with FakeBotApi(TOKEN, clock=lambda: scaled(epoch, scale)) as api:
        api.rate_limit(TELEGRAM_RATE, 1)
        for n in range(AUTHOR + 1, AUTHOR + 1 + recipients):
            api.user(FIRST_USER + n, f"Người {n}", "vi")
        print(f"{READY_PREFIX}{api.port}", flush=True)
        await stop.wait()


async def run_sender(
    database_url: str, base_url: str, scale: float, epoch: float, in_flight: int
) -> None:
    """The production sender on the scaled clock until SIGTERM (a clean stop)."""
    from telegram import Bot

    from bot.channels.telegram.render import remind
    from bot.chat.messages import Reply
    from bot.runtime.channel import Outcome
    from bot.runtime.reminders import Deliverer
    from bot.services.context import Services
    from conversations.loader import load_forms

    logging.basicConfig(level=logging.WARNING, format="sender: %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def clock() -> dt.datetime:
        return START + dt.timedelta(seconds=(time.time() - epoch) * scale)

    engine = create_engine(database_url)
    services = Services(make_sessionmaker(engine), load_forms(), clock)
    try:
        async with Bot(TOKEN, base_url=base_url) as bot:

            async def send(chat_id: str, reply: Reply) -> Outcome:
                return await remind(bot, chat_id, reply)

            async def scaled_send(chat_id: str, reply: Reply) -> Outcome:
                # retry_after is in the fake's (scaled) seconds: pause that long, scaled.
                outcome = await send(chat_id, reply)
                return (
                    Outcome("wait", outcome.wait / scale) if outcome.result == "wait" else outcome
                )

            deliverer = Deliverer(
                services,
                "telegram",
                scaled_send,
                rate=SENDER_RATE * scale,
                chat_interval=1.0 / scale,
                every=10.0 / scale,
                in_flight=in_flight,
            )
            await deliverer.run(stop)
    finally:
        await engine.dispose()


def child_env() -> dict[str, str]:
    # A proxy from the environment must never see the loopback traffic.
    return {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}


async def start_fake(recipients: int, scale: float, epoch: float) -> tuple[Any, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child", "fake", "--recipients", str(recipients),
        "--scale", str(scale), "--epoch", repr(epoch),
        stdout=asyncio.subprocess.PIPE, env=child_env(),
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    if not line.startswith(READY_PREFIX):
        raise SystemExit(f"the fake Bot API did not start: {line!r}")
    return process, int(line[len(READY_PREFIX) :])


async def start_sender(args: argparse.Namespace, database_url: str, port: int) -> Any:
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child", "sender", "--database", database_url,
        "--port", str(port), "--scale", str(args.scale), "--epoch", repr(args.epoch),
        "--in-flight", str(args.in_flight), env=child_env(),
    )  # fmt: skip


async def until_closed(path: Path, count: int, sender: Any, seconds: float) -> int:
    """Wait until ``count`` rows are closed; return how many are."""
    deadline = time.time() + seconds
    while (closed := closed_rows(path)) < count:
        if sender.returncode is not None:
            raise SystemExit(f"the sender exited ({sender.returncode}) before {count} rows")
        if time.time() > deadline:
            raise SystemExit(f"fewer than {count} rows closed after {seconds:.0f} s")
        await asyncio.sleep(0.05)
    return closed


def calls_of(port: int) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/_control/calls"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=60) as answer:
        calls: list[dict[str, Any]] = json.load(answer)["result"]
    return calls


# ----------------------------------------------------------------- the run


@dataclass
class Run:
    """What the main process saw, in real seconds (``time.time()``)."""

    planned: int = 0
    stopped_after: int = 0  # rows closed when the first sender was stopped
    signalled: float = 0.0  # the first sender was sent SIGTERM or SIGKILL
    exited: float = 0.0  # it had exited; the second sender was started
    sender_cpu: float = 0.0  # seconds of CPU, both senders
    steady_cpu: float = 0.0  # seconds of CPU per row closed, the first sender in full swing
    fake_cpu: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and the end
    calls: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(args: argparse.Namespace) -> None:
    run = Run(load=(os.getloadavg()[0], 0.0))
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "broadcast.db"
        database_url = f"sqlite+aiosqlite:///{path}"
        run.planned = await prepare(database_url, args.recipients)
        args.epoch = time.time()
        fake, port = await start_fake(args.recipients, args.scale, args.epoch)
        senders: list[Any] = []
        try:
            limit = 3 * args.recipients / (SENDER_RATE * args.scale) + 120
            senders.append(await start_sender(args, database_url, port))
            # CPU while sending steadily: from a tenth of the rows to half of them.
            steady_from = await until_closed(path, run.planned // 10, senders[0], limit)
            steady_cpu = cpu_seconds(senders[0].pid)
            steady_to = await until_closed(path, run.planned // 2, senders[0], limit)
            run.sender_cpu += cpu_seconds(senders[0].pid)
            run.steady_cpu = (run.sender_cpu - steady_cpu) / max(1, steady_to - steady_from)
            run.signalled = time.time()
            senders[0].send_signal(signal.SIGKILL if args.kill else signal.SIGTERM)
            run.stopped_after = closed_rows(path)
            await senders[0].wait()
            run.exited = time.time()
            senders.append(await start_sender(args, database_url, port))
            await until_closed(path, run.planned, senders[1], limit)
            run.sender_cpu += cpu_seconds(senders[1].pid)
            run.fake_cpu = cpu_seconds(fake.pid)
            senders[1].send_signal(signal.SIGTERM)
            await senders[1].wait()
            run.calls = calls_of(port)
            run.rows = outcomes(path)
        finally:
            for process in [*senders, fake]:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
    run.load = (run.load[0], os.getloadavg()[0])
    report(args, run)


def report(args: argparse.Namespace, run: Run) -> None:
    scale, epoch = args.scale, args.epoch

    def real(at: float) -> float:  # a time on the fake's scaled clock, in real time
        return epoch + (at - epoch) / scale

    sends = sorted(
        (c for c in run.calls if c["method"] == "sendMessage"), key=lambda c: float(c["at"])
    )
    delivered = [c for c in sends if c["status"] == 200]
    per_chat = Counter(c["params"]["chat_id"] for c in delivered)
    chats = [FIRST_USER + n for n in range(AUTHOR + 1, AUTHOR + 1 + args.recipients)]
    duplicates = sum(1 for chat in chats if per_chat[chat] > 1)
    extra = sum(per_chat[chat] - 1 for chat in chats if per_chat[chat] > 1)
    lost = sum(1 for chat in chats if per_chat[chat] == 0)
    refused = [float(c["at"]) for c in sends if c["status"] == 429]
    other = Counter(c["status"] for c in sends if c["status"] not in (200, 429))
    first, last = float(sends[0]["at"]), float(delivered[-1]["at"])
    late_429 = sum(1 for at in refused if at > first + 1)
    # The restart gap, on the fake's clock: the first sender's last send to the second's first.
    before = [float(c["at"]) for c in sends if real(float(c["at"])) <= run.exited]
    after = [float(c["at"]) for c in sends if real(float(c["at"])) > run.exited]
    gap = after[0] - before[-1] if before and after else 0.0
    stop_took = run.exited - run.signalled
    start_took = real(after[0]) - run.exited if after else 0.0
    span = last - first
    sending = span - gap
    # After a clean stop the gap is real work (a process stopping, another starting); after a
    # kill it is mostly the old lease lapsing, on the scaled clock: counted scaled (an upper
    # bound, as the start-up in it is real work too).
    equivalent = sending + (gap if args.kill else gap / scale)
    gap_as = "on the scaled clock" if args.kill else "at its real length"
    minimum = args.recipients / TELEGRAM_RATE
    # Where the sending fell behind its pace: pauses between sends longer than three intervals,
    # the restart gap aside (each batch of rows is fetched while nothing is sent).
    interval = 1 / SENDER_RATE
    restart = (before[-1], after[0]) if before and after else None
    stamps = [float(c["at"]) for c in sends]
    pauses = [
        b - a - interval
        for a, b in itertools.pairwise(stamps)
        if b - a > 3 * interval and (a, b) != restart
    ]
    how = "SIGKILL" if args.kill else "SIGTERM (clean stop)"
    print(
        f"{os.cpu_count()} CPUs, load average {run.load[0]:.1f} at the start, "
        f"{run.load[1]:.1f} at the end; clock scale {scale:g}: the fake enforces "
        f"{TELEGRAM_RATE * scale:g}/s overall and {scale:g}/s per chat, the sender paces "
        f"{SENDER_RATE * scale:g}/s with {args.in_flight} in flight"
    )
    print(f"recipients                {args.recipients:>9,}   (rows planned {run.planned:,})")
    print(f"restart                   {how} after {run.stopped_after:,} rows closed")
    print(f"delivered                 {len(delivered):>9,}   sendMessage answered 200")
    print(f"duplicates                {duplicates:>9,}   recipients messaged more than once "
          f"({extra:,} extra messages)")  # fmt: skip
    print(f"lost                      {lost:>9,}   recipients never messaged")
    print(f"429 answers               {len(refused):>9,}   ({late_429:,} after the first second)")
    if other:
        print(f"other refusals            {dict(other)}")
    print(f"rows closed as            {run.rows}")
    print(
        f"first send to last        {span:9.1f} s scaled ({span / scale:.1f} s real); restart "
        f"gap {gap / scale:.2f} s real (stop {stop_took:.2f} s, start to first send "
        f"{start_took:.2f} s)"
    )
    print(
        f"equivalent real time      {equivalent:9.1f} s   sending at the scaled pace, the "
        f"restart gap {gap_as}; minimum {minimum:.0f} s, goal <= {minimum * 1.1:.0f} s "
        f"({equivalent / minimum - 1:+.1%} over the minimum)"
    )
    print(
        f"rate while sending        {len(delivered) / sending:9.2f} /s equivalent "
        f"(limit {TELEGRAM_RATE}, paced at {SENDER_RATE})"
    )
    print(
        f"pauses while sending      {sum(pauses):9.1f} s scaled lost in {len(pauses)} gaps "
        f"longer than 3 send intervals"
    )
    print(
        f"CPU per message           {run.steady_cpu * 1000:9.2f} ms sender while sending "
        f"({run.sender_cpu / len(delivered) * 1000:.2f} ms with its start-ups), "
        f"{run.fake_cpu / len(delivered) * 1000:.2f} ms fake; a pace of "
        f"{SENDER_RATE * scale:g}/s leaves {1000 / (SENDER_RATE * scale):.1f} ms"
    )


def child(args: argparse.Namespace) -> None:
    if args.child == "fake":
        asyncio.run(serve_fake(args.recipients, args.scale, args.epoch))
    else:
        base_url = f"http://127.0.0.1:{args.port}/bot"
        asyncio.run(run_sender(args.database, base_url, args.scale, args.epoch, args.in_flight))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--scale", type=float, default=2.0, help="clock speed-up (default 2)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the sender halfway")
    parser.add_argument("--in-flight", type=int, default=8, help="Deliverer's in_flight")
    # The child processes: the fake Bot API and the sender.
    parser.add_argument("--child", choices=("fake", "sender"), help=argparse.SUPPRESS)
    parser.add_argument("--epoch", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments)
    else:
        asyncio.run(main(arguments))

"""Webhook workers: the secret, the commit before the 200, and two workers sharing PostgreSQL.

On SQLite, in this process: a wrong or missing secret is refused with 403 and nothing is stored,
and the 200 comes only once the update is committed (while the test holds the write lock, the
webhook does not answer). With HOCTAP_TEST_DATABASE_URL set, two ``hoctap run --webhook``
processes share one PostgreSQL database; the fake spreads each citizen's updates over both and
sends some to both at once, as Telegram does when it retries. The data at the end must equal
what one worker makes of the same conversations (and what the citizens meant to answer).
Without a PostgreSQL server that test is not defined at all.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

from sqlalchemy import select

from bot.app import open_services
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Secret, Settings
from bot.runtime import runner
from bot.services.context import Services
from bot.storage.db import create_engine, make_sessionmaker, upgrade
from bot.storage.models import InboxUpdate
from tests.conftest import PG_ENV, throwaway_database
from tests.e2e.load import (
    Citizen,
    Outcome,
    citizens,
    expected,
    outcomes,
    self_check_form,
    walk,
)
from tests.support.bot_process import BotProcess, bot_environment
from tests.support.fake_telegram import ANSWER_METHODS, FakeBotApi, free_port

SECRET = "worker-secret-7f3a"
SEED = 7
PG_SERVER = os.environ.get(PG_ENV)


async def test_webhook_refuses_a_wrong_secret_and_answers_only_after_the_commit(
    sqlite_url: str,
) -> None:
    async with FakeBotApi() as api:
        port = free_port()
        settings = Settings(
            database_url=sqlite_url,
            telegram_token=Secret(api.token),
            telegram_base_url=api.base_url,
            telegram_base_file_url=api.base_file_url,
            telegram_max_rate=0,
            webhook_listen="127.0.0.1",
            webhook_port=port,
            webhook_secret=Secret(SECRET),
        )
        stop = asyncio.Event()
        async with open_services(settings) as services:
            url = f"http://127.0.0.1:{port}/hoctap/telegram"
            channel = TelegramChannel(settings)
            worker = asyncio.create_task(runner.run(settings, services, channel, stop, url))
            try:
                await api.wait_until(lambda: api.webhook_url == url or worker.done())
                assert not worker.done(), worker
                user = api.user(901, "Lan", "vi")
                update_id = api.send_text(user, "/start")

                assert await api.push_webhook(update_id, secret_token="wrong") == 403
                assert await api.push_webhook(update_id, secret_token=None) == 403
                assert await _inbox_rows(services) == {}
                assert not api.is_acknowledged(update_id)

                async with services.sessions() as blocker:
                    await blocker.execute(select(1))  # BEGIN IMMEDIATE: the write lock is ours
                    push = asyncio.ensure_future(api.push_webhook(update_id))
                    answered, _ = await asyncio.wait({push}, timeout=1.0)
                    assert not answered, "the webhook answered before it could commit"
                    await blocker.rollback()
                assert await push == 200
                assert update_id in await _inbox_rows(services)  # stored when 200 was seen

                await api.wait_until(
                    lambda: any(c.ok and c.method in ANSWER_METHODS for c in api.calls)
                )
                await api.wait_until(lambda: not api.pending_ids())
                stop.set()
                await worker
                assert (await _inbox_rows(services))[update_id] is True  # done
            finally:
                stop.set()
                await asyncio.gather(worker, return_exceptions=True)


async def _inbox_rows(services: Services) -> dict[int, bool]:
    """Stored update ids, each with whether it is done."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.done_at.is_not(None))
        )
        found = {update_id: bool(done) for update_id, done in rows}
        await session.commit()
    return found


PEOPLE = 20

if PG_SERVER:  # defined only when a PostgreSQL server is configured: nothing to skip otherwise

    async def test_two_webhook_workers_end_with_the_data_one_worker_makes(
        tmp_path: Path,
    ) -> None:
        assert PG_SERVER is not None
        async with (
            throwaway_database(PG_SERVER, "hoctap_workers") as two_url,
            throwaway_database(PG_SERVER, "hoctap_workers") as one_url,
        ):
            two, people = await _serve(two_url, 2, tmp_path)
            one, _ = await _serve(one_url, 1, tmp_path)
        assert len(two) == PEOPLE
        assert two == one
        form = self_check_form()
        wrong = [c.number for c in people if two[c.external_id] != expected(form, c)]
        assert not wrong, wrong


async def _serve(
    database_url: str, workers: int, workdir: Path
) -> tuple[dict[str, Outcome], list[Citizen]]:
    """Run ``workers`` webhook processes, walk every citizen through them; return the data."""
    engine = create_engine(database_url)
    await upgrade(engine)
    processes: list[BotProcess] = []
    form = self_check_form()
    try:
        async with FakeBotApi() as api:
            # 20 scripted people answer far faster than people type: this test is about two
            # workers sharing the inbox, so Telegram's flood limits (and the throttle) are off.
            api.rate_limit(None, None)
            ports = [free_port() for _ in range(workers)]
            urls = [f"http://127.0.0.1:{port}/telegram" for port in ports]
            for number, (port, url) in enumerate(zip(ports, urls, strict=True)):
                env = bot_environment(
                    token=api.token,
                    base_url=api.base_url,
                    base_file_url=api.base_file_url,
                    database_url=database_url,
                    webhook_listen="127.0.0.1",
                    webhook_port=str(port),
                    webhook_secret=SECRET,
                )
                process = BotProcess(env, workdir, "--webhook", url, name=f"{workers}-{number}")
                processes.append(process)
                await process.start()

            def ready() -> bool:
                started = sum(c.ok for c in api.calls_to("setWebhook")) >= workers
                return started or any(p.exited for p in processes)

            await api.wait_until(ready, timeout=30, describe="every worker's setWebhook")
            assert not any(p.exited for p in processes), [p.tail() for p in processes]
            rng = random.Random(SEED)

            async def push(url: str, update_id: int) -> None:
                api.webhook_url = url  # as a load balancer would, this POST goes to that worker
                status = await api.push_webhook(update_id)
                assert status == 200, (status, [p.tail() for p in processes])

            async def deliver(update_id: int) -> None:
                first = rng.randrange(workers)
                if workers > 1 and rng.random() < 0.25:  # a retry racing the original
                    second = urls[1 - first]
                    await asyncio.gather(push(urls[first], update_id), push(second, update_id))
                else:
                    await push(urls[first], update_id)

            people = citizens(api, form, PEOPLE)
            await asyncio.gather(*(walk(api, form, citizen, deliver) for citizen in people))
            for process in processes:
                assert await process.terminate() == 0, process.tail()
        return await outcomes(make_sessionmaker(engine)), people
    finally:
        for process in processes:
            await process.kill()
        await engine.dispose()

"""SIGKILL the polling bot again and again under load: every acknowledged update takes effect once.

The bot runs as its own process (``python -m bot.cli run``) on a SQLite file against a fake Bot
API in this process. 170 citizens, over 2,500 updates, do the self-check (greeting, consent,
typed numbers and labels, taps, mistyped answers, Submit), their chats interleaved. The bot is
killed with SIGKILL at moments drawn from a seeded RNG and tied to progress (so many more updates
acknowledged, so many more replies, the n-th call after a start, which lands during the replay)
and restarted each time; a last clean run drains the rest. Then every acknowledged update must
have a done inbox row, each citizen's data must be what applying their updates once, in
order, gives, and every reply kept with an update must have gone out: the last one of each
citizen is on their screen.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.messages import decode
from bot.storage.db import create_engine, make_sessionmaker, upgrade
from bot.storage.models import InboxUpdate
from tests.e2e.load import (
    FIRST_USER_ID,
    Citizen,
    Script,
    assessment_ids,
    citizens,
    done_update_ids,
    expected,
    interleave,
    outcomes,
    pending_count,
    self_check_form,
)
from tests.support.bot_process import BotProcess, bot_environment
from tests.support.fake_telegram import ANSWER_METHODS, FakeBotApi

SEED = 4_2026
PEOPLE = 170  # about 15 updates each: over 2,500 in all
# Each start acknowledges at least one batch (100) at once, as it fetches ahead while it applies
# the backlog: a dozen kills use up the load.
KILLS = 12
STEP_TIMEOUT = 30.0  # seconds any one wait may take before the test fails with the bot's log
Sessions = async_sessionmaker[AsyncSession]


async def test_killed_bot_applies_every_acknowledged_update_once(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hoctap.db'}"
    form = self_check_form()
    async with FakeBotApi() as api:
        # 170 scripted people answer far faster than people type: this test is about what a
        # kill leaves, so Telegram's flood limits (and the bot's throttle) are off.
        api.rate_limit(None, None)
        # A kill between an edit reaching Telegram and its mark's commit shows that edit again
        # after the restart; Telegram answers "message is not modified", and nothing changes.
        api.expect_refusal("editMessageText", 400, "not modified")
        env = bot_environment(
            token=api.token,
            base_url=api.base_url,
            base_file_url=api.base_file_url,
            database_url=database_url,
        )
        bot = BotProcess(env, tmp_path)
        engine = create_engine(database_url)
        await upgrade(engine)  # as `hoctap init` would; the test reads the database as it goes
        sessions = make_sessionmaker(engine)
        people = citizens(api, form, PEOPLE)
        script = Script(api, form)
        interleave([script.opening(c) for c in people])
        try:
            await bot.start()
            kinds = await _kill_repeatedly(api, bot, rng, script, sessions, people)
            await _finish(api, bot, script, sessions, people)
            assert await bot.terminate() == 0, bot.tail()

            acknowledged = set(api.acknowledged_ids())
            assert acknowledged == set(api.updates), "some updates were never acknowledged"
            missing = acknowledged - await done_update_ids(sessions)
            assert not missing, f"acknowledged but not done: {sorted(missing)[:20]}"
            stored = await outcomes(sessions)
            wrong = {
                c.external_id: (stored.get(c.external_id), expected(form, c))
                for c in people
                if stored.get(c.external_id) != expected(form, c)
            }
            assert not wrong, f"{len(wrong)} citizens differ, e.g. {next(iter(wrong.items()))}"
            assert not await _unsent(sessions), "replies kept but never sent"
            unseen = await _last_replies_unseen(api, sessions, people)
            assert not unseen, f"{len(unseen)} citizens miss their last reply, e.g. {unseen[0]}"
            assert len(acknowledged) >= 2_500
            assert len(kinds) == KILLS, f"the load ran out after {len(kinds)} kills"
            assert set(kinds) == {"ack", "reply", "start"}, kinds
        finally:
            await bot.kill()
            await engine.dispose()


async def _unsent(sessions: Sessions) -> list[int]:
    async with sessions() as session:
        return await _ids(session, InboxUpdate.replied_at.is_(None))


async def _ids(session: AsyncSession, *where: Any) -> list[int]:
    rows = await session.scalars(
        select(InboxUpdate.update_id).where(InboxUpdate.reply.is_not(None), *where)
    )
    return list(rows)


async def _last_replies_unseen(
    api: FakeBotApi, sessions: Sessions, people: list[Citizen]
) -> list[tuple[str, str]]:
    """(citizen, text) of each last reply that no message in the citizen's chat shows now."""
    async with sessions() as session:
        rows = await session.execute(
            select(InboxUpdate.chat_key, InboxUpdate.update_id, InboxUpdate.reply).where(
                InboxUpdate.reply.is_not(None)
            )
        )
        last: dict[str, tuple[int, str]] = {}
        for chat, update_id, reply in rows:
            if chat not in last or update_id > last[chat][0]:
                last[chat] = (update_id, reply)
    unseen = []
    for citizen in people:
        found = last.get(citizen.external_id)
        if found is None:
            continue
        shown = {m.content for m in api.messages_to(int(citizen.external_id))}
        for reply in decode(found[1]).replies:
            if reply.text.html().strip() not in shown:
                unseen.append((citizen.external_id, reply.text.plain()[:80]))
    return unseen


async def _kill_repeatedly(
    api: FakeBotApi,
    bot: BotProcess,
    rng: random.Random,
    script: Script,
    sessions: Sessions,
    people: list[Citizen],
) -> list[str]:
    """SIGKILL and restart the bot at ``KILLS`` progress moments; return their kinds."""
    kinds: list[str] = []
    while len(kinds) < KILLS:
        kind, moment = _kill_moment(api, rng, len(kinds))
        while not moment():  # the bot may catch up first: queue more, wait again
            queued = await _queue_ready(script, sessions, people)
            await _wait_settled(api, bot, sessions, moment, f"kill moment {kind}")
            if moment():
                break
            if not queued and all(c.finished_queueing for c in people):
                return kinds  # the load is done: the checks will say whether anything was lost
            if not queued and not await _queue_ready(script, sessions, people):
                return kinds  # idle, and nobody's self-check opened: updates were lost
        await bot.kill()
        kinds.append(kind.split("+")[0])
        await bot.start()
    return kinds


def _kill_moment(
    api: FakeBotApi, rng: random.Random, number: int
) -> tuple[str, Callable[[], bool]]:
    """A progress event to kill at: so many calls into a start (getMe, the replay's replies,
    the first getUpdates), so many more updates acknowledged, or so many more replies."""
    if number % 6 == 5:
        return "start", _nth_call_after(api, len(api.calls), rng.randint(1, 8))
    if rng.random() < 0.3:
        more = rng.randint(1, 120)
        start = len(api.acknowledged_ids())
        return f"ack+{more}", lambda: len(api.acknowledged_ids()) >= start + more
    more = rng.randint(1, 90)
    mark = len(api.calls)

    def replied() -> bool:
        return sum(1 for c in api.calls[mark:] if c.ok and c.method in ANSWER_METHODS) >= more

    return f"reply+{more}", replied


def _any_of(*conditions: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: any(condition() for condition in conditions)


def _nth_call_after(api: FakeBotApi, mark: int, n: int) -> Callable[[], bool]:
    return lambda: len(api.calls) >= mark + n


async def _queue_ready(script: Script, sessions: Sessions, people: list[Citizen]) -> int:
    """Queue the rest of each citizen's updates once their self-check exists in the database;
    return how many updates were queued."""
    waiting = [c for c in people if not c.finished_queueing]
    if not waiting:
        return 0
    found = await assessment_ids(sessions, waiting)
    ready = [c for c in waiting if c.external_id in found]
    for citizen in ready:
        citizen.assessment_id = found[citizen.external_id]
        citizen.finished_queueing = True
    return interleave([script.rest(c) for c in ready])


def _idle(api: FakeBotApi) -> bool:
    """Everything queued was acknowledged (so stored) and the bot waits for news."""
    polls = api.calls_to("getUpdates")
    return not api.pending_ids() and bool(polls) and polls[-1].status is None


async def _finish(
    api: FakeBotApi, bot: BotProcess, script: Script, sessions: Sessions, people: list[Citizen]
) -> None:
    """Let the last run drain everything: queue what is left until the bot idles for good."""
    while True:
        await _wait_settled(api, bot, sessions, lambda: False, "the bot idle")
        if not await _queue_ready(script, sessions, people):
            return


async def _wait_settled(
    api: FakeBotApi, bot: BotProcess, sessions: Sessions, event: Callable[[], bool], what: str
) -> None:
    """Wait until ``event`` comes true, or the bot idles with every stored update applied (it
    acknowledges an update once stored, and applies it after). A backlog may take long, so fail
    only when the bot stops making progress (no Bot API call for ``STEP_TIMEOUT``)."""
    while True:
        await _wait(api, bot, _any_of(event, lambda: _idle(api)), what)
        if event() or await pending_count(sessions) == 0:
            return
        busy = _nth_call_after(api, len(api.calls), 1)
        await _wait(api, bot, _any_of(event, busy), f"{what}: the bot working")


async def _wait(
    api: FakeBotApi, bot: BotProcess, condition: Callable[[], bool], describe: str
) -> None:
    """Wait for a condition on the fake; fail at once, with the log, if the bot exits."""
    waiter = asyncio.ensure_future(api.wait_until(condition, STEP_TIMEOUT, describe=describe))
    exited = asyncio.ensure_future(bot.wait_exit())
    try:
        await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        exited.cancel()
        if not waiter.done():
            waiter.cancel()
        await asyncio.gather(exited, waiter, return_exceptions=True)
    if waiter.cancelled() or waiter.exception() is not None:
        if bot.exited:
            raise AssertionError(f"the bot exited while waiting for {describe}\n{bot.tail()}")
        raise AssertionError(f"{waiter.exception()}\n{bot.tail()}")


async def test_bot_api_errors_do_not_stop_polling(tmp_path: Path) -> None:
    """getUpdates answered 500 and 502 (Telegram has such minutes): the bot waits, polls again
    and loses nothing."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hoctap.db'}"
    async with FakeBotApi() as api:
        env = bot_environment(
            token=api.token,
            base_url=api.base_url,
            base_file_url=api.base_file_url,
            database_url=database_url,
        )
        bot = BotProcess(env, tmp_path)
        user = api.user(FIRST_USER_ID, "Mai", "vi")
        api.fail_next("getUpdates", 1, status=500)
        api.fail_next("getUpdates", 1, status=502)
        update_id = api.send_text(user, "/start")
        try:
            await bot.start()
            await _wait(
                api,
                bot,
                lambda: any(c.ok and c.chat_id == user.id for c in api.calls_to("sendMessage")),
                "an answer after two failures",
            )
            assert [c.status for c in api.calls_to("getUpdates")][:3] == [500, 502, 200]
            assert api.is_acknowledged(update_id)
            assert await bot.terminate() == 0, bot.tail()
        finally:
            await bot.kill()

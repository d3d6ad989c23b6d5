"""End-to-end fixtures: the real Telegram runner against a local fake Bot API, on a test database.

``bot`` runs the runner, polling, as a task (and can stop and start it again on the same database);
``village`` creates a commune's villages with households and a leader bound to a Telegram user.
Only Telegram's HTTP and the clock are fake. Every test fails if a fake Bot API it made refused a
call the test did not declare with ``api.expect_refusal(method, status)``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import open_services
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Secret, Settings
from bot.runtime import runner
from bot.runtime.dispatcher import Dispatcher
from bot.services.people import LEADER, grant
from bot.services.units import add_village
from bot.storage.models import Household, Identity, Person, Unit
from tests.support.fake_http import watching
from tests.support.fake_telegram import FakeBotApi, FakeUser
from tests.support.fake_zalo_oa import FakeZaloOa

# 10 November: before the deadline reminders of a commune reporting on 30 November (leaders hear
# on 16 November, officers on 23 November), so none arrives in the middle of a journey.
NOW = dt.datetime(2026, 11, 10, 3, 0, tzinfo=dt.UTC)
YEAR = 2026
COMMUNE = "00070"  # Phường Hoàn Kiếm, Hà Nội
LEADER_ID = 5001


def clock() -> dt.datetime:
    return NOW


@pytest.fixture(autouse=True)
def refusals_are_declared() -> Iterator[None]:
    """Fail the test if a fake Bot API or Zalo OA refused a call the test did not declare.

    Telegram refusing a call is a bug the person meets (a message not sent, a spinner that
    keeps turning) unless the test provokes it; it says so with
    ``api.expect_refusal("sendMessage", 403)`` or ``with api.expect_refusal(...):``.
    Checked after every other fixture is torn down, so a refusal at shutdown counts too.
    """
    with watching() as servers:
        yield
    unexpected = [
        f"  {str(call)[:300]}"
        for server in servers
        if isinstance(server, FakeBotApi | FakeZaloOa)
        for call in server.unexpected_refusals()
    ]
    if unexpected:
        pytest.fail(
            "a fake platform refused calls the test did not expect:\n" + "\n".join(unexpected),
            pytrace=False,
        )


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API server, listening on 127.0.0.1."""
    async with FakeBotApi() as fake:
        yield fake


class RunningBot:
    """The runner polling, as a task: ``stop()`` ends it as SIGTERM would, ``start()`` again."""

    def __init__(self, api: FakeBotApi, settings: Settings) -> None:
        self.api = api
        self.settings = settings
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        """Start a fresh process-like run (new engine, new Application); return once polling."""
        self.stopping = asyncio.Event()
        mark = len(self.api.calls)
        self.task = asyncio.create_task(self._run(self.stopping))

        def polling() -> bool:
            assert self.task is not None
            if self.task.done():
                return True  # failed at start: reported below
            return any(c.method == "getUpdates" for c in self.api.calls[mark:])

        await self.api.wait_until(polling, describe="the bot's first getUpdates")
        if self.task.done():
            self.task.result()

    async def _run(self, stopping: asyncio.Event) -> None:
        async with open_services(self.settings) as services:
            await runner.run(
                self.settings,
                replace(services, clock=clock),
                TelegramChannel(self.settings),
                stopping,
                observe=self._observe,
            )

    def _observe(self, dispatcher: Dispatcher) -> None:
        self.api.bot_busy = dispatcher.busy
        dispatcher.listeners.append(self.api.notify)

    async def stop(self) -> None:
        """Ask the runner to stop and wait until the Application and the engine are closed."""
        if self.task is None:
            return
        self.stopping.set()
        task, self.task = self.task, None
        await task
        self.api.bot_busy = None

    async def idle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 (an AssertionError)
        """Wait until every queued update was handled and the bot polls again for news."""

        def waiting() -> bool:
            polls = self.api.calls_to("getUpdates")
            busy = self.api.bot_busy is not None and self.api.bot_busy()
            outstanding = bool(polls) and polls[-1].status is None
            return outstanding and not self.api.pending_ids() and not busy

        await self.api.wait_until(
            waiting, timeout=timeout, describe="the bot idle, polling for news"
        )


@pytest.fixture
def settings(api: FakeBotApi, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        telegram_token=Secret(api.token),
        telegram_base_url=api.base_url,
        telegram_base_file_url=api.base_file_url,
    )


@pytest.fixture
async def bot(api: FakeBotApi, settings: Settings, village: World) -> AsyncIterator[RunningBot]:
    """The bot, polling the fake API, on the test database with ``village`` set up."""
    running = RunningBot(api, settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@dataclass(frozen=True)
class World:
    """What the tests start from: two villages of one commune, their households, a leader."""

    village: Unit
    households: list[Household]
    other_village: Unit
    other_household: Household
    leader: Person
    leader_user: FakeUser


HOUSEHOLDS = [
    ("H001", "Nguyễn Văn An", 4),
    ("H002", "Lê Thị Bích", 3),
    ("H003", "Phạm Văn Cường", 5),
]


@pytest.fixture
async def village(
    api: FakeBotApi,
    session_factory: async_sessionmaker[AsyncSession],
    geography: None,
) -> World:
    """Thôn Đông (three households, led by Trần Văn Bình on Telegram) and Thôn Tây (one)."""
    async with session_factory() as session:
        ward = await session.scalar(select(Unit).where(Unit.code == COMMUNE))
        assert ward is not None
        ward.village_word = "thôn"  # this ward's own word (a phường says "tổ dân phố" by default)
        east = await add_village(session, COMMUNE, "Thôn Đông")
        west = await add_village(session, COMMUNE, "Thôn Tây")
        households = [
            Household(village_id=east.id, code=code, head_name=name, members=members)
            for code, name, members in HOUSEHOLDS
        ]
        other = Household(village_id=west.id, code="H001", head_name="Đỗ Văn Dũng", members=2)
        session.add_all([*households, other])
        leader = Person(display_name="Trần Văn Bình", locale="vi", created_at=NOW)
        session.add(leader)
        await session.flush()
        session.add(
            Identity(
                person_id=leader.id,
                channel="telegram",
                external_id=str(LEADER_ID),
                chat_id=str(LEADER_ID),
                created_at=NOW,
            )
        )
        # Roles onboarding is a later issue: the role is granted directly.
        await grant(session, leader.id, LEADER, east.id, NOW)
        await session.commit()
    user = api.user(LEADER_ID, "Bình", "vi", last_name="Trần Văn")
    return World(east, households, west, other, leader, user)

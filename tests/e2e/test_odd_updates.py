"""What a platform sends that no handler expects never stops the bot or other people.

An update without ``update_id`` or with one of the wrong type (a string, a bool, a float), a
message without ``from`` or ``chat``, an ``edited_message``, a ``channel_post``, a group
message, a tap without data, a Zalo event with fields missing, of an unknown kind, from a group
or not an object at all: each is stored or refused once, its inbox row (where it has a usable
id) is closed, it is logged by id and never by its content, nobody is sent anything for it but
a person who should be told something, and the runner carries on: a citizen who writes next is
greeted as always. Driven through the real runners, Telegram by polling and by webhook, Zalo by
polling and by webhook, against the strict fakes; only the platforms' HTTP and the clock are
fake.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import open_services
from bot.channels.telegram.channel import SECRET_HEADER as TELEGRAM_SECRET_HEADER
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.zalo.channel import ZaloChannel
from bot.config import Secret, Settings
from bot.runtime import runner as inbox_runner
from bot.runtime.dispatcher import Dispatcher
from bot.storage.models import InboxUpdate
from tests.support import fake_telegram
from tests.support.chat import Chat
from tests.support.fake_telegram import ANSWER_METHODS, FakeBotApi, FakeUser, free_port
from tests.support.fake_zalo import SECRET_HEADER as ZALO_SECRET_HEADER
from tests.support.fake_zalo import FakeZaloApi, ZaloChat, ZaloUser

from . import test_zalo
from .conftest import NOW, RunningBot, clock

Sessions = async_sessionmaker[AsyncSession]
JsonDict = dict[str, Any]

# Personal data in every odd update: it must never reach the log (nor, escaped, in its JSON).
PHONE = "0912 345 678"
PRIVATE = f"Số điện thoại của tôi là {PHONE}"
CONSENT_QUESTION = "Bạn có đồng ý không?"  # the last line of the greeting a newcomer gets
LAN_ID, MINH_ID, EARLIER_ID, GROUP_ID = 7701, 7702, 7703, -4001
DROPPED = "without a usable id was dropped"
SECRET = "odd-updates-secret-2026"

# The Zalo runner and its fake, as tests/e2e/test_zalo.py sets them up (by polling and by
# webhook: ``mode``); ``zalo_bot`` below is that runner, watched until it is idle.
zalo = test_zalo.zalo
zalo_settings = test_zalo.zalo_settings
mode = test_zalo.mode


# --------------------------------------------------------------------------- helpers


async def inbox_rows(sessions: Sessions, channel: str) -> dict[int, bool]:
    """The channel's stored update ids, each with whether its row is closed (done)."""
    async with sessions() as session:
        rows = await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.done_at.is_not(None)).where(
                InboxUpdate.channel == channel
            )
        )
        return {update_id: bool(done) for update_id, done in rows}


def logged(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    """The bot's log lines that hold ``text``."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("bot.") and text in r.getMessage()
    ]


def assert_private_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert PHONE not in caplog.text


def assert_running(task: asyncio.Task[None] | None) -> None:
    """The runner has not stopped; if it has, fail with what stopped it."""
    assert task is not None
    if task.done():
        error = task.exception()
        raise AssertionError(f"the runner stopped: {error!r}") from error


def telegram_message(user: FakeUser, **changes: Any) -> JsonDict:
    """A private text message from ``user`` holding personal data; a change to None drops
    that field."""
    message: JsonDict = {
        "message_id": 900,
        "date": int(NOW.timestamp()),
        "chat": user.chat_dict(),
        "from": user.to_dict(),
        "text": PRIVATE,
    }
    message.update(changes)
    return {key: value for key, value in message.items() if value is not None}


GROUP_CHAT = {"id": GROUP_ID, "type": "group", "title": "Nhóm thôn Đông"}
CHANNEL_CHAT = {"id": -1001234567890, "type": "channel", "title": "Tin thôn Đông"}


def not_to_others(api: FakeBotApi, mark: int, citizen: FakeUser) -> list[str]:
    """Calls since ``mark`` that put something in front of anyone but ``citizen`` (or that
    answered a tap with a text): there must be none."""
    return [
        str(call)
        for call in api.calls[mark:]
        if (call.method in ANSWER_METHODS and call.chat_id != citizen.id)
        or (call.method == "answerCallbackQuery" and call.params.get("text"))
        or (call.method == "sendChatAction" and call.chat_id != citizen.id)
    ]


# --------------------------------------------------------------------------- Telegram cases


@dataclass(frozen=True)
class Odd:
    """An update no handler expects: built from the next free update id and its sender."""

    build: Callable[[int, FakeUser], JsonDict]
    stored: bool  # it has a usable id: it is stored, and its row closed
    note: str = ""  # what the runner's log says it was (for a stored one; "": not known yet)


def said(update_id: int, odd: Odd) -> str:
    """What the log says of a stored update no flow takes: its id and kind, never its content."""
    return f"update {update_id} ({odd.note})" if odd.note else f"update {update_id} ("


def _without_id(n: int, lan: FakeUser) -> JsonDict:
    return {"message": telegram_message(lan)}


TELEGRAM: dict[str, Odd] = {
    "no update_id": Odd(_without_id, stored=False),
    "update_id a string": Odd(
        lambda n, lan: {"update_id": str(n), "message": telegram_message(lan)}, stored=False
    ),
    "update_id a bool": Odd(
        lambda n, lan: {"update_id": True, "message": telegram_message(lan)}, stored=False
    ),
    "update_id a float": Odd(
        lambda n, lan: {"update_id": float(n), "message": telegram_message(lan)}, stored=False
    ),
    "message without from": Odd(
        lambda n, lan: {"update_id": n, "message": telegram_message(lan, **{"from": None})},
        stored=True,
        note="message without a sender",
    ),
    "message without chat": Odd(
        lambda n, lan: {"update_id": n, "message": telegram_message(lan, chat=None)},
        stored=True,
    ),
    "group message": Odd(
        lambda n, lan: {
            "update_id": n,
            "message": telegram_message(lan, chat=GROUP_CHAT, text="/start"),
        },
        stored=True,
        note="message in a group",
    ),
    "tap without data": Odd(
        lambda n, lan: {
            "update_id": n,
            "callback_query": {
                "id": "4100000000001",
                "from": lan.to_dict(),
                "chat_instance": "-1",
            },
        },
        stored=True,
        note="tap without data",
    ),
    "message not an object": Odd(
        lambda n, lan: {"update_id": n, "message": PRIVATE}, stored=True, note="unreadable"
    ),
    "edited_message": Odd(
        lambda n, lan: {"update_id": n, "edited_message": telegram_message(lan)},
        stored=True,
        note="edited_message",
    ),
    "channel_post": Odd(
        lambda n, lan: {"update_id": n, "channel_post": telegram_message(lan, chat=CHANNEL_CHAT)},
        stored=True,
        note="channel_post",
    ),
    "a kind not known yet": Odd(
        lambda n, lan: {"update_id": n, "future_kind_of_update": telegram_message(lan)},
        stored=True,
        note="future_kind_of_update",
    ),
    "nothing but the id": Odd(lambda n, lan: {"update_id": n}, stored=True, note="empty"),
}
# Kinds the bot does not ask for (allowed_updates): Telegram leaves them out of getUpdates.
NOT_ASKED_FOR = {"edited_message", "channel_post", "a kind not known yet", "nothing but the id"}


def _slug(name: str) -> str:
    return name.replace(", ", "-").replace(" ", "-")


def _cases(names: list[str]) -> list[Any]:
    return [pytest.param(name, id=_slug(name)) for name in names]


@dataclass
class _Misnumbered(fake_telegram._Pending):
    """A queued update whose ``update_id`` is missing or not an int, at the place ``key`` in
    the fake's queue.

    Telegram numbers every update, one more than the last, so the fake cannot queue one
    without a number (or keeps "7", 7.0 and True under int() of it, True as 1): this keeps the
    update in the fake's queue as it is, and the fake's offset bookkeeping (which needs a
    number) uses the number Telegram would have given it."""

    key: int = 0

    @property
    def update_id(self) -> int:
        return self.key


def next_id(api: FakeBotApi) -> int:
    """The update id Telegram would give the next update."""
    return max(api.updates, default=0) + 1


def queue_telegram(api: FakeBotApi, raw: JsonDict) -> int:
    """Queue ``raw`` exactly as it is, even with an update id missing or not an int; return
    the number the fake keeps it under (the next one)."""
    if type(raw.get("update_id")) is int:
        return api.add_update(raw)
    numbered = {key: value for key, value in raw.items() if key != "update_id"}
    key = api.add_update(numbered)  # numbered: the fake learns its chats, users and queries
    queue = api._pending
    [index] = [i for i, entry in enumerate(queue) if entry.update_id == key]
    queue[index] = _Misnumbered(raw, key=key)
    return key


# --------------------------------------------------------------------------- Telegram: polling


@pytest.mark.parametrize("case", _cases(list(TELEGRAM)))
async def test_telegram_polling_an_odd_update_is_taken_once_and_the_next_person_is_answered(
    api: FakeBotApi,
    bot: RunningBot,
    session_factory: Sessions,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    odd = TELEGRAM[case]
    lan, minh = api.user(LAN_ID, "Lan"), api.user(MINH_ID, "Minh")
    # Someone wrote before: the bot has acknowledged updates up to here.
    earlier = Chat(api, api.user(EARLIER_ID, "Hà"))
    await earlier.send("/start")
    assert earlier.last_reply().endswith(CONSENT_QUESTION)
    mark = len(api.calls)
    assert bot.task is not None
    bot.task.add_done_callback(lambda _task: api.notify())  # a runner that stops is news
    key = queue_telegram(api, odd.build(next_id(api), lan))

    try:
        if case not in NOT_ASKED_FOR:  # those Telegram itself leaves out (see below)
            await api.wait_until(
                lambda: (
                    api.is_acknowledged(key)
                    or api.delivered_ids().count(key) > 1
                    or (bot.task is not None and bot.task.done())
                ),
                describe="the odd update acknowledged",
            )
        assert_running(bot.task)
        chat = Chat(api, minh)
        await chat.send("/start")  # the next person is greeted as always
        assert chat.last_reply().endswith(CONSENT_QUESTION)
        assert_running(bot.task)
    finally:
        if bot.task is not None and bot.task.done():
            bot.task = None  # stopped already: the failure above says why

    if case in NOT_ASKED_FOR:  # not asked for (allowed_updates): the bot never sees it
        assert key in api.dropped_ids()
        assert key not in api.delivered_ids()
    else:
        assert api.delivered_ids().count(key) == 1  # taken once, not again and again
        assert api.is_acknowledged(key)
    assert not api.pending_ids()
    assert not_to_others(api, mark, minh) == []
    assert api.messages_to(GROUP_ID) == [] and api.messages_to(lan.id) == []

    rows = await inbox_rows(session_factory, "telegram")
    assert all(rows.values())  # every stored row closed, the citizen's too
    if odd.stored and case not in NOT_ASKED_FOR:
        assert key in rows
        assert logged(caplog, said(key, odd))  # by id and kind
    else:
        assert len(rows) == 2  # the citizens' two /start alone
    if not odd.stored:
        assert len(logged(caplog, DROPPED)) == 1  # said once, not at every fetch
    assert_private_not_logged(caplog)


async def test_telegram_polling_odd_updates_in_one_batch_stay_closed_across_a_restart(
    api: FakeBotApi, bot: RunningBot, session_factory: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    """Two or more odd updates in one batch, with a person's message among them: the person is
    answered, every row is closed, and a restart neither stops nor applies them again."""
    caplog.set_level(logging.INFO, logger="bot")
    lan, minh = api.user(LAN_ID, "Lan"), api.user(MINH_ID, "Minh")
    mark = len(api.calls)
    kinds = ["message without from", "group message", "tap without data", "message not an object"]
    keys = [api.add_update(TELEGRAM[kind].build(next_id(api), lan)) for kind in kinds]
    api.send_text(minh, "/start")  # in the same batch, behind them
    api.add_update(TELEGRAM["group message"].build(next_id(api), lan))
    await bot.idle()
    assert api.messages_to(minh.id)[-1].content.endswith(CONSENT_QUESTION)
    assert [api.delivered_ids().count(key) for key in keys] == [1] * len(keys)

    await bot.stop()
    await bot.start()
    await bot.idle()
    assert_running(bot.task)
    chat = Chat(api, minh)
    await chat.send("/start")
    assert chat.last_reply().endswith(CONSENT_QUESTION)

    assert not_to_others(api, mark, minh) == []
    rows = await inbox_rows(session_factory, "telegram")
    assert len(rows) == len(keys) + 3 and all(rows.values())
    for key, kind in zip(keys, kinds, strict=True):
        assert len(logged(caplog, f"update {key} ({TELEGRAM[kind].note})")) == 1  # not again
    assert_private_not_logged(caplog)


# --------------------------------------------------------------------------- Telegram: webhook


@dataclass
class TelegramHook:
    """The Telegram runner at a webhook, as a task; ``idle`` waits until it applied all."""

    api: FakeBotApi
    url: str
    task: asyncio.Task[None]
    dispatcher: Dispatcher | None = None

    async def post(self, body: bytes) -> int:
        """POST a body to the webhook with the right secret, as Telegram would; the status."""
        headers = {"Content-Type": "application/json", TELEGRAM_SECRET_HEADER: SECRET}
        async with httpx.AsyncClient() as client:
            response = await client.post(self.url, content=body, headers=headers)
        self.api.notify()
        return response.status_code

    async def idle(self) -> None:
        await self.api.wait_until(
            lambda: (
                self.task.done() or (self.dispatcher is not None and not self.dispatcher.busy())
            ),
            describe="the runner idle",
        )


@pytest.fixture
async def hook(api: FakeBotApi, settings: Settings) -> AsyncIterator[TelegramHook]:
    port = free_port()
    hooked = replace(
        settings, webhook_listen="127.0.0.1", webhook_port=port, webhook_secret=Secret(SECRET)
    )
    url = f"http://127.0.0.1:{port}/hoctap/telegram"
    stop, listening = asyncio.Event(), asyncio.Event()
    running: TelegramHook | None = None

    def observe(dispatcher: Dispatcher) -> None:
        # Told after setWebhook and just before the webhook server listens, with no pause
        # between: once this test's code runs again, the server listens.
        assert running is not None
        running.dispatcher = dispatcher
        dispatcher.listeners.append(api.notify)
        listening.set()
        api.notify()

    async def run() -> None:
        async with open_services(hooked) as services:
            channel = TelegramChannel(hooked)
            services = replace(services, clock=clock)
            await inbox_runner.run(hooked, services, channel, stop, url, observe)

    running = TelegramHook(api, url, asyncio.create_task(run()))
    try:
        await api.wait_until(
            lambda: listening.is_set() or running.task.done(), describe="the webhook served"
        )
        assert_running(running.task)
        yield running
    finally:
        stop.set()
        if not running.task.done() or not running.task.exception():
            await running.task


NOT_UPDATES: dict[str, bytes] = {
    "a list": b"[1, 2]",
    "a string": json.dumps(PRIVATE).encode(),
    "a number": b"7",
    "null": b"null",
    "not JSON": PRIVATE.encode() + b" {",
}


@pytest.mark.parametrize("case", _cases(list(TELEGRAM)))
async def test_telegram_webhook_an_odd_update_is_taken_once_and_the_next_person_is_answered(
    api: FakeBotApi,
    hook: TelegramHook,
    session_factory: Sessions,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    odd = TELEGRAM[case]
    lan, minh = api.user(LAN_ID, "Lan"), api.user(MINH_ID, "Minh")
    mark = len(api.calls)
    raw = odd.build(500, lan)

    # 200: stored (or, without a usable id, dropped): Telegram does not send it again.
    assert await hook.post(json.dumps(raw).encode()) == 200
    await hook.idle()
    assert_running(hook.task)
    await _greeted_by_webhook(api, hook, minh)

    assert not_to_others(api, mark, minh) == []
    rows = await inbox_rows(session_factory, "telegram")
    assert all(rows.values())
    if odd.stored:
        assert 500 in rows
        assert logged(caplog, said(500, odd))
    else:
        assert len(rows) == 1
        assert len(logged(caplog, DROPPED)) == 1
    assert_private_not_logged(caplog)


@pytest.mark.parametrize("case", list(NOT_UPDATES), ids=_slug)
async def test_telegram_webhook_a_body_that_is_no_update_is_refused_once_and_stored_nowhere(
    api: FakeBotApi,
    hook: TelegramHook,
    session_factory: Sessions,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    minh = api.user(MINH_ID, "Minh")
    mark = len(api.calls)
    assert await hook.post(NOT_UPDATES[case]) == 400  # refused, never stored
    assert_running(hook.task)
    await _greeted_by_webhook(api, hook, minh)
    assert not_to_others(api, mark, minh) == []
    rows = await inbox_rows(session_factory, "telegram")
    assert len(rows) == 1 and all(rows.values())
    assert logged(caplog, "webhook call refused")
    assert_private_not_logged(caplog)


async def _greeted_by_webhook(api: FakeBotApi, hook: TelegramHook, citizen: FakeUser) -> None:
    """A citizen's /start, delivered to the webhook, gets the greeting."""
    update_id = api.send_text(citizen, "/start")
    assert await api.push_webhook(update_id) == 200
    await api.wait_until(lambda: api.messages_to(citizen.id), describe="the greeting")
    await hook.idle()
    assert api.messages_to(citizen.id)[-1].content.endswith(CONSENT_QUESTION)
    assert_running(hook.task)


# --------------------------------------------------------------------------- Zalo


class WatchedZaloRunner(test_zalo.ZaloRunner):
    """test_zalo's runner, telling when it has applied everything it stored."""

    dispatcher: Dispatcher | None = None

    async def _run(self, stopping: asyncio.Event) -> None:
        async with open_services(self.settings) as services:
            services = replace(services, clock=test_zalo.clock)
            url = None if self.mode == "polling" else self.url
            channel = ZaloChannel(self.settings)
            await inbox_runner.run(self.settings, services, channel, stopping, url, self._observe)

    def _observe(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        dispatcher.listeners.append(self.api.notify)

    async def idle(self) -> None:
        """Wait until every stored event is applied and answered (and, polling, the runner
        waits in getUpdates again)."""

        def waiting() -> bool:
            if self.task is None or self.task.done():
                return True
            listening = self.mode == "webhook" or self.api.polling_idle()
            return listening and self.dispatcher is not None and not self.dispatcher.busy()

        await self.api.wait_until(waiting, describe="the Zalo runner idle")

    async def post(self, body: bytes) -> int:
        headers = {"Content-Type": "application/json", ZALO_SECRET_HEADER: test_zalo.SECRET}
        async with httpx.AsyncClient() as client:
            response = await client.post(self.url, content=body, headers=headers)
        self.api.notify()
        return response.status_code


@pytest.fixture
async def zalo_bot(
    zalo: FakeZaloApi, zalo_settings: Settings, mode: str
) -> AsyncIterator[WatchedZaloRunner]:
    running = WatchedZaloRunner(zalo, zalo_settings, mode)
    await running.start()
    try:
        yield running
    finally:
        if running.task is not None and running.task.done() and running.task.exception():
            running.task = None  # stopped already: the test's failure says why
        await running.stop()


SENDER = "1a2b3c4d5e6f7a8b9c0d"
HOA = "6ede9afa66b88fe6d6a9"


def zalo_message(**changes: Any) -> JsonDict:
    """A private text message from ``SENDER`` holding personal data; a change to None drops
    that field."""
    message: JsonDict = {
        "from": {"id": SENDER, "display_name": "Lan", "is_bot": False},
        "chat": {"id": SENDER, "chat_type": "PRIVATE"},
        "message_id": "0f1e2d3c4b5a69788796",
        "date": int(NOW.timestamp() * 1000),
        "text": PRIVATE,
    }
    message.update(changes)
    return {key: value for key, value in message.items() if value is not None}


TEXT = "message.text.received"
ZALO: dict[str, Any] = {
    "no message": {"event_name": TEXT},
    "message not an object": {"event_name": TEXT, "message": PRIVATE},
    "message without from": {"event_name": TEXT, "message": zalo_message(**{"from": None})},
    "message without chat": {"event_name": TEXT, "message": zalo_message(chat=None)},
    "message without message_id": {"event_name": TEXT, "message": zalo_message(message_id=None)},
    "sender not an object": {"event_name": TEXT, "message": zalo_message(**{"from": SENDER})},
    "sender without id": {
        "event_name": TEXT,
        "message": zalo_message(**{"from": {"display_name": "Lan"}}),
    },
    "from a bot": {
        "event_name": TEXT,
        "message": zalo_message(**{"from": {"id": SENDER, "is_bot": True}}),
    },
    "unknown event, no message": {"event_name": "user.follow", "follower": {"id": SENDER}},
    "event not an object": [PRIVATE],
}
GROUP_MESSAGE = {
    "event_name": TEXT,
    "message": zalo_message(chat={"id": "g-4001", "chat_type": "GROUP"}),
}


async def _deliver_zalo(api: FakeZaloApi, bot: WatchedZaloRunner, key: str, event: Any) -> None:
    """Hand ``event`` to the runner as Zalo would (getUpdates or a webhook push), once, and
    wait until the runner is through with it."""
    api.events[key] = event
    api.redeliver(key)
    if bot.mode == "polling":
        await api.wait_until(lambda: key in api.handed_out(), describe="the event handed out")
    else:
        await api.wait_until(
            lambda: any(d.message_id == key for d in api.deliveries), describe="the push"
        )
    await bot.idle()
    try:
        str(event["message"]["chat"]["id"])
    except (KeyError, TypeError):
        del api.events[key]  # the fake reads every event's chat: leave only what it can read


def _taken_once(api: FakeZaloApi, mode: str, key: str) -> None:
    if mode == "polling":
        assert api.handed_out().count(key) == 1  # Zalo never hands an event out twice
    else:
        assert [d.status for d in api.deliveries if d.message_id == key] == [200]


async def _greeted_on_zalo(api: FakeZaloApi, bot: WatchedZaloRunner) -> ZaloUser:
    hoa = api.user(HOA, "Hoa")
    [notice] = await ZaloChat(api, hoa).send("Xin chào")
    assert notice.startswith("Xin chào! hoctap")
    assert CONSENT_QUESTION in notice
    await bot.idle()
    assert_running(bot.task)
    return hoa


@pytest.mark.parametrize("case", list(ZALO), ids=_slug)
async def test_zalo_an_event_no_handler_expects_is_left_once_and_the_next_person_is_answered(
    zalo: FakeZaloApi,
    zalo_bot: WatchedZaloRunner,
    mode: str,
    session_factory: Sessions,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    await _deliver_zalo(zalo, zalo_bot, "odd", ZALO[case])
    assert_running(zalo_bot.task)
    _taken_once(zalo, mode, "odd")
    await _greeted_on_zalo(zalo, zalo_bot)

    assert {m.chat_id for m in zalo.sent} == {HOA}  # nothing to anyone else
    rows = await inbox_rows(session_factory, "zalo")
    assert len(rows) == 1 and all(rows.values())  # Hoa's message alone: nothing to key it by
    assert zalo.refused() == []
    assert_private_not_logged(caplog)


async def test_zalo_an_event_left_out_is_logged_without_its_content(
    zalo: FakeZaloApi,
    zalo_bot: WatchedZaloRunner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    await zalo_bot.idle()  # started: what the start logs is in the log already
    mark = len(caplog.records)
    await _deliver_zalo(zalo, zalo_bot, "odd", ZALO["message without from"])
    assert_running(zalo_bot.task)
    said = [
        r.getMessage()
        for r in caplog.records[mark:]
        if r.name.startswith(("bot.runtime.runner", "bot.runtime.webhook", "bot.channels."))
    ]
    assert said  # a line for it, as the runner writes for a Telegram update it drops
    assert_private_not_logged(caplog)


async def test_zalo_a_group_message_gets_one_polite_line_and_nothing_personal(
    zalo: FakeZaloApi,
    zalo_bot: WatchedZaloRunner,
    mode: str,
    session_factory: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    await _deliver_zalo(zalo, zalo_bot, "group", GROUP_MESSAGE)
    assert_running(zalo_bot.task)
    _taken_once(zalo, mode, "group")
    await _greeted_on_zalo(zalo, zalo_bot)

    # The group hears, once, that hoctap answers in private chats; the sender nothing there.
    group = [m.content for m in zalo.messages_to("g-4001")]
    assert len(group) == 1 and "riêng" in group[0]
    assert zalo.messages_to(SENDER) == []
    assert {m.chat_id for m in zalo.sent} == {HOA, "g-4001"}
    rows = await inbox_rows(session_factory, "zalo")
    assert all(rows.values())  # stored and closed, or left out: either way not pending
    assert zalo.refused() == []
    assert_private_not_logged(caplog)


async def test_zalo_an_unknown_kind_of_private_message_is_answered_to_its_sender_alone(
    zalo: FakeZaloApi,
    zalo_bot: WatchedZaloRunner,
    mode: str,
    session_factory: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A person sent something this bot cannot read (an event name it does not know): they
    are told what it can read, once; the row is closed; the next person is answered."""
    caplog.set_level(logging.INFO, logger="bot")
    event = {"event_name": "message.reaction.received", "message": zalo_message()}
    await _deliver_zalo(zalo, zalo_bot, "reaction", event)
    assert_running(zalo_bot.task)
    _taken_once(zalo, mode, "reaction")
    await _greeted_on_zalo(zalo, zalo_bot)

    assert {m.chat_id for m in zalo.sent} == {HOA, SENDER}
    assert len(zalo.messages_to(SENDER)) == 1
    rows = await inbox_rows(session_factory, "zalo")
    assert len(rows) == 2 and all(rows.values())
    assert zalo.refused() == []
    assert_private_not_logged(caplog)


@pytest.mark.parametrize("mode", ["webhook"])
@pytest.mark.parametrize("case", list(NOT_UPDATES), ids=_slug)
async def test_zalo_webhook_a_body_that_is_no_event_is_answered_once_and_stored_nowhere(
    zalo: FakeZaloApi,
    zalo_bot: WatchedZaloRunner,
    session_factory: Sessions,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    status = await zalo_bot.post(NOT_UPDATES[case])
    # JSON that is no event is acknowledged and left; a body that is not JSON is refused.
    assert status == (400 if case == "not JSON" else 200)
    assert_running(zalo_bot.task)
    await _greeted_on_zalo(zalo, zalo_bot)
    assert {m.chat_id for m in zalo.sent} == {HOA}
    rows = await inbox_rows(session_factory, "zalo")
    assert len(rows) == 1 and all(rows.values())
    assert zalo.refused() == []
    assert_private_not_logged(caplog)

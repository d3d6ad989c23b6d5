"""Tests of the fake Bot API itself, driven by the real python-telegram-bot stack.

A tiny echo bot with an inline keyboard is defined here; nothing of hoctap is imported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from .chat import AnyApplication, Chat, application_builder, polling, webhook
from .fake_telegram import READY_PREFIX, FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Có", callback_data="pick:yes")],
        [InlineKeyboardButton("Không", callback_data="pick:no")],
        [InlineKeyboardButton("Giữ nguyên", callback_data="pick:same")],
    ]
)
QUESTION = "Gia đình có tủ sách không?"
REPORT = b"unit,assessed\nThon 1,12\n"


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(QUESTION, reply_markup=KEYBOARD)


async def on_pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    await query.answer()
    if query.data == "pick:same":  # repeats text and keyboard: Telegram refuses with a 400
        await query.edit_message_text(QUESTION, reply_markup=KEYBOARD)
        return
    await query.edit_message_text(f"Đã ghi: {query.data.removeprefix('pick:')}")


async def on_doc(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_document(InputFile(REPORT, filename="report.csv"))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    assert message.text is not None
    if message.text != "im lặng":
        await message.reply_text(message.text)


def echo_app(
    api: FakeBotApi, errors: asyncio.Queue[BaseException] | None = None
) -> AnyApplication:
    app = application_builder(api).build()
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CommandHandler("doc", on_doc))
    app.add_handler(CallbackQueryHandler(on_pick, pattern=r"^pick:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    seen: asyncio.Queue[BaseException] = errors if errors is not None else asyncio.Queue()

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        seen.put_nowait(context.error)

    app.add_error_handler(on_error)
    return app


def bare_bot(api: FakeBotApi, token: str | None = None) -> Bot:
    return Bot(token or api.token, base_url=api.base_url, base_file_url=api.base_file_url)


class FrozenClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token="123:ABC") as fake:
        yield fake


async def test_echo_round_trip(api: FakeBotApi) -> None:
    app = echo_app(api)
    chat = Chat(api, api.user(1001, "Lan"), app=app)
    async with polling(app):
        sent = await chat.send("xin chào")
    assert chat.last_reply() == "xin chào"
    assert [m.message_id for m in sent] == [2]  # the user's message took id 1 in this chat
    assert {"getMe", "deleteWebhook", "getUpdates"} <= {call.method for call in api.calls}


async def test_click_answers_query_and_edits_in_place(api: FakeBotApi) -> None:
    app = echo_app(api)
    chat = Chat(api, api.user(1002), app=app)
    async with polling(app):
        await chat.send("/start")
        assert chat.last_buttons()[0] == [("Có", "pick:yes")]
        with pytest.raises(AssertionError, match=r"available: 'Có' \(pick:yes\)"):
            await chat.click("Có lẽ")
        await chat.click("có")  # label ignoring case
    assert len(api.messages_to(chat.chat_id)) == 1
    assert chat.last_reply() == "Đã ghi: yes"
    assert chat.last_buttons() == []  # an edit without reply_markup drops the keyboard
    assert api.calls_to("answerCallbackQuery")[0].ok


async def test_click_on_older_message_and_bad_request_fails_fast(api: FakeBotApi) -> None:
    app = echo_app(api)
    chat = Chat(api, api.user(1003), app=app)
    async with polling(app):
        first = (await chat.send("/start"))[0]
        await chat.send("/start")
        await chat.click_on(first, "pick:no")  # by callback_data, on the older message
        assert first.buttons == []
        await chat.click_on(first, "Có")  # a button it showed before the edit
        with pytest.raises(AssertionError, match="message is not modified"):
            await chat.click("Giữ nguyên")
    assert chat.replies() == ["Đã ghi: yes", QUESTION]


async def test_offset_acknowledges_only_on_the_next_get_updates(api: FakeBotApi) -> None:
    user = api.user(1004)
    first, second, third = (api.send_text(user, text) for text in ("a", "b", "c"))
    async with bare_bot(api) as bot:
        batch = await bot.get_updates(timeout=0, limit=2)
        assert [u.update_id for u in batch] == [first, second]
        assert api.acknowledged_ids() == []
        again = await bot.get_updates(timeout=0)  # no offset: nothing is confirmed
        assert [u.update_id for u in again] == [first, second, third]
        await bot.get_updates(offset=second + 1, timeout=0)
        assert api.acknowledged_ids() == [first, second]
        assert api.delivered_ids() == [first, second, first, second, third, third]
        await bot.get_updates(offset=-1, timeout=0)  # Telegram: keep only the newest
        assert api.pending_ids() == [third]


async def test_long_poll_returns_when_an_update_arrives(api: FakeBotApi) -> None:
    user = api.user(1005)
    async with bare_bot(api) as bot:
        assert await bot.get_updates(timeout=1) == ()  # an empty poll waits out its timeout
        waiting = asyncio.create_task(bot.get_updates(timeout=30))
        await api.wait_until(lambda: any(c.status is None for c in api.calls_to("getUpdates")))
        update_id = api.send_text(user, "đây")
        updates = await asyncio.wait_for(waiting, 5)
        assert [u.update_id for u in updates] == [update_id]


async def test_a_second_poller_terminates_the_first(api: FakeBotApi) -> None:
    async with bare_bot(api) as bot, bare_bot(api) as other_instance:
        first = asyncio.create_task(bot.get_updates(timeout=30))
        await api.wait_until(lambda: len(api.calls_to("getUpdates")) == 1)
        second = asyncio.create_task(other_instance.get_updates(timeout=0))
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await first
        assert await second == ()


async def test_redelivered_update_reaches_the_bot_again(api: FakeBotApi) -> None:
    app = echo_app(api)
    chat = Chat(api, api.user(1006), app=app)
    async with polling(app):
        await chat.send("một lần")
        update_id = api.delivered_ids()[-1]
        api.redeliver(update_id)
        await api.wait_until(lambda: len(api.calls_to("sendMessage")) == 2)
        await api.wait_until(lambda: api.pending_ids() == [])
    assert api.delivered_ids().count(update_id) == 2
    assert chat.replies() == ["một lần", "một lần"]


async def test_webhook_push_with_secret_token(api: FakeBotApi) -> None:
    app = echo_app(api)
    chat = Chat(api, api.user(1007), app=app)
    async with webhook(app, secret_token="bi-mat"):
        assert api.webhook_url is not None
        assert api.webhook_secret == "bi-mat"
        await chat.send("qua webhook")
        assert chat.last_reply() == "qua webhook"
        update_id = api.send_text(chat.user, "lần hai")
        assert await api.push_webhook(update_id, secret_token="sai") == 403
        assert not api.is_acknowledged(update_id)
        assert api.pending_ids() == [update_id]
        assert await api.deliver_webhook_queue() == [(update_id, 200)]
        await api.wait_until(lambda: chat.replies()[-1:] == ["lần hai"])
    assert api.is_acknowledged(update_id)
    assert [d.status for d in api.webhook_deliveries] == [200, 403, 200]


async def test_multipart_document_is_recorded_and_downloadable(api: FakeBotApi) -> None:
    app = echo_app(api)
    chat = Chat(api, api.user(1008), app=app)
    async with polling(app):
        await chat.send("/doc")
        document = chat.last_message().document
        assert document is not None
        assert (document.filename, document.content) == ("report.csv", REPORT)
        telegram_file = await app.bot.get_file(document.file_id)
        assert bytes(await telegram_file.download_as_bytearray()) == REPORT


async def test_rate_limit_answers_429_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # else PTB warns when it builds RetryAfter
    clock = FrozenClock()
    async with FakeBotApi(clock=clock) as api, bare_bot(api) as bot:
        api.user(2001)
        api.user(2002)
        api.rate_limit(global_per_second=30, per_chat_per_second=1)
        await bot.send_message(2001, "một")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(2001, "hai")
        assert caught.value.retry_after == dt.timedelta(seconds=1)
        await bot.send_message(2002, "chat khác")
        clock.now += 1
        await bot.send_message(2001, "sau một giây")
        assert api.count_429 == 1
        assert [c.status for c in api.calls_to("sendMessage")] == [200, 429, 200, 200]


async def test_blocked_user_gets_403(api: FakeBotApi) -> None:
    errors: asyncio.Queue[BaseException] = asyncio.Queue()
    app = echo_app(api, errors)
    chat = Chat(api, api.user(1009), app=app)
    api.block(chat.chat_id)
    async with polling(app):
        await chat.send("còn đó không?")  # returns once the handlers (and error handler) ran
        assert isinstance(errors.get_nowait(), Forbidden)
        assert api.calls_to("sendMessage")[0].status == 403
        with pytest.raises(Forbidden, match="blocked by the user"):
            await app.bot.send_message(chat.chat_id, "nhắc việc")


async def test_faults_unknown_methods_and_wrong_token(api: FakeBotApi) -> None:
    api.user(1010)
    api.fail_next("sendMessage")
    async with bare_bot(api) as bot:
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(1010, "lỗi")
        assert (await bot.send_message(1010, "được")).text == "được"
    with pytest.raises(InvalidToken):
        async with bare_bot(api, token="999:WRONG"):  # getMe in initialize() is refused
            pass
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(f"{api.base_url}{api.token}/sendTelepathy", data={"a": "1"})
    assert response.status_code == 404
    assert response.json()["description"] == "Not Found: method not found"


async def test_json_form_and_query_bodies_are_decoded_like_telegram(api: FakeBotApi) -> None:
    api.user(1013)
    markup = {"inline_keyboard": [[{"text": "Có", "callback_data": "pick:yes"}]]}
    url = f"{api.base_url}{api.token}"
    async with httpx.AsyncClient(trust_env=False) as http:
        as_json = await http.post(
            f"{url}/SENDMESSAGE", json={"chat_id": "1013", "text": "1", "reply_markup": markup}
        )
        as_form = await http.post(
            f"{url}/sendMessage",
            data={"chat_id": "1013", "text": "true", "reply_markup": json.dumps(markup)},
        )
        as_query = await http.get(f"{url}/editMessageText?chat_id=1013&message_id=1&text=2")
        oversized = {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}
        too_long = await http.post(
            f"{url}/sendMessage", json={"chat_id": 1013, "text": "x", "reply_markup": oversized}
        )
    assert [r.status_code for r in (as_json, as_form, as_query)] == [200, 200, 200]
    assert as_json.json()["result"]["reply_markup"] == markup
    sent = api.calls_to("sendMessage")[1].params
    assert sent == {"chat_id": 1013, "text": "true", "reply_markup": markup}
    assert api.message(1013, 1).text == "2"
    assert api.message(1013, 1).buttons == []
    assert too_long.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"


async def test_missing_reply_fails_with_the_transcript(api: FakeBotApi) -> None:
    app = echo_app(api)
    chat = Chat(api, api.user(1011, "Hoa"), app=app)
    without_app = Chat(api, chat.user)
    async with polling(app):
        await chat.send("im lặng")  # no reply is fine unless one is expected
        with pytest.raises(AssertionError, match=r"(?s)handlers finished.*user #2: im lặng"):
            await chat.send("im lặng", replies=1)  # fails as soon as the handlers are done
        with pytest.raises(AssertionError, match=r"(?s)within 0.3s.*saw 0"):
            await without_app.send("im lặng", within=0.3)  # a bot elsewhere: wait, then fail


async def test_runs_as_a_separate_process() -> None:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.support.fake_telegram", "--port", "0", "--token", "7:XY"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 15)).decode()
        url = f"http://127.0.0.1:{int(line.removeprefix(READY_PREFIX))}"
        async with httpx.AsyncClient(base_url=url, trust_env=False) as control:
            person = {"id": 5, "is_bot": False, "first_name": "Mai"}
            chat = {"id": 5, "type": "private", "first_name": "Mai"}
            message = {"message_id": 1, "date": 0, "chat": chat, "from": person, "text": "chào"}
            sent = await control.post("/_control/updates", json=[{"message": message}])
            [update_id] = sent.json()["result"]
            async with Bot("7:XY", base_url=f"{url}/bot") as bot:
                assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]
                await bot.get_updates(offset=update_id + 1, timeout=0)
                await bot.send_message(5, "chào bạn")
            calls: list[dict[str, Any]] = (await control.get("/_control/calls")).json()["result"]
            acknowledged = (await control.get("/_control/acknowledged")).json()["result"]
    finally:
        process.terminate()
        await process.wait()
    assert [call["method"] for call in calls][-1] == "sendMessage"
    assert acknowledged["acknowledged"] == [update_id]


ECHO_BOT = """
import sys
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.effective_message.reply_text(update.effective_message.text)

app = ApplicationBuilder().token(sys.argv[1]).base_url(sys.argv[2]).build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling()
"""


async def start_echo_bot(api: FakeBotApi) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", ECHO_BOT, api.token, api.base_url),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_a_killed_bot_process_gets_what_was_sent_while_it_was_down(api: FakeBotApi) -> None:
    chat = Chat(api, api.user(1012), timeout=20)
    process = await start_echo_bot(api)
    try:
        await chat.send("trước")
        process.kill()
        await process.wait()
        api.send_text(chat.user, "trong lúc tắt")
        process = await start_echo_bot(api)
        await api.wait_until(lambda: "trong lúc tắt" in chat.replies(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert chat.replies() == ["trước", "trong lúc tắt"]

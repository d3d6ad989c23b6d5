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
from .fake_http import watching
from .fake_telegram import NOT_MODIFIED, QUERY_INVALID, QUERY_TIMEOUT, READY_PREFIX, FakeBotApi

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
        api.rate_limit(global_per_second=30, per_chat_per_second=1, per_chat_burst=1)
        await bot.send_message(2001, "một")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(2001, "hai")
        assert caught.value.retry_after == dt.timedelta(seconds=1)
        await bot.send_message(2002, "chat khác")
        clock.now += 1
        await bot.send_message(2001, "sau một giây")
        assert api.count_429 == 1
        assert [c.status for c in api.calls_to("sendMessage")] == [200, 429, 200, 200]


async def test_limits_are_on_by_default_a_burst_per_chat_then_one_a_second() -> None:
    clock = FrozenClock()
    async with FakeBotApi(clock=clock) as api:
        for user_id in range(3001, 3041):
            api.user(user_id)
        burst = [await call(api, "sendMessage", chat_id=3001, text=str(n)) for n in range(21)]
        assert [status for status, _ in burst] == [200] * 20 + [429]
        assert burst[-1][1]["parameters"] == {"retry_after": 1}
        assert burst[-1][1]["description"] == "Too Many Requests: retry after 1"
        clock.now += 1  # one more a second, sustained
        assert (await call(api, "sendMessage", chat_id=3001, text="sau"))[0] == 200
        assert (await call(api, "sendMessage", chat_id=3001, text="nữa"))[0] == 429
        clock.now += 1  # overall: 30 in any one second, whatever the chats
        statuses = [
            (await call(api, "sendMessage", chat_id=user_id, text="tin"))[0]
            for user_id in range(3002, 3034)
        ]
        assert statuses == [200] * 30 + [429, 429]


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


# --------------------------------------------------------------------------- strict Telegram


async def call(api: FakeBotApi, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """POST one Bot API call as JSON; return the HTTP status and the answer."""
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(f"{api.base_url}{api.token}/{method}", json=params)
    return response.status_code, response.json()


async def send_html(api: FakeBotApi, text: str, chat_id: int = 4001) -> tuple[int, str]:
    api.user(chat_id)
    status, body = await call(api, "sendMessage", chat_id=chat_id, text=text, parse_mode="HTML")
    return status, body.get("description", "")


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("Xóm <Trại> & Co", 'Unsupported start tag "trại" at byte offset 5'),
        ("/form <b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>a</b> 3 < 4", 'Unsupported start tag "" at byte offset 11'),
        ("Điểm</b>", "Unexpected end tag at byte offset 7"),  # Đ and ể are 2 and 3 bytes
        ("<b>đậm</i>", 'Unmatched end tag at byte offset 9, expected "</b>", found "</i>"'),
        ("<span>bí mật</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href='x.vn'>", 'Can\'t find end tag corresponding to start tag "a"'),
        ("Ghi chú <b", "Unclosed start tag at byte offset 9"),
        ('<tg-emoji emoji-id="x">👍</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
async def test_html_telegram_cannot_parse_is_refused_with_its_words(
    api: FakeBotApi, text: str, detail: str
) -> None:
    assert await send_html(api, text) == (400, f"Bad Request: can't parse entities: {detail}")
    assert api.messages_to(4001) == []


async def test_html_is_stored_as_the_text_a_person_reads_with_its_entities(
    api: FakeBotApi,
) -> None:
    source = (
        "  <b>Xóm &lt;Trại&gt; &amp; Co</b> &quot;A&quot; &#39;B&#x27; & <i>đi<u>ều</u></i>"
        '\n<a href="hoctap.vn/x">link</a> <pre><code class="language-py">x</code></pre>\n\n'
    )
    assert (await send_html(api, source))[0] == 200
    [message] = api.messages_to(4001)
    assert message.text == "Xóm <Trại> & Co \"A\" 'B' & điều\nlink x"  # trimmed both ends
    assert message.entities == [
        {"type": "bold", "offset": 0, "length": 15},
        {"type": "italic", "offset": 26, "length": 4},
        {"type": "underline", "offset": 28, "length": 2},
        {"type": "text_link", "offset": 31, "length": 4, "url": "http://hoctap.vn/x"},
        {"type": "pre", "offset": 36, "length": 1, "language": "py"},
    ]
    assert message.visible == message.text
    assert (
        message.content
        == message.html
        == (
            "<b>Xóm &lt;Trại&gt; &amp; Co</b> \"A\" 'B' &amp; <i>đi<u>ều</u></i>\n"
            '<a href="http://hoctap.vn/x">link</a> <pre><code class="language-py">x</code></pre>'
        )
    )
    assert message.source == source
    assert message.to_dict()["entities"] == message.entities


async def test_lengths_count_utf16_units_of_the_parsed_text(api: FakeBotApi) -> None:
    emoji = "😀"  # two UTF-16 code units
    assert await send_html(api, f"<b>{emoji * 2048}</b>") == (200, "")  # tags are not counted
    assert await send_html(api, emoji * 2048 + "a") == (400, "Bad Request: message is too long")
    assert await send_html(api, "") == (400, "Bad Request: message text is empty")
    assert await send_html(api, "<b> </b>\n") == (400, "Bad Request: text must be non-empty")
    api.user(4002)
    photo = {"chat_id": 4002, "photo": "AgADfake", "parse_mode": "HTML"}
    ok, _ = await call(api, "sendPhoto", **photo, caption=f"<i>{'ồ' * 1024}</i>")
    too_long, refused = await call(api, "sendPhoto", **photo, caption=emoji * 512 + "a")
    empty, _ = await call(api, "sendPhoto", **photo, caption="<b></b>")  # captions may be empty
    assert (ok, too_long, empty) == (200, 400, 200)
    assert refused["description"] == "Bad Request: message caption is too long"
    assert [m.caption for m in api.messages_to(4002)] == ["ồ" * 1024, ""]


async def test_buttons_callback_data_is_counted_in_utf8_bytes(api: FakeBotApi) -> None:
    api.user(4003)

    async def with_button(**button: str) -> str:
        markup = {"inline_keyboard": [[button]]}
        _, body = await call(api, "sendMessage", chat_id=4003, text="Chọn", reply_markup=markup)
        return str(body.get("description", "ok"))

    assert await with_button(text="Có", callback_data="a:" + "ồ" * 20 + "xy") == "ok"  # 64 B
    assert await with_button(text="Có", callback_data="a:" + "ồ" * 21) == (  # 21 letters, 65 B
        "Bad Request: BUTTON_DATA_INVALID"
    )
    assert await with_button(text="", callback_data="a:1") == (
        "Bad Request: inline keyboard button text must be non-empty"
    )
    assert await with_button(text="Có", callback_data="") == (
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard"
    )


async def test_an_edit_that_changes_nothing_telegram_keeps_is_not_modified(
    api: FakeBotApi,
) -> None:
    assert (await send_html(api, "<b>Câu 1</b>"))[0] == 200
    edit = {"chat_id": 4001, "message_id": 1, "parse_mode": "HTML"}
    same, body = await call(api, "editMessageText", **edit, text="<strong>Câu 1</strong>\n")
    assert (same, body["description"]) == (400, NOT_MODIFIED)
    assert (await call(api, "editMessageText", **edit, text="Câu 1"))[0] == 200  # not bold now
    assert api.message(4001, 1).entities is None


async def test_callback_queries_expire_and_are_answered_once() -> None:
    clock = FrozenClock()
    async with FakeBotApi(clock=clock) as api:
        lan = api.user(4004)
        api.send_text(lan, "xin chào")
        first, second, third = (api.press(lan, 1, "pick:yes") for _ in range(3))
        ids = [str(api.updates[u]["callback_query"]["id"]) for u in (first, second, third)]
        clock.now += QUERY_TIMEOUT  # just in time
        assert (await call(api, "answerCallbackQuery", callback_query_id=ids[0]))[0] == 200
        again = await call(api, "answerCallbackQuery", callback_query_id=ids[0])
        api.age_queries(0.5)  # a moment too late
        late = await call(api, "answerCallbackQuery", callback_query_id=ids[1])
        also_late = await call(api, "answerCallbackQuery", callback_query_id=ids[2])
    assert [again[1]["description"], late[1]["description"]] == [QUERY_INVALID] * 2
    assert also_late[1]["description"] == QUERY_INVALID


async def test_answer_text_is_at_most_200_utf16_units(api: FakeBotApi) -> None:
    lan = api.user(4005)
    api.send_text(lan, "xin chào")
    ids = [str(api.updates[api.press(lan, 1, "x")]["callback_query"]["id"]) for _ in range(2)]
    ok = await call(api, "answerCallbackQuery", callback_query_id=ids[0], text="😀" * 100)
    status, body = await call(
        api, "answerCallbackQuery", callback_query_id=ids[1], text="😀" * 101
    )
    assert (ok[0], status, body["description"]) == (200, 400, "Bad Request: MESSAGE_TOO_LONG")


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        ("/form <b>x", [(0, 5)]),
        ("/start@hoctap_test_bot mã", [(0, 22)]),
        ("/ ", []),
        ("/é", []),
        ("/forme2é", []),  # a letter right after: not a command
        ("/a<b>", []),
        ("xem /help nhé", [(4, 5)]),  # found anywhere; PTB's COMMAND filter looks at offset 0
        ("😀/x", [(2, 2)]),
        ("/" + "a" * 65, []),
    ],
)
async def test_only_what_telegram_calls_a_command_gets_a_bot_command_entity(
    api: FakeBotApi, text: str, commands: list[tuple[int, int]]
) -> None:
    api.send_text(api.user(4006), text)
    entities = api.message(4006, 1).entities or []
    assert [(e["offset"], e["length"]) for e in entities] == commands
    assert {e["type"] for e in entities} <= {"bot_command"}


async def test_a_slash_that_is_no_command_reaches_the_text_handler(api: FakeBotApi) -> None:
    app = echo_app(api)
    chat = Chat(api, api.user(4007), app=app)
    async with polling(app):
        await chat.send("/é")
        assert chat.last_reply() == "/é"  # echoed: filters.COMMAND did not take it
        await chat.send("/start@hoctap_test_bot")
        assert chat.last_reply() == QUESTION


async def test_refusals_are_recorded_and_only_undeclared_ones_are_unexpected(
    api: FakeBotApi,
) -> None:
    api.user(4008)
    api.block(4008)
    api.fail_next("getMe", status=502)
    with watching() as servers:
        other = FakeBotApi()
    assert servers == [other]
    with api.expect_refusal("sendMessage", 403, "blocked"):
        await call(api, "sendMessage", chat_id=4008, text="một")
    await call(api, "getMe")  # injected: the test asked for it
    await call(api, "sendMessage", chat_id=4008, text="hai")  # outside the block
    assert [(c.method, c.status) for c in api.refusals()] == [
        ("sendMessage", 403),
        ("getMe", 502),
        ("sendMessage", 403),
    ]
    assert [c.params["text"] for c in api.unexpected_refusals()] == ["hai"]
    api.expect_refusal("sendmessage", 403)  # for the whole test, method names in any case
    assert api.unexpected_refusals() == []

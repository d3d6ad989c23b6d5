"""The aiohttp transport under python-telegram-bot: parameters, files and keyboards reach the Bot
API as httpx would send them, and failures come back as python-telegram-bot's own errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram.http import AiohttpRequest
from tests.support.fake_telegram import FakeBotApi, UploadedFile, free_port


@contextlib.asynccontextmanager
async def bot_on(base_url: str, token: str = "1:x") -> AsyncIterator[Bot]:
    bot = Bot(token, base_url=base_url, request=AiohttpRequest(read_timeout=0.3))
    async with bot:  # initialize (getMe) and shutdown
        yield bot


async def test_messages_keyboards_and_files_reach_the_bot_api() -> None:
    async with FakeBotApi() as api:
        user = api.user(7001, "An")
        async with bot_on(api.base_url, api.token) as bot:
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="a:1")]])
            sent = await bot.send_message(user.id, "Xin chào <b>An</b>", reply_markup=keyboard,
                                          parse_mode="HTML")  # fmt: skip
            await bot.send_document(user.id, b"PK\x03\x04 bytes", filename="bao-cao.xlsx",
                                    caption="Báo cáo")  # fmt: skip
    message, document = api.calls_to("sendMessage")[0], api.calls_to("sendDocument")[0]
    assert sent.message_id == message.result["message_id"]  # the answer was parsed
    assert (message.params["text"], message.params["parse_mode"]) == ("Xin chào <b>An</b>", "HTML")
    assert message.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a:1"
    upload = document.params["document"]
    assert isinstance(upload, UploadedFile)
    assert (upload.filename, upload.content) == ("bao-cao.xlsx", b"PK\x03\x04 bytes")
    assert document.params["caption"] == "Báo cáo"


async def test_an_answer_that_never_comes_times_out() -> None:
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await done.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    request = AiohttpRequest(read_timeout=0.3)
    await request.initialize()
    try:
        with pytest.raises(TimedOut) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot123:SECRET/getMe")
    finally:
        await request.shutdown()
        done.set()
        server.close()
        await server.wait_closed()
    assert "SECRET" not in str(raised.value)  # the token never reaches a log
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_a_refused_connection_is_a_network_error() -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError, match=r"aiohttp\.Client"):
            await request.post(f"http://127.0.0.1:{free_port()}/bot1:x/getMe")
    finally:
        await request.shutdown()


async def test_it_must_be_initialized_first() -> None:
    with pytest.raises(NetworkError, match="not initialized"):
        await AiohttpRequest().post("http://127.0.0.1:1/bot1:x/getMe")

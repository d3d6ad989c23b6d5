"""The Zalo edge on its own: reading events, inbox keys, typed keys, group messages, cutting
long texts, charts shown as text, and the client's typed errors (the documented codes) against
the local fake Zalo Bot API."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.channels.text import numbered, units
from bot.channels.zalo import adapter
from bot.channels.zalo.channel import GROUPS_KEPT, ZaloChannel
from bot.channels.zalo.client import (
    NetworkError,
    PollTimeout,
    QuotaExceeded,
    ServerError,
    Transient,
    Unauthorized,
    ZaloClient,
    ZaloError,
    classify,
)
from bot.channels.zalo.sender import QUOTA_WAIT, Sender, remind
from bot.chat.messages import Attachment, Button, Outbound, Reply
from bot.config import Secret, Settings
from bot.i18n import _, use_locale
from bot.rich import data
from bot.runtime.channel import AGAIN, GROUP, SHOWN, UNDELIVERABLE, Outcome
from tests.support.fake_zalo import FakeZaloApi

CHART_ELSEWHERE = "Zalo cannot show the chart here: open the report on Telegram to see it."


def event(
    text: str = "Xin chào",
    message_id: str = "2d758cb5e222177a4e35",
    date: int = 0,
    group: str = "",
) -> dict:
    """An event as the docs' sample shows it (``group``: sent in that group chat)."""
    chat = {"id": group, "chat_type": "GROUP"} if group else None
    return {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
            "chat": chat or {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
            "text": text,
            "message_id": message_id,
            "date": date or 1750316131602,
        },
    }


def test_an_event_is_read_wrapped_or_flat_and_anything_else_is_left() -> None:
    flat = event()
    assert adapter.event_of({"ok": True, "result": flat}) == flat
    assert adapter.event_of(flat) == flat
    from_bot = event()
    from_bot["message"]["from"]["is_bot"] = True
    no_message = {"event_name": "user.follow"}
    bodies: list[object] = [None, [], {"ok": True, "result": None}, no_message, from_bot]
    for body in bodies:
        assert adapter.event_of(body) is None
    actor = adapter.actor_of(flat)
    assert (actor.channel, actor.external_id, actor.chat_id, actor.name, actor.language) == (
        "zalo",
        "6ede9afa66b88fe6d6a9",
        "6ede9afa66b88fe6d6a9",
        "Ted",
        None,
    )


def test_the_inbox_key_is_the_same_for_a_copy_and_follows_the_message_date() -> None:
    first = adapter.update_id_of(event(message_id="aa", date=1750316131602))
    assert adapter.update_id_of(event(message_id="aa", date=1750316131602)) == first
    later = adapter.update_id_of(event(message_id="00", date=1750316131603))
    in_seconds = adapter.update_id_of(event(message_id="aa", date=1750316131))
    assert first < later < 2**63
    assert in_seconds < first  # a date in seconds is read as the same instant, rounded down


def test_typed_text_goes_to_the_router_as_keyed_text() -> None:
    typed = adapter.inbound_of(event(" 3 "), 7)
    assert (typed.text, typed.keyed, typed.update_id) == ("3", True, 7)
    assert adapter.inbound_of(event("/start now"), 7).command == "start"


def test_long_texts_are_cut_at_line_breaks_counting_as_zalo_counts() -> None:
    lines = [f"{n:03d} 📝 " + "x" * 40 for n in range(60)]  # 📝 counts twice
    parts = adapter.split("\n".join(lines), limit=500)
    assert all(units(part) <= 500 for part in parts)
    assert "\n".join(parts).split("\n") == lines  # whole lines only, none lost
    words = " ".join(["từ"] * 400)  # one line without breaks: cut between words
    cut = adapter.split(words, limit=100)
    assert all(units(part) <= 100 and not part.endswith(" ") for part in cut)
    assert " ".join(cut) == words
    assert adapter.split("\n\n") == []  # Zalo refuses empty messages


def test_a_chart_comes_as_its_caption_and_where_to_find_it_and_files_are_named() -> None:
    chart = Reply(
        data("Chart"), attachment=Attachment("chart.png", b"\x89PNG", "photo", locale="en")
    )
    sheet = Reply(data("Sheet"), attachment=Attachment("xa.xlsx", b"PK", "document"))
    menu = Reply(data("Menu"), ((Button("A", "m:a"),),))
    assert adapter.render(Outbound([chart, sheet, menu], notice=data("Saved"))) == [
        f"(Saved)\n\nChart\n📊 {CHART_ELSEWHERE}\n\nSheet\n📎 xa.xlsx\n\n{numbered(menu)}"
    ]
    in_vietnamese = Attachment("chart.png", b"\x89PNG", "photo", locale="vi")
    with use_locale("vi"):
        said = _(CHART_ELSEWHERE)
    with use_locale("en"):  # the chart's own language, whatever the update's
        [shown] = adapter.render(Outbound([Reply(data("Biểu đồ"), attachment=in_vietnamese)]))
    assert shown == f"Biểu đồ\n📊 {said}"


def test_the_documented_error_codes_are_classified_and_nothing_else_is_guessed() -> None:
    assert type(classify("getUpdates", 408)) is PollTimeout
    assert type(classify("getMe", 401, "Unauthorized")) is Unauthorized
    assert type(classify("sendMessage", 429, "")) is QuotaExceeded  # by the code alone
    assert type(classify("sendMessage", 403, "Internal server error")) is ServerError
    assert type(classify("sendMessage", 502, "answer is not a JSON object")) is ServerError
    assert issubclass(ServerError, Transient) and issubclass(NetworkError, Transient)
    # Words are not read: a 400 naming a quota or a block is a plain refusal.
    for description in ("quota exceeded", "user blocked the bot", "hạn mức"):
        assert type(classify("sendMessage", 400, description)) is ZaloError
    assert type(classify("sendMessage", 404, "Not found")) is ZaloError


def test_a_group_gets_the_courtesy_for_its_first_message_only() -> None:
    channel = ZaloChannel(Settings(zalo_token=Secret("1:token")))
    first = channel.read({"ok": True, "result": event(message_id="a1", group="g-1")})
    again = channel.read(event(message_id="a1", group="g-1"))  # read back from the inbox
    later = channel.read(event(message_id="a2", date=1750316131700, group="g-1"))
    other = channel.read(event(message_id="b1", group="g-2"))
    assert first is not None and again is not None and later is not None and other is not None
    assert (first.chat_key, first.inbound, first.courtesy) == ("g-1", None, GROUP)
    assert again.courtesy == GROUP  # the same update, read twice, is told once all the same
    assert (later.inbound, later.courtesy) == (None, "")
    assert (other.chat_key, other.courtesy) == ("g-2", GROUP)
    private = channel.read(event())
    assert private is not None and private.inbound is not None and private.courtesy == ""
    for number in range(GROUPS_KEPT):  # a bounded memory: the oldest group is forgotten
        channel.read(event(message_id=f"c{number}", group=f"g-many-{number}"))
    forgotten = channel.read(event(message_id="a3", date=1750316131800, group="g-1"))
    assert forgotten is not None and forgotten.courtesy == GROUP


async def test_the_client_maps_refusals_to_typed_errors() -> None:
    async with FakeZaloApi() as api:
        ted = api.user("6ede9afa66b88fe6d6a9", "Ted")
        api.send_text(ted, "Xin chào")
        async with ZaloClient("1:wrong", api.base_url) as client:
            with pytest.raises(Unauthorized):
                await client.get_me()
        async with ZaloClient(api.token, api.base_url) as client:
            assert (await client.get_update(wait=0) or {})["message"]["text"] == "Xin chào"
            assert await client.get_update(wait=0) is None  # handed out once: nothing acks it
            api.fail_next("sendMessage")
            with pytest.raises(ServerError):
                await client.send_message(ted.id, "Câu 1")
            await client.send_message(ted.id, "Câu 1")  # Zalo's failure passed: it goes
            api.exhaust_quota()
            with pytest.raises(QuotaExceeded):
                await client.send_message(ted.id, "Câu 1")
    assert [m.text for m in api.messages_to(ted)] == ["Câu 1"]


async def test_the_fake_takes_a_photo_by_url_only_as_zalo_does() -> None:
    async with FakeZaloApi() as api:
        ted = api.user("6ede9afa66b88fe6d6a9", "Ted")
        api.send_text(ted, "Xin chào")
        async with ZaloClient(api.token, api.base_url) as client:
            for photo in ["\x89PNG", "chart.png", "file:///tmp/c.png", "https://", ""]:
                with pytest.raises(ZaloError) as refused:
                    await client.call("sendPhoto", {"chat_id": ted.id, "photo": photo})
                assert refused.value.code == 400
            url = "https://placehold.co/600x400"
            await client.call("sendPhoto", {"chat_id": ted.id, "photo": url, "caption": "Ảnh"})
        async with httpx.AsyncClient() as http:  # an upload, as multipart: refused too
            response = await http.post(
                f"{api.base_url}{api.token}/sendPhoto",
                data={"chat_id": ted.id},
                files={"photo": ("chart.png", b"\x89PNG", "image/png")},
            )
        assert response.status_code == 400
    assert [(m.photo, m.caption) for m in api.messages_to(ted)] == [(url, "Ảnh")]


async def test_a_server_error_is_tried_again_and_a_used_up_quota_is_not() -> None:
    async with FakeZaloApi() as api:
        ted = api.user("6ede9afa66b88fe6d6a9", "Ted")
        api.send_text(ted, "Xin chào")
        async with ZaloClient(api.token, api.base_url) as client:
            stopped = asyncio.Event()
            stopped.set()  # a set stop cuts the pauses between tries short
            sender = Sender(client, stopped)
            api.fail_next("sendMessage", 2)
            assert await sender.send(ted.id, Outbound([Reply(data("Câu 1"))])) == SHOWN
            api.fail_next("sendMessage", 3)
            assert await sender.send(ted.id, Outbound([Reply(data("Câu 2"))])) == AGAIN
            api.fail_next("sendMessage")
            assert await remind(client, ted.id, Reply(data("Nhắc việc"))) == Outcome("retry")
            api.exhaust_quota()
            assert await sender.send(ted.id, Outbound([Reply(data("Câu 3"))])) == UNDELIVERABLE
            assert await remind(client, ted.id, Reply(data("Nhắc việc"))) == Outcome(
                "wait", QUOTA_WAIT
            )
    assert [m.text for m in api.messages_to(ted)] == ["Câu 1"]
    statuses = [c.status for c in api.calls_to("sendMessage")]
    assert statuses == [403, 403, 200, 403, 403, 403, 403, 429, 429]

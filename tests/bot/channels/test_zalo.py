"""The Zalo edge on its own: reading events, inbox keys, typed keys, cutting long texts, and the
client's typed errors against the local fake Zalo Bot API."""

from __future__ import annotations

import pytest

from bot.channels.text import numbered
from bot.channels.zalo import adapter
from bot.channels.zalo.client import Blocked, QuotaExceeded, Unauthorized, ZaloClient
from bot.chat.messages import Attachment, Button, Outbound, Reply
from tests.support.fake_zalo import FakeZaloApi


def event(text: str = "Xin chào", message_id: str = "2d758cb5e222177a4e35", date: int = 0) -> dict:
    """An event as the docs' sample shows it."""
    return {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
            "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
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
    assert all(adapter.units(part) <= 500 for part in parts)
    assert "\n".join(parts).split("\n") == lines  # whole lines only, none lost
    words = " ".join(["từ"] * 400)  # one line without breaks: cut between words
    cut = adapter.split(words, limit=100)
    assert all(adapter.units(part) <= 100 and not part.endswith(" ") for part in cut)
    assert " ".join(cut) == words
    assert adapter.split("\n\n") == []  # Zalo refuses empty messages


def test_photos_go_up_with_their_caption_and_files_are_named_in_the_text() -> None:
    chart = Reply("Chart", attachment=Attachment("chart.png", b"\x89PNG", "photo"))
    sheet = Reply("Sheet", attachment=Attachment("xa.xlsx", b"PK", "document"))
    menu = Reply("Menu", ((Button("A", "m:a"),),))
    assert adapter.render(Outbound([chart, sheet, menu], notice="Saved")) == [
        adapter.Text("(Saved)"),
        adapter.Photo(b"\x89PNG", "chart.png", "Chart"),
        adapter.Text(f"Sheet\n📎 xa.xlsx\n\n{numbered(menu)}"),
    ]


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
            await client.send_photo(ted.id, b"\x89PNG", "chart.png", "Biểu đồ")
            assert api.messages_to(ted)[-1].photo == b"\x89PNG"
            api.exhaust_quota()
            with pytest.raises(QuotaExceeded):
                await client.send_message(ted.id, "Câu 1")
            api.restore_quota()
            api.block(ted)
            with pytest.raises(Blocked):
                await client.send_message(ted.id, "Câu 1")

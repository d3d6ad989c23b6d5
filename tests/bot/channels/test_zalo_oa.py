"""The Zalo Official Account edge on its own: reading webhook events (who, inbox keys, what
they did), rendering replies as numbered text with buttons whose payloads read back as the same
choice, cutting long texts, images and files, the webhook's signature and freshness checks, and
the PKCE values of the authorisation link."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.channels.text import numbered, units
from bot.channels.zalo_oa import adapter
from bot.channels.zalo_oa.api import OaClient, code_challenge, code_verifier
from bot.channels.zalo_oa.channel import ZaloOaChannel, signature
from bot.chat.messages import Actor, Attachment, Button, Outbound, Reply
from bot.config import Secret, Settings
from bot.rich import data, t
from bot.runtime.channel import Refused
from bot.services.tokens import TokenKeeper
from bot.storage.db import create_engine, make_sessionmaker

APP_ID, OA, USER = "1234567890123", "579745863508352884", "2512523625412515"
WEBHOOK_KEY = "oa-webhook-secret"
NOW_MS = 1_750_316_131_602  # the events' time, and the channel's clock
DAY_MS = 86_400_000


def event(text: str = "Xin chào", msg_id: str = "msg-1", stamp: int = NOW_MS) -> dict:
    """A ``user_send_text`` event as the docs' sample shows it."""
    return {
        "app_id": APP_ID,
        "event_name": "user_send_text",
        "timestamp": str(stamp),
        "sender": {"id": USER},
        "recipient": {"id": OA},
        "message": {"text": text, "msg_id": msg_id},
    }


def follow(name: str = "follow", who: str = USER, stamp: int = NOW_MS) -> dict:
    found = {"app_id": APP_ID, "event_name": name, "timestamp": str(stamp), "oa_id": OA}
    return {**found, "follower": {"id": who}}


def sent(name: str, msg_id: str = "msg-9") -> dict:
    attachments = [{"type": "image", "payload": {}}]
    return {
        **event(),
        "event_name": name,
        "message": {"msg_id": msg_id, "attachments": attachments},
    }


def tapped(payload: str) -> str | None:
    """The choice a person's tap on a button with this payload reads back as."""
    return adapter.inbound_of(event(payload), 1).choice


def test_who_an_event_is_from_and_its_stable_inbox_key() -> None:
    assert adapter.person_of(event()) == USER
    assert adapter.person_of(follow("unfollow")) == USER
    as_number = event()
    as_number["sender"] = {"id": 2512523625412515}
    assert adapter.person_of(as_number) == USER
    receipt = {"event_name": "user_seen_message", "sender": {"id": OA}, "recipient": {"id": USER}}
    for nobody in (receipt, {**event(), "event_name": "oa_send_text"}, {"event_name": "follow"}):
        assert adapter.person_of(nobody) is None
        assert adapter.update_id_of(nobody) is None

    key = adapter.update_id_of(event(msg_id="a"))
    assert key is not None and adapter.update_id_of(event(msg_id="a")) == key  # a redelivery
    assert adapter.update_id_of(event(msg_id="b")) != key
    later = adapter.update_id_of(event(msg_id="0", stamp=NOW_MS + 1))
    assert later is not None and later > key  # stored updates replay in order
    no_id = event()
    del no_id["message"]["msg_id"]
    assert adapter.update_id_of(no_id) is None
    # No message id: a follow is the person's at that moment.
    followed = adapter.update_id_of(follow())
    assert followed is not None and adapter.update_id_of(follow()) == followed
    others = [follow(stamp=NOW_MS + 1000), follow("unfollow"), follow(who="99")]
    assert len({followed, *(adapter.update_id_of(other) for other in others)}) == 4


def test_what_a_person_did_follow_unfollow_command_text_media_and_tap() -> None:
    start = adapter.inbound_of(follow(), 7)
    assert (start.command, start.keyed, start.update_id) == ("start", True, 7)
    assert start.actor == Actor("zalo-oa", USER, USER, "", None)  # starts in Vietnamese
    assert adapter.inbound_of(follow("unfollow"), 8).membership == "blocked"
    join = adapter.inbound_of(event("/JOIN  AB12CD "), 9)
    assert (join.command, join.argument) == ("join", "AB12CD")
    assert adapter.inbound_of(event("  Nhà tôi có 4 người "), 9).text == "Nhà tôi có 4 người"
    assert adapter.inbound_of(event("/"), 9).text == "/"
    assert adapter.inbound_of(sent("user_send_sticker"), 9).media == "sticker"
    assert adapter.inbound_of(sent("user_send_image"), 9).media == "photo"
    assert tapped("2. Không #c:no:vi:") == "c:no:vi:"
    assert tapped("2. Không") is None
    # A hashtag typed at the end of a comment is what was typed, not a tap.
    assert adapter.inbound_of(event("Nhà văn hoá mới #hoctap"), 9).text == (
        "Nhà văn hoá mới #hoctap"
    )
    group = {**event(), "event_name": "user_send_group_text"}  # a group chat: nobody's
    assert adapter.person_of(group) is None


def test_a_tapped_button_reads_back_as_its_choice_hostile_labels_shown_as_they_are() -> None:
    hostile = "<b>&amp; 🎉 Thôn #1"
    choices = (
        (Button("Có", "c:yes:vi:join.AB12CD"), Button("Không", "c:no:vi:")),
        (Button(hostile, "v:s:42"), Button("x" * 300, "a:1:2:" + "9" * 58)),
    )
    reply = Reply(t("<b>{q}</b>", q="<i>&amp; 😀</i>"), choices)
    message = adapter.render(Outbound([reply]))[0]
    assert isinstance(message, adapter.Message)
    assert message.text == numbered(reply)
    assert message.text.startswith("<i>&amp; 😀</i>\n  1. Có")  # Zalo shows plain text
    assert f"  3. {hostile}" in message.text
    titles = [title for title, _payload in message.buttons]
    assert titles[:3] == ["Có", "Không", hostile]
    assert len(titles[3]) <= 100 and titles[3].endswith("…")
    for (_title, payload), button in zip(message.buttons, reply.choices(), strict=True):
        assert len(payload) <= 1000 and payload.endswith(f" #{button.data}")
        assert tapped(payload) == button.data
    assert message.body()["attachment"]["payload"]["buttons"][2] == {
        "title": hostile,
        "type": "oa.query.show",
        "payload": f"3. {hostile} #v:s:42",
    }
    # A reply that asks for a number keys its choices a, b, …; a long label is cut to fit.
    typed = Reply(data("Bao nhiêu?"), ((Button("🎉" * 1500, "a:1:2:skip"),),), expects_text=True)
    [(title, payload)] = adapter.buttons_of(typed)
    assert payload.startswith("a. 🎉") and len(payload) <= 1000 and len(title) <= 100
    assert tapped(payload) == "a:1:2:skip"


def test_more_than_five_choices_are_all_numbered_and_the_first_five_are_buttons() -> None:
    reply = Reply(data("Chọn thôn"), tuple((Button(f"Thôn {n}", f"v:s:{n}"),) for n in range(7)))
    message = adapter.render(Outbound([reply]))[0]
    assert isinstance(message, adapter.Message)
    assert message.text == numbered(reply) and "  7. Thôn 6" in message.text
    assert [tapped(payload) for _title, payload in message.buttons] == [
        f"v:s:{n}" for n in range(5)
    ]  # Zalo shows at most five; the others are typed by their number


def test_a_long_text_is_cut_at_line_breaks_within_2000_units() -> None:
    text = "\n".join(f"{n:03} 🏠 hộ gia đình số {n} " + "x" * 40 for n in range(80))
    assert units(text) > 4000
    reply = Reply(data(text), ((Button("Tiếp", "m:next"),),))
    messages = adapter.render(Outbound([reply]))
    assert all(isinstance(m, adapter.Message) and units(m.text) <= 2000 for m in messages)
    texts = [m for m in messages if isinstance(m, adapter.Message)]
    last = next(n for n, m in enumerate(texts) if m.buttons)  # the buttons go under it
    assert last >= 2 and "\n".join(m.text for m in texts[: last + 1]) == numbered(reply)
    assert texts[last].buttons == (("Tiếp", "1. Tiếp #m:next"),)


CHART = Attachment("bieu-do.png", b"\x89PNG chart", "photo")


def test_nothing_follows_the_last_buttons_or_chart() -> None:
    question = Reply(data("Đồng ý?"), ((Button("Có", "c:yes:vi:"),),))
    assert adapter.render(Outbound([question])) == [
        adapter.Message("Đồng ý?\n  1. Có", (("Có", "1. Có #c:yes:vi:"),))
    ]
    assert adapter.render(Outbound([Reply(data("Biểu đồ"), attachment=CHART)])) == [
        adapter.Message("Biểu đồ"),
        adapter.Image(CHART.content, CHART.filename),
    ]


def test_a_chart_follows_its_caption_a_spreadsheet_is_named_a_notice_comes_first() -> None:
    sheet = Attachment("bao-cao-00070-2026.xlsx", b"PK sheet")
    out = Outbound(
        [Reply(data("Biểu đồ"), attachment=CHART), Reply(data("Bảng"), attachment=sheet)],
        notice=data("Không phải thôn của bạn <b>"),
    )
    messages = adapter.render(out)
    assert messages == [
        adapter.Message("(Không phải thôn của bạn <b>)\n\nBiểu đồ"),
        adapter.Image(b"\x89PNG chart", "bieu-do.png"),
        adapter.Message("Bảng\n📎 bao-cao-00070-2026.xlsx"),
    ]


# --------------------------------------------------------------------------- the webhook


@pytest.fixture
async def channel(sqlite_url: str) -> AsyncIterator[ZaloOaChannel]:
    """The channel as ``run`` builds it; its keeper and client are not called by the webhook
    (so one database, SQLite, is enough)."""
    settings = Settings(
        database_url=sqlite_url,
        zalo_oa_app_id=APP_ID,
        zalo_oa_secret_key=Secret("app-secret"),
        zalo_oa_webhook_key=Secret(WEBHOOK_KEY),
    )
    engine = create_engine(sqlite_url)
    now = dt.datetime.fromtimestamp(NOW_MS / 1000, dt.UTC)
    keeper = TokenKeeper(make_sessionmaker(engine), "zalo-oa", "app-secret", lambda: now)
    client = OaClient(APP_ID, "app-secret", "http://127.0.0.1:9", "http://127.0.0.1:9")
    channel = ZaloOaChannel(settings, keeper, client, wall_clock=lambda: NOW_MS / 1000)
    yield channel
    await channel.close()  # the name lookups an accepted event started, and the client
    await engine.dispose()


def signed(found: dict, key: str = WEBHOOK_KEY, app_id: str = APP_ID) -> tuple[dict, bytes]:
    body = json.dumps(found, ensure_ascii=False).encode()
    mac = signature(app_id, body, str(found.get("timestamp", "")), key)
    return {"X-ZEvent-Signature": f"mac={mac}"}, body


def refusal(channel: ZaloOaChannel, headers: dict, body: bytes) -> str:
    with pytest.raises(Refused) as refused:
        channel.webhook_updates(headers, body)
    return f"{refused.value.status} {refused.value}"


async def test_a_signed_fresh_event_passes(channel: ZaloOaChannel) -> None:
    expected = hashlib.sha256(b"app{}" + b"123" + b"key").hexdigest()  # lowercase hex
    assert signature("app", b"{}", "123", "key") == expected
    for found in (
        event(),
        follow(),
        event(stamp=NOW_MS - 7 * DAY_MS),
        event(stamp=NOW_MS + 300_000),
    ):
        headers, body = signed(found)
        assert channel.webhook_updates(headers, body) == [found]
    headers, body = signed(event())
    upper = headers["X-ZEvent-Signature"].removeprefix("mac=").upper()
    assert channel.webhook_updates({"X-ZEvent-Signature": f"mac={upper}"}, body) == [event()]


async def test_a_forged_stale_or_foreign_event_is_refused(channel: ZaloOaChannel) -> None:
    headers, body = signed(event())
    forged = "403 wrong signature"
    assert refusal(channel, {}, body) == forged
    assert refusal(channel, {"X-ZEvent-Signature": "mac="}, body) == forged
    assert refusal(channel, *signed(event(), key="another key")) == forged
    assert refusal(channel, headers, body.replace("Xin chào".encode(), b"Xin chao")) == forged
    foreign = {**event(), "app_id": "999"}
    assert refusal(channel, *signed(foreign, app_id="999")) == forged
    assert refusal(channel, *signed(foreign)) == "403 an event of another app"
    no_time = event()
    del no_time["timestamp"]
    for stale in (event(stamp=NOW_MS - 7 * DAY_MS - 1), event(stamp=NOW_MS + 300_001), no_time):
        assert refusal(channel, *signed(stale)) == "403 stale signature"
    assert refusal(channel, headers, b"not json {") == "400 not JSON"
    assert refusal(channel, headers, b"[1, 2]") == "400 not an event"


async def test_receipts_and_the_oas_own_messages_are_left(channel: ZaloOaChannel) -> None:
    seen = {**event(), "event_name": "user_seen_message", "sender": {"id": OA}}
    seen["recipient"], seen["message"] = {"id": USER}, {"msg_ids": ["msg-1"]}
    own = {**event(), "event_name": "oa_send_text", "sender": {"id": OA}}
    for found in (seen, own):
        assert channel.webhook_updates(*signed(found)) == []


# --------------------------------------------------------------------------- authorisation


async def test_the_authorisation_link_carries_a_pkce_challenge_of_its_verifier() -> None:
    verifier = code_verifier("app-secret")
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)
    assert verifier == code_verifier("app-secret") != code_verifier("another secret")
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert code_challenge(verifier) == challenge and "=" not in challenge
    client = OaClient(APP_ID, "app-secret", oauth_url="https://oauth.example/")
    try:
        link = urlsplit(client.permission_url("https://bot.example/zalo-oa?x=1", state="s&1"))
    finally:
        await client.aclose()
    assert (link.scheme, link.netloc, link.path) == ("https", "oauth.example", "/v4/oa/permission")
    assert parse_qs(link.query) == {
        "app_id": [APP_ID],
        "redirect_uri": ["https://bot.example/zalo-oa?x=1"],
        "code_challenge": [challenge],
        "state": ["s&1"],
    }

"""The fake Zalo OA refuses what the real one refuses: a fake that took anything would hide the
bugs a commune meets. Spoken to with plain HTTP, as the documentation describes the calls."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from .fake_zalo_oa import APP_ID, SECRET_KEY, FakeZaloOa, OaUser

VERIFIER = "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode()
CHALLENGE = CHALLENGE.rstrip("=")


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_748_400.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def oa(clock: Clock) -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa(clock=clock) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


async def token(
    http: httpx.AsyncClient, oa: FakeZaloOa, form: dict[str, str], secret: str = SECRET_KEY
) -> dict[str, object]:
    response = await http.post(
        f"{oa.url}/v4/oa/access_token",
        data={"app_id": APP_ID, **form},
        headers={"secret_key": secret},
    )
    assert response.status_code == 200  # refusals too: the error is in the body
    body: dict[str, object] = response.json()
    return body


async def send(
    http: httpx.AsyncClient, oa: FakeZaloOa, access: str, user: OaUser, message: object
) -> int:
    response = await http.post(
        f"{oa.url}/v3.0/oa/message/cs",
        json={"recipient": {"user_id": user.id}, "message": message},
        headers={"access_token": access},
    )
    assert response.status_code == 200
    code = response.json()["error"]
    assert isinstance(code, int)
    return code


async def test_a_code_is_spent_once_and_only_with_its_verifier(
    oa: FakeZaloOa, http: httpx.AsyncClient, clock: Clock
) -> None:
    link = f"https://oauth.zaloapp.com/v4/oa/permission?app_id={APP_ID}&code_challenge={CHALLENGE}"
    code = oa.grant(link)
    wrong = await token(http, oa, {"code": code, "grant_type": "authorization_code"}, "x")
    assert wrong["error"] == -14002  # the wrong secret key
    form = {"code": code, "grant_type": "authorization_code", "code_verifier": "w" * 43}
    assert (await token(http, oa, form))["error"] == -14019  # not the link's verifier; spent
    code = oa.grant(link)
    form = {"code": code, "grant_type": "authorization_code", "code_verifier": VERIFIER}
    pair = await token(http, oa, form)
    assert pair["expires_in"] == "90000" and pair["access_token"] and pair["refresh_token"]
    assert (await token(http, oa, form))["error"] == -14019  # a code is single-use
    clock.now += 601
    late = {**form, "code": oa.grant(link)}
    clock.now += 601
    assert (await token(http, oa, late))["error"] == -14019  # ten minutes, then gone


async def test_a_refresh_token_is_spent_once_and_replaces_the_access_token(
    oa: FakeZaloOa, http: httpx.AsyncClient
) -> None:
    user = oa.user("1234")
    user.last_interaction = oa.clock()
    access, refresh, _seconds = oa.issue_tokens()
    form = {"refresh_token": refresh, "grant_type": "refresh_token"}
    fresh = await token(http, oa, form)
    assert isinstance(fresh["access_token"], str)
    again = await token(http, oa, form)
    assert again == {
        "error": -14014,
        "error_name": "Invalid refresh token",
        "error_description": "Invalid refresh token",
    }
    assert oa.refreshes == 1
    assert await send(http, oa, access, user, {"text": "cũ"}) == -216  # replaced
    assert await send(http, oa, fresh["access_token"], user, {"text": "mới"}) == 0


async def test_messages_are_refused_as_documented(
    oa: FakeZaloOa, http: httpx.AsyncClient, clock: Clock
) -> None:
    user, stranger = oa.user("1"), oa.user("2", following=False)
    user.last_interaction = clock.now
    access, _refresh, seconds = oa.issue_tokens()
    button = {"title": "Có", "type": "oa.query.show", "payload": "1. Có #c:yes"}

    def with_buttons(*buttons: object) -> dict[str, object]:
        payload = {"buttons": list(buttons)}
        return {"text": "Hỏi", "attachment": {"type": "template", "payload": payload}}

    assert await send(http, oa, access, user, {"text": "x" * 2000}) == 0
    assert await send(http, oa, access, user, {"text": "😀" * 1001}) == -201  # UTF-16 units
    assert await send(http, oa, access, user, {"text": " "}) == -201
    assert await send(http, oa, access, user, with_buttons(*[button] * 5)) == 0
    assert await send(http, oa, access, user, with_buttons(*[button] * 6)) == -201
    assert await send(http, oa, access, user, with_buttons({**button, "title": "x" * 101})) == -201
    assert await send(http, oa, access, user, with_buttons({**button, "payload": ""})) == -201
    assert await send(http, oa, access, stranger, {"text": "Chào"}) == -213
    assert await send(http, oa, "not-a-token", user, {"text": "Chào"}) == -216
    clock.now += seconds
    assert await send(http, oa, access, user, {"text": "Chào"}) == -216  # 25 hours: expired
    clock.now += 6 * 86_400
    access, _refresh, _seconds = oa.issue_tokens()
    assert await send(http, oa, access, user, {"text": "Chào"}) == -230  # silent a week
    assert [m.text for m in oa.messages_to(user)] == ["x" * 2000, "Hỏi"]


async def test_the_monthly_quota_counts_every_message_and_resets_with_the_month(
    oa: FakeZaloOa, http: httpx.AsyncClient, clock: Clock
) -> None:
    user = oa.user("1")
    user.last_interaction = clock.now
    access, _refresh, _seconds = oa.issue_tokens()
    oa.quota = 2
    codes = [await send(http, oa, access, user, {"text": f"Tin {n}"}) for n in range(3)]
    assert codes == [0, 0, -211]
    clock.now += 5 * 86_400  # 1 December 2026 in Vietnam: a new month
    user.last_interaction = clock.now
    _new, _r, _s = oa.issue_tokens()
    assert await send(http, oa, _new, user, {"text": "Tin tháng mới"}) == 0


async def test_an_upload_takes_one_png_or_jpg_of_at_most_one_megabyte(
    oa: FakeZaloOa, http: httpx.AsyncClient
) -> None:
    access, _refresh, _seconds = oa.issue_tokens()

    async def upload(content: bytes) -> dict[str, object]:
        response = await http.post(
            f"{oa.url}/v2.0/oa/upload/image",
            files={"file": ("chart.png", content, "image/png")},
            headers={"access_token": access},
        )
        body: dict[str, object] = response.json()
        return body

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    done = await upload(png)
    assert done["error"] == 0 and isinstance(done["data"], dict)
    assert (await upload(b"GIF89a" + b"\0" * 10))["error"] == -201
    assert (await upload(png + b"\0" * 1_000_000))["error"] == -201

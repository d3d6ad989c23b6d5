"""A local fake of the Zalo Official Account Open API and its OAuth v4, for end-to-end tests, on
the server base of ``fake_http``.

Built from the documented shapes (developers.zalo.me: "Official Account API", "Webhook",
"Access token", and the error list ``phu-luc/ma-loi-post-735``; see
``../shared/design/PLATFORMS.md``), and as strict as the real service where it refuses:

- **OAuth** (``POST /v4/oa/access_token``, form-encoded, header ``secret_key``): an
  authorisation code is issued by ``grant`` for the ``code_challenge`` of the permission link,
  lives 10 minutes and is spent by its use; the answer's ``code_verifier`` must hash to that
  challenge (S256). A refresh token lives 90 days and is **single-use**: spending one again is
  refused, which is what a double refresh by two workers would meet. Each pair's access token
  lives 25 hours (``expires_in`` is sent as a string of seconds, as Zalo does), and is revoked
  when its refresh token is spent (Zalo does not document whether the old one survives; the
  fake takes the harder case). A refusal is HTTP 200 with ``{error: <negative>, error_name,
  error_description}``; the codes here (-14002 wrong secret key, -14014 invalid refresh
  token, -14019 invalid code, -14001 wrong app id) are inferred, not documented.
- **Messages** (``POST /v3.0/oa/message/cs``, header ``access_token``, JSON): text of 1 to
  2,000 characters, with at most 5 buttons of title 1 to 100 characters and, for
  ``oa.query.show``, a payload of 1 to 1,000 characters; or an image template carrying an
  ``attachment_id`` an upload gave. Every answer is HTTP 200 with ``{error, message, data}``:
  -216 a missing, expired or revoked access token; -213 the person does not follow the OA;
  -230 the person has not interacted (written, followed) in the last 7 days; -211 the month's
  quota (``quota``, per calendar month in Vietnam time, counting every message) is used up;
  -201 any malformed parameter.
- **Profiles** (``GET /v3.0/oa/user/detail?data={"user_id": …}``): the person's
  ``display_name``; -201 for someone the OA does not know.
- **Uploads** (``POST /v2.0/oa/upload/image``, multipart ``file``): png or jpg (by its bytes),
  at most 1 MB.
- **Webhook**: events as Zalo sends them (ids and timestamps as strings, the time in ms),
  signed ``X-ZEvent-Signature: mac=sha256(app_id + body + timestamp + OA secret key)`` and
  posted to ``webhook_urls`` in turn (one URL, or several workers behind one balancer), one at
  a time, in order; ``redeliver`` sends one again as Zalo's retries do.

The clock (``clock``, seconds) drives token expiry, the 7-day window, the quota's month and
event times, so a test moves it with the bot's. Refused calls are recorded with the error code
as their status, so ``unexpected_refusals`` sees them. ``OaChat`` lets a test read as one
person's chat. Must not import the bot, its services or the database: it fakes Zalo.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

import httpx
import tornado.httputil
import tornado.web

from .fake_http import ApiError, Call, FakeHttpServer, JsonDict, Route, read_params
from .fake_http import free_port as free_port  # tests take it from here

APP_ID = "2914612812345678901"
OA_ID = "579745863508352884"
SECRET_KEY = "Kq3cV1vT9xYzRb7LmN0p"  # the app's secret key (OAuth)
WEBHOOK_KEY = "Ws8dF2gH6jK4lP0oI9uY"  # the OA secret key of the webhook settings
SIGNATURE_HEADER = "X-ZEvent-Signature"
ACCESS_LIFETIME = 90_000  # seconds: 25 hours
REFRESH_LIFETIME = 90 * 86_400
CODE_LIFETIME = 600
WINDOW = 7 * 86_400  # seconds after a person's last interaction the OA may write to them
TEXT_LIMIT, MAX_BUTTONS, TITLE_LIMIT, PAYLOAD_LIMIT = 2000, 5, 100, 1000
IMAGE_LIMIT = 1_000_000
VIETNAM = dt.timezone(dt.timedelta(hours=7))
INVALID_PARAM, NOT_FOLLOWER, OUT_OF_QUOTA, EXPIRED_TOKEN, NO_INTERACTION = (
    -201,
    -213,
    -211,
    -216,
    -230,
)
BAD_APP, BAD_SECRET, BAD_REFRESH, BAD_CODE = -14001, -14002, -14014, -14019
BUTTON_TYPES = frozenset({"oa.query.show", "oa.query.hide", "oa.open.url", "oa.open.phone"})


class OaRefusal(Exception):
    """An error answer: a negative code and its words."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class OaCall(Call):
    """One request the bot made; ``status`` is 200 or the negative error code it got."""

    def __str__(self) -> str:
        shown = sorted(self.params)  # names only: tokens and texts stay out of a failure
        return f"{self.method}({', '.join(shown)}) -> {self.status} {self.description or ''}"


@dataclass
class OaUser:
    """A Zalo user as this OA knows them (their id is per OA)."""

    id: str
    display_name: str = "Test"
    following: bool = False
    last_interaction: float | None = None  # clock seconds


@dataclass(frozen=True)
class OaMessage:
    """A message the OA sent: text with buttons (title, type, payload), or an image."""

    user_id: str
    message_id: str
    text: str = ""
    buttons: tuple[tuple[str, str, str], ...] = ()
    image: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Delivery:
    """One POST of an event to a webhook; status 0 means no HTTP answer."""

    event_id: str
    url: str
    status: int


class _Handler(tornado.web.RequestHandler):
    def initialize(self, api: FakeZaloOa, method: str) -> None:
        self.api, self.method = api, method

    async def get(self) -> None:
        await self.post()

    async def post(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.api.track(task)
        status, body = await self.api.serve(self.method, self.request)
        self.set_status(status)
        if isinstance(body, str):  # a glitch: not Zalo's JSON at all
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(body)
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))


class FakeZaloOa(FakeHttpServer[OaCall]):
    """The fake OA API and OAuth on 127.0.0.1 (one server: set both URLs to ``url``)."""

    shown_calls = 12

    def __init__(
        self,
        *,
        app_id: str = APP_ID,
        secret_key: str = SECRET_KEY,
        webhook_key: str = WEBHOOK_KEY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(OaCall, clock=clock)
        self.clock = clock
        self.app_id, self.secret_key, self.webhook_key = app_id, secret_key, webhook_key
        self.users: dict[str, OaUser] = {}
        self.sent: list[OaMessage] = []
        self.webhook_urls: list[str] = []
        self.deliveries: list[Delivery] = []
        self.events: dict[str, tuple[JsonDict, float]] = {}  # id -> (event, sent at)
        self.quota: int | None = None  # messages per month; None: unlimited
        self.used: dict[str, int] = {}  # "YYYY-MM" -> messages sent
        self.refresh_delay = 0.0  # seconds a refresh takes (widens a race)
        self.refuse_buttons = False  # refuse every message with buttons (-201), as an OA might
        self.refreshes = 0  # refresh tokens spent
        self.lookups = 0  # profiles asked for
        # The next OAuth answers as (HTTP status, raw page): a proxy's error page, a 429.
        self.oauth_glitches: list[tuple[int, str]] = []
        self.expires_in: str | None = "90000"  # as Zalo sends it (None: left out)
        self.server_errors = 0  # the next messages answered 503 (Zalo's side failing)
        self._passing = 0  # messages that go through before those 503s (``fail_after``)
        self._codes: dict[str, tuple[str, float]] = {}  # code -> (challenge, expiry)
        self._access: dict[str, float] = {}  # access token -> expiry
        self._refresh: dict[str, tuple[float, str]] = {}  # refresh -> (expiry, its access)
        self._spent: set[str] = set()
        self._uploads: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._push_lock = asyncio.Lock()

    def routes(self) -> list[Route]:
        return [
            (r"/v4/oa/access_token", _Handler, {"api": self, "method": "access_token"}),
            (r"/v3\.0/oa/message/cs", _Handler, {"api": self, "method": "message/cs"}),
            (r"/v2\.0/oa/upload/image", _Handler, {"api": self, "method": "upload/image"}),
            (r"/v3\.0/oa/user/detail", _Handler, {"api": self, "method": "user/detail"}),
        ]

    # ----------------------------------------------------------------- the administrator

    def grant(self, permission_url: str) -> str:
        """The OA's administrator opens the permission link and agrees: return the code the
        callback URL receives."""
        query = httpx.URL(permission_url).params
        if query.get("app_id") != self.app_id or not query.get("code_challenge"):
            raise AssertionError(f"not a permission link of this app: {permission_url}")
        code = secrets.token_urlsafe(24)
        self._codes[code] = (str(query["code_challenge"]), self.clock() + CODE_LIFETIME)
        return code

    def issue_tokens(self) -> tuple[str, str, int]:
        """A valid pair, as an earlier authorisation gave: (access, refresh, seconds left)."""
        access, refresh = self._pair()
        return access, refresh, ACCESS_LIFETIME

    def expire_access_tokens(self) -> None:
        """Every access token stops working now (Zalo may end one early)."""
        self._access.clear()

    def kill_refresh_tokens(self) -> None:
        """Every refresh token is refused from now on (the app's secret key was changed)."""
        self._spent.update(self._refresh)

    def fail_after(self, passing: int, failing: int) -> None:
        """Let `passing` messages through, then answer the next `failing` with 503."""
        self._passing, self.server_errors = passing, failing

    def _pair(self) -> tuple[str, str]:
        access, refresh = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
        now = self.clock()
        self._access[access] = now + ACCESS_LIFETIME
        self._refresh[refresh] = (now + REFRESH_LIFETIME, access)
        return access, refresh

    # ----------------------------------------------------------------- people

    def user(self, user_id: str, display_name: str = "Test", *, following: bool = True) -> OaUser:
        """A person who follows the OA (``following=False``: who never followed)."""
        found = self.users.setdefault(user_id, OaUser(user_id, display_name))
        found.following = following
        return found

    def follow(self, user: OaUser, *, deliver: bool = True) -> str:
        user.following, user.last_interaction = True, self.clock()
        return self._event(user, "follow", {}, deliver)

    def unfollow(self, user: OaUser, *, deliver: bool = True) -> str:
        user.following = False
        return self._event(user, "unfollow", {}, deliver)

    def send_text(self, user: OaUser, text: str, *, deliver: bool = True) -> str:
        """A text from `user`; return the event's id (its msg_id)."""
        user.last_interaction = self.clock()
        return self._event(user, "user_send_text", {"text": text}, deliver)

    def tap(self, user: OaUser, message: OaMessage, title: str) -> str:
        """`user` taps the button `title` under `message`: an ``oa.query.show`` button sends
        its payload as the person's own text."""
        for name, kind, payload in message.buttons:
            if name == title:
                assert kind == "oa.query.show", kind
                return self.send_text(user, payload)
        raise AssertionError(f"no button {title!r} in {[b[0] for b in message.buttons]}")

    def send_sticker(self, user: OaUser) -> str:
        user.last_interaction = self.clock()
        attachment = {"type": "sticker", "payload": {"id": "6969", "url": "https://zalo.me/s"}}
        return self._event(user, "user_send_sticker", {"attachments": [attachment]}, True)

    def _event(self, user: OaUser, name: str, message: JsonDict, deliver: bool) -> str:
        moment = int(self.clock() * 1000) + next(self._ids)  # ms, distinct and growing
        ident = secrets.token_hex(16)
        event: JsonDict = {"app_id": self.app_id, "event_name": name, "timestamp": str(moment)}
        if name in ("follow", "unfollow"):
            event |= {
                "oa_id": OA_ID,
                "follower": {"id": user.id},
                "user_id_by_app": f"9{user.id[1:]}",
                "source": "oa_profile",
            }
        else:
            event |= {
                "sender": {"id": user.id},
                "recipient": {"id": OA_ID},
                "user_id_by_app": f"9{user.id[1:]}",
                "message": {"msg_id": ident, **message},
            }
        self.events[ident] = (event, self.clock())
        if deliver:
            self.track(asyncio.ensure_future(self.push(ident)))
        return ident

    def receipt(self, user: OaUser, message: OaMessage) -> str:
        """The person's app says it showed the OA's message (nobody answers it)."""
        moment = str(int(self.clock() * 1000) + next(self._ids))
        ident = secrets.token_hex(16)
        self.events[ident] = (
            {
                "app_id": self.app_id,
                "event_name": "user_seen_message",
                "timestamp": moment,
                "sender": {"id": OA_ID},
                "recipient": {"id": user.id},
                "message": {"msg_ids": [message.message_id]},
            },
            self.clock(),
        )
        self.track(asyncio.ensure_future(self.push(ident)))
        return ident

    # ----------------------------------------------------------------- webhook pushes

    async def push(
        self,
        ident: str,
        *,
        mac: str | EllipsisType | None = ...,
        body: bytes | None = None,
        to: int | None = None,
    ) -> int:
        """POST one event to the next webhook URL (or to ``webhook_urls[to]``); ``mac`` and
        ``body`` replace the signature and the body (a forgery); return the HTTP status."""
        async with self._push_lock:
            if not self.webhook_urls or self._http is None:
                raise RuntimeError("no webhook URL is set")
            event, _at = self.events[ident]
            raw = json.dumps(event, ensure_ascii=False).encode() if body is None else body
            if mac is ...:
                mac = signature(self.app_id, raw, str(event["timestamp"]), self.webhook_key)
            headers = {"Content-Type": "application/json"}
            if mac is not None:
                headers[SIGNATURE_HEADER] = f"mac={mac}"
            index = next(self._turn) if to is None else to
            url = self.webhook_urls[index % len(self.webhook_urls)]
            try:
                response = await self._http.post(url, content=raw, headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            self.deliveries.append(Delivery(ident, url, status))
            self._notify()
            return status

    def redeliver(self, ident: str) -> None:
        """Send an event again, as Zalo retries one it thinks was not received."""
        self.track(asyncio.ensure_future(self.push(ident)))

    def delivered(self) -> bool:
        """Every event was pushed and answered."""
        return not self._push_lock.locked() and all(
            any(d.event_id == ident for d in self.deliveries) for ident in self.events
        )

    # ----------------------------------------------------------------- observing

    def messages_to(self, user: OaUser) -> list[OaMessage]:
        return [m for m in self.sent if m.user_id == user.id]

    def month(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), VIETNAM).strftime("%Y-%m")

    # ----------------------------------------------------------------- serving

    async def serve(
        self, method: str, request: tornado.httputil.HTTPServerRequest
    ) -> tuple[int, JsonDict | str]:
        try:
            params = read_params(request)
        except ApiError:
            params = {"unreadable": True}
        call = self.record(method, params)
        if method == "message/cs" and self._passing:
            self._passing -= 1
        elif method == "message/cs" and self.server_errors:
            self.server_errors -= 1
            call.status, call.description, call.declared = 503, "Service Unavailable", True
            self._notify()
            return 503, "<html>503 Service Unavailable</html>"
        if method == "access_token" and self.oauth_glitches:
            status, page = self.oauth_glitches.pop(0)
            call.status, call.description, call.declared = status, "a glitch", True
            self._notify()
            return status, page
        try:
            if "unreadable" in params:
                raise OaRefusal(INVALID_PARAM, "Body is not valid JSON")
            if method == "access_token":
                if self.refresh_delay and params.get("grant_type") == "refresh_token":
                    await asyncio.sleep(self.refresh_delay)
                body: JsonDict = self._token(request, params)
            else:
                self._check_access(request.headers.get("access_token", ""))
                if method == "message/cs":
                    data = self._message(request, params)
                elif method == "user/detail":
                    data = self._detail(request, params)
                else:
                    data = self._upload(request)
                body = {"data": data, "error": 0, "message": "Success"}
        except OaRefusal as refusal:
            call.status, call.description = refusal.code, refusal.message
            self._notify()
            if method == "access_token":
                return 200, {
                    "error": refusal.code,
                    "error_name": refusal.message,
                    "error_description": refusal.message,
                }
            return 200, {"error": refusal.code, "message": refusal.message}
        call.status, call.result = 200, body
        self._notify()
        return 200, body

    def _token(self, request: tornado.httputil.HTTPServerRequest, form: JsonDict) -> JsonDict:
        if not request.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            raise OaRefusal(BAD_CODE, "The request must be form-encoded")
        if request.headers.get("secret_key") != self.secret_key:
            raise OaRefusal(BAD_SECRET, "Invalid secret key")
        if form.get("app_id") != self.app_id:
            raise OaRefusal(BAD_APP, "Invalid app id")
        now, grant = self.clock(), form.get("grant_type")
        if grant == "authorization_code":
            code = str(form.get("code") or "")
            challenge, expiry = self._codes.pop(code, ("", 0.0))
            verifier = str(form.get("code_verifier") or "")
            if not challenge or expiry < now or _s256(verifier) != challenge:
                raise OaRefusal(BAD_CODE, "Invalid authorization code")
        elif grant == "refresh_token":
            token = str(form.get("refresh_token") or "")
            expiry, access = self._refresh.get(token, (0.0, ""))
            if token in self._spent or expiry < now:
                raise OaRefusal(BAD_REFRESH, "Invalid refresh token")
            self._spent.add(token)
            self._access.pop(access, None)
            self.refreshes += 1
        else:
            raise OaRefusal(BAD_CODE, "Invalid grant type")
        access, refresh = self._pair()
        answer: JsonDict = {"access_token": access, "refresh_token": refresh}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return answer

    def _check_access(self, token: str) -> None:
        if self._access.get(token, 0.0) <= self.clock():
            raise OaRefusal(EXPIRED_TOKEN, "Access token is invalid")

    def _message(self, request: tornado.httputil.HTTPServerRequest, params: JsonDict) -> JsonDict:
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            raise OaRefusal(INVALID_PARAM, "Body must be JSON")
        recipient, message = params.get("recipient"), params.get("message")
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        user = self.users.get(str(user_id))
        if user is None or not isinstance(message, dict):
            raise OaRefusal(INVALID_PARAM, "user_id or message is invalid")
        sent = self._content(user.id, message)  # malformed is refused before anything else
        if not user.following:
            raise OaRefusal(NOT_FOLLOWER, "User has not followed OA")
        last = user.last_interaction
        if last is None or self.clock() - last > WINDOW:
            raise OaRefusal(NO_INTERACTION, "User has not interacted with the OA in 7 days")
        month = self.month()
        if self.quota is not None and self.used.get(month, 0) >= self.quota:
            raise OaRefusal(OUT_OF_QUOTA, "Out of quota")
        self.used[month] = self.used.get(month, 0) + 1
        self.sent.append(sent)
        return {
            "message_id": sent.message_id,
            "user_id": user.id,
            "sent_time": str(int(self.clock() * 1000)),
        }

    def _content(self, user_id: str, message: JsonDict) -> OaMessage:
        ident = secrets.token_hex(16)
        attachment = message.get("attachment")
        text = message.get("text")
        if attachment is None:
            return OaMessage(user_id, ident, _text(text))
        if not isinstance(attachment, dict) or attachment.get("type") != "template":
            raise OaRefusal(INVALID_PARAM, "attachment is invalid")
        payload = attachment.get("payload")
        if not isinstance(payload, dict):
            raise OaRefusal(INVALID_PARAM, "attachment.payload is invalid")
        if payload.get("template_type") == "media":
            elements = payload.get("elements")
            if not isinstance(elements, list) or len(elements) != 1:
                raise OaRefusal(INVALID_PARAM, "elements is invalid")
            [element] = elements
            image = self._uploads.get(str(element.get("attachment_id")))
            if element.get("media_type") != "image" or image is None:
                raise OaRefusal(INVALID_PARAM, "attachment_id is invalid")
            return OaMessage(user_id, ident, "" if text is None else _text(text), image=image)
        buttons = payload.get("buttons")
        if self.refuse_buttons:
            raise OaRefusal(INVALID_PARAM, "template is not supported")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            raise OaRefusal(INVALID_PARAM, f"buttons: 1 to {MAX_BUTTONS}")
        return OaMessage(user_id, ident, _text(text), tuple(_button(b) for b in buttons))

    def _detail(self, request: tornado.httputil.HTTPServerRequest, params: JsonDict) -> JsonDict:
        if request.method != "GET":
            raise OaRefusal(INVALID_PARAM, "user/detail is a GET")
        try:
            asked = json.loads(str(params.get("data") or ""))
        except ValueError:
            raise OaRefusal(INVALID_PARAM, "data must be JSON") from None
        user = self.users.get(str(asked.get("user_id") if isinstance(asked, dict) else ""))
        if user is None:
            raise OaRefusal(INVALID_PARAM, "user_id is invalid")
        self.lookups += 1
        return {
            "user_id": user.id,
            "display_name": user.display_name,
            "user_is_follower": user.following,
            "avatar": "https://s120-ava-talk.zadn.vn/a/b/c.jpg",
        }

    def _upload(self, request: tornado.httputil.HTTPServerRequest) -> JsonDict:
        files = request.files.get("file")
        if not files:
            raise OaRefusal(INVALID_PARAM, "file is missing")
        content = files[0].body
        if not content.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            raise OaRefusal(INVALID_PARAM, "only jpg and png images")
        if len(content) > IMAGE_LIMIT:
            raise OaRefusal(INVALID_PARAM, "the image is over 1 MB")
        ident = secrets.token_hex(12)
        self._uploads[ident] = content
        return {"attachment_id": ident}


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or units(value) > TEXT_LIMIT:
        raise OaRefusal(INVALID_PARAM, f"text must have 1 to {TEXT_LIMIT} characters")
    return value


def units(text: str) -> int:
    """Length as Zalo's JavaScript counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _button(value: Any) -> tuple[str, str, str]:
    if not isinstance(value, dict):
        raise OaRefusal(INVALID_PARAM, "button is invalid")
    title, kind, payload = value.get("title"), value.get("type"), value.get("payload")
    if not isinstance(title, str) or not 1 <= units(title) <= TITLE_LIMIT:
        raise OaRefusal(INVALID_PARAM, f"button title: 1 to {TITLE_LIMIT} characters")
    if kind not in BUTTON_TYPES:
        raise OaRefusal(INVALID_PARAM, "button type is invalid")
    if kind == "oa.query.show" and (
        not isinstance(payload, str) or not 1 <= units(payload) <= PAYLOAD_LIMIT
    ):
        raise OaRefusal(INVALID_PARAM, f"button payload: 1 to {PAYLOAD_LIMIT} characters")
    return title, str(kind), str(payload)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signature(app_id: str, body: bytes, timestamp: str, key: str) -> str:
    """What Zalo puts after ``mac=``: sha256 of app id, raw body, timestamp and OA secret key."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + key.encode()).hexdigest()


@dataclass
class OaChat:
    """One person's chat with the OA: ``await chat.send("1")`` returns the OA's answer texts.

    ``send`` and ``tap`` wait until `messages` (default 1) new messages reached this person;
    ``last()`` is the latest message itself (its buttons, its image)."""

    api: FakeZaloOa
    user: OaUser
    sent_ids: list[str] = field(default_factory=list)

    async def send(self, text: str, messages: int = 1) -> list[str]:
        mark = len(self.api.messages_to(self.user))
        self.sent_ids.append(self.api.send_text(self.user, text))
        return await self._answers(mark, messages, repr(text))

    async def tap(self, title: str, messages: int = 1) -> list[str]:
        """Tap the button `title` under the latest message that has buttons."""
        shown = [m for m in self.api.messages_to(self.user) if m.buttons]
        assert shown, "no message with buttons"
        mark = len(self.api.messages_to(self.user))
        self.sent_ids.append(self.api.tap(self.user, shown[-1], title))
        return await self._answers(mark, messages, f"a tap on {title!r}")

    async def follow(self, messages: int = 1) -> list[str]:
        mark = len(self.api.messages_to(self.user))
        self.sent_ids.append(self.api.follow(self.user))
        return await self._answers(mark, messages, "a follow")

    async def _answers(self, mark: int, messages: int, what: str) -> list[str]:
        await self.api.wait_until(
            lambda: len(self.api.messages_to(self.user)) >= mark + messages,
            describe=f"{messages} answer(s) to {what}",
        )
        return [m.text for m in self.api.messages_to(self.user)[mark:]]

    def last(self) -> OaMessage:
        return self.api.messages_to(self.user)[-1]

    def titles(self) -> list[str]:
        """The button titles under the latest message."""
        return [title for title, _kind, _payload in self.last().buttons]

    def transcript(self) -> list[str]:
        return [m.text for m in self.api.messages_to(self.user)]

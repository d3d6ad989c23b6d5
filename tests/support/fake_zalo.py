"""A local fake of the Zalo Bot API for end-to-end tests, on the server base of ``fake_http``.

Owns: answering ``/bot<token>/<method>`` for the methods the bot calls (getMe, getUpdates,
setWebhook, deleteWebhook, getWebhookInfo, sendMessage, sendPhoto, sendChatAction) as the docs
(bot.zaloplatforms.com/docs) describe them: one event per getUpdates, no offset (an event
handed out is gone), error 408 when none came in time, getUpdates refused while a webhook is
set; sendPhoto taking an image URL and refusing anything else (400: nothing is uploaded);
webhook pushes of ``{"ok": true, "result": event}`` with the ``X-Bot-Api-Secret-Token`` header,
made by itself as events arrive, as Zalo does; private chats and group chats (``chat_type``
GROUP, the group's own chat id; in a group the bot hears only messages that mention it or reply
to it, which is what ``send_group_text`` stands for); every chat's messages; and injected
faults with the documented codes: 403 "internal server error" (``fail_next``) and 429 "quota
exceeded" (``exhaust_quota``). The docs give no code for a person who blocked the bot, so the
fake has no such fault. Listening, recorded calls and ``wait_until`` come from ``fake_http``.
``ZaloChat`` lets a test read as a person's session. Must not import the bot, its services or the
database: it fakes Zalo.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import secrets
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

import httpx
import tornado.httputil

from .fake_http import (
    ApiError,
    ApiHandler,
    Call,
    FakeHttpServer,
    JsonDict,
    Route,
    read_params,
)
from .fake_http import free_port as free_port  # tests take it from here

TEXT_LIMIT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
QUOTA_REFUSAL = "Quota exceeded"  # the docs' words for 429
SERVER_ERROR = "Internal server error"  # the docs' words for 403


class _Injected(ApiError):
    """A refusal the test asked for (``fail_next``)."""


@dataclass(frozen=True)
class ZaloUser:
    """A Zalo user in a private chat with the bot (the chat id is the user id)."""

    id: str
    display_name: str = "Test"


@dataclass(frozen=True)
class ZaloGroup:
    """A group chat the bot was added to (its chat id is its own, no person's)."""

    id: str


class ZaloCall(Call):
    """One API request the bot made, with how it was answered."""

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return str(value) if value is not None else None

    def __str__(self) -> str:
        shown = {k: _shown(k, v) for k, v in self.params.items()}
        return f"{self.method}({shown}) -> {self.status} {self.description or ''}".rstrip()


def _shown(name: str, value: Any) -> Any:
    if name in ("text", "caption"):
        return f"<{len(str(value))} chars>"
    return f"<{len(value)} bytes>" if isinstance(value, bytes) else value


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent to a chat (``photo``: the image's URL)."""

    chat_id: str
    message_id: str
    text: str | None = None
    photo: str | None = None
    caption: str | None = None

    @property
    def content(self) -> str:
        return self.text if self.text is not None else self.caption or ""


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an event to the webhook; status 0 means no HTTP answer."""

    message_id: str
    status: int
    secret: str | None


def units(text: str) -> int:
    """Length as JavaScript counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


class FakeZaloApi(FakeHttpServer[ZaloCall]):
    """A fake Zalo Bot API server on 127.0.0.1, run inside the test's event loop."""

    shown_calls = 12

    def __init__(
        self, token: str = "1234567890:fake-zalo-token", *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(ZaloCall, clock=clock)
        self.token = token
        self.events: dict[str, JsonDict] = {}  # message id -> the event as sent
        self.sent: list[SentMessage] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.deliveries: list[WebhookDelivery] = []
        self.quota: int | None = None  # sends left this month; None: unlimited
        self._queue: deque[str] = deque()  # message ids waiting for getUpdates
        self._handed: list[str] = []  # message ids getUpdates handed out (repeats included)
        self._undelivered: list[str] = []  # webhook pushes not answered 200
        self._failures: dict[str, int] = {}  # method -> calls still to fail with a 403
        self._ids = itertools.count(1)
        self._push_lock = asyncio.Lock()
        self._handlers: dict[str, Callable[[JsonDict], Any]] = {
            "getMe": self._get_me,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
        }

    def routes(self) -> list[Route]:
        return [(r"/bot([^/]+)/([^/]+)", ApiHandler, {"api": self})]

    def parse_request(self, request: tornado.httputil.HTTPServerRequest) -> JsonDict:
        """Read query, form, multipart (files as bytes, which no method takes) or JSON
        parameters."""
        params = read_params(request)
        for name, parts in request.files.items():
            params[name] = parts[-1].body
        return params

    @property
    def base_url(self) -> str:
        """The value for ``HOCTAP_ZALO_BASE_URL`` (the token follows it)."""
        return f"{self.url}/bot"

    # ----------------------------------------------------------------- people write

    def user(self, user_id: str, display_name: str = "Test") -> ZaloUser:
        return ZaloUser(user_id, display_name)

    def group(self, group_id: str) -> ZaloGroup:
        return ZaloGroup(group_id)

    def send_text(self, user: ZaloUser, text: str, *, deliver: bool = True) -> str:
        """A text message from `user` (with ``deliver=False`` only written, for ``push``);
        return its message id."""
        return self._arrive(user, "message.text.received", {"text": text}, deliver)

    def send_sticker(self, user: ZaloUser) -> str:
        return self._arrive(user, "message.sticker.received", {"sticker": "0e078a2fb66a5f34"})

    def send_group_text(self, group: ZaloGroup, user: ZaloUser, text: str) -> str:
        """A text from `user` in `group` that mentions the bot (or replies to it: the only
        group messages a bot hears); return its message id."""
        return self._arrive(user, "message.text.received", {"text": text}, group=group)

    def _arrive(
        self,
        user: ZaloUser,
        event_name: str,
        content: JsonDict,
        deliver: bool = True,
        group: ZaloGroup | None = None,
    ) -> str:
        message_id = secrets.token_hex(10)  # Zalo's ids are 20 hex digits
        chat = (
            {"id": user.id, "chat_type": "PRIVATE"}
            if group is None
            else {"id": group.id, "chat_type": "GROUP"}
        )
        message = {
            "from": {"id": user.id, "display_name": user.display_name, "is_bot": False},
            "chat": chat,
            "message_id": message_id,
            "date": int(self._clock() * 1000) + next(self._ids),  # ms, distinct and growing
            **content,
        }
        self.events[message_id] = {"event_name": event_name, "message": message}
        if deliver:
            self._deliver(message_id)
        return message_id

    def redeliver(self, message_id: str) -> None:
        """Send a known event again, as a platform retrying a delivery does."""
        self._deliver(message_id)

    def _deliver(self, message_id: str) -> None:
        if self.webhook_url is not None:
            self.track(asyncio.ensure_future(self.push(message_id)))
        else:
            self._queue.append(message_id)
        self._notify()

    # ----------------------------------------------------------------- faults

    def exhaust_quota(self) -> None:
        """Refuse every send from now on with 429 "quota exceeded", as a reached API usage
        limit does."""
        self.quota = 0

    def restore_quota(self, sends: int | None = None) -> None:
        """The limit resets: `sends` messages allowed (None: no limit)."""
        self.quota = sends

    def fail_next(self, method: str, n: int = 1) -> None:
        """Answer the next `n` calls of `method` with 403 "internal server error" (Zalo's
        failure, not the call's). They count as declared refusals: the test asked for them."""
        self._failures[method] = self._failures.get(method, 0) + n

    # ----------------------------------------------------------------- webhook pushes

    async def push(self, message_id: str, *, secret: str | EllipsisType | None = ...) -> int:
        """POST one event to the webhook (in arrival order); return the HTTP status."""
        async with self._push_lock:
            if self.webhook_url is None or self._http is None:
                raise RuntimeError("no webhook is set")
            token = self.webhook_secret if secret is ... else secret
            headers = {"Content-Type": "application/json"}
            if token is not None:
                headers[SECRET_HEADER] = token
            body = {"ok": True, "result": self.events[message_id]}
            try:
                response = await self._http.post(
                    self.webhook_url, content=json.dumps(body), headers=headers
                )
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            self.deliveries.append(WebhookDelivery(message_id, status, token))
            if status != 200:
                self._undelivered.append(message_id)
            self._notify()
            return status

    # ----------------------------------------------------------------- observing

    def messages_to(self, chat: ZaloUser | ZaloGroup | str) -> list[SentMessage]:
        chat_id = chat if isinstance(chat, str) else chat.id
        return [m for m in self.sent if m.chat_id == chat_id]

    def is_refusal(self, call: Call) -> bool:
        """An error answer, other than getUpdates finding nothing (Zalo's 408)."""
        return call.refused and not (call.method == "getUpdates" and call.status == 408)

    def refused(self) -> list[ZaloCall]:
        """Calls answered with an error, other than getUpdates finding nothing (408)."""
        return self.refusals()

    def queued(self) -> list[str]:
        """Message ids no getUpdates has handed out yet."""
        return list(self._queue)

    def handed_out(self) -> list[str]:
        """Message ids in the order getUpdates handed them out, repeats included."""
        return list(self._handed)

    def polling_idle(self) -> bool:
        """Nothing queued, and the bot is waiting in getUpdates again."""
        polls = self.calls_to("getUpdates")
        return not self._queue and bool(polls) and polls[-1].status is None

    # ----------------------------------------------------------------- HTTP dispatch

    async def dispatch(
        self, token: str, method: str, params: JsonDict, is_closed: Callable[[], bool]
    ) -> tuple[int, JsonDict]:
        """Answer one request and record it."""
        call = self.record(method, params)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized: invalid bot token")
            if self._failures.get(method):
                self._failures[method] -= 1
                raise _Injected(403, SERVER_ERROR)
            if method == "getUpdates":
                result = await self._get_updates(params, is_closed)
            elif method in self._handlers:
                result = self._handlers[method](params)
            else:  # method names are case-sensitive
                raise ApiError(404, "Not Found: method not found")
        except ApiError as error:
            call.declared = isinstance(error, _Injected)
            return error.code, self.answered(call, error)
        return 200, self.answered(call, None, result)

    async def _get_updates(self, params: JsonDict, is_closed: Callable[[], bool]) -> JsonDict:
        if self.webhook_url is not None:
            raise ApiError(400, "Bad Request: getUpdates is disabled while a webhook is set")
        try:
            wait = float(params.get("timeout") or 30)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: timeout must be a number of seconds") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            if is_closed() or self._closing:
                raise ApiError(408, "Request timeout")
            if self._queue:
                message_id = self._queue.popleft()  # handed out: Zalo never sends it again
                self._handed.append(message_id)
                return copy.deepcopy(self.events[message_id])
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ApiError(408, "Request timeout")
            await self.changed(remaining)

    def _get_me(self, params: JsonDict) -> JsonDict:
        bot_id = self.token.split(":", 1)[0]
        return {
            "id": bot_id,
            "account_name": "bot.hoctap",
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    def _set_webhook(self, params: JsonDict) -> JsonDict:
        url, secret = str(params.get("url") or ""), params.get("secret_token")
        loopback = url.startswith("http://127.0.0.1:")
        if not (url.startswith("https://") or loopback):
            raise ApiError(400, "Bad Request: url must use HTTPS")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must have 8 to 256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        return {"url": url, "updated_at": int(self._clock() * 1000)}

    def _delete_webhook(self, params: JsonDict) -> JsonDict:
        self.webhook_url = self.webhook_secret = None
        return {"url": "", "updated_at": int(self._clock() * 1000)}

    def _get_webhook_info(self, params: JsonDict) -> JsonDict:
        return {"url": self.webhook_url or "", "updated_at": int(self._clock() * 1000)}

    def _check_send(self, params: JsonDict) -> str:
        chat_id = str(params.get("chat_id") or "")
        known = {str(event["message"]["chat"]["id"]) for event in self.events.values()}
        if chat_id not in known:
            raise ApiError(400, "Bad Request: chat not found")
        if self.quota is not None:
            if self.quota <= 0:
                raise ApiError(429, QUOTA_REFUSAL)
            self.quota -= 1
        return chat_id

    @staticmethod
    def _check_text(value: Any, name: str) -> str:
        if not isinstance(value, str) or not value.strip() or units(value) > TEXT_LIMIT:
            raise ApiError(400, f"Bad Request: {name} must have 1 to {TEXT_LIMIT} characters")
        return value

    def _send_message(self, params: JsonDict) -> JsonDict:
        text = self._check_text(params.get("text"), "text")
        chat_id = self._check_send(params)
        return self._record(SentMessage(chat_id, secrets.token_hex(10), text=text))

    def _send_photo(self, params: JsonDict) -> JsonDict:
        photo = params.get("photo")
        if not isinstance(photo, str) or not _is_web_url(photo):
            raise ApiError(400, "Bad Request: photo must be the URL of an image")
        caption = params.get("caption")
        if caption is not None:
            caption = self._check_text(caption, "caption")
        chat_id = self._check_send(params)
        message = SentMessage(chat_id, secrets.token_hex(10), photo=photo, caption=caption)
        return self._record(message)

    def _send_chat_action(self, params: JsonDict) -> bool:
        if params.get("action") not in ("typing", "upload_photo"):
            raise ApiError(400, "Bad Request: unknown action")
        return True

    def _record(self, message: SentMessage) -> JsonDict:
        self.sent.append(message)
        return {"message_id": message.message_id, "date": int(self._clock() * 1000)}


def _is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host: what sendPhoto's ``photo`` must be."""
    parts = urllib.parse.urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@dataclass
class ZaloChat:
    """One person's chat with the bot: ``await chat.send("1")`` returns the bot's answer.

    ``send`` waits until `messages` (default 1) new messages reached this chat, then returns
    their texts; a timeout fails with the last calls. ``transcript`` is everything the bot sent.
    """

    api: FakeZaloApi
    user: ZaloUser
    sent_ids: list[str] = field(default_factory=list)

    async def send(self, text: str, messages: int = 1) -> list[str]:
        mark = len(self.api.messages_to(self.user))
        self.sent_ids.append(self.api.send_text(self.user, text))
        return await self._answers(mark, messages, repr(text))

    async def send_sticker(self, messages: int = 1) -> list[str]:
        mark = len(self.api.messages_to(self.user))
        self.sent_ids.append(self.api.send_sticker(self.user))
        return await self._answers(mark, messages, "a sticker")

    async def _answers(self, mark: int, messages: int, what: str) -> list[str]:
        await self.api.wait_until(
            lambda: len(self.api.messages_to(self.user)) >= mark + messages,
            describe=f"{messages} answer(s) to {what}",
        )
        return [m.content for m in self.api.messages_to(self.user)[mark:]]

    def transcript(self) -> list[str]:
        return [m.content for m in self.api.messages_to(self.user)]

    def last(self) -> str:
        return self.transcript()[-1]

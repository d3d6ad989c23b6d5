"""A local fake of the Zalo Bot API for end-to-end tests.

Owns: an HTTP server on 127.0.0.1 answering ``/bot<token>/<method>`` for the methods the bot
calls (getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, sendMessage, sendPhoto,
sendChatAction); Zalo's update model as its docs describe it: one event per getUpdates, no
offset (an event handed out is gone), error 408 when none came in time, getUpdates refused
while a webhook is set; webhook pushes of ``{"ok": true, "result": event}`` with the
``X-Bot-Api-Secret-Token`` header, made by itself as events arrive, as Zalo does; recorded calls;
every chat's messages; and injected faults: the monthly message quota, a blocked user.
``ZaloChat`` lets a test read as a person's session. Must not import the bot, its services or the
database: it fakes Zalo.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import EllipsisType, TracebackType
from typing import Any, Self, TypeVar

import httpx
import tornado.httputil
import tornado.netutil
import tornado.web
from tornado.httpserver import HTTPServer

JsonDict = dict[str, Any]
_T = TypeVar("_T")
TEXT_LIMIT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
QUOTA_REFUSAL = "Quota exceeded: the bot has used its monthly message quota"


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": code, "description": …}``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description

    def payload(self) -> JsonDict:
        return {"ok": False, "error_code": self.code, "description": self.description}


@dataclass(frozen=True)
class ZaloUser:
    """A Zalo user in a private chat with the bot (the chat id is the user id)."""

    id: str
    display_name: str = "Test"


@dataclass
class Call:
    """One API request the bot made, with how it was answered."""

    method: str
    params: JsonDict
    at: float
    status: int | None = None
    description: str | None = None

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return str(value) if value is not None else None

    def __str__(self) -> str:
        shown = {
            k: (v if k != "text" else f"<{len(str(v))} chars>") for k, v in self.params.items()
        }
        return f"{self.method}({shown}) -> {self.status} {self.description or ''}".rstrip()


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent to a chat."""

    chat_id: str
    message_id: str
    text: str | None = None
    photo: bytes | None = None
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def units(text: str) -> int:
    """Length as JavaScript counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


class FakeZaloApi:
    """A fake Zalo Bot API server on 127.0.0.1, run inside the test's event loop."""

    def __init__(
        self, token: str = "1234567890:fake-zalo-token", *, clock: Callable[[], float] = time.time
    ) -> None:
        self.token = token
        self.port = 0
        self._clock = clock
        self.calls: list[Call] = []
        self.events: dict[str, JsonDict] = {}  # message id -> the event as sent
        self.sent: list[SentMessage] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.deliveries: list[WebhookDelivery] = []
        self.quota: int | None = None  # sends left this month; None: unlimited
        self._queue: deque[str] = deque()  # message ids waiting for getUpdates
        self._handed: list[str] = []  # message ids getUpdates handed out (repeats included)
        self._undelivered: list[str] = []  # webhook pushes not answered 200
        self._blocked: set[str] = set()
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._push_lock = asyncio.Lock()
        self._active: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._server: HTTPServer | None = None
        self._http: httpx.AsyncClient | None = None
        self._handlers: dict[str, Callable[[JsonDict], Any]] = {
            "getMe": self._get_me,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
        }

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._closing = False
        app = tornado.web.Application(
            [(r"/bot([^/]+)/([^/]+)", _ApiHandler, {"api": self})],
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.port = int(sockets[0].getsockname()[1])
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)
        # trust_env=False: a proxy from the environment must never see loopback test traffic.
        self._http = httpx.AsyncClient(trust_env=False, timeout=10.0)

    async def stop(self) -> None:
        """Answer pending polls, finish pushes in flight, close every connection."""
        self._closing = True
        self._notify()
        if self._active:
            await asyncio.wait(set(self._active), timeout=5)
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def base_url(self) -> str:
        """The value for ``HOCTAP_ZALO_BASE_URL`` (the token follows it)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ----------------------------------------------------------------- people write

    def user(self, user_id: str, display_name: str = "Test") -> ZaloUser:
        return ZaloUser(user_id, display_name)

    def send_text(self, user: ZaloUser, text: str, *, deliver: bool = True) -> str:
        """A text message from `user` (with ``deliver=False`` only written, for ``push``);
        return its message id."""
        return self._arrive(user, "message.text.received", {"text": text}, deliver)

    def send_sticker(self, user: ZaloUser) -> str:
        return self._arrive(user, "message.sticker.received", {"sticker": "0e078a2fb66a5f34"})

    def _arrive(
        self, user: ZaloUser, event_name: str, content: JsonDict, deliver: bool = True
    ) -> str:
        message_id = secrets.token_hex(10)  # Zalo's ids are 20 hex digits
        message = {
            "from": {"id": user.id, "display_name": user.display_name, "is_bot": False},
            "chat": {"id": user.id, "chat_type": "PRIVATE"},
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
            task = asyncio.ensure_future(self.push(message_id))
            self._active.add(task)
            task.add_done_callback(self._active.discard)
        else:
            self._queue.append(message_id)
        self._notify()

    # ----------------------------------------------------------------- faults

    def exhaust_quota(self) -> None:
        """Refuse every send from now on, as a used-up monthly quota does."""
        self.quota = 0

    def restore_quota(self, sends: int | None = None) -> None:
        """A new month: `sends` messages allowed (None: no limit)."""
        self.quota = sends

    def block(self, user: ZaloUser) -> None:
        self._blocked.add(user.id)

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

    def messages_to(self, user: ZaloUser | str) -> list[SentMessage]:
        chat_id = user.id if isinstance(user, ZaloUser) else user
        return [m for m in self.sent if m.chat_id == chat_id]

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def refused(self) -> list[Call]:
        """Calls answered with an error, other than getUpdates finding nothing (408)."""
        return [
            call
            for call in self.calls
            if call.status not in (None, 200)
            and not (call.method == "getUpdates" and call.status == 408)
        ]

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

    async def wait_until(
        self,
        condition: Callable[[], _T],
        timeout: float = 10.0,  # noqa: ASYNC109 (expiry becomes an AssertionError)
        *,
        describe: str = "",
    ) -> _T:
        """Wait until `condition()` is truthy (re-checked whenever the fake's state changes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n".join(f"  {call}" for call in self.calls[-12:]) or "  (none)"
                what = describe or getattr(condition, "__qualname__", "condition")
                raise AssertionError(f"{what} not met within {timeout}s; last calls:\n{recent}")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ----------------------------------------------------------------- HTTP dispatch

    async def dispatch(
        self, token: str, method: str, params: JsonDict, is_closed: Callable[[], bool]
    ) -> tuple[int, JsonDict]:
        """Answer one request and record it."""
        call = Call(method, params, self._clock())
        self.calls.append(call)
        self._notify()
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized: invalid bot token")
            if method == "getUpdates":
                result = await self._get_updates(params, is_closed)
            elif method in self._handlers:
                result = self._handlers[method](params)
            else:  # method names are case-sensitive
                raise ApiError(404, "Not Found: method not found")
        except ApiError as error:
            call.status, call.description = error.code, error.description
            self._notify()
            return error.code, error.payload()
        call.status = 200
        self._notify()
        return 200, {"ok": True, "result": result}

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
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

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
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: the user has blocked the bot")
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
        if not isinstance(photo, bytes | str) or not photo:
            raise ApiError(400, "Bad Request: photo is required")
        caption = params.get("caption")
        if caption is not None:
            caption = self._check_text(caption, "caption")
        chat_id = self._check_send(params)
        content = photo if isinstance(photo, bytes) else photo.encode()
        message = SentMessage(chat_id, secrets.token_hex(10), photo=content, caption=caption)
        return self._record(message)

    def _send_chat_action(self, params: JsonDict) -> bool:
        if params.get("action") not in ("typing", "upload_photo"):
            raise ApiError(400, "Bad Request: unknown action")
        return True

    def _record(self, message: SentMessage) -> JsonDict:
        self.sent.append(message)
        return {"message_id": message.message_id, "date": int(self._clock() * 1000)}


def parse_request(request: tornado.httputil.HTTPServerRequest) -> JsonDict:
    """Read query, form, multipart (files as bytes) or JSON parameters."""
    params: JsonDict = {}
    for key, values in itertools.chain(
        request.query_arguments.items(), request.body_arguments.items()
    ):
        params[key] = values[-1].decode("utf-8")
    if request.headers.get("Content-Type", "").startswith("application/json") and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object")
        params.update(body)
    for name, parts in request.files.items():
        params[name] = parts[-1].body
    return params


class _ApiHandler(tornado.web.RequestHandler):
    """Serves ``/bot<token>/<method>`` for GET and POST."""

    def initialize(self, api: FakeZaloApi) -> None:
        self.api = api
        self.closed = False

    def on_connection_close(self) -> None:
        self.closed = True
        self.api._notify()

    async def get(self, token: str, method: str) -> None:
        await self._serve(token, method)

    async def post(self, token: str, method: str) -> None:
        await self._serve(token, method)

    async def _serve(self, token: str, method: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.api._active.add(task)
        try:
            try:
                params = parse_request(self.request)
            except ApiError as error:
                status, payload = error.code, error.payload()
            else:
                status, payload = await self.api.dispatch(
                    token, method, params, lambda: self.closed
                )
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(payload, ensure_ascii=False))
        finally:
            if task is not None:
                self.api._active.discard(task)


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
        await self.api.wait_until(
            lambda: len(self.api.messages_to(self.user)) >= mark + messages,
            describe=f"{messages} answer(s) to {text!r}",
        )
        return [m.content for m in self.api.messages_to(self.user)[mark:]]

    def transcript(self) -> list[str]:
        return [m.content for m in self.api.messages_to(self.user)]

    def last(self) -> str:
        return self.transcript()[-1]

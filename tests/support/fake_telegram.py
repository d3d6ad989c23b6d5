"""A local fake of the Telegram Bot API for end-to-end tests.

Owns: an HTTP server on 127.0.0.1 answering the Bot API methods python-telegram-bot calls, the
update queue with Telegram's offset and long-poll semantics, webhook pushes, recorded calls, the
message state of every chat, and injectable faults (429, 403, 5xx). It also runs as a process of
its own (``python -m tests.support.fake_telegram --port P --token T``) driven over ``/_control``.
Must not import the bot, its services, the database or python-telegram-bot: it fakes Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import json
import math
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

import httpx
import tornado.httputil
import tornado.web

from . import fake_http
from .fake_http import ApiError, ApiHandler, FakeHttpServer, JsonDict, Route
from .fake_http import free_port as free_port  # tests take it from here

# Calls that put something in front of the person; a conversation step is answered by one of them.
ANSWER_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument", "sendPhoto"}
)
# Only sends count against Telegram's broadcast limits (about 30/s overall, 1/s per chat).
SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
READY_PREFIX = "FakeBotApi listening on port "

# Form and multipart bodies carry every value as a string; Telegram decodes these by field name.
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "allowed_updates", "commands", "scope", "entities", "caption_entities",
        "link_preview_options", "reply_parameters", "media",
    }
)  # fmt: skip
_INT_FIELDS = frozenset(
    {
        "offset", "limit", "message_id", "user_id", "cache_time", "max_connections",
        "reply_to_message_id", "message_thread_id",
    }
)  # fmt: skip
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    {
        "show_alert", "drop_pending_updates", "disable_notification", "protect_content",
        "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler",
        "disable_content_type_detection",
    }
)  # fmt: skip
_DEFAULT_EXCLUDED_UPDATES = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user who talks to the bot in a private chat of the same id."""

    id: int
    first_name: str = "Test"
    language_code: str | None = "vi"
    last_name: str | None = None
    username: str | None = None

    def to_dict(self) -> JsonDict:
        """Return the Bot API ``User`` object."""
        data: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    def chat_dict(self) -> JsonDict:
        """Return the Bot API ``Chat`` object of the private chat with this user."""
        data: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        for key in ("last_name", "username"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass
class UploadedFile:
    """A file the bot uploaded (or a user sent), kept with its name and bytes."""

    file_id: str
    file_unique_id: str
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"

    @property
    def file_path(self) -> str:
        return f"documents/{self.file_unique_id}/{self.filename}"

    def document_dict(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "mime_type": self.mime_type,
            "file_size": len(self.content),
        }

    def photo_sizes(self) -> list[JsonDict]:
        size = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        return [{**size, "width": 1, "height": 1, "file_size": len(self.content)}]

    def summary(self) -> JsonDict:
        """Return a JSON-safe description (used by the control API)."""
        return {"file_id": self.file_id, "filename": self.filename, "size": len(self.content)}


@dataclass
class FakeMessage:
    """The current state of one message in a chat; edits change it in place."""

    chat: JsonDict
    message_id: int
    sender: JsonDict
    date: int
    text: str | None = None
    entities: list[JsonDict] | None = None
    caption: str | None = None
    reply_markup: JsonDict | None = None
    document: UploadedFile | None = None
    photo: UploadedFile | None = None
    parse_mode: str | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[tuple[str | None, JsonDict | None]] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def from_bot(self) -> bool:
        return bool(self.sender.get("is_bot"))

    @property
    def content(self) -> str:
        """Return the text, else the caption, else the attached file's name."""
        if self.text is not None:
            return self.text
        if self.caption is not None:
            return self.caption
        attached = self.document or self.photo
        return f"<file {attached.filename}>" if attached else ""

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """Return the inline keyboard as rows of (label, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [(b.get("text", ""), b.get("callback_data") or b.get("url") or "") for b in row]
            for row in rows
        ]

    def to_dict(self) -> JsonDict:
        """Return the Bot API ``Message`` object as Telegram would send it."""
        data: JsonDict = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": self.chat,
            "from": self.sender,
        }
        optional = {"text": self.text, "entities": self.entities, "caption": self.caption}
        data.update({key: value for key, value in optional.items() if value is not None})
        if self.document is not None:
            data["document"] = self.document.document_dict()
        if self.photo is not None:
            data["photo"] = self.photo.photo_sizes()
        # Telegram echoes only inline keyboards; reply keyboards stay on the client.
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        return data


class Call(fake_http.Call):
    """One Bot API request the bot made. Unpacks as (method, params, at)."""

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.params, self.at))

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None

    def to_dict(self) -> JsonDict:
        """Return a JSON-safe form (files are summarised)."""
        params = {
            key: value.summary() if isinstance(value, UploadedFile) else value
            for key, value in self.params.items()
        }
        return {
            "method": self.method,
            "params": params,
            "at": self.at,
            "status": self.status,
            "description": self.description,
        }

    def __str__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k != "reply_markup"}
        return f"{self.method}({shown}) -> {self.status} {self.description or ''}".rstrip()


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the bot's webhook; status 0 means no HTTP answer."""

    update_id: int
    status: int
    secret_token: str | None
    at: float
    error: str | None = None


@dataclass
class _Pending:
    update: JsonDict
    # A redelivered update is returned once even though the bot's offset is already past it.
    forced: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class _Window:
    """A sliding-window limit of `rate` accepted sends per second."""

    rate: float
    stamps: deque[float] = field(default_factory=deque)

    def retry_after(self, now: float) -> int:
        allowance = max(1, int(self.rate))
        window = allowance / self.rate
        while self.stamps and self.stamps[0] <= now - window:
            self.stamps.popleft()
        if len(self.stamps) < allowance:
            return 0
        return max(1, math.ceil(self.stamps[0] + window - now))


def _coerce(key: str, value: Any) -> Any:
    """Decode one string parameter the way Telegram does for that field."""
    if not isinstance(value, str):
        return value
    try:
        if key in _JSON_FIELDS:
            return json.loads(value)
        if key in _INT_FIELDS:
            return int(value)
        if key in _FLOAT_FIELDS:
            return float(value)
    except ValueError as exc:
        raise ApiError(400, f"Bad Request: can't parse {key}: {value!r}") from exc
    if key in _BOOL_FIELDS:
        return value.lower() in ("true", "1")
    if key == "chat_id" and value.lstrip("-").isdigit():
        return int(value)
    return value


def _update_type(update: JsonDict) -> str:
    return next((key for key in update if key != "update_id"), "")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeBotApi(FakeHttpServer["Call"]):
    """A fake Telegram Bot API server on 127.0.0.1, run inside the test's event loop."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        port: int = 0,
        bot_username: str = "hoctap_test_bot",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(Call, port=port, clock=clock)
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.updates: dict[int, JsonDict] = {}
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.callback_answers: dict[str, JsonDict] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.count_429 = 0
        # Set by a test that runs the bot in its own event loop: True while the bot has stored
        # updates not yet applied and answered. Telegram cannot see that: an update is
        # acknowledged once stored, before it is applied, so "acknowledged" alone does not say
        # its replies are all out (see tests/support/chat.py).
        self.bot_busy: Callable[[], bool] | None = None
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, JsonDict] = {}
        self._messages: dict[int, dict[int, FakeMessage]] = {}
        self._pending: list[_Pending] = []
        self._acknowledged: dict[int, None] = {}
        self._delivered: list[int] = []
        self._dropped: list[int] = []
        self._open_queries: dict[str, bool] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._webhook_info: JsonDict = {}
        self._next_update_id = 1
        self._next_message_ids: dict[int, int] = {}
        self._query_ids = itertools.count(4_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._poll_generation = 0
        self._blocked: set[int] = set()
        self._slow: dict[int, float] = {}
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._global_limit: _Window | None = None
        self._chat_rate: float | None = None
        self._chat_limits: dict[int, _Window] = {}
        # getUpdates is served by _get_updates (it waits); every other method answers at once.
        self._handlers: dict[str, Callable[[JsonDict], Any]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
        }
        # Telegram method names are case-insensitive.
        self._method_names = {name.lower(): name for name in [*self._handlers, "getUpdates"]}

    # ----------------------------------------------------------------- lifecycle

    def routes(self) -> list[Route]:
        return [
            (r"/bot([^/]*)/([^/]+)", ApiHandler, {"api": self}),
            (r"/file/bot([^/]*)/(.+)", _FileHandler, {"api": self}),
            (r"/_control/([a-z_]+)", _ControlHandler, {"api": self}),
        ]

    def default_handler(self) -> type[tornado.web.RequestHandler]:
        return _NotFoundHandler

    @property
    def base_url(self) -> str:
        """The value for ``ApplicationBuilder.base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """The value for ``ApplicationBuilder.base_file_url``."""
        return f"{self.url}/file/bot"

    def bot_user(self) -> JsonDict:
        """Return the bot's own ``User`` object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Hoctap Test",
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------- injecting updates

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "vi",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> FakeUser:
        """Register a user and their private chat with the bot."""
        person = FakeUser(user_id, first_name, language_code, last_name, username)
        self._users[user_id] = person
        self._chats[user_id] = person.chat_dict()
        return person

    def _know(self, user: FakeUser) -> None:
        if user.id not in self._chats:
            self._users[user.id] = user
            self._chats[user.id] = user.chat_dict()

    def send_text(self, user: FakeUser, text: str) -> int:
        """Queue a text message from `user` (commands get their bot_command entity)."""
        self._know(user)
        message = self._new_message(user.id, user.to_dict(), text=text)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message.entities = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self.add_update({"message": message.to_dict()})

    def send_document(
        self,
        user: FakeUser,
        content: bytes,
        filename: str,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> int:
        """Queue a document message from `user`; the bot can download it via getFile."""
        self._know(user)
        upload = self._store_file(filename, content, mime_type)
        message = self._new_message(user.id, user.to_dict(), document=upload, caption=caption)
        return self.add_update({"message": message.to_dict()})

    def press(self, user: FakeUser, message: FakeMessage | int, callback_data: str) -> int:
        """Queue a callback_query update: `user` pressed a button carrying `callback_data`."""
        target = message if isinstance(message, FakeMessage) else self.message(user.id, message)
        query_id = str(next(self._query_ids))
        self._open_queries[query_id] = False
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": target.to_dict(),
            "chat_instance": str(-1_000_000 - target.chat_id),
            "data": callback_data,
        }
        return self.add_update({"callback_query": query})

    def add_update(self, raw: JsonDict) -> int:
        """Queue any update; an ``update_id`` is assigned unless given. Return the id."""
        update = copy.deepcopy(raw)
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        update_id = int(update["update_id"])
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._register(update)
        self.updates[update_id] = update
        self._pending.append(_Pending(update))
        self._notify()
        return update_id

    def redeliver(self, update_id: int) -> None:
        """Queue an already known update again, as Telegram does after a lost confirmation.

        The copy is returned by the next getUpdates even if the bot's offset is past it.
        """
        self._pending.append(_Pending(copy.deepcopy(self.updates[update_id]), forced=True))
        self._notify()

    def _register(self, update: JsonDict) -> None:
        """Learn chats, users and message ids from an injected update."""
        body = update.get(_update_type(update))
        if not isinstance(body, dict):
            return
        for message in (body, body.get("message")):  # a message, or the one a query is on
            if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
                continue
            chat_id = int(message["chat"]["id"])
            self._chats.setdefault(chat_id, message["chat"])
            if "message_id" not in message:
                continue
            message_id = int(message["message_id"])
            self._bump_message_id(chat_id, message_id)
            known = self._messages.setdefault(chat_id, {})
            if message_id not in known:  # a raw message: keep it for transcripts
                known[message_id] = FakeMessage(
                    chat=message["chat"],
                    message_id=message_id,
                    sender=message.get("from", {}),
                    date=int(message.get("date", self._clock())),
                    text=message.get("text"),
                    entities=message.get("entities"),
                    caption=message.get("caption"),
                    reply_markup=message.get("reply_markup"),
                )

    # ----------------------------------------------------------------- faults and limits

    def rate_limit(
        self, global_per_second: float | None = 30, per_chat_per_second: float | None = 1
    ) -> None:
        """Answer sends beyond these rates with 429 and retry_after (None: no limit)."""
        self._global_limit = _Window(global_per_second) if global_per_second else None
        self._chat_rate = per_chat_per_second
        self._chat_limits.clear()

    def block(self, user_id: int) -> None:
        """Make every call to this chat answer 403 "bot was blocked by the user"."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def slow_down(self, chat_id: int, seconds: float) -> None:
        """Answer every call to this chat only after `seconds` (a slow network on its way)."""
        self._slow[chat_id] = seconds

    def fail_next(
        self, method: str, n: int = 1, *, status: int = 500, description: str = ""
    ) -> None:
        """Answer the next `n` calls of `method` with an HTTP error (500 by default)."""
        text = description or ("Internal Server Error" if status == 500 else f"Error {status}")
        self._failures.setdefault(method.lower(), []).extend([(status, text)] * n)

    def _check_faults(self, method: str, params: JsonDict) -> None:
        failures = self._failures.get(method.lower())
        if failures:
            status, description = failures.pop(0)
            raise ApiError(status, description)
        chat_id = params.get("chat_id")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if method in SEND_METHODS and isinstance(chat_id, int):
            self._check_rate(chat_id)

    def _check_rate(self, chat_id: int) -> None:
        now = self._clock()
        windows = [self._global_limit] if self._global_limit else []
        if self._chat_rate:
            windows.append(self._chat_limits.setdefault(chat_id, _Window(self._chat_rate)))
        wait = max((window.retry_after(now) for window in windows), default=0)
        if wait:
            self.count_429 += 1
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        for window in windows:
            window.stamps.append(now)

    # ----------------------------------------------------------------- observing

    def message(self, chat_id: int, message_id: int) -> FakeMessage:
        """Return the current state of one message."""
        try:
            return self._messages[chat_id][message_id]
        except KeyError:
            raise KeyError(f"no message {message_id} in chat {chat_id}") from None

    def messages_in(self, chat_id: int) -> list[FakeMessage]:
        """Return every live message of the chat (both sides), oldest first."""
        found = self._messages.get(chat_id, {}).values()
        return sorted((m for m in found if not m.deleted), key=lambda m: m.message_id)

    def messages_to(self, chat_id: int) -> list[FakeMessage]:
        """Return the bot's live messages in the chat, oldest first, in their current state."""
        return [m for m in self.messages_in(chat_id) if m.from_bot]

    def acknowledged_ids(self) -> list[int]:
        """Return update ids Telegram would never send again (offset-confirmed or webhook 200)."""
        return list(self._acknowledged)

    def is_acknowledged(self, update_id: int) -> bool:
        return update_id in self._acknowledged

    def delivered_ids(self) -> list[int]:
        """Return update ids in the order they were handed to the bot, repeats included."""
        return list(self._delivered)

    def pending_ids(self) -> list[int]:
        """Return update ids still queued (undelivered or delivered but unconfirmed)."""
        return sorted(p.update_id for p in self._pending)

    def dropped_ids(self) -> list[int]:
        """Return update ids discarded by drop_pending_updates or allowed_updates."""
        return list(self._dropped)

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 (expiry becomes an AssertionError)
        *,
        since: int = 0,
    ) -> Call:
        """Wait for a finished call (from index `since` on) that satisfies `predicate`."""

        def match() -> Call | None:
            done = (c for c in self.calls[since:] if c.status is not None)
            return next((c for c in done if predicate(c)), None)

        found = await self.wait_until(match, timeout, describe="a matching Bot API call")
        assert found is not None
        return found

    # ----------------------------------------------------------------- webhook pushes

    async def push_webhook(
        self, update: int | JsonDict, *, secret_token: str | EllipsisType | None = ...
    ) -> int:
        """POST one update to the webhook; return the HTTP status (0: no answer).

        `update` is a queued or known update id, or a raw update that is queued first. Answered
        200 it is acknowledged; otherwise it stays queued for ``deliver_webhook_queue``. Pass
        `secret_token` to send a different header than the one given to setWebhook.
        """
        if self.webhook_url is None or self._http is None:
            raise RuntimeError("no webhook is set (the bot has not called setWebhook)")
        update_id = update if isinstance(update, int) else self.add_update(update)
        body = self.updates[update_id]
        secret = self.webhook_secret if secret_token is ... else secret_token
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        error = None
        try:
            response = await self._http.post(
                self.webhook_url, content=json.dumps(body), headers=headers
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            status, error = 0, repr(exc)
        now = self._clock()
        self.webhook_deliveries.append(WebhookDelivery(update_id, status, secret, now, error))
        self._delivered.append(update_id)
        if status == 200:
            self._pending = [p for p in self._pending if p.update_id != update_id]
            self._acknowledge(update_id)
        else:
            reason = error or f"Wrong response from the webhook: {status}"
            self._webhook_info.update(last_error_date=int(now), last_error_message=reason)
        self._notify()
        return status

    async def deliver_webhook_queue(self) -> list[tuple[int, int]]:
        """Push every queued update in id order, as Telegram retries; return (id, status)."""
        results = []
        for entry in sorted(self._pending, key=lambda p: p.update_id):
            if entry not in self._pending:
                continue
            if not self._allowed(entry.update):
                self._drop(entry)
                continue
            results.append((entry.update_id, await self.push_webhook(entry.update_id)))
        return results

    # ----------------------------------------------------------------- queue internals

    def _allowed(self, update: JsonDict) -> bool:
        kind = _update_type(update)
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _drop(self, entry: _Pending) -> None:
        self._pending.remove(entry)
        self._dropped.append(entry.update_id)

    def _acknowledge(self, update_id: int) -> None:
        self._acknowledged.setdefault(update_id, None)

    def _confirm(self, offset: int) -> None:
        """Forget what an offset confirms: ids below it, or all but the last -offset."""
        ordered = sorted(self._pending, key=lambda p: p.update_id)
        if offset < 0:
            forget = ordered[:offset]
        else:
            forget = [p for p in ordered if p.update_id < offset and not p.forced]
        for entry in forget:
            self._pending.remove(entry)
            self._acknowledge(entry.update_id)

    def _take_batch(self, limit: int) -> list[JsonDict]:
        batch: list[_Pending] = []
        for entry in sorted(self._pending, key=lambda p: p.update_id):
            if not self._allowed(entry.update):
                self._drop(entry)
            elif len(batch) < limit:
                batch.append(entry)
        for entry in batch:
            entry.forced = False
            self._delivered.append(entry.update_id)
        return [entry.update for entry in batch]

    # ----------------------------------------------------------------- HTTP dispatch

    async def dispatch(
        self, token: str, method: str, params: JsonDict, is_closed: Callable[[], bool]
    ) -> tuple[int, JsonDict]:
        """Answer one Bot API request; record it as a Call."""
        name = self._method_names.get(method.lower())
        call = self.record(name or method, params)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if name is None:
                raise ApiError(404, "Not Found: method not found")
            self._check_faults(name, params)
            if params.get("chat_id") in self._slow:
                await asyncio.sleep(self._slow[params["chat_id"]])
            if name == "getUpdates":
                result = await self._get_updates(params, is_closed)
            else:
                result = self._handlers[name](params)
        except ApiError as exc:
            return exc.code, self.answered(call, exc)
        return 200, self.answered(call, None, result)

    async def _get_updates(self, params: JsonDict, is_closed: Callable[[], bool]) -> Any:
        if self.webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) or None
        if params.get("offset"):
            self._confirm(int(params["offset"]))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older poll learns it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(float(params.get("timeout") or 0), 0.0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_POLL)
            if is_closed() or self._closing or self.webhook_url:
                return []
            batch = self._take_batch(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return batch
            await self.changed(remaining)

    # ----------------------------------------------------------------- methods

    def _true(self, params: JsonDict) -> bool:
        return True

    def _get_me(self, params: JsonDict) -> JsonDict:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: JsonDict) -> bool:
        url = params.get("url") or ""
        if params.get("drop_pending_updates"):
            for entry in list(self._pending):
                self._drop(entry)
        if not url:
            return self._delete_webhook({})
        self.webhook_url = url
        self.webhook_secret = params.get("secret_token")
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) or None
        self._webhook_info = {"max_connections": params.get("max_connections", 40)}
        return True

    def _delete_webhook(self, params: JsonDict) -> bool:
        if params.get("drop_pending_updates"):
            for entry in list(self._pending):
                self._drop(entry)
        self.webhook_url = None
        self.webhook_secret = None
        self._webhook_info = {}
        return True

    def _get_webhook_info(self, params: JsonDict) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        info.update(self._webhook_info)
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    @staticmethod
    def _commands_key(params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def _set_my_commands(self, params: JsonDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100")
        for command in commands:
            name, text = str(command.get("command", "")), str(command.get("description", ""))
            valid_name = (
                1 <= len(name) <= 32
                and all(c.isascii() and (c.isalnum() or c == "_") for c in name)
                and name == name.lower()
            )
            if not valid_name or not 1 <= len(text) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    def _delete_my_commands(self, params: JsonDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        return self.commands.get(self._commands_key(params), [])

    def _chat(self, params: JsonDict) -> JsonDict:
        chat_id = params.get("chat_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _check_markup(self, markup: Any) -> JsonDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _check_text(text: Any, limit: int = 4096) -> str:
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > limit:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _send_message(self, params: JsonDict) -> JsonDict:
        chat = self._chat(params)
        message = self._new_message(
            int(chat["id"]),
            self.bot_user(),
            text=self._check_text(params.get("text")),
            reply_markup=self._check_markup(params.get("reply_markup")),
            parse_mode=params.get("parse_mode"),
        )
        return message.to_dict()

    def _own_message(self, params: JsonDict, missing: str) -> FakeMessage:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: inline messages are not supported by the fake")
        self._chat(params)
        found = self._messages.get(params["chat_id"], {}).get(params.get("message_id", -1))
        if found is None or found.deleted:
            raise ApiError(400, f"Bad Request: {missing}")
        if not found.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return found

    def _edit_message_text(self, params: JsonDict) -> JsonDict:
        message = self._own_message(params, "message to edit not found")
        if message.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = self._check_text(params.get("text"))
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = self._check_markup(params.get("reply_markup"))
        if text == message.text and markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        message.history.append((message.text, message.reply_markup))
        message.text, message.reply_markup = text, markup
        message.parse_mode = params.get("parse_mode")
        message.edit_date = int(self._clock())
        return message.to_dict()

    def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict:
        message = self._own_message(params, "message to edit not found")
        markup = self._check_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        message.history.append((message.text, message.reply_markup))
        message.reply_markup = markup
        message.edit_date = int(self._clock())
        return message.to_dict()

    def _delete_message(self, params: JsonDict) -> bool:
        self._chat(params)
        found = self._messages.get(params["chat_id"], {}).get(params.get("message_id", -1))
        if found is None or found.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        found.deleted = True
        return True

    def _answer_callback_query(self, params: JsonDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self._open_queries.get(query_id, True):
            raise ApiError(400, QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_queries[query_id] = True
        self.callback_answers[query_id] = params
        return True

    def _send_file(self, params: JsonDict, key: str) -> FakeMessage:
        chat = self._chat(params)
        value = params.get(key)
        if isinstance(value, str):
            known = self.files.get(value)
            name = value.rsplit("/", 1)[-1] or key
            value = known or self._store_file(name, b"", "application/octet-stream")
            params[key] = value
        if not isinstance(value, UploadedFile):
            raise ApiError(400, f"Bad Request: there is no {key} in the request")
        caption = params.get("caption")
        if caption is not None and _utf16_len(str(caption)) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        return self._new_message(
            int(chat["id"]),
            self.bot_user(),
            caption=caption,
            reply_markup=self._check_markup(params.get("reply_markup")),
            **{key: value},
        )

    def _send_document(self, params: JsonDict) -> JsonDict:
        return self._send_file(params, "document").to_dict()

    def _send_photo(self, params: JsonDict) -> JsonDict:
        return self._send_file(params, "photo").to_dict()

    def _send_chat_action(self, params: JsonDict) -> bool:
        self._chat(params)
        return True

    def _get_file(self, params: JsonDict) -> JsonDict:
        upload = self.files.get(str(params.get("file_id")))
        if upload is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": upload.file_id,
            "file_unique_id": upload.file_unique_id,
            "file_size": len(upload.content),
            "file_path": upload.file_path,
        }

    # ----------------------------------------------------------------- state helpers

    def _bump_message_id(self, chat_id: int, seen: int) -> None:
        ids = self._next_message_ids
        ids[chat_id] = max(ids.get(chat_id, 1), seen + 1)

    def _new_message(self, chat_id: int, sender: JsonDict, **content: Any) -> FakeMessage:
        """Create a message in the chat with the chat's next message id."""
        message_id = self._next_message_ids.get(chat_id, 1)
        self._bump_message_id(chat_id, message_id)
        message = FakeMessage(
            chat=self._chats[chat_id],
            message_id=message_id,
            sender=sender,
            date=int(self._clock()),
            **content,
        )
        self._messages.setdefault(chat_id, {})[message_id] = message
        return message

    def _store_file(self, filename: str, content: bytes, mime_type: str) -> UploadedFile:
        number = next(self._file_ids)
        upload = UploadedFile(
            f"BQACAgFake{number:06d}", f"AgAD{number:06d}", filename, content, mime_type
        )
        self.files[upload.file_id] = upload
        return upload

    def parse_request(self, request: tornado.httputil.HTTPServerRequest) -> JsonDict:
        """Read query, form, multipart or JSON parameters, decoding fields as Telegram does."""
        raw = fake_http.read_params(request)
        params = {key: _coerce(key, value) for key, value in raw.items()}
        for name, parts in request.files.items():
            part = parts[-1]
            mime = part.content_type or "application/octet-stream"
            upload = self._store_file(part.filename or name, part.body, mime)
            params[name] = upload
        # Media groups and thumbnails refer to parts as "attach://<name>".
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.get(value.removeprefix("attach://"), value)
        return params


class _FileHandler(tornado.web.RequestHandler):
    """Serves downloads under ``/file/bot<token>/<file_path>``."""

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    def get(self, token: str, path: str) -> None:
        found = [f for f in self.api.files.values() if f.file_path == path]
        if token != self.api.token or not found:
            self.set_status(404)
            self.finish(json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}))
            return
        self.set_header("Content-Type", found[0].mime_type)
        self.finish(found[0].content)


class _NotFoundHandler(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}))


class _ControlHandler(tornado.web.RequestHandler):
    """Drives a fake running in another process: ``/_control/<action>``.

    POST updates (a JSON list of raw updates), text {user_id, text, first_name?}, press
    {user_id, message_id, data}, redeliver {update_id}, block {user_id}, fail {method, n},
    webhook (push the queue); GET calls, acknowledged, messages?chat_id=N.
    """

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    def get(self, action: str) -> None:
        api = self.api
        if action == "calls":
            self._reply([call.to_dict() for call in api.calls])
        elif action == "acknowledged":
            self._reply(
                {
                    "acknowledged": api.acknowledged_ids(),
                    "delivered": api.delivered_ids(),
                    "pending": api.pending_ids(),
                }
            )
        elif action == "messages":
            chat_id = int(self.get_query_argument("chat_id"))
            self._reply([message.to_dict() for message in api.messages_in(chat_id)])
        else:
            self._reply(f"unknown control action {action!r}", status=404)

    async def post(self, action: str) -> None:
        api = self.api
        body = json.loads(self.request.body or b"{}")
        if action == "updates":
            updates = body["updates"] if isinstance(body, dict) else body
            self._reply([api.add_update(update) for update in updates])
        elif action == "text":
            person = api._users.get(body["user_id"]) or api.user(
                body["user_id"], body.get("first_name", "Test"), body.get("language_code", "vi")
            )
            self._reply(api.send_text(person, body["text"]))
        elif action == "press":
            person = api._users[body["user_id"]]
            self._reply(api.press(person, body["message_id"], body["data"]))
        elif action == "redeliver":
            api.redeliver(body["update_id"])
            self._reply(True)
        elif action == "block":
            api.block(body["user_id"])
            self._reply(True)
        elif action == "fail":
            api.fail_next(body["method"], body.get("n", 1), status=body.get("status", 500))
            self._reply(True)
        elif action == "webhook":
            self._reply(await api.deliver_webhook_queue())
        else:
            self._reply(f"unknown control action {action!r}", status=404)

    def _reply(self, result: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ok": status == 200, "result": result}, ensure_ascii=False))


async def serve(port: int, token: str) -> None:
    """Run a FakeBotApi until SIGTERM or SIGINT, announcing the port on stdout."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with FakeBotApi(token=token, port=port) as api:
        print(f"{READY_PREFIX}{api.port}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m tests.support.fake_telegram --port P --token T``."""
    parser = argparse.ArgumentParser(description="Serve a fake Telegram Bot API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--token", default="123:ABC")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.token))


if __name__ == "__main__":
    main()

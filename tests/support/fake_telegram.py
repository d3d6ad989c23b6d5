"""A local fake of the Telegram Bot API for end-to-end tests, as strict as Telegram.

Owns: the Bot API methods python-telegram-bot calls, served on the base of ``fake_http``; the
update queue with Telegram's offset and long-poll semantics; webhook pushes; the message state of
every chat, stored as Telegram stores it (HTML parsed by tdlib's rules into plain text and
entities, so ``text`` is what a person reads); what Telegram refuses, with its own words (HTML it
cannot parse, lengths in UTF-16 code units after parsing, callback data over 64 bytes, edits that
change nothing, callback queries answered twice or too late, flood limits, which are on by
default); the bot_command entities a person's message gets; and injectable faults (429, 403, 5xx).
Every refusal stays in ``calls``; a test declares the ones it provokes with ``expect_refusal``.
It also runs as a process of its own (``python -m tests.support.fake_telegram --port P --token
T``) driven over ``/_control``. Must not import the bot, its services, the database or
python-telegram-bot: it fakes Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import html
import itertools
import json
import math
import re
import signal
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
# Telegram does not publish how long a callback query can be answered: the server just
# answers QUERY_ID_INVALID once it expired; bots report an answer after 20 s refused and
# about 15 s as the limit, so a query pressed longer ago than this is refused as too old.
QUERY_TIMEOUT = 15.0
# Flood limits (core.telegram.org/bots/faq): "about 30 messages per second" overall; per chat
# "avoid more than one message per second. We may allow short bursts". The burst is a guess.
GLOBAL_PER_SECOND, PER_CHAT_PER_SECOND, PER_CHAT_BURST = 30.0, 1.0, 20
# Lengths in UTF-16 code units of the text after entity parsing; callback data in UTF-8 bytes.
TEXT_LIMIT, CAPTION_LIMIT, ANSWER_LIMIT, CALLBACK_DATA_LIMIT = 4096, 1024, 200, 64


class _Injected(ApiError):
    """An error answer a test asked for with ``fail_next``."""


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
    """The current state of one message in a chat; edits change it in place.

    ``text``/``caption`` and their entities are what Telegram stores after parsing (what a
    person reads); ``source`` is the text or caption as the bot sent it.
    """

    chat: JsonDict
    message_id: int
    sender: JsonDict
    date: int
    text: str | None = None
    entities: list[JsonDict] | None = None
    caption: str | None = None
    caption_entities: list[JsonDict] | None = None
    reply_markup: JsonDict | None = None
    document: UploadedFile | None = None
    photo: UploadedFile | None = None
    parse_mode: str | None = None
    source: str | None = None
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
    def visible(self) -> str:
        """Return what a person reads: the text, else the caption, else the file's name."""
        if self.text is not None:
            return self.text
        if self.caption is not None:
            return self.caption
        attached = self.document or self.photo
        return f"<file {attached.filename}>" if attached else ""

    @property
    def html(self) -> str:
        """Return the text (or caption) with its formatting as canonical Telegram HTML."""
        if self.text is not None:
            return render_html(self.text, self.entities)
        if self.caption is not None:
            return render_html(self.caption, self.caption_entities)
        return html.escape(self.visible, quote=False)

    @property
    def content(self) -> str:
        """Return the message written in its own parse mode: ``html`` for a message sent with
        parse_mode HTML (so ``<b>`` shows the bold and ``&lt;`` a "<" the person sees),
        else ``visible``."""
        if str(self.parse_mode or "").lower() == "html" and (
            self.text is not None or self.caption is not None
        ):
            return self.html
        return self.visible

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
        optional = {
            "text": self.text,
            "entities": self.entities,
            "caption": self.caption,
            "caption_entities": self.caption_entities,
        }
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
    """At most `rate` accepted sends in any one second (Telegram's overall limit)."""

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

    def take(self, now: float) -> None:
        self.stamps.append(now)


@dataclass
class _Bucket:
    """A token bucket: `burst` sends at once, then `rate` a second (the per-chat limit)."""

    rate: float
    burst: float
    tokens: float
    at: float

    def retry_after(self, now: float) -> int:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now
        return 0 if self.tokens >= 1 else max(1, math.ceil((1 - self.tokens) / self.rate))

    def take(self, now: float) -> None:
        self.tokens -= 1


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
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# ----------------------------------------------------------------- Telegram's text rules
#
# Ported from tdlib, which the Bot API server runs: td/telegram/MessageEntity.cpp parse_html()
# and fix_formatted_text(), telegram-bot-api/Client.cpp get_formatted_text() and
# fail_query_with_error() (which turns td's "Can't parse entities: …" into "Bad Request: can't
# parse entities: …"). Byte offsets in errors count UTF-8 bytes of the text as sent; entity
# offsets and lengths count UTF-16 code units of the text after parsing.

_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "tg-time", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler",
}  # fmt: skip
_NAMED_REFERENCES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_SPACES = frozenset(b" \t\r\n\x00\x0b")  # td's is_space: the end of the text counts as one
# Entities sort by offset, then longest first, then by td's type priority.
_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "date_time": 30,
    "text_link": 49, "text_mention": 49, "bold": 90, "italic": 91, "underline": 92,
    "strikethrough": 93, "spoiler": 94, "custom_emoji": 99,
}  # fmt: skip
# Characters fix_formatted_text drops (vertical lines, line/paragraph separators, bidi marks).
_DROPPED = frozenset({"\r", "\u0333", "\u033f", "\u030a", *map(chr, range(0x2028, 0x202F))})
# What td's strip_empty_characters treats as nothing at all.
_BLANK = frozenset(
    " \n\u1680\u180e\u200a\u202e\u202f\u205f\u2800\u3000\ufffc"
    + "".join(map(chr, range(0x2000, 0x200A)))
)


@dataclass(frozen=True)
class Formatted:
    """Text as Telegram stores it: plain text plus Bot API ``MessageEntity`` dicts."""

    text: str
    entities: tuple[JsonDict, ...] = ()

    def entity_list(self) -> list[JsonDict] | None:
        return [dict(e) for e in self.entities] or None


def _parse_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def _sort_key(entity: JsonDict) -> tuple[int, int, int]:
    return (entity["offset"], -entity["length"], _PRIORITY.get(entity["type"], 50))


def _is_alpha(c: int) -> bool:
    return 0x61 <= (c | 0x20) <= 0x7A


def _is_alnum(c: int) -> bool:
    return _is_alpha(c) or 0x30 <= c <= 0x39


def _lower(raw: bytes) -> str:
    """ASCII letters lowered, the rest kept (td's to_lower)."""
    return raw.lower().decode("utf-8", "replace")  # bytes.lower() touches only A-Z


@dataclass
class _OpenTag:
    name: str
    argument: str
    date: int
    offset: int  # UTF-16 offset of the entity in the parsed text
    begin: int  # byte offset of the entity in the parsed text (for <a> without href)


class _HtmlParser:
    """One pass over the UTF-8 bytes, as td's parse_html makes it."""

    def __init__(self, source: str) -> None:
        self.data = source.encode("utf-8", "surrogatepass")
        self.out = bytearray()
        self.utf16 = 0
        self.open: list[_OpenTag] = []
        self.entities: list[JsonDict] = []
        self.surrogates = False

    def at(self, i: int) -> int:
        return self.data[i] if i < len(self.data) else 0

    def parse(self) -> Formatted:
        i = 0
        while i < len(self.data):
            c = self.data[i]
            if c == 0x26:  # '&'
                code, end = self.reference(i)
                if code:
                    self.append_code(code)
                    i = end
                    continue
            if c != 0x3C:  # '<'
                if c & 0xC0 != 0x80:  # the first byte of a character
                    self.utf16 += 2 if c >= 0xF0 else 1
                self.out.append(c)
                i += 1
            elif self.at(i + 1) == 0x2F:  # '/'
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.open:
            name = self.open[-1].name
            raise _parse_error(f'Can\'t find end tag corresponding to start tag "{name}"')
        if self.surrogates:
            raise _parse_error(
                "Text contains invalid Unicode characters after decoding HTML entities, check "
                "for unmatched surrogate code units"
            )
        for entity in self.entities:  # a language survives only on a <pre>
            if entity["type"] == "code":
                entity.pop("language", None)
        self.entities.sort(key=_sort_key)
        return Formatted(self.out.decode("utf-8", "surrogatepass"), tuple(self.entities))

    def append_code(self, code: int) -> None:
        self.utf16 += 2 if code > 0xFFFF else 1
        self.surrogates |= 0xD800 <= code <= 0xDFFF
        self.out += chr(code).encode("utf-8", "surrogatepass")

    def reference(self, pos: int) -> tuple[int, int]:
        """Decode the character reference at `pos` ('&'): (code or 0, the position after)."""
        end = pos + 1
        code = 0
        if self.at(end) == 0x23:  # '#': a numeric reference, decimal or (lower 'x') hex
            end += 1
            digits, base = b"0123456789", 10
            if self.at(end) == 0x78:
                end, digits, base = end + 1, b"0123456789abcdefABCDEF", 16
            while self.at(end) and self.at(end) in digits:
                code = code * base + int(chr(self.at(end)), 16)
                end += 1
            if code == 0 or code >= 0x10FFFF or end - pos >= 10:
                return 0, pos
        else:
            while _is_alpha(self.at(end)):
                end += 1
            named = _NAMED_REFERENCES.get(self.data[pos + 1 : end])
            if named is None:
                return 0, pos  # any other name stays as typed, '&' included
            code = ord(named)
        return code, end + 1 if self.at(end) == 0x3B else end  # the ';' is optional

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.at(i) not in _SPACES and self.at(i) != 0x3E:
            i += 1
        if self.at(i) == 0:
            raise _parse_error(f"Unclosed start tag at byte offset {begin}")
        name = _lower(self.data[begin + 1 : i])
        if name not in _HTML_TAGS:
            raise _parse_error(f'Unsupported start tag "{name}" at byte offset {begin}')
        tag = _OpenTag(name, "", 0, self.utf16, len(self.out))
        while self.at(i) != 0x3E:
            i = self.attribute(tag, i, begin)
        if name == "span" and tag.argument != "spoiler":
            raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.open.append(tag)
        return i + 1

    def attribute(self, tag: _OpenTag, i: int, begin: int) -> int:
        """Read one attribute of `tag` from `i`; return where the next one may start."""
        while self.at(i) and self.at(i) in _SPACES:
            i += 1
        if self.at(i) == 0x3E:
            return i
        start = i
        while self.at(i) not in _SPACES and self.at(i) not in b"=>/\"'":
            i += 1
        attribute = self.data[start:i]
        if not attribute:
            raise _parse_error(
                f'Empty attribute name in the tag "{tag.name}" at byte offset {begin}'
            )
        while self.at(i) and self.at(i) in _SPACES:
            i += 1
        unclosed = _parse_error(f'Unclosed start tag "{tag.name}" at byte offset {begin}')
        if self.at(i) != 0x3D:  # no '=': a bare attribute
            if self.at(i) == 0:
                raise unclosed
            if tag.name == "blockquote" and attribute == b"expandable":
                tag.argument = "1"
            return i
        i += 1
        while self.at(i) and self.at(i) in _SPACES:
            i += 1
        if self.at(i) == 0:
            raise unclosed
        value, i = self.attribute_value(i)
        if self.at(i) == 0:
            raise _parse_error(f"Unclosed start tag at byte offset {begin}")
        _apply_attribute(tag, attribute, value)
        return i

    def attribute_value(self, i: int) -> tuple[str, int]:
        if self.at(i) not in (0x22, 0x27):  # a name token: letters, digits, '.', '-'
            start = i
            while _is_alnum(self.at(i)) or self.at(i) in (0x2E, 0x2D):
                i += 1
            if self.at(i) not in _SPACES and self.at(i) != 0x3E:
                raise _parse_error(f"Unexpected end of name token at byte offset {start}")
            return _lower(self.data[start:i]), i
        quote = self.at(i)
        i += 1
        value = bytearray()
        while self.at(i) != quote and self.at(i) != 0:
            if self.at(i) == 0x26:
                code, end = self.reference(i)
                if code:
                    value += chr(code).encode("utf-8", "surrogatepass")
                    i = end
                    continue
            value.append(self.at(i))
            i += 1
        if self.at(i) == quote:
            i += 1
        return value.decode("utf-8", "replace"), i

    def end_tag(self, begin: int) -> int:
        if not self.open:
            raise _parse_error(f"Unexpected end tag at byte offset {begin}")
        i = begin + 1
        while self.at(i) not in _SPACES and self.at(i) != 0x3E:
            i += 1
        name = _lower(self.data[begin + 2 : i])
        while self.at(i) and self.at(i) in _SPACES:
            i += 1
        if self.at(i) != 0x3E:
            raise _parse_error(f"Unclosed end tag at byte offset {begin}")
        tag = self.open[-1]
        if name and name != tag.name:
            raise _parse_error(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag.name}>", '
                f'found "</{name}>"'
            )
        if self.utf16 > tag.offset:
            self.close(tag, self.utf16 - tag.offset)
        self.open.pop()
        return i + 1

    def close(self, tag: _OpenTag, length: int) -> None:
        """Add the entity of a closed, non-empty tag."""
        previous: JsonDict = self.entities[-1] if self.entities else {}
        same_span = (previous.get("offset"), previous.get("length")) == (tag.offset, length)
        kinds = (tag.name, previous.get("type"))
        # <pre><code class="language-x"> (either way round) makes one pre with a language.
        if same_span and kinds == ("pre", "code") and "language" in previous:
            previous["type"] = "pre"
            return
        if same_span and kinds == ("code", "pre") and tag.argument:
            previous["language"] = tag.argument
            return
        inner = self.out[tag.begin :].decode("utf-8", "surrogatepass")
        entity = _entity(tag, length, inner)
        if entity is not None:
            self.entities.append(entity)


def _entity(tag: _OpenTag, length: int, inner: str) -> JsonDict | None:
    """The Bot API entity of a closed tag around `inner`, or None when Telegram keeps none."""
    entity: JsonDict = {"offset": tag.offset, "length": length}
    if tag.name in _SIMPLE_TAGS or tag.name == "span":
        entity["type"] = _SIMPLE_TAGS.get(tag.name, "spoiler")
    elif tag.name == "blockquote":
        entity["type"] = "expandable_blockquote" if tag.argument else "blockquote"
    elif tag.name == "tg-emoji":
        if not tag.argument.lstrip("-").isdigit() or int(tag.argument) == 0:
            raise _parse_error("Invalid custom emoji identifier specified")
        entity.update(type="custom_emoji", custom_emoji_id=str(int(tag.argument)))
    elif tag.name == "tg-time":
        if tag.date <= 0:
            return None
        entity.update(type="date_time", unix_time=tag.date, date_time_format=tag.argument)
    elif tag.name == "a":
        url = _checked_link(tag.argument or inner)  # <a> without href links its own text
        if url is None:
            return None
        entity.update(type="text_link", url=url)
    else:  # pre, or code (its language is kept only while a <pre> may still take it)
        entity["type"] = tag.name
        if tag.name == "code" and tag.argument:
            entity["language"] = tag.argument
    return entity


def _apply_attribute(tag: _OpenTag, attribute: bytes, value: str) -> None:
    """Keep what td keeps of an attribute; every other attribute is ignored."""
    name = tag.name
    if name == "a" and attribute == b"href":
        tag.argument = value
    elif name == "code" and attribute == b"class" and value.startswith("language-"):
        tag.argument = value.removeprefix("language-")
    elif name == "span" and attribute == b"class" and value.startswith("tg-"):
        tag.argument = value.removeprefix("tg-")
    elif name == "tg-emoji" and attribute == b"emoji-id":
        tag.argument = value
    elif name == "blockquote" and attribute == b"expandable":
        tag.argument = "1"
    elif name == "tg-time" and attribute == b"unix":
        digits = re.match(r"-?\d+", value)
        tag.date = int(digits.group()) if digits else 0
    elif name == "tg-time" and attribute == b"format":
        if value not in ("r", "R") and not set(value) <= set("tTdDwW"):
            raise _parse_error("Invalid date format used")
        tag.argument = value


def _checked_link(url: str) -> str | None:
    """The link as Telegram keeps it, or None when it is not one (the text then stays plain)."""
    if re.match(r"(?i)tg:(//)?[a-z0-9_-]+", url):
        return "tg://" + re.sub(r"(?i)^tg:(//)?", "", url)
    parts = urlsplit(url if re.match(r"(?i)https?://", url) else f"http://{url}")
    if parts.scheme.lower() not in ("http", "https") or "." not in (parts.hostname or ""):
        return None
    return urlunsplit(parts._replace(path=parts.path or "/"))


def _units(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


_COMMAND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _clean(formatted: Formatted) -> Formatted:
    """Control characters become spaces and a few invisible ones go, entities kept in place."""
    kept: list[str] = []
    shift = [0]  # shift[u]: code units dropped before UTF-16 position u
    for char in formatted.text:
        width = 2 if ord(char) > 0xFFFF else 1
        dropped = char in _DROPPED
        if not dropped:
            kept.append(" " if ord(char) < 32 and char != "\n" else char)
        shift.extend([shift[-1] + (width if dropped else 0)] * width)
    entities = []
    for entity in formatted.entities:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        moved = {**entity, "offset": start - shift[start]}
        moved["length"] = end - shift[end] - moved["offset"]
        if moved["length"] > 0:
            entities.append(moved)
    return Formatted("".join(kept), tuple(entities))


def _is_blank(text: str) -> bool:
    return all(char in _BLANK or 0xE0000 <= ord(char) <= 0xE007F for char in text)


def _trim(formatted: Formatted, allow_empty: bool) -> Formatted:
    """Drop trailing spaces and newlines, and leading ones before the first entity; refuse
    (or, for a caption, empty) a text with nothing visible left."""
    if _is_blank(formatted.text):
        if allow_empty:
            return Formatted("")
        raise ApiError(400, "Bad Request: text must be non-empty")
    kept = formatted.text.rstrip(" \n")
    end = _utf16_len(kept)
    entities = [
        {**e, "length": min(e["offset"] + e["length"], end) - e["offset"]}
        for e in formatted.entities
        if e["offset"] < end
    ]
    first = min((e["offset"] for e in entities), default=end)
    lead = min(len(kept) - len(kept.lstrip(" \n")), first)  # one code unit each
    moved = sorted(({**e, "offset": e["offset"] - lead} for e in entities), key=_sort_key)
    return Formatted(kept[lead:], tuple(moved))


def parse_text(
    text: Any, parse_mode: Any, entities: Any = None, *, allow_empty: bool = False
) -> Formatted:
    """Return `text` as Telegram stores it for `parse_mode` (None or "HTML"; else the given
    `entities`), or raise the 400 the Bot API answers: parse errors, and an empty text unless
    `allow_empty` (captions may be empty)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text.encode("utf-8", "surrogatepass")) > 1 << 15:
        raise ApiError(400, "Bad Request: text is too long")
    mode = str(parse_mode or "").lower()
    if not text or mode in ("", "none"):
        given = [e for e in entities or () if isinstance(e, dict) and e.get("type") in _PRIORITY]
        formatted = Formatted(text, tuple(sorted(given, key=_sort_key)))
    elif mode == "html":
        formatted = _HtmlParser(text).parse()
    elif mode in ("markdown", "markdownv2"):
        raise ApiError(400, "Bad Request: the fake parses only HTML; use parse_mode HTML")
    else:
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    return _trim(_clean(formatted), allow_empty)


def _is_word(char: str) -> bool:
    return char == "_" or unicodedata.category(char)[0] in "LN"


def _command_at(text: str, pos: int) -> JsonDict | None:
    """The bot_command entity starting at the '/' at `pos`, if Telegram sees one there."""
    if pos and (_is_word(text[pos - 1]) or text[pos - 1] in "/<>"):
        return None
    end = pos + 1
    while end < len(text) and text[end] in _COMMAND_CHARS:
        end += 1
    if not 1 <= end - pos - 1 <= 64:
        return None
    if end < len(text) and text[end] == "@":  # /command@botusername
        stop = end + 1
        while stop < len(text) and text[stop] in _COMMAND_CHARS:
            stop += 1
        if not 3 <= stop - end - 1 <= 32:
            return None
        end = stop
    if end < len(text) and (_is_word(text[end]) or text[end] in "/<>"):
        return None
    offset, length = _utf16_len(text[:pos]), _utf16_len(text[pos:end])
    return {"type": "bot_command", "offset": offset, "length": length}


def bot_commands(text: str) -> list[JsonDict]:
    """Return the bot_command entities Telegram finds in a person's message.

    td's match_bot_commands implements the server's rule: ``/`` not after a word character or
    ``/<>``, then 1–64 of ``[A-Za-z0-9_]``, optionally ``@`` and 3–32 more, then no word
    character or ``/<>``. python-telegram-bot's ``filters.COMMAND`` reads the one at offset 0.
    """
    found = []
    pos = text.find("/")
    while pos != -1:
        entity = _command_at(text, pos)
        if entity is not None:
            found.append(entity)
        pos = text.find("/", pos + 1)
    return found


# ----------------------------------------------------------------- HTML as a person sees it

_TAGS_OF = {
    "bold": ("<b>", "</b>"), "italic": ("<i>", "</i>"), "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"), "code": ("<code>", "</code>"),
    "spoiler": ('<span class="tg-spoiler">', "</span>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote expandable>", "</blockquote>"),
}  # fmt: skip


def _tags(entity: JsonDict) -> tuple[str, str]:
    """The HTML around one entity; ("", "") for those that are not formatting (commands)."""
    kind = entity["type"]
    if kind in _TAGS_OF:
        return _TAGS_OF[kind]
    if kind == "pre" and entity.get("language"):
        return f'<pre><code class="language-{entity["language"]}">', "</code></pre>"
    if kind == "pre":
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{html.escape(entity["url"])}">', "</a>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{entity["custom_emoji_id"]}">', "</tg-emoji>"
    if kind == "date_time":
        shown = entity.get("date_time_format")
        style = f' format="{shown}"' if shown else ""
        return f'<tg-time unix="{entity["unix_time"]}"{style}>', "</tg-time>"
    return "", ""


def render_html(text: str, entities: Iterable[JsonDict] | None) -> str:
    """Return text and entities as canonical Telegram HTML (as PTB's ``text_html`` does):
    tags for the formatting, ``&lt; &gt; &amp;`` for the characters a person sees."""
    units = _units(text)
    shown = [e for e in sorted(entities or (), key=_sort_key) if _tags(e) != ("", "")]
    return _render(units, shown, 0, len(units) // 2)


def _render(units: bytes, entities: list[JsonDict], start: int, end: int) -> str:
    parts, pos, i = [], start, 0
    while i < len(entities):
        entity = entities[i]
        stop = entity["offset"] + entity["length"]
        inner = i + 1
        while inner < len(entities) and entities[inner]["offset"] < stop:
            inner += 1
        opening, closing = _tags(entity)
        inside = _render(units, entities[i + 1 : inner], entity["offset"], stop)
        parts += [_escaped(units, pos, entity["offset"]), opening, inside, closing]
        pos, i = stop, inner
    parts.append(_escaped(units, pos, end))
    return "".join(parts)


def _escaped(units: bytes, start: int, end: int) -> str:
    plain = units[2 * start : 2 * end].decode("utf-16-le", "surrogatepass")
    return html.escape(plain, quote=False)


_BUTTON_KINDS = frozenset(
    {
        "callback_game", "pay", "switch_inline_query", "switch_inline_query_chosen_chat",
        "switch_inline_query_current_chat", "login_url", "web_app", "copy_text",
    }
)  # fmt: skip


def _keyboard(markup: JsonDict | None) -> list[Any]:
    """The inline keyboard Telegram keeps of a markup (an empty one is none)."""
    return list((markup or {}).get("inline_keyboard") or [])


def _check_button(button: Any) -> None:
    """Refuse an inline button as the Bot API and Telegram do (texts from tdlib's
    Client.cpp and ReplyMarkup.cpp; BUTTON_DATA_INVALID from the server)."""
    prefix = "Bad Request: can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise ApiError(400, prefix + "InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise ApiError(400, prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise ApiError(400, prefix + 'Field "text" must be of type String')
    # url and callback_data count only when not empty; the other kinds by being there.
    kinds = _BUTTON_KINDS.intersection(button)
    if not (button.get("url") or button.get("callback_data") or kinds):
        raise ApiError(400, prefix + "Text buttons are unallowed in the inline keyboard")
    if not button["text"]:
        raise ApiError(400, "Bad Request: inline keyboard button text must be non-empty")
    data = button.get("callback_data")
    if data and len(str(data).encode("utf-8")) > CALLBACK_DATA_LIMIT:
        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


class FakeBotApi(FakeHttpServer["Call"]):
    """A fake Telegram Bot API server on 127.0.0.1, run inside the test's event loop."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        port: int = 0,
        bot_username: str = "hoctap_test_bot",
        clock: Callable[[], float] = time.time,
        query_timeout: float = QUERY_TIMEOUT,
        global_per_second: float | None = GLOBAL_PER_SECOND,
        per_chat_per_second: float | None = PER_CHAT_PER_SECOND,
        per_chat_burst: int = PER_CHAT_BURST,
    ) -> None:
        """A fake of the bot with `token`; `clock` dates messages and ages callback queries
        and rate limits (``age_queries`` and a test clock move it without sleeping)."""
        super().__init__(Call, port=port, clock=clock)
        self.query_timeout = query_timeout
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
        self._open_queries: dict[str, float | None] = {}  # id -> pressed at; None: answered
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
        self._chat_burst = 1
        self._chat_limits: dict[int, _Bucket] = {}
        self.rate_limit(global_per_second, per_chat_per_second, per_chat_burst)
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
        """Queue a text message from `user`, with the bot_command entities Telegram finds."""
        self._know(user)
        entities = bot_commands(text) or None
        message = self._new_message(user.id, user.to_dict(), text=text, entities=entities)
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
        """Learn chats, users, message ids and callback queries from an injected update."""
        body = update.get(_update_type(update))
        if not isinstance(body, dict):
            return
        if _update_type(update) == "callback_query" and "id" in body:
            self._open_queries.setdefault(str(body["id"]), self._clock())
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
        self,
        global_per_second: float | None = GLOBAL_PER_SECOND,
        per_chat_per_second: float | None = PER_CHAT_PER_SECOND,
        per_chat_burst: int = PER_CHAT_BURST,
    ) -> None:
        """Answer sends beyond these rates with 429 and retry_after (None: no limit): at most
        `global_per_second` in any second, and per chat `per_chat_burst` at once, refilled at
        `per_chat_per_second`."""
        self._global_limit = _Window(global_per_second) if global_per_second else None
        self._chat_rate, self._chat_burst = per_chat_per_second, per_chat_burst
        self._chat_limits.clear()

    def age_queries(self, seconds: float) -> None:
        """Make every unanswered callback query `seconds` older (to pass Telegram's timeout)."""
        for query_id, pressed in self._open_queries.items():
            if pressed is not None:
                self._open_queries[query_id] = pressed - seconds

    def block(self, user_id: int) -> None:
        """Make every call to this chat answer 403 "bot was blocked by the user"."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def user_blocks(self, user: FakeUser, blocked: bool = True) -> int:
        """The user blocks the bot (or, with ``blocked=False``, starts it again): calls to
        their chat are refused from now on (or no longer), and Telegram tells the bot with a
        ``my_chat_member`` update. Return its id."""
        if blocked:
            self.block(user.id)
        else:
            self.unblock(user.id)
        kicked = {"user": self.bot_user(), "status": "kicked", "until_date": 0}
        member = {"user": self.bot_user(), "status": "member"}
        return self.add_update(
            {
                "my_chat_member": {
                    "chat": user.chat_dict(),
                    "from": user.to_dict(),
                    "date": int(time.time()),
                    "old_chat_member": member if blocked else kicked,
                    "new_chat_member": kicked if blocked else member,
                }
            }
        )

    def slow_down(self, chat_id: int, seconds: float) -> None:
        """Answer every call to this chat only after `seconds` (a slow network on its way)."""
        self._slow[chat_id] = seconds

    def fail_next(
        self, method: str, n: int = 1, *, status: int = 500, description: str = ""
    ) -> None:
        """Answer the next `n` calls of `method` with an HTTP error (500 by default).

        These answers count as expected refusals: the test asked for them.
        """
        text = description or ("Internal Server Error" if status == 500 else f"Error {status}")
        self._failures.setdefault(method.lower(), []).extend([(status, text)] * n)

    def _check_faults(self, method: str, params: JsonDict) -> None:
        failures = self._failures.get(method.lower())
        if failures:
            status, description = failures.pop(0)
            raise _Injected(status, description)
        if params.get("chat_id") in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _check_rate(self, chat_id: int) -> None:
        """Refuse a send over the flood limits (after the send was found valid, as on
        Telegram, where a refused send costs nothing)."""
        now = self._clock()
        limits: list[_Window | _Bucket] = [self._global_limit] if self._global_limit else []
        if self._chat_rate:
            fresh = _Bucket(self._chat_rate, self._chat_burst, self._chat_burst, now)
            limits.append(self._chat_limits.setdefault(chat_id, fresh))
        wait = max((limit.retry_after(now) for limit in limits), default=0)
        if wait:
            self.count_429 += 1
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        for limit in limits:
            limit.take(now)

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
            call.declared = isinstance(exc, _Injected)
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
            if is_closed() or self._closing or self.webhook_url:
                return []  # first: a poll nobody waits for any more is not refused
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_POLL)
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
                _check_button(button)
        return markup

    @staticmethod
    def _message_text(params: JsonDict) -> Formatted:
        """The text of a send or an edit as Telegram stores it, refused as Telegram refuses."""
        if not params.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        formatted = parse_text(params["text"], params.get("parse_mode"), params.get("entities"))
        if _utf16_len(formatted.text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        return formatted

    @staticmethod
    def _caption(params: JsonDict) -> Formatted | None:
        if params.get("caption") is None:
            return None
        formatted = parse_text(
            params["caption"],
            params.get("parse_mode"),
            params.get("caption_entities"),
            allow_empty=True,
        )
        if _utf16_len(formatted.text) > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        return formatted

    def _send_message(self, params: JsonDict) -> JsonDict:
        chat_id = int(self._chat(params)["id"])
        formatted = self._message_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        self._check_rate(chat_id)
        message = self._new_message(
            chat_id,
            self.bot_user(),
            text=formatted.text,
            entities=formatted.entity_list(),
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            source=params["text"],
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
        formatted = self._message_text(params)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = self._check_markup(params.get("reply_markup"))
        # Telegram compares what it would store (text and entities) and the keyboard, not the
        # source: "<b>a</b>" and "<strong>a</strong>" are the same message.
        same_text = (formatted.text, formatted.entity_list()) == (message.text, message.entities)
        if same_text and _keyboard(markup) == _keyboard(message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        message.history.append((message.text, message.reply_markup))
        message.text, message.entities = formatted.text, formatted.entity_list()
        message.reply_markup, message.source = markup, params["text"]
        message.parse_mode = params.get("parse_mode")
        message.edit_date = int(self._clock())
        return message.to_dict()

    def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict:
        message = self._own_message(params, "message to edit not found")
        markup = self._check_markup(params.get("reply_markup"))
        if _keyboard(markup) == _keyboard(message.reply_markup):
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
        asked = self._open_queries.get(query_id)
        # Unknown, answered already or too old: Telegram says the same for all three.
        if asked is None or self._clock() - asked > self.query_timeout:
            raise ApiError(400, QUERY_INVALID)
        if _utf16_len(str(params.get("text") or "")) > ANSWER_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_queries[query_id] = None
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
        caption = self._caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        self._check_rate(int(chat["id"]))
        return self._new_message(
            int(chat["id"]),
            self.bot_user(),
            caption=caption.text if caption else None,
            caption_entities=caption.entity_list() if caption else None,
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            source=params.get("caption"),
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

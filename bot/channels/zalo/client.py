"""A small async client for the Zalo Bot API, with timeouts and typed errors.

What the public documentation says (https://bot.zaloplatforms.com/docs, "Zalo Bot Platform";
read through the copies in github.com/lamdt1/ckvn-bot docs/zalo-bot-doc.md and
github.com/XuanNguyenNB/QuanLyThuChi_Bot_Telegram_Zalom docs/ZALO_BOT_API.md):

- every call is ``https://bot-api.zaloplatforms.com/bot<TOKEN>/<method>``, GET or POST, with a
  JSON body (form and multipart bodies are accepted too); method names are case-sensitive;
- every answer is ``{"ok": bool, "result": …, "error_code": int, "description": str}``;
- ``getMe``, ``sendMessage(chat_id, text)`` (text of 1 to 2,000 characters), ``sendPhoto(chat_id,
  photo, caption)`` (``photo`` is documented as an image URL; the caption also 1 to 2,000),
  ``sendChatAction(chat_id, action="typing")``, ``setWebhook(url, secret_token)`` (an HTTPS URL,
  a secret of 8 to 256 characters), ``deleteWebhook``, ``getWebhookInfo``. There is no
  ``sendDocument``;
- ``getUpdates(timeout)`` long-polls (30 s by default) and has **no offset**: nothing
  acknowledges an update, so one handed out is gone (the docs advise a webhook in production
  "to avoid missing events"). It answers **one** update per call, not a list, and error code 408
  when none came in time (github.com/openclaw/openclaw extensions/zalo/src/api.ts). getUpdates
  and a webhook exclude each other.

What they do not say, chosen here Telegram-style and kept in ``classify`` so it is one place to
change: how the monthly message quota of the free plan is refused (taken: any error whose
description mentions a quota), rate limiting (HTTP/error code 429 with an optional
``parameters.retry_after``), a user who blocked the bot (403), and whether ``sendPhoto`` takes an
uploaded file (taken: a multipart ``photo`` part, as the docs list multipart "for uploading files
like images"; the caller falls back to text when it is refused).

The token is part of every URL, so no error message here carries the URL. Must not import the
database, the services or any other platform library.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx

DEFAULT_TIMEOUT = 15.0  # seconds for an ordinary call
POLL_TIMEOUT = 30  # seconds getUpdates waits for news (the API's default)
QUOTA_MARKERS = ("quota", "hạn mức")


class ZaloError(Exception):
    """The API refused a call; ``code`` is its error code (or the HTTP status)."""

    def __init__(self, method: str, code: int, description: str = "") -> None:
        super().__init__(f"{method}: {code} {description}".rstrip())
        self.method = method
        self.code = code
        self.description = description


class NetworkError(ZaloError):
    """The API could not be reached or did not answer in time."""


class PollTimeout(ZaloError):
    """getUpdates found nothing new within its timeout (error code 408)."""


class Unauthorized(ZaloError):
    """The bot token is wrong or was reset."""


class RateLimited(ZaloError):
    """Too many calls; wait ``retry_after`` seconds (when the API says) and try again."""

    def __init__(
        self, method: str, code: int, description: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(method, code, description)
        self.retry_after = retry_after


class QuotaExceeded(ZaloError):
    """The plan's message quota is used up; sending again before it resets is pointless."""


class Blocked(ZaloError):
    """This person blocked the bot or cannot receive its messages."""


def classify(method: str, code: int, description: str, parameters: Mapping[str, Any]) -> ZaloError:
    """The typed error for an error answer (the one place that guesses undocumented codes)."""
    text = description.lower()
    if any(marker in text for marker in QUOTA_MARKERS):
        return QuotaExceeded(method, code, description)
    if code == 408:
        return PollTimeout(method, code, description)
    if code == 429:
        wait = parameters.get("retry_after")
        return RateLimited(
            method, code, description, float(wait) if isinstance(wait, int | float) else None
        )
    if code == 401:
        return Unauthorized(method, code, description)
    if code == 403 or "block" in text:
        return Blocked(method, code, description)
    return ZaloError(method, code, description)


class ZaloClient:
    """Calls ``{base_url}{token}/{method}``; use it as an async context manager."""

    def __init__(
        self,
        token: str,
        base_url: str = "https://bot-api.zaloplatforms.com/bot",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        trust_env: bool = True,
    ) -> None:
        self._prefix = f"{base_url}{token}/"
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout, trust_env=trust_env)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        seconds: float | None = None,
    ) -> Any:
        """Call one method and return its ``result`` (waiting at most ``seconds`` for the
        answer); raise a ``ZaloError`` otherwise."""
        limit = seconds or self._timeout
        try:
            if files:
                data = {key: str(value) for key, value in (params or {}).items()}
                response = await self._http.post(
                    self._prefix + method, data=data, files=files, timeout=limit
                )
            else:
                response = await self._http.post(
                    self._prefix + method, json=dict(params or {}), timeout=limit
                )
        except httpx.TimeoutException:
            raise NetworkError(method, 0, "timed out") from None
        except httpx.HTTPError as error:  # the URL (with the token) stays out of the message
            raise NetworkError(method, 0, type(error).__name__) from None
        return _result(method, response)

    async def get_me(self) -> dict[str, Any]:
        """The bot's own account; checks the token."""
        return _object(await self.call("getMe"))

    async def get_update(self, wait: int = POLL_TIMEOUT) -> dict[str, Any] | None:
        """Wait up to ``wait`` seconds for the next update (one per call, never acknowledged);
        None when none came."""
        try:
            result = await self.call("getUpdates", {"timeout": str(wait)}, seconds=wait + 10.0)
        except PollTimeout:
            return None
        return result if isinstance(result, dict) and result else None

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send a text of 1 to 2,000 characters."""
        return _object(await self.call("sendMessage", {"chat_id": chat_id, "text": text}))

    async def send_photo(
        self, chat_id: str, content: bytes, filename: str, caption: str = ""
    ) -> dict[str, Any]:
        """Upload an image (multipart, see the module docstring) with an optional caption."""
        params = {"chat_id": chat_id, **({"caption": caption} if caption else {})}
        kind = "image/jpeg" if filename.lower().endswith((".jpg", ".jpeg")) else "image/png"
        result = await self.call("sendPhoto", params, files={"photo": (filename, content, kind)})
        return _object(result)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})


def _object(result: Any) -> dict[str, Any]:
    return dict(result) if isinstance(result, dict) else {}


def _result(method: str, response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise classify(method, response.status_code, "answer is not a JSON object", {})
    if body.get("ok") is True:
        return body.get("result")
    code = body.get("error_code")
    parameters = body.get("parameters")
    raise classify(
        method,
        code if isinstance(code, int) else response.status_code,
        str(body.get("description") or ""),
        parameters if isinstance(parameters, dict) else {},
    )

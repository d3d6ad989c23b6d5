"""A small async client for the Zalo Bot API, with timeouts and typed errors.

What the public documentation says (https://bot.zaloplatforms.com/docs, "Zalo Bot Platform";
read through the copy in github.com/lamdt1/ckvn-bot docs/zalo-bot-doc.md, checked against
github.com/openclaw/openclaw extensions/zalo/src/api.ts):

- every call is ``https://bot-api.zaloplatforms.com/bot<TOKEN>/<method>``, GET or POST, with a
  JSON body (query string, form and multipart bodies are accepted too); method names are
  case-sensitive;
- every answer is ``{"ok": bool, "result": …, "error_code": int, "description": str}``;
- ``getMe``, ``sendMessage(chat_id, text)`` (text of 1 to 2,000 characters), ``sendPhoto(chat_id,
  photo, caption)`` where ``photo`` is the image's **URL** (a string; nothing is uploaded),
  ``sendSticker``, ``sendChatAction(chat_id, action="typing")``, ``setWebhook(url,
  secret_token)`` (an HTTPS URL, a secret of 8 to 256 characters), ``deleteWebhook``,
  ``getWebhookInfo``. There is no ``sendDocument``. hoctap sends text only: its charts have no
  public URL (see ``adapter.render``);
- ``getUpdates(timeout)`` long-polls (30 s by default) and has **no offset**: nothing
  acknowledges an update, so one handed out is gone (the docs advise a webhook in production
  "to avoid missing events"). It answers **one** update per call, not a list (openclaw), and
  408 when none came in time. getUpdates and a webhook exclude each other;
- the error codes ("Bảng mã lỗi"): 400 bad request, 401 token expired or invalid, **403
  internal server error**, 404 not found, 408 request timeout, **429 quota exceeded** (the
  API's usage limit). ``classify`` maps exactly these; it adds only that an HTTP 5xx (a
  gateway's answer, not Zalo's JSON) is a server error too.

What they do not say: any code for a person who blocked the bot (so nobody is ever taken for
blocked here), a rate limit apart from that quota, a ``retry_after``, or the figures of the
quota. Whether an error comes as the HTTP status or only as ``error_code`` is not said
either: ``error_code`` is read, the HTTP status when there is none.

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


class ZaloError(Exception):
    """The API refused a call; ``code`` is its error code (or the HTTP status)."""

    def __init__(self, method: str, code: int, description: str = "") -> None:
        super().__init__(f"{method}: {code} {description}".rstrip())
        self.method = method
        self.code = code
        self.description = description


class Transient(ZaloError):
    """A failure worth trying again later: the call may well work the next time."""


class NetworkError(Transient):
    """The API could not be reached or did not answer in time."""


class ServerError(Transient):
    """Zalo failed on its side (error 403, documented as "internal server error")."""


class PollTimeout(ZaloError):
    """getUpdates found nothing new within its timeout (error code 408)."""


class Unauthorized(ZaloError):
    """The bot token is wrong, expired or was reset (401)."""


class QuotaExceeded(ZaloError):
    """The API usage limit is reached (429): sending again before it resets is pointless."""


def classify(method: str, code: int, description: str = "") -> ZaloError:
    """The typed error for an error answer, by the documented codes."""
    if code == 408:
        return PollTimeout(method, code, description)
    if code == 401:
        return Unauthorized(method, code, description)
    if code == 429:
        return QuotaExceeded(method, code, description)
    if code == 403 or code >= 500:
        return ServerError(method, code, description)
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
        self, method: str, params: Mapping[str, Any] | None = None, *, seconds: float | None = None
    ) -> Any:
        """Call one method with a JSON body and return its ``result`` (waiting at most
        ``seconds`` for the answer); raise a ``ZaloError`` otherwise."""
        try:
            response = await self._http.post(
                self._prefix + method, json=dict(params or {}), timeout=seconds or self._timeout
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
        raise classify(method, response.status_code, "answer is not a JSON object")
    if body.get("ok") is True:
        return body.get("result")
    code = body.get("error_code")
    raise classify(
        method,
        code if isinstance(code, int) else response.status_code,
        str(body.get("description") or ""),
    )

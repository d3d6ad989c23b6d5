"""A small async client for the Zalo Official Account Open API v3 and its OAuth v4.

What the public documentation says (developers.zalo.me, "Official Account API"; read through
the copies and implementations named in ``../shared/design/PLATFORMS.md``):

- **OAuth v4** (``POST {oauth}/v4/oa/access_token``, form-encoded, header ``secret_key`` = the
  app's secret key): ``code`` + ``app_id`` + ``grant_type=authorization_code`` (+ the PKCE
  ``code_verifier``) gives the first pair; ``refresh_token`` + ``app_id`` +
  ``grant_type=refresh_token`` the next. The answer is ``{access_token, refresh_token,
  expires_in}`` (``expires_in`` in seconds, sent as a string: about 25 hours); the refresh
  token lives about 3 months and is spent by its use. A refusal is ``{error: <negative>,
  error_name, error_description}``.
- **Messages** (``POST {api}/v3.0/oa/message/cs``, header ``access_token``, JSON
  ``{recipient: {user_id}, message: {...}}``): a text of at most 2,000 characters, with up to
  5 buttons (``attachment.type = "template"``, ``payload.buttons`` of ``{title, type, payload}``;
  ``oa.query.show`` sends its payload back as the person's own message); an image by the
  ``attachment_id`` an upload gave (``POST {api}/v2.0/oa/upload/image``, multipart ``file``,
  jpg or png of at most 1 MB). Every answer is ``{error: 0 | <negative>, message, data}``.
- **Profiles** (``GET {api}/v3.0/oa/user/detail?data={"user_id": …}``, header
  ``access_token``): ``data.display_name`` is the name the person shows on Zalo (webhook events
  carry none).
- **Error codes** (developers.zalo.me ``phu-luc/ma-loi-post-735``): -216 the access token is
  invalid or expired (-220: expired or revoked, treated alike); -213 the person does not
  follow the OA; -211 the month's quota is used up; -230 the person has not interacted with the
  OA in the last 7 days (-232, no interaction that allows this message, treated alike); -32
  the app's call rate is exceeded (tried again later, as a network failure is).

The access token travels in a header and never in a URL or an error message. Must not import
the database, the services or any other platform library.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import httpx

from bot.services.tokens import RefreshRefused, Tokens

DEFAULT_TIMEOUT = 15.0
TEXT_LIMIT = 2000  # characters of one text message
MAX_BUTTONS = 5  # buttons under one message
TITLE_LIMIT = 100  # characters of a button's title
PAYLOAD_LIMIT = 1000  # characters of an oa.query.show payload
IMAGE_LIMIT = 1_000_000  # bytes of an uploaded image
REFRESH_LIFETIME = dt.timedelta(days=90)  # the docs: "3 months"; not sent with the answer
ACCESS_LIFETIME = 90_000  # seconds: the docs' 25 hours, where an answer does not say
MIN_LIFETIME = 7_200  # seconds: an access token is taken to live at least this long
EXPIRED_TOKEN, NOT_FOLLOWER, OUT_OF_QUOTA, NO_INTERACTION = -216, -213, -211, -230
REVOKED_TOKEN, NO_ALLOWED_INTERACTION, RATE_LIMITED = -220, -232, -32


class OaError(Exception):
    """The API refused a call; ``code`` is its error code (negative), or the HTTP status."""

    def __init__(self, call: str, code: int, description: str = "") -> None:
        super().__init__(f"{call}: {code} {description}".rstrip())
        self.call, self.code, self.description = call, code, description


class NetworkError(OaError):
    """The API could not be reached, did not answer in time, or failed on its side (5xx)."""


class TokenExpired(OaError):
    """-216: the access token is invalid or has expired."""


class NotFollower(OaError):
    """-213: the person does not follow the OA (they unfollowed, or never followed)."""


class OutOfQuota(OaError):
    """-211: the OA's messages for this month are used up."""


class NoInteraction(OaError):
    """-230: the person has not written to the OA in the last 7 days."""


ERRORS: dict[int, type[OaError]] = {
    EXPIRED_TOKEN: TokenExpired,
    REVOKED_TOKEN: TokenExpired,
    NOT_FOLLOWER: NotFollower,
    OUT_OF_QUOTA: OutOfQuota,
    NO_INTERACTION: NoInteraction,
    NO_ALLOWED_INTERACTION: NoInteraction,
    RATE_LIMITED: NetworkError,
}


def code_verifier(secret: str) -> str:
    """The PKCE verifier of the authorisation: derived from the secret key, so that the
    authorisation link and ``authorize CODE`` agree without storing anything between them."""
    digest = hashlib.sha256(b"hoctap zalo-oa pkce\0" + secret.encode()).hexdigest()
    return digest[:43]


def code_challenge(verifier: str) -> str:
    """``base64url(sha256(verifier))`` without padding (RFC 7636, S256)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OaClient:
    """Calls the OA API and its OAuth; use ``aclose`` when done."""

    def __init__(
        self,
        app_id: str,
        secret_key: str,
        api_url: str = "https://openapi.zalo.me",
        oauth_url: str = "https://oauth.zaloapp.com",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        trust_env: bool = True,
    ) -> None:
        self.app_id, self._secret = app_id, secret_key
        self.api_url, self.oauth_url = api_url.rstrip("/"), oauth_url.rstrip("/")
        self._http = httpx.AsyncClient(timeout=timeout, trust_env=trust_env)

    async def aclose(self) -> None:
        await self._http.aclose()

    def permission_url(self, redirect_uri: str, state: str = "hoctap") -> str:
        """The page where the OA's administrator grants the app its permissions."""
        query = httpx.QueryParams(
            {
                "app_id": self.app_id,
                "redirect_uri": redirect_uri,
                "code_challenge": code_challenge(code_verifier(self._secret)),
                "state": state,
            }
        )
        return f"{self.oauth_url}/v4/oa/permission?{query}"

    # ------------------------------------------------------------------------- OAuth

    async def authorize(self, code: str, now: dt.datetime) -> Tokens:
        """The first pair of tokens, for the code the authorisation page gave."""
        return await self._token(
            {
                "code": code,
                "app_id": self.app_id,
                "grant_type": "authorization_code",
                "code_verifier": code_verifier(self._secret),
            },
            now,
        )

    async def refresh(self, refresh_token: str, now: dt.datetime) -> Tokens:
        """The next pair; raise ``RefreshRefused`` when Zalo refuses the refresh token."""
        return await self._token(
            {"refresh_token": refresh_token, "app_id": self.app_id, "grant_type": "refresh_token"},
            now,
        )

    async def _token(self, form: Mapping[str, str], now: dt.datetime) -> Tokens:
        try:
            response = await self._http.post(
                f"{self.oauth_url}/v4/oa/access_token",
                data=dict(form),
                headers={"secret_key": self._secret},
            )
        except httpx.HTTPError as error:
            raise NetworkError("access_token", 0, type(error).__name__) from None
        if response.status_code >= 500:
            raise NetworkError("access_token", response.status_code)
        body = _json(response, parsed=True)
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            code = body.get("error")
            if not (isinstance(code, int) and code < 0):  # a proxy's page, a 429: not a refusal
                raise NetworkError("access_token", response.status_code, "no tokens, no error")
            reason = str(body.get("error_name") or body.get("error_description") or "")
            raise RefreshRefused(f"{code} {reason}".strip()[:200])
        try:
            seconds = int(str(body.get("expires_in") or "0"))
        except ValueError:
            seconds = 0
        # Missing or odd: the documented 25 hours; never under two hours, or the keeper (which
        # renews an hour ahead) would refresh at every call. Zalo's -216 corrects a guess.
        seconds = ACCESS_LIFETIME if seconds <= 0 else max(seconds, MIN_LIFETIME)
        return Tokens(access, now + dt.timedelta(seconds=seconds), refresh, now + REFRESH_LIFETIME)

    # ------------------------------------------------------------------------- messages

    async def send(self, token: str, user_id: str, message: Mapping[str, Any]) -> str:
        """Send one consultation message; return its message id."""
        body = {"recipient": {"user_id": user_id}, "message": dict(message)}
        data = await self._call("message/cs", token, "v3.0/oa/message/cs", json=body)
        return str(data.get("message_id") or "")

    async def display_name(self, token: str, user_id: str) -> str:
        """The name the person shows on Zalo (``GET v3.0/oa/user/detail``); "" when none."""
        query = {"data": json.dumps({"user_id": user_id})}
        data = await self._call("user/detail", token, "v3.0/oa/user/detail", "GET", params=query)
        name = data.get("display_name")
        return name.strip() if isinstance(name, str) else ""

    async def upload_image(self, token: str, content: bytes, filename: str) -> str:
        """Upload a png or jpg; return the attachment id a message can carry."""
        kind = "image/jpeg" if filename.lower().endswith((".jpg", ".jpeg")) else "image/png"
        data = await self._call(
            "upload/image",
            token,
            "v2.0/oa/upload/image",
            files={"file": (filename, content, kind)},
        )
        ident = data.get("attachment_id")
        if not isinstance(ident, str) or not ident:
            raise OaError("upload/image", 0, "no attachment id in the answer")
        return ident

    async def _call(
        self, name: str, token: str, path: str, method: str = "POST", **request: Any
    ) -> dict[str, Any]:
        try:
            response = await self._http.request(
                method, f"{self.api_url}/{path}", headers={"access_token": token}, **request
            )
        except httpx.HTTPError as error:
            raise NetworkError(name, 0, type(error).__name__) from None
        if response.status_code >= 500:
            raise NetworkError(name, response.status_code)
        body = _json(response)
        code = body.get("error")
        if code == 0:
            data = body.get("data")
            return dict(data) if isinstance(data, dict) else {}
        number = code if isinstance(code, int) else response.status_code
        raise ERRORS.get(number, OaError)(name, number, str(body.get("message") or "")[:200])


def _json(response: httpx.Response, parsed: bool = False) -> dict[str, Any]:
    """The JSON object answered; otherwise ``{"error": <HTTP status>}`` (``parsed``: {})."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {} if parsed else {"error": response.status_code}

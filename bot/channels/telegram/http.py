"""python-telegram-bot's calls to the Bot API over aiohttp instead of its default, httpx.

Why: measured with ``bench/bench_telegram.py`` on the 2-core machine, httpx took a quarter of
the bot's CPU time per answer (about 1.3 ms for each sendMessage, most of it in httpx's and
httpcore's own Python). The bot is CPU-bound under load, so that was a quarter of its throughput.
aiohttp parses HTTP in C; the README gives the figures. python-telegram-bot documents
``BaseRequest`` as the place to plug in another HTTP library; it still builds every request,
parses every answer and raises its own errors, so nothing above this module changes.

Two more savings, both measured: parameters go as one JSON body (python-telegram-bot's
``json_payload``, which the Bot API accepts like a form; percent-encoding a long text and its
keyboard cost more than sending it), and the proxy settings of the environment are read once per
host rather than on every call (aiohttp's ``trust_env`` reads them, and ``~/.netrc`` in a thread,
each time).

Timeouts as python-telegram-bot means them: ``connect`` and ``pool`` bound getting a connection,
``read`` bounds the wait for each chunk of the answer (long polling asks for more than its
``timeout``), and ``write``, which aiohttp does not time by itself, is part of a bound on the
whole call (the sum of all four). ``None`` means no limit. HTTP(S) proxies from the environment
(``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``) are used; SOCKS proxies are not.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput  # "a float, None, or left to the default"

CONNECTIONS = 256  # as python-telegram-bot's ApplicationBuilder gives httpx
_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # what a timeout left to the default is
_JSON = {"Content-Type": "application/json"}
_TOKEN_IN_URL = re.compile(r"/(?:file/)?bot[^/\s]+/")


class AiohttpRequest(BaseRequest):
    """One aiohttp session, opened by ``initialize`` and closed by ``shutdown``."""

    def __init__(
        self,
        *,
        connections: int = CONNECTIONS,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._connections = connections
        self._read, self._write = read_timeout, write_timeout
        self._connect, self._pool = connect_timeout, pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.contains_files if request_data is not None else False
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if files else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        timeout = aiohttp.ClientTimeout(
            total=_sum(connect, pool, write, read),
            connect=_sum(connect, pool),
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method,
                url,
                data=_body(request_data),
                headers=None if files or request_data is None else _JSON,
                proxy=_proxy(*_scheme_and_host(url)),
                timeout=timeout,
            ) as response:
                return response.status, await response.read()
        # aiohttp's messages may hold the URL, and with it the bot's token: it is blanked, and
        # the original error is not chained (a logged traceback would print it whole).
        except TimeoutError as error:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut(f"Timed out: aiohttp.{type(error).__name__}") from None
        except aiohttp.ClientError as error:
            # The class name says what failed when the message is empty.
            text = _TOKEN_IN_URL.sub("/bot***/", f"aiohttp.{type(error).__name__}: {error}")
            raise NetworkError(text) from None


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, _DEFAULT) else cast("float | None", value)


def _sum(*parts: float | None) -> float | None:
    return None if any(part is None for part in parts) else sum(p for p in parts if p)


def _scheme_and_host(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or ""


@cache
def _proxy(scheme: str, host: str) -> str | None:
    """The proxy the environment names for this scheme and host, or None."""
    if not host or proxy_bypass(host):
        return None
    return getproxies().get(scheme)


def _body(request_data: RequestData | None) -> aiohttp.FormData | bytes | None:
    """The parameters as JSON; with files, as multipart (as httpx sends them)."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return request_data.json_payload
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form

"""The small HTTP server every fake platform API of the end-to-end tests is built on.

Owns: listening on 127.0.0.1 (a free port unless one is given), start and stop (requests in
flight are let finish, then every connection is closed), the record of the calls a bot made and
how each was answered, the refusals among them and the ones a test declared it expects, the
change notification that wakes ``wait_until`` and long polls, reading query, form and JSON
parameters (uploads are left to each fake), ``ApiHandler`` for ``/bot<token>/<method>``, and
``free_port``.

A platform fake subclasses ``FakeHttpServer`` and gives three things: ``routes()``,
``parse_request()`` (usually ``read_params`` plus its own decoding) and ``dispatch()``, which
calls ``record()`` first and ``answered()`` last. ``watching()`` lets a test harness find every
fake a test created, to check their refusals at teardown. Must not import the bot,
python-telegram-bot or a platform fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import httpx
import tornado.httputil
import tornado.netutil
import tornado.web
from tornado.httpserver import HTTPServer

JsonDict = dict[str, Any]
Route = tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]
_T = TypeVar("_T")
# Every fake created while a watch is open is added to it (see ``watching``).
_watches: list[list[FakeHttpServer[Any]]] = []


class ApiError(Exception):
    """An error answer: HTTP status, description and, for a 429, the seconds to wait."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JsonDict:
        """Return the JSON body: ``{"ok": false, "error_code", "description"[, parameters]}``."""
        body: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Call:
    """One request the bot made; ``status`` stays None while it is being answered."""

    method: str
    params: JsonDict
    at: float
    status: int | None = None
    result: Any = None
    description: str | None = None
    declared: bool = False  # a refusal the fake was told to give (an injected fault)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def refused(self) -> bool:
        """True when it was answered with anything but 2xx."""
        return self.status is not None and not 200 <= self.status < 300


CallT = TypeVar("CallT", bound=Call)


@dataclass
class Expectation:
    """A refusal a test declared it expects: `method` answered `status`, its description
    containing `contains`. Used plainly it covers the whole test; as a context manager, only
    calls made inside the block."""

    server: FakeHttpServer[Any] = field(repr=False)
    method: str
    status: int
    contains: str = ""
    first: int = 0  # indices into the server's calls; last None: open-ended
    last: int | None = None

    def __enter__(self) -> Self:
        self.first, self.last = len(self.server.calls), None
        return self

    def __exit__(self, *exc: object) -> None:
        self.last = len(self.server.calls)

    def covers(self, index: int, call: Call) -> bool:
        """True when the refused call at `index` of the record is one this declares."""
        inside = self.first <= index and (self.last is None or index < self.last)
        return (
            inside
            and call.method.lower() == self.method.lower()
            and call.status == self.status
            and self.contains in (call.description or "")
        )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (for servers we cannot ask)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_params(request: tornado.httputil.HTTPServerRequest) -> JsonDict:
    """Read query, form and JSON parameters (values of query and form fields are strings).

    Uploaded files are left in ``request.files`` for the fake to keep as it likes.
    """
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
    return params


@contextlib.contextmanager
def watching() -> Iterator[list[FakeHttpServer[Any]]]:
    """Collect every fake server created inside the block, in creation order."""
    servers: list[FakeHttpServer[Any]] = []
    _watches.append(servers)
    try:
        yield servers
    finally:
        _watches.remove(servers)


class FakeHttpServer(Generic[CallT]):
    """A fake platform API on 127.0.0.1, run inside the test's event loop; its calls are
    recorded as `call_type` (a ``Call`` subclass can add what its platform needs)."""

    # How many of the last calls a ``wait_until`` timeout shows.
    shown_calls: ClassVar[int] = 15

    def __init__(
        self, call_type: type[CallT], *, port: int = 0, clock: Callable[[], float] = time.time
    ) -> None:
        self.port = port
        self._clock = clock
        self._call_type = call_type
        self.calls: list[CallT] = []
        self.expected: list[Expectation] = []
        self._changed = asyncio.Event()
        self._closing = False
        self._active: set[asyncio.Task[Any]] = set()
        self._server: HTTPServer | None = None
        self._http: httpx.AsyncClient | None = None
        for watch in _watches:
            watch.append(self)

    # ----------------------------------------------------------------- for subclasses

    def routes(self) -> list[Route]:
        """Return the tornado rules this fake serves."""
        raise NotImplementedError

    def default_handler(self) -> type[tornado.web.RequestHandler] | None:
        """Return the handler for unknown paths (None: tornado's own 404 page)."""
        return None

    def parse_request(self, request: tornado.httputil.HTTPServerRequest) -> JsonDict:
        """Return the parameters of one request (raise ``ApiError`` for a malformed one)."""
        return read_params(request)

    async def dispatch(
        self, token: str, method: str, params: JsonDict, is_closed: Callable[[], bool]
    ) -> tuple[int, JsonDict]:
        """Answer one ``/bot<token>/<method>`` request: return (HTTP status, JSON body)."""
        raise NotImplementedError

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
        """Listen on 127.0.0.1 (a free port unless one was given)."""
        self._closing = False
        app = tornado.web.Application(
            self.routes(),
            default_handler_class=self.default_handler(),
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(self.port, "127.0.0.1", family=socket.AF_INET)
        self.port = int(sockets[0].getsockname()[1])
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)
        # trust_env=False: a proxy from the environment must never see loopback test traffic.
        self._http = httpx.AsyncClient(trust_env=False, timeout=10.0)

    async def stop(self) -> None:
        """Wake pending long polls, let requests and pushes in flight finish (at most 5 s),
        then close every connection and the client used for pushes."""
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
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def track(self, task: asyncio.Task[Any]) -> None:
        """Count `task` as in flight until it ends (``stop`` waits for it)."""
        self._active.add(task)
        task.add_done_callback(self._active.discard)

    # ----------------------------------------------------------------- recording calls

    def record(self, method: str, params: JsonDict) -> CallT:
        """Record a call as it arrives; a call on its way is news to waiters too."""
        call = self._call_type(method, params, self._clock())
        self.calls.append(call)
        self._notify()
        return call

    def answered(self, call: Call, error: ApiError | None, result: Any = None) -> JsonDict:
        """Note how `call` was answered and return the JSON body for it."""
        if error is not None:
            call.status, call.description = error.code, error.description
            self._notify()
            return error.payload()
        call.status, call.result = 200, result
        self._notify()
        return {"ok": True, "result": result}

    def calls_to(self, method: str) -> list[CallT]:
        return [call for call in self.calls if call.method == method]

    # ----------------------------------------------------------------- refusals

    def is_refusal(self, call: Call) -> bool:
        """True when `call` was refused (a platform's normal non-2xx answers can be left out)."""
        return call.refused

    def refusals(self) -> list[CallT]:
        """Return every refused call, oldest first."""
        return [call for call in self.calls if self.is_refusal(call)]

    def expect_refusal(self, method: str, status: int, contains: str = "") -> Expectation:
        """Declare that `method` may be answered `status` (a description containing
        `contains`); usable as ``with api.expect_refusal(...):`` to cover only a block."""
        expectation = Expectation(self, method, status, contains)
        self.expected.append(expectation)
        return expectation

    def unexpected_refusals(self) -> list[CallT]:
        """Return the refused calls neither injected nor covered by an expectation."""
        return [
            call
            for index, call in enumerate(self.calls)
            if self.is_refusal(call)
            and not call.declared
            and not any(e.covers(index, call) for e in self.expected)
        ]

    # ----------------------------------------------------------------- waiting

    async def wait_until(
        self,
        condition: Callable[[], _T],
        timeout: float = 10.0,  # noqa: ASYNC109 (expiry becomes an AssertionError)
        *,
        describe: str = "",
    ) -> _T:
        """Wait until `condition()` is truthy and return its value.

        The condition is re-checked whenever the fake's state changes (a call, an update, a
        webhook answer), so it must depend on that state; wait on your own events otherwise.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                shown = self.calls[-self.shown_calls :]
                recent = "\n".join(f"  {call}" for call in shown) or "  (none)"
                what = describe or getattr(condition, "__qualname__", "condition")
                raise AssertionError(f"{what} not met within {timeout}s; last calls:\n{recent}")
            await self.changed(remaining)

    async def changed(self, timeout: float) -> None:  # noqa: ASYNC109 (a wait, not an I/O limit)
        """Return at the fake's next change of state, or after `timeout` seconds."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)

    def notify(self) -> None:
        """Wake whatever waits for a change: the bot under test says its own state changed."""
        self._notify()

    def _notify(self) -> None:
        """Wake everything waiting for a change (long polls, ``wait_until``, chat clients)."""
        self._changed.set()
        self._changed = asyncio.Event()


class ApiHandler(tornado.web.RequestHandler):
    """Serves ``/bot<token>/<method>`` for GET and POST through the fake's ``dispatch``."""

    def initialize(self, api: FakeHttpServer[Any]) -> None:
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
                params = self.api.parse_request(self.request)
            except ApiError as exc:
                status, payload = exc.code, exc.payload()
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

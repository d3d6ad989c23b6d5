"""Tests of the server base the platform fakes share, through the smallest fake built on it.

``EchoApi`` is also the pattern for a new fake: routes, dispatch (record first, answered last).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .fake_http import ApiError, ApiHandler, Call, FakeHttpServer, JsonDict, Route, watching


class EchoApi(FakeHttpServer[Call]):
    """``/bot<token>/echo`` answers its parameters; ``/bot<token>/refuse`` answers 403."""

    def __init__(self) -> None:
        super().__init__(Call)

    def routes(self) -> list[Route]:
        return [(r"/bot([^/]+)/([^/]+)", ApiHandler, {"api": self})]

    async def dispatch(
        self, token: str, method: str, params: JsonDict, is_closed: Callable[[], bool]
    ) -> tuple[int, JsonDict]:
        call = self.record(method, params)
        if method == "refuse":
            return 403, self.answered(call, ApiError(403, "Forbidden: not you"))
        return 200, self.answered(call, None, params)


async def post(api: EchoApi, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=api.url, trust_env=False) as http:
        return await http.post(path, **kwargs)


async def test_a_fake_on_the_base_reads_json_form_and_query_and_records_every_call() -> None:
    with watching() as servers:
        api = EchoApi()
    async with api:
        as_json = await post(api, "/botT/echo", json={"a": 1})
        as_form = await post(api, "/botT/echo?b=2", data={"c": "3"})
        refused = await post(api, "/botT/refuse")
        broken = await post(
            api, "/botT/echo", content=b"{", headers={"Content-Type": "application/json"}
        )
    assert servers == [api]
    assert as_json.json() == {"ok": True, "result": {"a": 1}}
    assert as_form.json()["result"] == {"b": "2", "c": "3"}
    assert (refused.status_code, refused.json()) == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: not you"},
    )
    assert broken.json()["description"] == "Bad Request: can't parse JSON body"  # not a call
    assert [(c.method, c.status) for c in api.calls] == [
        ("echo", 200),
        ("echo", 200),
        ("refuse", 403),
    ]
    assert api.refusals() == api.unexpected_refusals() == [api.calls[2]]
    api.expect_refusal("refuse", 403, "not you")
    assert api.unexpected_refusals() == []


async def test_wait_until_returns_the_value_or_fails_with_the_last_calls() -> None:
    async with EchoApi() as api:
        await post(api, "/botT/echo", json={"n": 1})
        assert await api.wait_until(lambda: len(api.calls)) == 1
        with pytest.raises(AssertionError, match=r"(?s)two calls not met within 0.1s.*echo"):
            await api.wait_until(lambda: len(api.calls) == 2, 0.1, describe="two calls")

"""Waiting that a stop request cuts short: the runners of every channel share these.

Must not import any platform library or the services.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

_T = TypeVar("_T")
STOP_GRACE = 10.0  # seconds a stop waits for the update being applied


async def until_stopped(stop: asyncio.Event, call: Awaitable[_T]) -> _T | None:
    """Await ``call`` unless ``stop`` is set first (then the call is cancelled: None)."""
    task = asyncio.ensure_future(call)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None
    return task.result()


async def pause(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    """Sleep, but wake at once when asked to stop (or when ``wake`` is set)."""
    waiters = [asyncio.ensure_future(event.wait()) for event in (stop, wake) if event is not None]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


async def run_until_stopped(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    """Wait for the task; once ``stop`` is set give it ``STOP_GRACE`` seconds to finish the
    update in hand, then cancel it (its transaction rolls back and replays at the next start).
    An error of the task is raised here."""
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=STOP_GRACE)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(waiter, task, return_exceptions=True)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]

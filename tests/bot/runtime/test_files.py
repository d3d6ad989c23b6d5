"""The worker process that draws report files: it goes when the bot is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from tests.support.bot_process import ROOT

# A bot stand-in: starts the drawing worker, prints its pid, then waits to be killed.
SCRIPT = """
import os, sys, time
from bot.runtime.files import Drawer
worker = Drawer().executor().submit(os.getpid).result()
print(worker, flush=True)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_the_drawing_worker_exits_when_the_bot_is_killed() -> None:
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert bot.stdout is not None
    worker = int(await asyncio.wait_for(bot.stdout.readline(), 30))
    assert alive(worker)
    bot.send_signal(signal.SIGKILL)  # it cannot tell its worker
    await bot.wait()
    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:  # noqa: ASYNC110 (another process)
        await asyncio.sleep(0.1)
    assert not alive(worker)

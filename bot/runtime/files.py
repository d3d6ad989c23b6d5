"""Files rendered after the commit: a reply's report spreadsheet or chart, in a worker process.

The unit of work reads the counts and keeps the report; drawing its chart (a province's takes
over a second of CPU) happens here, after the commit, so the database waits for none of it.
A worker thread would still hold up everyone else's answer: matplotlib and Pillow keep
Python's global lock through long calls, and at 30 steps a second a province chart drawn in a
thread pushed other people's p99 from 45 to 250–400 ms (``bench/bench_runner.py``). So the
runner draws in one worker process of its own, started at the first report, kept, and gone
with the bot. Must not import any platform library.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from bot.chat.messages import Attachment, Outbound, Reply
from bot.i18n import _, use_locale
from bot.reports.files import render_file
from bot.rich import lines, t

log = logging.getLogger(__name__)


class Drawer:
    """The worker process that draws report files, started when first needed."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def executor(self) -> Executor:
        if self._pool is None:
            # "spawn": a fresh interpreter, never a fork of a process that runs threads.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=_leave_with,
                initargs=(os.getpid(),),
            )
        return self._pool

    async def rendered(self, out: Outbound) -> Outbound:
        """``out`` with its files drawn; a worker that died is replaced once."""
        try:
            return await rendered(out, self.executor())
        except BrokenProcessPool:
            self.close()
            return await rendered(out, self.executor())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _leave_with(parent: int) -> None:
    """In the worker: exit once the bot is gone (killed with SIGKILL, it cannot say so), so a
    crash and restart never leave a drawing process behind."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-the-bot", daemon=True).start()


async def rendered(out: Outbound, executor: Executor | None = None) -> Outbound:
    """The answer with every file's bytes, rendering what is still a report (in ``executor``;
    by default a thread, which a one-person channel such as the terminal can afford)."""
    if all(reply.attachment is None or reply.attachment.ready for reply in out.replies):
        return out
    replies = []
    for reply in out.replies:
        attachment = reply.attachment
        if attachment is not None and not attachment.ready:
            try:
                reply = replace(reply, attachment=await _render(attachment, executor))
            except BrokenProcessPool:
                raise  # the worker died: the caller starts another and tries again
            except Exception:  # this file only: the others and every text still go
                log.exception("the file %s could not be drawn", attachment.filename)
                reply = _without_its_file(reply, attachment)
        replies.append(reply)
    return replace(out, replies=replies)


def _without_its_file(reply: Reply, attachment: Attachment) -> Reply:
    """The reply a file failed to draw for: its text, and a line saying the file is missing."""
    with use_locale(attachment.locale or None):
        missing = "⚠️ " + t(_("The file {name} could not be made."), name=attachment.filename)
    return replace(reply, text=lines(reply.text, missing), attachment=None)


async def _render(attachment: Attachment, executor: Executor | None) -> Attachment:
    assert attachment.report is not None
    content = await asyncio.get_running_loop().run_in_executor(
        executor, render_file, attachment.report, attachment.filename, attachment.locale
    )
    return attachment.rendered(content)

"""The terminal channel: the same conversations as Telegram, with numbered options.

Interactive on a terminal; when standard input is a pipe it reads one answer per line, so a
session can be scripted. Every answer goes through the same service and is committed before the
next question is printed, so Ctrl-C and running it again resumes at the same question.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.channels.text import numbered
from bot.chat import router
from bot.chat.messages import Actor, Attachment, Inbound, Outbound
from bot.i18n import _
from bot.runtime.files import rendered
from bot.services.context import Services

QUIT_WORDS = {"q", "quit", "exit", "thoat", "thoát"}


def terminal_actor(language: str, user: str | None = None) -> Actor:
    """The person at this terminal: one identity per operating-system user."""
    name = user or getpass.getuser()
    return Actor("terminal", name, name, name, language)


async def converse(
    services: Services,
    actor: Actor,
    first: Inbound,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    """Run one conversation until the input ends or the person quits."""
    screen = await _send(services, first, stdout) or {}
    interactive = stdin.isatty()
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await _readline(stdin)
        if not line or line.strip().lower() in QUIT_WORDS:
            break
        typed = line.strip()
        if not interactive:
            stdout.write(f"> {typed}\n")
        shown = await _send(services, _inbound(actor, typed, screen), stdout)
        screen = screen if shown is None else shown
    stdout.write(_("Goodbye. Your answers are saved.") + "\n")
    return 0


def _readline(stdin: TextIO) -> asyncio.Future[str]:
    """Read a line without blocking the loop, in a daemon thread so Ctrl-C ends at once.

    (``asyncio.to_thread`` would make the interpreter wait at exit for the pending read.)
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(line: str) -> None:
        if not future.done():
            future.set_result(line)

    def read() -> None:
        line = stdin.readline()
        with contextlib.suppress(RuntimeError):  # the loop already closed: nobody waits
            loop.call_soon_threadsafe(settle, line)

    threading.Thread(target=read, name="terminal-input", daemon=True).start()
    return future


def _inbound(actor: Actor, typed: str, screen: dict[str, str]) -> Inbound:
    """A command, a listed key of the choices on screen (that choice, as a tap), or typed text
    (which the router maps to a choice too, from the stored conversation)."""
    if typed.startswith("/"):
        name, _sep, argument = typed[1:].partition(" ")
        return Inbound(actor, command=name.lower(), argument=argument.strip(), keyed=True)
    choice = screen.get(typed.lower())
    if choice is not None:
        # What is on screen is what the person answers, as a button is on Telegram: even
        # before anything is stored about them (the consent question).
        return Inbound(actor, choice=choice, keyed=True)
    return Inbound(actor, text=typed, keyed=True)


def _keys(out: Outbound) -> dict[str, str] | None:
    """What typing 1, 2, … means now: the choices of the last reply that has any; none once a
    reply without choices was shown (a question typed in full)."""
    if not out.replies:
        return None
    shown = next((reply for reply in reversed(out.replies) if reply.buttons), None)
    if shown is None:
        return {}
    return dict(zip(shown.keys(), (button.data for button in shown.choices()), strict=True))


async def _send(services: Services, inbound: Inbound, stdout: TextIO) -> dict[str, str] | None:
    """Print the answer to one message; return what typing a key means now (None: nothing
    was answered, the screen is as it was)."""
    try:
        out: Outbound = await router.handle(services, inbound)
    except router.Busy as busy:
        stdout.write(f"{busy.text.plain()}\n")
        return None
    out = await rendered(out)  # a report's files, drawn after the commit
    if out.notice:
        stdout.write(f"({out.notice.plain()})\n")
    for reply in out.replies:
        stdout.write(numbered(reply) + "\n")
        if reply.attachment is not None:
            stdout.write(_save(reply.attachment) + "\n")
        stdout.write("\n")
    stdout.flush()
    return _keys(out)


def _save(attachment: Attachment) -> str:
    """Write a spreadsheet or chart next to the person, as a messenger would offer a download."""
    path = Path.cwd() / Path(attachment.filename).name
    path.write_bytes(attachment.content)
    return "📎 " + _("Saved as {path}").format(path=path)

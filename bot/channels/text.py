"""Rendering replies as plain numbered text, for channels without buttons (terminal, Zalo)."""

from __future__ import annotations

import html
import re

from bot.services.messages import Button, Reply

_TAG = re.compile(r"</?(b|i|u|s|code|pre)>")


def plain(text: str) -> str:
    """The reply text without the HTML markup Telegram renders."""
    return html.unescape(_TAG.sub("", text))


LETTERS = "abcdefghijklmnopqrstuvwxyz"


def keys(reply: Reply) -> list[str]:
    """What to type for each choice: numbers, or letters where a number is the answer itself."""
    count = len(reply.choices())
    if reply.expects_text:
        return list(LETTERS[:count])
    return [str(n) for n in range(1, count + 1)]


def numbered(reply: Reply) -> str:
    """The reply as text with its choices listed as ``1. label`` (or ``a. label``)."""
    lines = [plain(reply.text)]
    for key, button in zip(keys(reply), reply.choices(), strict=False):
        lines.append(f"  {key}. {plain(button.label)}")
    return "\n".join(lines)


def choice_for(reply: Reply | None, typed: str) -> Button | None:
    """The choice a typed key stands for, if it is one of the listed keys."""
    if reply is None:
        return None
    wanted = typed.strip().lower()
    for key, button in zip(keys(reply), reply.choices(), strict=False):
        if key == wanted:
            return button
    return None

"""Rendering replies as plain numbered text, for channels without buttons (terminal, Zalo)."""

from __future__ import annotations

import html
import re

from bot.services.messages import Reply

_TAG = re.compile(r"</?(b|i|u|s|code|pre)>")


def plain(text: str) -> str:
    """The reply text without the HTML markup Telegram renders."""
    return html.unescape(_TAG.sub("", text))


def numbered(reply: Reply) -> str:
    """The reply as text with its choices listed as ``1. label`` (or ``a. label``)."""
    lines = [plain(reply.text)]
    for key, button in zip(reply.keys(), reply.choices(), strict=True):
        lines.append(f"  {key}. {plain(button.label)}")
    return "\n".join(lines)

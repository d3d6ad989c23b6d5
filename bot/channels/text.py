"""Rendering replies as plain numbered text, for channels without buttons (terminal, Zalo)."""

from __future__ import annotations

from bot.chat.messages import Reply


def numbered(reply: Reply) -> str:
    """The reply as text with its choices listed as ``1. label`` (or ``a. label``)."""
    lines = [reply.text.plain()]
    for key, button in zip(reply.keys(), reply.choices(), strict=True):
        lines.append(f"  {key}. {button.label}")
    return "\n".join(lines)

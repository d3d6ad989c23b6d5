"""Rendering replies as plain numbered text, for channels without buttons (terminal, Zalo), and
cutting long texts into messages at line breaks."""

from __future__ import annotations

from bot.chat.messages import Reply


def numbered(reply: Reply) -> str:
    """The reply as text with its choices listed as ``1. label`` (or ``a. label``)."""
    lines = [reply.text.plain()]
    for key, button in zip(reply.keys(), reply.choices(), strict=True):
        lines.append(f"  {key}. {button.label}")
    return "\n".join(lines)


def units(text: str) -> int:
    """The length as Zalo's JavaScript counts it (UTF-16 code units): emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


def split_lines(text: str, limit: int) -> list[str]:
    """Cut a text into messages of at most ``limit`` units at line breaks (inside a line only
    when one line is too long, at a space where there is one); blank parts are dropped."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in _pieces(line, limit):
            joined = f"{current}\n{piece}" if current else piece
            if current and units(joined) > limit:
                parts.append(current)
                current = piece
            else:
                current = joined
    parts.append(current)
    return [part.strip("\n") for part in parts if part.strip()]


def _pieces(line: str, limit: int) -> list[str]:
    """One line, cut before ``limit`` at a space where there is one."""
    pieces: list[str] = []
    while units(line) > limit:
        cut = limit
        while units(line[:cut]) > limit:
            cut -= 1
        space = line.rfind(" ", 0, cut)
        cut = space if space > 0 else cut
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    return [*pieces, line]

"""Telegram's HTML as Telegram measures it: visible length in UTF-16 units, and cutting a long
text into messages without breaking a tag or an entity.

Telegram counts a message's length after parsing: tags count nothing, ``&amp;`` counts one, and
characters count in UTF-16 code units (most emoji count two). A text over the limit is cut at a
line break where one fits, else at a space, else inside a word; a tag open at the cut is closed
before it and opened again after it, so each message parses on its own.

Must not import the services or python-telegram-bot.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"<[^<>]*>|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[^<&\n ]+|\n| |[<&]")
_OPEN = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>")
_CLOSE = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")


def units(text: str) -> int:
    """The length of plain text in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def visible_length(markup: str) -> int:
    """The length Telegram gives HTML after parsing it."""
    return sum(_piece(token).size for token in _TOKEN.findall(markup))


def truncate_plain(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` UTF-16 units (a toast), with an ellipsis when cut."""
    if units(text) <= limit:
        return text
    kept = ""
    for char in text:
        if units(kept + char) > limit - 1:
            break
        kept += char
    return kept + "…"


@dataclass(frozen=True)
class _Piece:
    raw: str
    size: int  # visible UTF-16 units
    opens: str | None = None  # the name of the tag it opens
    closes: str | None = None

    @property
    def breaks(self) -> bool:
        return self.raw in ("\n", " ")


def _piece(token: str) -> _Piece:
    if token.startswith("<") and len(token) > 1:
        closing = _CLOSE.fullmatch(token)
        if closing:
            return _Piece(token, 0, closes=closing.group(1).lower())
        opening = _OPEN.fullmatch(token)
        return _Piece(token, 0, opens=opening.group(1).lower() if opening else None)
    if token.startswith("&") and token.endswith(";"):
        return _Piece(token, units(html.unescape(token)))
    return _Piece(token, units(token))


@dataclass
class _Part:
    """The message being filled: its pieces and the tags open at its end."""

    pieces: list[_Piece]
    stack: list[_Piece]
    size: int = 0


def split(markup: str, limit: int) -> list[str]:
    """Cut HTML into messages of at most ``limit`` visible units each (see the module)."""
    if visible_length(markup) <= limit:
        return [markup]
    parts: list[str] = []
    part = _Part([], [])
    for token in _TOKEN.findall(markup):
        piece = _piece(token)
        while piece.size > limit:  # one word longer than a message: cut inside it
            head, piece = _cut_word(piece, limit - part.size if part.size < limit else limit)
            if part.size + head.size > limit:
                part = _flush(parts, part, len(part.pieces))
            _add(part, head)
        if part.size + piece.size > limit:
            part = _flush(parts, part, _last_break(part))
        if part.size + piece.size > limit:  # what followed the break is long too
            part = _flush(parts, part, len(part.pieces))
        _add(part, piece)
    if any(p.size for p in part.pieces):
        parts.append(_render(part.pieces, part.stack))
    return parts


def _cut_word(piece: _Piece, room: int) -> tuple[_Piece, _Piece]:
    room = max(room, 1)
    head = ""
    for char in piece.raw:
        if units(head + char) > room:
            break
        head += char
    head = head or piece.raw[0]
    tail = piece.raw[len(head) :]
    return _Piece(head, units(head)), _Piece(tail, units(tail))


def _add(part: _Part, piece: _Piece) -> None:
    part.pieces.append(piece)
    part.size += piece.size
    if piece.opens:
        part.stack.append(piece)
    elif piece.closes and part.stack and part.stack[-1].opens == piece.closes:
        part.stack.pop()


def _last_break(part: _Part) -> int:
    """Where to cut the part: after its last line break, else its last space, else at its end."""
    for wanted in ("\n", " "):
        for index in range(len(part.pieces) - 1, 0, -1):
            if part.pieces[index].raw == wanted:
                return index
    return len(part.pieces)


def _flush(parts: list[str], part: _Part, at: int) -> _Part:
    """End the current message at piece ``at`` (a break there is dropped); the pieces after it
    start the next one, inside the tags open at the cut."""
    kept, rest = part.pieces[:at], part.pieces[at:]
    if rest and rest[0].breaks:
        rest = rest[1:]
    open_at_cut: list[_Piece] = []
    for piece in kept:
        if piece.opens:
            open_at_cut.append(piece)
        elif piece.closes and open_at_cut and open_at_cut[-1].opens == piece.closes:
            open_at_cut.pop()
    if any(piece.size for piece in kept):
        parts.append(_render(kept, open_at_cut))
    following = _Part(list(open_at_cut), list(open_at_cut))
    for piece in rest:
        _add(following, piece)
    return following


def _render(pieces: list[_Piece], still_open: list[_Piece]) -> str:
    closing = "".join(f"</{piece.opens}>" for piece in reversed(still_open))
    return ("".join(piece.raw for piece in pieces) + closing).strip("\n ")

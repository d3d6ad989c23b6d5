"""Fold typed text for matching answers: case, spacing, punctuation and Vietnamese diacritics.

Holds pure string helpers only. Must not import the bot, the database, any platform library or
other ``conversations`` modules.
"""

from __future__ import annotations

import unicodedata

# đ/Đ are letters of their own, not d plus a mark, so NFD leaves them alone.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Return text lowercased, without diacritics or punctuation, single-spaced.

    "  Thường xuyên, HẰNG NGÀY " and "thuong xuyen hang ngay" fold to the same string, so a person
    on a phone without a Vietnamese keyboard can still type an answer.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(
        (ch if ch.isalnum() else " ") for ch in decomposed if not unicodedata.combining(ch)
    )
    return " ".join(bare.casefold().split())

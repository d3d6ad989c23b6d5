"""Fold typed text for matching answers: case, spacing, punctuation and Vietnamese diacritics.

Holds pure string helpers only. Must not import the bot, the database, any platform library or
other ``conversations`` modules.
"""

from __future__ import annotations

import re
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


# The Vietnamese alphabet's letters in order (a ă â b c d đ e ê … ư v x y), each base letter
# with its own rank; the five tones are a second key, so "Hạ" sorts before "Hòa" and "Đông"
# after "Dương", as a Vietnamese reader expects, while tones only break ties.
_ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_RANK = {letter: index for index, letter in enumerate(_ALPHABET)}
_TONES = {
    "\u0300": 1,
    "\u0301": 2,
    "\u0309": 3,
    "\u0303": 4,
    "\u0323": 5,
}  # huyền sắc hỏi ngã nặng
_TOKENS = re.compile(r"\d+|\s+|.", re.DOTALL)


def vietnamese_key(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], str]:
    """A sort key in Vietnamese alphabetical order: letters first (numbers as numbers, so
    "Thôn 2" before "Thôn 10"), then tones, then the text itself so the order is total."""
    letters: list[tuple[int, int]] = []
    tones: list[int] = []
    for token in _TOKENS.findall(text.casefold()):
        if token.isdigit():
            letters.append((1, int(token)))
            continue
        if token.isspace():
            letters.append((0, 0))
            continue
        decomposed = unicodedata.normalize("NFD", token)
        base, marks = decomposed[0], list(decomposed[1:])
        letter = _shaped(base, marks)
        if letter in _RANK:
            letters.append((2, _RANK[letter]))
            tones.append(next((_TONES[m] for m in marks if m in _TONES), 0))
    return tuple(letters), tuple(tones), text


def _shaped(base: str, marks: list[str]) -> str:
    """The letter a base and its shape mark make: a + breve = ă, o + horn = ơ, u + horn = ư."""
    for mark in marks:
        if mark == "\u031b":
            return {"o": "ơ", "u": "ư"}.get(base, base)
        if mark == "\u0306" and base == "a":
            return "ă"
        if mark == "\u0302":
            return {"a": "â", "e": "ê", "o": "ô"}.get(base, base)
    return base

"""Read what a person typed or tapped as the answer to store, and show a stored answer in words.

A choice accepts its id (buttons send ids), its 1-based number, or its label typed loosely (see
``text.fold``); a number must be whole and in range; text must not be empty or too long.
Must not import the bot, the database, any platform library or gettext.
"""

from __future__ import annotations

import re

from conversations.model import Question
from conversations.scoring import SKIPPED
from conversations.steps import Problem
from conversations.text import fold

TEXT_LIMIT = 500  # characters, for text questions without their own maximum
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")  # longer numbers are out of any sensible range


def display(question: Question, answer: str | None, lang: str) -> str | None:
    if answer is None or answer == SKIPPED:
        return None
    for option in question.options:
        if option.id == answer:
            return option.label[lang]
    return answer


def parse_answer(question: Question, raw: str, lang: str) -> str | Problem:
    """Return the answer to store, or the problem with what was typed."""
    text = raw.strip()
    if not text:
        return Problem("empty")
    if question.options:
        return _parse_choice(question, text, lang)
    if question.kind == "number":
        return _parse_number(question, text)
    limit = question.maximum or TEXT_LIMIT
    return text if len(text) <= limit else Problem("too_long", {"maximum": limit})


def _parse_choice(question: Question, text: str, lang: str) -> str | Problem:
    """Accept an option id (buttons), its 1-based number, or its label typed loosely."""
    options = question.options
    for option in options:
        if option.id == text:
            return option.id
    folded = fold(text)
    if folded.isascii() and folded.isdigit():
        number = int(folded) if len(folded) < 6 else 0
        if 1 <= number <= len(options):
            return options[number - 1].id
    for option in options:
        if fold(option.label[lang]) == folded:
            return option.id
    return Problem("unknown_choice", {"count": len(options)})


def _parse_number(question: Question, text: str) -> str | Problem:
    low, high = question.minimum or 0, question.maximum or 0
    params = {"minimum": low, "maximum": high}
    compact = text.replace(" ", "")
    if not _INTEGER.fullmatch(compact):
        return Problem("not_a_number", params)
    value = int(compact)
    if not low <= value <= high:
        return Problem("out_of_range", params)
    return str(value)

"""Text a person reads: a trusted template with data put into it, escaped where it is rendered.

A template comes from the catalogs (``_()``) or from code, and may hold the little markup the
messengers show (``<b>``, ``<i>``, ``<code>``). Everything put into it is data: names people
typed, form labels, numbers. Data is never markup, whatever characters it holds, so a village
named ``Xóm <Trại> & Co`` reads exactly so on every channel. Escaping happens in one place, when
a channel renders the text: ``html()`` for Telegram, ``plain()`` for channels without markup
(Zalo, the terminal, the command line). Services build texts with ``t``, ``lines`` and ``+``
and never escape anything themselves.

Must not import any platform library, the database or gettext.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union

Value = Union["Text", str, int, float]
# The markup a template may use (see tests/test_catalogs.py, which checks every catalog entry).
TAGS = ("b", "i", "u", "s", "code")
_TAG = re.compile(r"</?(?:" + "|".join(TAGS) + r")>")


@dataclass(frozen=True, slots=True)
class Text:
    """A template (trusted markup) and the values that fill its ``{placeholders}`` (data)."""

    template: str
    values: tuple[tuple[str, Value], ...] = ()

    def html(self) -> str:
        """The text as Telegram's HTML: the template as it is, every value escaped."""
        return self.template.format_map({name: _html(value) for name, value in self.values})

    def plain(self) -> str:
        """The text without markup: the template's tags dropped, every value as it is."""
        template = html_lib.unescape(_TAG.sub("", self.template))
        return template.format_map({name: _plain(value) for name, value in self.values})

    def __add__(self, other: Value) -> Text:
        return join("", (self, other))

    def __radd__(self, other: Value) -> Text:
        return join("", (other, self))

    def __bool__(self) -> bool:
        return bool(self.plain())

    def __str__(self) -> str:
        return self.plain()

    def to_data(self) -> dict[str, object]:
        """The text as JSON-ready data (kept with an update's reply, see ``from_data``)."""
        return {
            "t": self.template,
            "v": [[name, _to_data(value)] for name, value in self.values],
        }

    @classmethod
    def from_data(cls, data: dict[str, object]) -> Text:
        """The text ``to_data`` gave."""
        values = data.get("v", [])
        assert isinstance(values, list)
        return cls(str(data["t"]), tuple((str(n), _from_data(v)) for n, v in values))


def t(template: str, /, **values: Value) -> Text:
    """A text from a trusted template (a translated message) and the data that fills it."""
    return Text(template, tuple(values.items()))


def data(value: Value) -> Text:
    """A value shown as it is, on its own (a name, a comment typed by a person)."""
    return value if isinstance(value, Text) else Text("{v}", (("v", value),))


def join(separator: str, parts: Iterable[Value]) -> Text:
    """The parts one after another, ``separator`` (trusted: code's own) between them."""
    items = list(parts)
    names = [f"p{index}" for index in range(len(items))]
    template = separator.replace("{", "{{").replace("}", "}}").join(f"{{{n}}}" for n in names)
    return Text(template, tuple(zip(names, items, strict=True)))


def lines(*parts: Value | None) -> Text:
    """The parts as lines of one text; ``None`` parts are left out."""
    return join("\n", (part for part in parts if part is not None))


def bold(value: Value) -> Text:
    return t("<b>{v}</b>", v=value)


def italic(value: Value) -> Text:
    return t("<i>{v}</i>", v=value)


def code(value: Value) -> Text:
    return t("<code>{v}</code>", v=value)


def _to_data(value: Value) -> object:
    return value.to_data() if isinstance(value, Text) else value


def _from_data(value: object) -> Value:
    if isinstance(value, dict):
        return Text.from_data(value)
    assert isinstance(value, str | int | float)
    return value


def _html(value: Value) -> str:
    if isinstance(value, Text):
        return value.html()
    return html_lib.escape(str(value), quote=False)


def _plain(value: Value) -> str:
    return value.plain() if isinstance(value, Text) else str(value)


class Refusal(ValueError):
    """A refused request, said in one line for the person: ``text`` for a chat, ``str()`` for
    the command line. A plain string given here is data (shown as it is, never as markup), so
    a message formatted with a name someone typed is safe on every channel."""

    def __init__(self, message: Text | str) -> None:
        self.text = data(message)
        super().__init__(self.text.plain())

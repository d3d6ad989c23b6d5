"""Typed access to the tables of a parsed form file, for the loader.

Every read checks the value's type and turns any mismatch into a FormError naming the form, the
item and the field (``form KEY vN: question c1.minimum: expected a whole number, got 'x'``).
Labels are checked against the form's languages here; parameter names are resolved to numbers.
Must not import the bot, the database, any platform library or the loader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from conversations.expr import Expr, ExprError, parse
from conversations.model import FormError, Labels, Parameter

IDENT = re.compile(r"[a-z][a-z0-9-]*")


class Reader:
    """Typed access to TOML tables; every failure becomes a FormError with its place."""

    def __init__(
        self, ref: str, languages: tuple[str, ...], params: Mapping[str, Parameter]
    ) -> None:
        self.ref = ref
        self.languages = languages
        self.params = params

    def error(self, where: str, message: str) -> FormError:
        return FormError(f"{self.ref}: {where}: {message}" if where else f"{self.ref}: {message}")

    def table(self, value: object, where: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, "expected a table")
        for name in value:
            if name not in allowed:
                raise self.error(where, f"unknown field {name!r}")
        return value

    def text(self, table: Mapping[str, Any], name: str, where: str) -> str:
        value = table.get(name)
        if value is None:
            raise self.error(where, f"missing {name!r}")
        if not isinstance(value, str) or not value.strip():
            raise self.error(at(where, name), "expected a non-empty string")
        return value

    def integer(self, table: Mapping[str, Any], name: str, where: str) -> int | None:
        value = table.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.error(at(where, name), f"expected a whole number, got {value!r}")
        return value

    def flag(self, table: Mapping[str, Any], name: str, where: str, default: bool) -> bool:
        value = table.get(name, default)
        if not isinstance(value, bool):
            raise self.error(at(where, name), f"expected true or false, got {value!r}")
        return value

    def labels(
        self, table: Mapping[str, Any], name: str, where: str, required: bool = True
    ) -> Labels:
        # "label" is implied by the message, so errors about it name only the item.
        place = where if name == "label" else at(where, name)
        value = table.get(name)
        if value is None:
            if required:
                raise self.error(where, f"missing {name!r}")
            return {}
        if not isinstance(value, dict):
            raise self.error(place, "expected a table of labels, one per language")
        return self.check_labels(value, place)

    def check_labels(
        self, value: Mapping[str, Any], place: str, every_language: bool = True
    ) -> Labels:
        for lang in self.languages:
            text = value.get(lang)
            if text is None and not every_language:
                continue
            if text is None:
                raise self.error(place, f"missing label for {lang!r}")
            if not isinstance(text, str) or not text.strip():
                raise self.error(place, f"label for {lang!r} must be a non-empty string")
        for lang in value:
            if lang not in self.languages:
                raise self.error(place, f"label for undeclared language {lang!r}")
        return dict(value)

    def amount(
        self, table: Mapping[str, Any], name: str, where: str, required: bool = False
    ) -> float | None:
        """Read a number of points, or the name of a parameter that holds it."""
        value = table.get(name)
        if value is None:
            if required:
                raise self.error(where, f"missing {name!r}")
            return None
        if isinstance(value, str):
            if value not in self.params:
                raise self.error(at(where, name), f"unknown parameter {value!r}")
            return self.params[value].value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(at(where, name), f"expected a number or parameter name: {value!r}")
        if value < 0:
            raise self.error(at(where, name), "must not be negative")
        return float(value)

    def expr(self, table: Mapping[str, Any], name: str, where: str) -> Expr | None:
        if table.get(name) is None:
            return None
        source = self.text(table, name, where)
        try:
            return parse(source)
        except ExprError as error:
            raise self.error(at(where, name), str(error)) from None


def at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def items(reader: Reader, top: Mapping[str, Any], name: str) -> Iterator[tuple[int, Any]]:
    value = top.get(name, [])
    if not isinstance(value, list):
        raise reader.error(name, "expected an array of tables ([[" + name + "]])")
    return enumerate(value, start=1)


def named_tables(reader: Reader, value: object, where: str) -> dict[str, Any]:
    """Return a table of tables keyed by name, such as [parameters.pass_mark]."""
    if not isinstance(value, dict):
        raise reader.error(where, "expected a table")
    return value


def place(value: object, noun: str, index: int) -> str:
    """Name an item by its id when it has one, else by its 1-based position in the file."""
    ident = value.get("id") if isinstance(value, dict) else None
    return f"{noun} {ident}" if isinstance(ident, str) and ident else f"{noun} {index}"


def ident(reader: Reader, table: Mapping[str, Any], where: str) -> str:
    value = reader.text(table, "id", where)
    if not IDENT.fullmatch(value):
        raise reader.error(
            where,
            f"id {value!r} must be lowercase letters, digits and '-', starting with a letter",
        )
    return value

"""Load form files (``conversations/forms/*.toml``) into validated ``Form`` objects.

Reads TOML with tomllib, resolves parameters (and a commune's overrides), builds the parts with
``parts`` and hands the form to ``validate`` for the cross-checks. Every error is a FormError
whose text names the form, the item and the field, e.g.
``form gia-dinh-hoc-tap v1: question c1a.option b: missing label for 'en'``.
Must not import the bot, the database or any platform library.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conversations import parts
from conversations.model import Form, FormError, Parameter
from conversations.reader import Reader, items, named_tables
from conversations.validate import validate_form

__all__ = ["FORMS_DIR", "FormError", "FormRegistry", "UnknownFormError", "load_form", "load_forms"]

FORMS_DIR = Path(__file__).parent / "forms"
_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")
_PARAM = re.compile(r"[a-z][a-z0-9_]*")
_LANG = re.compile(r"[a-z]{2,3}")
_HEADER = frozenset(
    {"key", "version", "title", "source", "languages", "max_points", "yesno", "exemption"}
)
_TOP = _HEADER | frozenset({"parameters", "rules", "scales", "sections", "questions", "levels"})


class UnknownFormError(KeyError):
    """No shipped form has the requested key or version."""

    def __str__(self) -> str:
        # KeyError quotes its argument; this message is for people.
        return str(self.args[0])


def load_form(path: str | Path) -> Form:
    """Read, parse and validate one form file; raise FormError (or OSError if unreadable)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise FormError(f"form {path}: invalid TOML: {error}") from None
    except UnicodeDecodeError as error:  # a binary file, or text saved in another encoding
        raise FormError(
            f"form {path}: not UTF-8 text (byte {error.start}); save it as UTF-8 TOML"
        ) from None
    return build_form(raw, origin=str(path))


def build_form(
    raw: Mapping[str, Any], overrides: Mapping[str, float] | None = None, origin: str = "<data>"
) -> Form:
    """Build and validate a form from parsed TOML, applying parameter ``overrides``."""
    reader = Reader(f"form {origin}", (), {})
    top = reader.table(raw, "", frozenset(raw) if isinstance(raw, dict) else _TOP)
    key = reader.text(top, "key", "")
    if not _KEY.fullmatch(key):
        raise reader.error("key", f"{key!r} is not a key (lowercase letters, digits, '-')")
    version = reader.integer(top, "version", "")
    if version is None or version < 1:
        raise reader.error("version", "must be a whole number of at least 1")
    reader.ref = f"form {key} v{version}"
    reader.table(top, "", _TOP)  # now that errors can name the form
    reader.languages = _languages(reader, top)
    reader.params = _parameters(reader, top.get("parameters", {}), overrides or {})
    form = _assemble(reader, top, key, version, raw)
    validate_form(form)
    return form


def _assemble(
    reader: Reader, top: dict[str, Any], key: str, version: int, raw: Mapping[str, Any]
) -> Form:
    yesno = parts.read_yesno(reader, top.get("yesno"))
    scales = parts.read_scales(reader, top.get("scales", {}))
    exemption = parts.read_exemption(reader, top.get("exemption"))
    return Form(
        key=key,
        version=version,
        title=reader.labels(top, "title", ""),
        source=reader.text(top, "source", ""),
        languages=reader.languages,
        max_points=reader.amount(top, "max_points", "", required=True) or 0.0,
        sections=tuple(
            parts.read_section(reader, t, i) for i, t in items(reader, top, "sections")
        ),
        questions=tuple(
            parts.read_question(reader, t, i, yesno, scales, exemption)
            for i, t in items(reader, top, "questions")
        ),
        parameters=reader.params,
        rules=parts.read_rules(reader, top.get("rules", {})),
        levels=tuple(parts.read_level(reader, t, i) for i, t in items(reader, top, "levels")),
        raw=raw,
    )


def _languages(reader: Reader, top: Mapping[str, Any]) -> tuple[str, ...]:
    value = top.get("languages")
    if not isinstance(value, list) or not value:
        raise reader.error("languages", 'expected a non-empty list such as ["vi", "en"]')
    for lang in value:
        if not isinstance(lang, str) or not _LANG.fullmatch(lang):
            raise reader.error("languages", f"{lang!r} is not a language code such as 'vi'")
    if len(set(value)) != len(value):
        raise reader.error("languages", "a language is listed twice")
    return tuple(value)


def _parameters(
    reader: Reader, value: object, overrides: Mapping[str, float]
) -> dict[str, Parameter]:
    params: dict[str, Parameter] = {}
    for name, table in named_tables(reader, value, "parameters").items():
        where = f"parameter {name}"
        if not _PARAM.fullmatch(name):
            raise reader.error(where, "name must be lowercase letters, digits and '_'")
        fields = reader.table(table, where, frozenset({"default", "confirmed", "note"}))
        default = reader.amount(fields, "default", where, required=True) or 0.0
        params[name] = Parameter(
            name=name,
            value=default,
            default=default,
            confirmed=reader.flag(fields, "confirmed", where, default=False),
            note=reader.labels(fields, "note", where),
        )
    return _override(reader, params, overrides)


def _override(
    reader: Reader, params: dict[str, Parameter], overrides: Mapping[str, float]
) -> dict[str, Parameter]:
    for name, value in overrides.items():
        where = f"parameter {name}"
        if name not in params:
            known = ", ".join(sorted(params)) or "none"
            raise reader.error(where, f"unknown parameter (known: {known})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise reader.error(where, f"override must be a number of at least 0, got {value!r}")
        old = params[name]
        params[name] = Parameter(name, float(value), old.default, old.confirmed, old.note)
    return params


class FormRegistry:
    """The forms found in a directory, by key and version."""

    def __init__(self, forms: Mapping[tuple[str, int], Form]) -> None:
        self._forms = dict(forms)

    def keys(self) -> list[str]:
        """Return the form keys, sorted."""
        return sorted({key for key, _ in self._forms})

    def versions(self, key: str) -> list[int]:
        """Return the versions of form ``key``, oldest first."""
        return sorted(version for k, version in self._forms if k == key)

    def get(self, key: str, version: int | None = None) -> Form:
        """Return form ``key`` at ``version`` (the latest when None); raise UnknownFormError."""
        versions = self.versions(key)
        if not versions:
            raise UnknownFormError(f"unknown form {key!r} (known: {', '.join(self.keys())})")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            known = ", ".join(str(v) for v in versions)
            raise UnknownFormError(f"form {key} has no version {chosen} (known: {known})")
        return self._forms[(key, chosen)]


def load_forms(directory: str | Path = FORMS_DIR) -> FormRegistry:
    """Load every ``*.toml`` in ``directory``; raise FormError on the first broken one."""
    forms: dict[tuple[str, int], Form] = {}
    origins: dict[tuple[str, int], Path] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        form = load_form(path)
        ident = (form.key, form.version)
        if ident in forms:
            raise FormError(f"{form.ref}: declared twice ({origins[ident].name}, {path.name})")
        forms[ident], origins[ident] = form, path
    return FormRegistry(forms)

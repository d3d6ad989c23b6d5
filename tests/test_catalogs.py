"""The language layer: every message a person reads has a Vietnamese translation that keeps its
placeholders, no catalog is fuzzy, and the catalogs hold every message the code uses."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import _, format_number, format_percent, translations, use_locale

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"


def _i18n_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["i18n_script"] = module
    spec.loader.exec_module(module)
    return module


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def _code_messages() -> set[str]:
    found = extract_from_dir(
        str(ROOT / "bot"),
        method_map=[("**.py", "python")],
        keywords={"_": None, "ngettext": (1, 2)},
    )
    return {msg if isinstance(msg, str) else msg[0] for _f, _l, msg, _c, _ctx in found}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_catalog_has_no_fuzzy_untranslated_or_broken_placeholders(lang: str) -> None:
    assert _i18n_script().problems(lang) == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_catalog_holds_every_message_the_code_uses(lang: str) -> None:
    catalog_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(lang) if m.id}
    missing = sorted(_code_messages() - catalog_ids)
    assert missing == [], "run `python scripts/i18n.py update` and translate: " + repr(missing[:5])


def test_vietnamese_is_the_default_and_english_the_second() -> None:
    message = "Database ready: {url}"
    assert _(message) == translations("vi").gettext(message) != message
    with use_locale("en"):
        assert _(message) == message
    with use_locale("fr-FR"):
        assert _(message) == translations("vi").gettext(message)


def test_numbers_and_percentages_follow_the_locale() -> None:
    with use_locale("vi"):
        assert format_number(3321) == "3.321"
        assert format_percent(0.734) == "73,4%"
    with use_locale("en"):
        assert format_number(3321) == "3,321"
        assert format_percent(0.734) == "73.4%"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Hỏi trưởng thôn nhé", "'trưởng thôn'"),
        ("Anh/chị có đồng ý không?", "'anh/chị'"),
        ("Kính gửi quý vị", "'quý vị'"),
        ("Đã huỷ", "'uỷ'"),
        ("Gia đình hoà thuận", "'oà'"),
        ("Các bản đánh giá", "'bản đánh giá'"),
    ],
)
def test_the_word_rules_catch_what_they_forbid(text: str, rule: str) -> None:
    found = _i18n_script().word_problems(text)
    assert any(problem.startswith(rule) for problem in found), found


def test_the_word_rules_leave_the_products_words_alone() -> None:
    words = _i18n_script().word_problems
    assert words("Chi hội trưởng thôn Đông, bạn hủy đăng ký; gia đình hòa thuận; hoàn thành") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [("<b>x", "unclosed <b>"), ("a & b", "a bare"), ("<tag>", "a bare"), ("x</i>", "unbalanced")],
)
def test_markup_telegram_would_refuse_is_caught(text: str, problem: str) -> None:
    assert (_i18n_script().markup_problem(text) or "").startswith(problem)


def test_a_message_without_vietnamese_fails_the_check(tmp_path: Path) -> None:
    script = _i18n_script()
    po = tmp_path / "vi" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Language: vi\\n"\n\nmsgid "Hello"\nmsgstr ""\n', "utf-8")
    script.LOCALES = tmp_path
    assert script.problems("vi") == ["vi: untranslated: 'Hello'"]

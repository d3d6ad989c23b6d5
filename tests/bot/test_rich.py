"""Texts people read: data is escaped where a channel renders it, never where it is built."""

from __future__ import annotations

from bot.rich import Refusal, bold, code, data, lines, t

NAME = "Xóm <Trại> & Co 🌾"


def test_data_is_escaped_for_html_and_shown_as_it_is_in_plain_text() -> None:
    text = t("<b>{village}</b>: {count} hộ", village=NAME, count=3)
    assert text.html() == "<b>Xóm &lt;Trại&gt; &amp; Co 🌾</b>: 3 hộ"
    assert text.plain() == "Xóm <Trại> & Co 🌾: 3 hộ"


def test_texts_nest_and_join_without_escaping_twice() -> None:
    inner = t("hộ {code}", code="H<1>")
    text = lines(bold(t("Thôn {name}", name=NAME)), "• " + inner, code("/join AB&CD"))
    assert text.html() == (
        "<b>Thôn Xóm &lt;Trại&gt; &amp; Co 🌾</b>\n• hộ H&lt;1&gt;\n<code>/join AB&amp;CD</code>"
    )
    assert text.plain() == f"Thôn {NAME}\n• hộ H<1>\n/join AB&CD"


def test_braces_in_data_and_in_separators_are_not_placeholders() -> None:
    text = lines(data("{name}"), t("{x}", x="{y}"))
    assert text.plain() == "{name}\n{y}"


def test_a_refusal_message_is_data_whatever_it_holds() -> None:
    error = Refusal(f"The commune already has a village named {NAME}.")
    assert error.text.html().endswith("Xóm &lt;Trại&gt; &amp; Co 🌾.")
    assert str(error) == f"The commune already has a village named {NAME}."

"""Telegram's lengths and cuts: visible UTF-16 units, never a tag or an entity cut in two."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.telegram.html import split, truncate_plain, visible_length
from bot.rich import bold, lines, t

TAG = re.compile(r"</?(b|i|code)>")


def _plain(markup: str) -> str:
    return html.unescape(TAG.sub("", markup))


def _balanced(markup: str) -> bool:
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)(b|i|code)>", markup):
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


def test_lengths_count_after_parsing_in_utf16_units() -> None:
    assert visible_length("<b>a&amp;b</b>") == 3
    assert visible_length("😀") == 2
    assert visible_length("Hộ") == 2


def test_a_long_text_is_cut_between_lines_and_tags_reopen_after_the_cut() -> None:
    text = lines(
        bold(t("Tiêu đề")), *(t("<b>dòng {n}</b> &amp; {x}", n=n, x="<x>") for n in range(30))
    )
    parts = split(text.html(), 60)
    assert len(parts) > 1
    for part in parts:
        assert visible_length(part) <= 60 and _balanced(part)
    joined = "\n".join(_plain(part) for part in parts)
    assert joined == _plain(text.html())


def test_a_tag_around_several_lines_is_closed_and_opened_again() -> None:
    parts = split("<b>" + "\n".join(["một hai ba"] * 10) + "</b>", 25)
    assert all(part.startswith("<b>") and part.endswith("</b>") for part in parts)


def test_a_toast_is_cut_with_an_ellipsis_within_the_limit() -> None:
    cut = truncate_plain("😀" * 150, 200)
    assert len(cut.encode("utf-16-le")) // 2 <= 200 and cut.endswith("…")
    assert truncate_plain("ngắn", 200) == "ngắn"


names = st.text(alphabet=st.sampled_from(list("aăđạ<>&\"' \n😀Xó")), max_size=300)


@settings(max_examples=150, deadline=None)
@given(st.lists(names, min_size=1, max_size=12), st.integers(min_value=20, max_value=400))
def test_any_text_of_names_cuts_into_parts_telegram_accepts(parts: list[str], limit: int) -> None:
    text = lines(*(bold(t("{name}: {value}", name=name, value=name)) for name in parts))
    markup = text.html()
    cut = split(markup, limit)
    for part in cut:
        assert visible_length(part) <= limit
        assert _balanced(part)
        assert "&" not in re.sub(r"&(amp|lt|gt);", "", part)  # no entity cut in two
    visible = "".join(_plain(part) for part in cut)
    assert re.sub(r"\s", "", visible) == re.sub(r"\s", "", text.plain())

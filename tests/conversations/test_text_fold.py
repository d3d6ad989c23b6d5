"""Folding typed text: case, spaces, punctuation and Vietnamese diacritics do not matter."""

from __future__ import annotations

import pytest

from conversations.text import fold, vietnamese_key


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Có", "co"),
        ("  KHÔNG ", "khong"),
        ("không", "khong"),
        ("Đi học đầy đủ", "di hoc day du"),
        ("đ Đ", "d d"),
        ("Thường xuyên,   hằng ngày.", "thuong xuyen hang ngay"),
        ("Miễn: người lớn", "mien nguoi lon"),
        ("1", "1"),
        ("1.", "1"),
        ("", ""),
        # the same word typed with precomposed and combining marks folds the same
        ("Tiê\u0301ng", "tieng"),
        ("Tiếng", "tieng"),
    ],
)
def test_fold(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_names_sort_in_vietnamese_alphabetical_order() -> None:
    names = ["Hòa", "Thôn 10", "Đông", "Ấp 2", "Hạ", "Dương", "Thôn 2", "An", "Ăn", "Ưng", "Uy"]
    ordered = ["An", "Ăn", "Ấp 2", "Dương", "Đông", "Hạ", "Hòa", "Thôn 2", "Thôn 10", "Uy", "Ưng"]
    assert sorted(names, key=vietnamese_key) == ordered

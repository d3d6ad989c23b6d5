"""A commune's report with numbers chosen by hand, for the renderers to draw."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.reports.model import Line, Report


def _line(code: str, name: str, households: int, recognised: int, **more: int) -> Line:
    return Line(
        code=code,
        name=name,
        households=households,
        recognised=recognised,
        family_target=70.0,
        citizen_target=40.0,
        **more,
    )


@pytest.fixture
def commune_report() -> Report:
    """Three villages: one over the target, one under, one with no households yet."""
    lines = (
        _line(
            "V1",
            "Thôn Đông",
            80,
            60,
            members=300,
            registered=75,
            assessed=70,
            passing=64,
            pending=4,
            returned=2,
            checked=40,
            certified=30,
            villages=1,
            villages_reporting=1,
        ),
        _line(
            "V2",
            "Xóm Chùa & <Mới>",
            120,
            66,
            members=420,
            registered=110,
            assessed=100,
            passing=80,
            pending=14,
            returned=1,
            checked=50,
            certified=20,
            villages=1,
            villages_reporting=1,
        ),
        _line("V3", "Thôn Tây", 0, 0, villages=1),
    )
    total = _line(
        "00070",
        "Phường Hoàn Kiếm",
        200,
        126,
        members=720,
        registered=185,
        assessed=170,
        passing=144,
        pending=18,
        returned=3,
        checked=90,
        certified=50,
        villages=3,
        villages_reporting=2,
    )
    return Report(
        "00070",
        "Phường Hoàn Kiếm",
        2,
        2025,
        lines,
        total,
        dt.datetime(2025, 12, 10, 2, 0, tzinfo=dt.UTC),
    )

"""A commune's report with numbers chosen by hand, for the renderers to draw.

Targets are the 2026-style national defaults (72 % of families, 44 % of working-age people);
Thôn Đông gave every household's working-age members, Xóm Chùa is missing five."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.i18n import Words
from bot.reports.model import Goal, GroupCounts, Line, RecognisedSubject, Report

FAMILY = Goal(72.0, "default", documents="QĐ 387/QĐ-TTg")
CITIZEN = Goal(44.0, "default", documents="QĐ 387/QĐ-TTg, QĐ 677/QĐ-TTg")
WARD_EN = Words("ward", "residential group", "residential groups")
WARD_VI = Words("phường", "tổ dân phố", "tổ dân phố")


def _line(code: str, name: str, households: int, recognised: int, **more: object) -> Line:
    return Line(
        code=code,
        name=name,
        households=households,
        recognised=recognised,
        family_target=FAMILY,
        citizen_target=CITIZEN,
        **more,  # type: ignore[arg-type]
    )


def _groups(*numbers: tuple[int, int, int]) -> tuple[GroupCounts, ...]:
    """Công dân học tập per group: residents, workers, staff, pupils."""
    ids = ("resident", "worker", "staff", "pupil")
    return tuple(GroupCounts(group, *n) for group, n in zip(ids, numbers, strict=True))


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
            working_age=180,
            confirmed=20,
            villages=1,
            villages_reporting=1,
            groups=_groups((30, 22, 15), (10, 8, 5), (0, 0, 0), (6, 4, 1)),
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
            working_age=250,
            working_age_missing=5,
            confirmed=10,
            villages=1,
            villages_reporting=1,
            groups=_groups((50, 20, 10), (0, 0, 0), (0, 0, 0), (0, 0, 0)),
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
        working_age=430,
        working_age_missing=5,
        confirmed=30,
        villages=3,
        villages_reporting=2,
        groups=_groups((80, 42, 25), (10, 8, 5), (0, 0, 0), (6, 4, 1)),
        communities_assessed=2,
        communities_recognised=1,
        community_target=Goal(67.0, "default", documents="QĐ 387/QĐ-TTg"),
        digital_holders=31,
        digital_skilled=20,
        digital_proficient=9,
        digital_target=Goal(74.0, "default", documents="QĐ 677/QĐ-TTg"),
        proficient_target=Goal(64.0, "default", documents="QĐ 677/QĐ-TTg"),
        organisations=5,
        organisations_assessed=4,
        organisations_recognised=3,
        organisation_target=Goal(82.0, "default", documents="QĐ 387/QĐ-TTg"),
        unit_staff=120,
        staff_target=Goal(64.0, "default", documents="QĐ 387/QĐ-TTg, QĐ 677/QĐ-TTg"),
        clans=4,
        clans_assessed=3,
        clans_recognised=2,
        clan_target=Goal(67.0, "default", documents="QĐ 387/QĐ-TTg"),
    )
    return Report(
        "00070",
        "Phường Hoàn Kiếm",
        2,
        2025,
        lines,
        total,
        dt.datetime(2025, 12, 10, 2, 0, tzinfo=dt.UTC),
        WARD_EN,
        (
            RecognisedSubject("village", "Thôn Đông", "", "Thôn Đông", 85, "12/QĐ-UBND",
                              dt.date(2025, 12, 5)),
            RecognisedSubject("household", "Thôn Đông", "H001", "=Lê <b>Văn</b> & Ân", 90,
                              "12/QĐ-UBND", dt.date(2025, 12, 5)),
        ),
    )  # fmt: skip

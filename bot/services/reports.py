"""Reports: a unit's totals for a year, and the units a person may see reports of.

``build_report`` turns the aggregate queries (stored totals, recounted where they changed) and
the targets into a ``Report`` the renderers take; it writes the recounted totals, so callers
commit. ``units_in_view``: the villages a person leads, the communes they are an officer of, the
provinces they view. Sending them in chat is ``bot/chat/reports.py``; keeping the totals fresh
before anyone asks is ``bot/services/housekeeping.py``. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncSession

from bot.reports.model import Goal, GroupCounts, Line, RecognisedSubject, Report
from bot.services import groups, scope, targets, words
from bot.services.context import CDHT_FORMS, CDONG, DHHT, DVHT, GDHT
from bot.services.review import find_unit
from bot.storage import queries
from bot.storage.models import Unit, utcnow
from conversations.text import vietnamese_key

HOUSEHOLD_FORMS = (GDHT,)
# The citizen columns count the groups whose base is the households' working-age members;
# every group is also counted apart (``Line.groups``).
PERSON_FORMS = groups.HOUSEHOLD_BASE_FORMS
VILLAGE_FORMS = (CDONG,)  # a village's own assessment: Cộng đồng học tập cấp thôn
TITLE_COMMUNITY = "cong_dong"  # its target (bot/services/targets.py)
TITLE_DIGITAL, TITLE_PROFICIENT = "digital", "digital_proficient"  # QĐ 677/QĐ-TTg's
ORGANISATION_FORMS = (DVHT,)  # a learning unit's: Đơn vị học tập
TITLE_ORGANISATION, TITLE_STAFF = "dvht", "cdht_staff"
CLAN_FORMS, TITLE_CLAN = (DHHT,), "dhht"  # a clan's: Dòng họ học tập
TITLES = (queries.TITLE_FAMILY, queries.TITLE_CITIZEN, TITLE_COMMUNITY, TITLE_DIGITAL,
          TITLE_PROFICIENT, TITLE_ORGANISATION, TITLE_STAFF, TITLE_CLAN)  # fmt: skip
VIEWERS = ("leader", "officer", "province")
MAX_UNITS = 5  # reports sent for one /report; more would flood the chat

__all__ = ["VIEWERS", "Report", "build_report", "units_in_view"]


def _sort_key(line: Line) -> tuple[object, ...]:
    """Names in Vietnamese alphabetical order, numbers as numbers: Thôn 2 before Thôn 10,
    Hạ before Hòa, Dương before Đông."""
    return vietnamese_key(line.name), line.code


def _line(
    unit_path: str,
    code: str,
    name: str,
    counts: queries.Counts,
    goals: dict[tuple[str, str], Goal | None],
    by_group: tuple[GroupCounts, ...],
    community: tuple[int, int],
    digital: tuple[int, int, int],
    units: queries.OrganisationCounts,
    families: queries.ClanCounts,
) -> Line:
    return Line(
        code=code,
        name=name,
        **asdict(counts),
        family_target=goals[(unit_path, queries.TITLE_FAMILY)],
        citizen_target=goals[(unit_path, queries.TITLE_CITIZEN)],
        groups=by_group,
        communities_assessed=community[0],
        communities_recognised=community[1],
        community_target=goals[(unit_path, TITLE_COMMUNITY)],
        digital_holders=digital[0],
        digital_skilled=digital[1],
        digital_proficient=digital[2],
        digital_target=goals[(unit_path, TITLE_DIGITAL)],
        proficient_target=goals[(unit_path, TITLE_PROFICIENT)],
        organisations=units.units,
        organisations_assessed=units.assessed,
        organisations_recognised=units.recognised,
        organisation_target=goals[(unit_path, TITLE_ORGANISATION)],
        unit_staff=units.staff,
        staff_target=goals[(unit_path, TITLE_STAFF)],
        clans=families.clans,
        clans_assessed=families.assessed,
        clans_recognised=families.recognised,
        clan_target=goals[(unit_path, TITLE_CLAN)],
    )


def _groups_of(
    unit_id: int, found: dict[tuple[int, str], tuple[int, int, int]]
) -> tuple[GroupCounts, ...]:
    return tuple(
        GroupCounts(group.id, *found.get((unit_id, group.form_key), (0, 0, 0)))
        for group in groups.GROUPS
    )


def _sum_groups(lines: list[Line]) -> tuple[GroupCounts, ...]:
    total = tuple(GroupCounts(group.id) for group in groups.GROUPS)
    for line in lines:
        total = tuple(a + b for a, b in zip(total, line.groups, strict=True))
    return total


async def build_report(
    session: AsyncSession, unit: str | int | Unit, year: int, now: dt.datetime | None = None
) -> Report:
    """The report of a unit (its code, id or row) for a year; ``ReviewError`` if unknown."""
    found = await find_unit(session, unit)
    rows = await queries.child_counts(session, found, year, HOUSEHOLD_FORMS, PERSON_FORMS)
    paths = [found.path, *(row.path for row in rows)]
    goals = await targets.goals(session, paths, TITLES, year)
    by_group = await queries.group_counts(session, found, year, CDHT_FORMS)
    villages = await queries.community_counts(session, found, year, VILLAGE_FORMS)
    digital = await queries.digital_counts(
        session, found, year, CDHT_FORMS, groups.DIGITAL_QUESTION, groups.DIGITAL_SKILLED,
        groups.DIGITAL_PROFICIENT,
    )  # fmt: skip
    units, all_units = await queries.organisation_counts(session, found, year, ORGANISATION_FORMS)
    clans, all_clans = await queries.clan_counts(session, found, year, CLAN_FORMS)
    lines = [
        _line(row.path, row.code, row.name, row.counts, goals, _groups_of(row.unit_id, by_group),
              villages.get(row.unit_id, (0, 0)), digital.get(row.unit_id, (0, 0, 0)),
              units.get(row.unit_id, queries.OrganisationCounts()),
              clans.get(row.unit_id, queries.ClanCounts()))
        for row in rows
    ]  # fmt: skip
    community = (sum(x.communities_assessed for x in lines),
                 sum(x.communities_recognised for x in lines))  # fmt: skip
    skills = (sum(x.digital_holders for x in lines), sum(x.digital_skilled for x in lines),
              sum(x.digital_proficient for x in lines))  # fmt: skip
    total = sum((row.counts for row in rows), queries.Counts())
    return Report(
        unit_code=found.code,
        unit_name=found.name,
        unit_level=found.level,
        year=year,
        lines=tuple(sorted(lines, key=_sort_key)),
        total=_line(
            found.path,
            found.code,
            found.name,
            total,
            goals,
            _sum_groups(lines),
            community,
            skills,
            all_units,
            all_clans,
        ),
        generated_at=now or utcnow(),
        words=await words.words_for(session, found),
        recognised=await _recognised(session, found, year),
    )


async def _recognised(
    session: AsyncSession, unit: Unit, year: int
) -> tuple[RecognisedSubject, ...]:
    """What a commune (or village) recognised in the year, by village and code (a province's
    list is each commune's own: none here)."""
    if unit.level < queries.VILLAGE - 1:
        return ()
    rows = await queries.recognised_subjects(session, unit, year, HOUSEHOLD_FORMS, VILLAGE_FORMS)
    # Field by field: ``asdict`` copies deeply, and a commune recognises thousands a year.
    found = [
        RecognisedSubject(r.subject, r.village, r.code, r.name, r.score, r.decision_no,
                          r.decision_date)
        for r in rows
    ]  # fmt: skip
    # Villages in Vietnamese order (each name's key made once), then codes as the leader
    # numbered them (H002 before H010: the codes are zero-padded, or compared as text).
    keys = {name: vietnamese_key(name) for name in {r.village for r in found}}
    order = {"clan": 0, "organisation": 1, "village": 2, "household": 3}  # the commune's first
    return tuple(
        sorted(
            found,
            key=lambda r: (
                order[r.subject] > 1,
                keys[r.village],
                order[r.subject],
                r.code,
                vietnamese_key(r.name),
            ),
        )
    )


async def units_in_view(session: AsyncSession, person_id: int) -> list[Unit]:
    """The units a person may see reports of: their own, widest first, without repeats."""
    held = await scope.units_of(session, person_id, VIEWERS)
    kept: list[Unit] = []
    for unit in sorted(held, key=lambda u: (u.level, u.name)):
        if not any(scope.contains(outer, unit) for outer in kept):
            kept.append(unit)
    return kept

"""The numbers of one report, as the renderers take them: a unit, a year, a line per unit below
it and a totals line, each with its targets. Shares and gaps are derived here, once, so the chat
text, the spreadsheet and the chart always agree.

The bases are those of the official targets (QĐ 387/QĐ-TTg, QĐ 677/QĐ-TTg): families recognised
of the households in scope; Công dân học tập titles confirmed of the households' working-age
members (people of the three working groups; pupils and students are counted in their own
group only). Self-checks that meet the criteria are the people's own estimates: they are counted
beside the titles, never as titles. Where a household has not given its working-age members,
the base is incomplete, and the line says so rather than using the headcount.

Must not import the database, services or channels, nor translate anything.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from bot.i18n import Words


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Goal:
    """A target and where it came from: "unit" (set by the unit ``unit_name``), "national"
    (set for the whole country by the administrator) or "default" (the national figure of
    ``documents`` for the year)."""

    percent: float
    origin: str
    unit_name: str = ""
    documents: str = ""
    base: str = "all"  # of "all" the subjects in scope, or of those "registered"

    @property
    def share(self) -> float:
        return self.percent / 100


def _needed(goal: Goal | None, base: int, have: int) -> int | None:
    if goal is None:
        return None
    # A tiny tolerance keeps 70 % of 10 households at 7, not 8, despite float rounding.
    return max(0, math.ceil(goal.share * base - 1e-9) - have)


@dataclass(frozen=True)
class GroupCounts:
    """One group's Công dân học tập numbers on a line (its id: bot/services/groups.py)."""

    group: str
    checked: int = 0  # submitted a self-check with the group's form
    certified: int = 0  # of whom met the criteria, by their own estimate
    confirmed: int = 0  # holding the title

    def __add__(self, other: GroupCounts) -> GroupCounts:
        return GroupCounts(
            self.group,
            self.checked + other.checked,
            self.certified + other.certified,
            self.confirmed + other.confirmed,
        )


@dataclass(frozen=True)
class Line:
    """One row of a report: a village or commune (or the totals), its counts and targets."""

    code: str
    name: str
    households: int = 0
    members: int = 0
    registered: int = 0
    assessed: int = 0
    passing: int = 0
    pending: int = 0
    returned: int = 0
    recognised: int = 0
    checked: int = 0
    certified: int = 0
    working_age: int = 0
    working_age_missing: int = 0
    confirmed: int = 0
    villages: int = 0
    villages_reporting: int = 0
    family_target: Goal | None = None
    citizen_target: Goal | None = None
    # Công dân học tập per group, in the groups' order; a person is counted in the group of
    # each form they self-checked with. Pupils' titles are not in ``confirmed`` (the base is
    # working-age people), so only here.
    groups: tuple[GroupCounts, ...] = ()
    # Cộng đồng học tập cấp thôn: villages whose own assessment was submitted, and recognised;
    # the base is the active villages (``villages``).
    communities_assessed: int = 0
    communities_recognised: int = 0
    community_target: Goal | None = None
    # QĐ 677/QĐ-TTg: Công dân học tập title holders (every group), those with digital skills,
    # and of whom proficient (from the forms' digital indicator).
    digital_holders: int = 0
    digital_skilled: int = 0
    digital_proficient: int = 0
    digital_target: Goal | None = None
    proficient_target: Goal | None = None
    # Đơn vị học tập: the learning units (schools, agencies, enterprises, cooperatives) counted
    # where each is now (none on a village's line), and their staff: the base of the staff
    # group's Công dân học tập share.
    organisations: int = 0
    organisations_assessed: int = 0
    organisations_recognised: int = 0
    organisation_target: Goal | None = None
    unit_staff: int = 0
    staff_target: Goal | None = None
    # Dòng họ học tập: on a village's line, the clans with households there; on a commune's
    # (and the totals), the clans of the commune, each once.
    clans: int = 0
    clans_assessed: int = 0
    clans_recognised: int = 0
    clan_target: Goal | None = None

    @property
    def family_base(self) -> int:
        """What the families' share is of: the households in scope, or those registered when
        the target counts on them (local plans count both ways)."""
        registered = self.family_target is not None and self.family_target.base == "registered"
        return self.registered if registered else self.households

    @property
    def family_share(self) -> float | None:
        """Households recognised as a share (0..1) of the families' base."""
        return _ratio(self.recognised, self.family_base)

    @property
    def family_gap(self) -> float | None:
        """How far the share is below the target (0..1); zero or less means it is met."""
        if self.family_target is None or self.family_share is None:
            return None
        return self.family_target.share - self.family_share

    @property
    def family_needed(self) -> int | None:
        """How many more households must be recognised to reach the target."""
        return _needed(self.family_target, self.family_base, self.recognised)

    @property
    def citizen_pass_rate(self) -> float | None:
        """Self-checks meeting the criteria (people's own estimates) of those who checked."""
        return _ratio(self.certified, self.checked)

    @property
    def citizen_base_complete(self) -> bool:
        """True when every household in scope gave its working-age members."""
        return self.working_age_missing == 0

    @property
    def citizen_share(self) -> float | None:
        """Confirmed Công dân học tập titles as a share of the working-age members given."""
        return _ratio(self.confirmed, self.working_age)

    @property
    def citizen_gap(self) -> float | None:
        """How far the titles' share is below the target (0..1)."""
        if self.citizen_target is None or self.citizen_share is None:
            return None
        return self.citizen_target.share - self.citizen_share

    @property
    def citizen_needed(self) -> int | None:
        """How many more confirmed titles reach the target on the base given so far."""
        return _needed(self.citizen_target, self.working_age, self.confirmed)

    @property
    def digital_share(self) -> float | None:
        """Title holders with digital skills, of all title holders."""
        return _ratio(self.digital_skilled, self.digital_holders)

    @property
    def proficient_share(self) -> float | None:
        """Title holders proficient in digital skills, of all title holders."""
        return _ratio(self.digital_proficient, self.digital_holders)

    @property
    def organisation_share(self) -> float | None:
        """Learning units recognised, of the units in scope."""
        return _ratio(self.organisations_recognised, self.organisations)

    @property
    def organisation_needed(self) -> int | None:
        """How many more units must be recognised to reach the target."""
        return _needed(self.organisation_target, self.organisations, self.organisations_recognised)

    @property
    def clan_share(self) -> float | None:
        """Clans recognised, of the clans in scope."""
        return _ratio(self.clans_recognised, self.clans)

    @property
    def clan_needed(self) -> int | None:
        """How many more clans must be recognised to reach the target."""
        return _needed(self.clan_target, self.clans, self.clans_recognised)

    @property
    def staff_titles(self) -> int:
        """Công dân học tập titles of the staff group (cán bộ, công nhân viên, doanh nhân)."""
        return sum(group.confirmed for group in self.groups if group.group == "staff")

    @property
    def staff_share(self) -> float | None:
        """The staff group's titles, of the learning units' staff."""
        return _ratio(self.staff_titles, self.unit_staff)

    @property
    def community_share(self) -> float | None:
        """Villages recognised Cộng đồng học tập as a share of the active villages."""
        return _ratio(self.communities_recognised, self.villages)

    @property
    def community_needed(self) -> int | None:
        """How many more villages must be recognised to reach the target."""
        return _needed(self.community_target, self.villages, self.communities_recognised)


@dataclass(frozen=True)
class RecognisedSubject:
    """A household or village recognised in the year: one line of the list attached to the
    commune's recognition decision."""

    subject: str  # "household", "village", "clan" or "organisation"
    village: str  # for a clan or a learning unit: its commune
    code: str  # the household's code; "" for the others
    name: str  # the household's head, or the village's, clan's or unit's name
    score: float | None
    decision_no: str | None
    decision_date: dt.date | None


@dataclass(frozen=True)
class Report:
    """A unit's report for one year: the totals and a line per unit directly below it."""

    unit_code: str
    unit_name: str
    unit_level: int  # 1 province, 2 commune, 3 village
    year: int
    lines: tuple[Line, ...]
    total: Line
    generated_at: dt.datetime
    words: Words = field(default_factory=Words)  # the commune's own; general above communes
    # A commune's or village's report: what it recognised in the year (none for a province).
    recognised: tuple[RecognisedSubject, ...] = ()

    @property
    def by_village(self) -> bool:
        """True when the lines are villages (a commune's or a village's report)."""
        return self.unit_level >= 2

    def to_data(self) -> dict[str, Any]:
        """The report as JSON-ready data: a reply kept with its update names the report its
        files are rendered from after the commit (see ``from_data``)."""
        data = asdict(self)
        data["generated_at"] = self.generated_at.isoformat()
        for item in data["recognised"]:
            day = item["decision_date"]
            item["decision_date"] = day.isoformat() if day is not None else None
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Report:
        """The report ``to_data`` gave."""
        return cls(
            unit_code=data["unit_code"],
            unit_name=data["unit_name"],
            unit_level=data["unit_level"],
            year=data["year"],
            lines=tuple(_line_of(line) for line in data["lines"]),
            total=_line_of(data["total"]),
            generated_at=dt.datetime.fromisoformat(data["generated_at"]),
            words=Words(**data["words"]),
            recognised=tuple(_recognised_of(item) for item in data.get("recognised", ())),
        )


def _recognised_of(data: dict[str, Any]) -> RecognisedSubject:
    day = data.get("decision_date")
    return RecognisedSubject(
        **{**data, "decision_date": dt.date.fromisoformat(day) if day else None}
    )


def _line_of(data: dict[str, Any]) -> Line:
    known = {f.name for f in fields(Line)}
    values = {name: value for name, value in data.items() if name in known}
    for goal in (
        "family_target", "citizen_target", "community_target", "digital_target",
        "proficient_target", "organisation_target", "staff_target", "clan_target",
    ):  # fmt: skip
        if values.get(goal) is not None:
            values[goal] = Goal(**values[goal])
    values["groups"] = tuple(GroupCounts(**group) for group in values.get("groups", ()))
    return Line(**values)

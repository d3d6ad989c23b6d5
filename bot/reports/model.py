"""The numbers of one report, as the renderers take them: a unit, a year, a line per unit below
it and a totals line, each with its targets. Shares and gaps are derived here, once, so the chat
text, the spreadsheet and the chart always agree.

Must not import the database, services, channels or gettext.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


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
    villages: int = 0
    villages_reporting: int = 0
    family_target: float | None = None  # percent, 70.0 for 70 %
    citizen_target: float | None = None

    @property
    def family_share(self) -> float | None:
        """Households recognised as a share (0..1) of the households in scope."""
        return _ratio(self.recognised, self.households)

    @property
    def family_goal(self) -> float | None:
        """The family target as a share (0..1)."""
        return None if self.family_target is None else self.family_target / 100

    @property
    def family_gap(self) -> float | None:
        """How far the share is below the target (0..1); zero or less means it is met."""
        if self.family_goal is None or self.family_share is None:
            return None
        return self.family_goal - self.family_share

    @property
    def family_needed(self) -> int | None:
        """How many more households must be recognised to reach the target."""
        if self.family_goal is None:
            return None
        # A tiny tolerance keeps 70 % of 10 households at 7, not 8, despite float rounding.
        wanted = math.ceil(self.family_goal * self.households - 1e-9)
        return max(0, wanted - self.recognised)

    @property
    def citizen_pass_rate(self) -> float | None:
        """Citizens meeting the criteria as a share of those who checked themselves."""
        return _ratio(self.certified, self.checked)

    @property
    def citizen_share(self) -> float | None:
        """Citizens meeting the criteria as a share of the people living in the households."""
        return _ratio(self.certified, self.members)

    @property
    def citizen_goal(self) -> float | None:
        """The citizen target as a share (0..1)."""
        return None if self.citizen_target is None else self.citizen_target / 100

    @property
    def citizen_gap(self) -> float | None:
        """How far the citizens' share is below the target (0..1)."""
        if self.citizen_goal is None or self.citizen_share is None:
            return None
        return self.citizen_goal - self.citizen_share


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

    @property
    def by_village(self) -> bool:
        """True when the lines are villages (a commune's or a village's report)."""
        return self.unit_level >= 2

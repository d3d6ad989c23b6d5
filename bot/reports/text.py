"""A report as a short chat message: totals first, then one line per village or commune.

Lines stay short enough for a small phone; numbers and percentages are formatted with babel for
the current locale, and the commune's own words say "thôn" or "ấp", "xã" or "phường". Each
target says where it came from. The result is a ``Text``: a chat renders it with bold headings,
the command line as plain text (``.plain()``); names are data either way.

Must not import the database, services, channels or any platform library.
"""

from __future__ import annotations

from bot.i18n import _, format_number, format_percent, ngettext
from bot.reports.model import Goal, Line, Report
from bot.rich import Text, bold, lines, t

MAX_LINES = 20  # rows listed in chat; the spreadsheet has them all
DASH = "—"
Parts = list[Text | str]


def _share(value: float | None) -> str:
    return DASH if value is None else format_percent(value)


def _percent(goal: Goal) -> str:
    return format_percent(goal.share, decimals=0 if goal.percent.is_integer() else 1)


def group_name(group: str) -> str:
    """A Công dân học tập group's name (QĐ 324/QĐ-KHVN's four forms), short enough for a
    button."""
    names = {
        "resident": _("Resident of the commune"),
        "worker": _("Worker"),
        "staff": _("Staff or business person"),
        "pupil": _("Pupil, student or learner"),
    }
    return names.get(group, group)


def group_hint(group: str) -> str:
    """Who is in a group, in a few words."""
    hints = {
        "resident": _("farming, small trade, working at home"),
        "worker": _("in a factory, a workshop, a trade or services"),
        "staff": _("in an agency, a school or an enterprise, or running a business"),
        "pupil": _("at school, college, university or on a course"),
    }
    return hints.get(group, "")


def origin(goal: Goal) -> Text:
    """Where a target came from, in a few words."""
    if goal.origin == "unit":
        return t(_("set by {unit}"), unit=goal.unit_name)
    if goal.origin == "national":
        return t(_("set for the whole country"))
    return t(_("national default, {documents}"), documents=goal.documents)


def render(report: Report) -> Text:
    """The whole report as one message."""
    title = t(_("{unit}, year {year}"), unit=report.unit_name, year=report.year)
    parts: Parts = ["📊 " + bold(title), *family_lines(report.total)]
    if report.unit_level < 3:
        parts.append(
            t(
                _("{Villages_word} reporting: {reporting} of {total}"),
                reporting=format_number(report.total.villages_reporting),
                total=format_number(report.total.villages),
                **report.words.placeholders(),
            )
        )
    parts += citizen_lines(report.total)
    parts += community_lines(report)
    parts += clan_lines(report.total)
    if report.unit_level < 3:
        parts += organisation_lines(report.total)
    if report.unit_level < 3:
        parts += ["", *row_lines(report)]
    return lines(*parts)


def family_lines(total: Line) -> Parts:
    """The Gia đình học tập totals: recognised against the target, then the pipeline."""
    parts: Parts = ["🏠 " + bold(t(_("Learning families")))]
    if not total.households:
        return [*parts, t(_("No households in scope yet."))]
    registered = total.family_target is not None and total.family_target.base == "registered"
    parts.append(
        t(
            _("Recognised: {count} of {total} registered households ({share})")
            if registered
            else _("Recognised: {count} of {total} households ({share})"),
            count=format_number(total.recognised),
            total=format_number(total.family_base),
            share=_share(total.family_share),
        )
    )
    parts.append(_family_target(total))
    parts.append(
        t(
            _("Registered: {registered} · assessed: {assessed}"),
            registered=format_number(total.registered),
            assessed=format_number(total.assessed),
        )
    )
    parts.append(
        t(
            _("Waiting for review: {pending} · returned: {returned}"),
            pending=format_number(total.pending),
            returned=format_number(total.returned),
        )
    )
    return parts


def _family_target(total: Line) -> Text:
    goal, needed = total.family_target, total.family_needed
    if goal is None or needed is None:
        return t(_("No target set for this year."))
    if needed == 0:
        return "✅ " + t(
            _("Target {target} ({origin}) reached."), target=_percent(goal), origin=origin(goal)
        )
    return "🎯 " + t(
        ngettext(
            "Target {target} ({origin}): {count} more household needed.",
            "Target {target} ({origin}): {count} more households needed.",
            needed,
        ),
        target=_percent(goal),
        origin=origin(goal),
        count=format_number(needed),
    )


def citizen_lines(total: Line) -> Parts:
    """The Công dân học tập totals: titles confirmed of the working-age members, then the
    self-checks that meet the criteria by the people's own estimate."""
    parts: Parts = ["👤 " + bold(t(_("Learning citizens"))) + " (QĐ 324/QĐ-KHVN)"]
    if not total.checked and not total.confirmed and not any(g.checked for g in total.groups):
        return [*parts, t(_("No self-checks submitted yet."))]
    parts.append(
        t(
            _("Titles confirmed: {count} of {base} working-age people ({share})"),
            count=format_number(total.confirmed),
            base=format_number(total.working_age),
            share=_share(total.citizen_share),
        )
    )
    parts.append(_citizen_target(total))
    parts.append(
        t(
            _("Self-checks meeting the criteria (their own estimate): {count} of {total}"),
            count=format_number(total.certified),
            total=format_number(total.checked),
        )
    )
    parts += [
        "• "
        + t(
            _("{group}: self-checked {checked}, meeting the criteria {certified}, "
              "titles {confirmed}"),
            group=group_name(group.group),
            checked=format_number(group.checked),
            certified=format_number(group.certified),
            confirmed=format_number(group.confirmed),
        )
        for group in total.groups
        if group.checked
    ]  # fmt: skip
    if total.digital_holders:
        parts.append(_digital_line(total))
    if not total.citizen_base_complete:
        parts.append(
            "⚠️ "
            + t(
                ngettext(
                    "The base is incomplete: {count} household has not given its working-age "
                    "members.",
                    "The base is incomplete: {count} households have not given their "
                    "working-age members.",
                    total.working_age_missing,
                ),
                count=format_number(total.working_age_missing),
            )
        )
    return parts


def _digital_line(total: Line) -> Text:
    """QĐ 677/QĐ-TTg: title holders with digital skills (and proficient), against its targets."""

    def goal(found: Goal | None) -> str:
        return _percent(found) if found is not None else DASH

    return "💻 " + t(
        _("Digital skills (QĐ 677): {skilled} of {holders} title holders ({share}, target "
          "{target}); proficient {proficient} ({proficient_share}, target {proficient_target})"),
        skilled=format_number(total.digital_skilled),
        holders=format_number(total.digital_holders),
        share=_share(total.digital_share),
        target=goal(total.digital_target),
        proficient=format_number(total.digital_proficient),
        proficient_share=_share(total.proficient_share),
        proficient_target=goal(total.proficient_target),
    )  # fmt: skip


def _goal_line(goal: Goal | None, needed: int | None, more: Text) -> Text:
    """A target: reached, or ``more`` needed (with its own count), or none set."""
    if goal is None or needed is None:
        return t(_("No target set for this year."))
    if needed == 0:
        return "✅ " + t(
            _("Target {target} ({origin}) reached."), target=_percent(goal), origin=origin(goal)
        )
    return "🎯 " + t(_("Target {target} ({origin}): {more}"), target=_percent(goal),
                    origin=origin(goal), more=more)  # fmt: skip


def clan_lines(total: Line) -> Parts:
    """The Dòng họ học tập totals: clans recognised against the target, each clan once."""
    parts: Parts = ["👪 " + bold(t(_("Learning clans")))]
    if not total.clans:
        return [*parts, t(_("No clans added yet."))]
    parts.append(
        t(
            _("Recognised: {count} of {total} clans ({share}); assessed: {assessed}"),
            count=format_number(total.clans_recognised),
            total=format_number(total.clans),
            share=_share(total.clan_share),
            assessed=format_number(total.clans_assessed),
        )
    )
    needed = total.clan_needed or 0
    more = t(
        ngettext("{count} more clan needed.", "{count} more clans needed.", needed),
        count=format_number(needed),
    )
    parts.append(_goal_line(total.clan_target, total.clan_needed, more))
    return parts


def organisation_lines(total: Line) -> Parts:
    """The Đơn vị học tập totals, and the staff's Công dân học tập share (its base is the
    units' staff)."""
    parts: Parts = ["🏫 " + bold(t(_("Learning units"))) + " (TT 22/2020/TT-BGDĐT)"]
    if not total.organisations:
        return [*parts, t(_("No learning units added yet."))]
    parts.append(
        t(
            _("Recognised: {count} of {total} units ({share}); assessed: {assessed}"),
            count=format_number(total.organisations_recognised),
            total=format_number(total.organisations),
            share=_share(total.organisation_share),
            assessed=format_number(total.organisations_assessed),
        )
    )
    needed = total.organisation_needed or 0
    more = t(
        ngettext("{count} more unit needed.", "{count} more units needed.", needed),
        count=format_number(needed),
    )
    parts.append(_goal_line(total.organisation_target, total.organisation_needed, more))
    if total.unit_staff:
        goal = total.staff_target
        parts.append(
            t(
                _("Staff holding Learning citizen: {count} of {staff} ({share}, target {target})"),
                count=format_number(total.staff_titles),
                staff=format_number(total.unit_staff),
                share=_share(total.staff_share),
                target=_percent(goal) if goal is not None else DASH,
            )
        )
    return parts


def community_lines(report: Report) -> Parts:
    """The Cộng đồng học tập cấp thôn totals: villages recognised against the target."""
    total, said = report.total, report.words.placeholders()
    parts: Parts = ["🏘 " + bold(t(_("Learning communities")))]
    if not total.villages:
        return [*parts, t(_("No {villages_word} yet."), **said)]
    parts.append(
        t(
            _("Recognised: {count} of {total} {villages_word} ({share}); assessed: {assessed}"),
            count=format_number(total.communities_recognised),
            total=format_number(total.villages),
            share=_share(total.community_share),
            assessed=format_number(total.communities_assessed),
            **said,
        )
    )
    needed = total.community_needed or 0
    more = t(
        ngettext("{count} more {village_word} needed.", "{count} more {villages_word} needed.",
                 needed),
        count=format_number(needed), **said,
    )  # fmt: skip
    parts.append(_goal_line(total.community_target, total.community_needed, more))
    return parts


def _citizen_target(total: Line) -> Text:
    goal, needed = total.citizen_target, total.citizen_needed
    if goal is None or needed is None:
        return t(_("No target set for this year."))
    if needed == 0:
        return "✅ " + t(
            _("Target {target} ({origin}) reached."), target=_percent(goal), origin=origin(goal)
        )
    return "🎯 " + t(
        ngettext(
            "Target {target} ({origin}): {count} more title needed.",
            "Target {target} ({origin}): {count} more titles needed.",
            needed,
        ),
        target=_percent(goal),
        origin=origin(goal),
        count=format_number(needed),
    )


def row_lines(report: Report) -> Parts:
    """One line per village (or commune) with households: recognised of households, share."""
    heading = (
        t(_("By {village_word}"), **report.words.placeholders())
        if report.by_village
        else t(_("By commune"))
    )
    parts: Parts = [bold(heading)]
    filled = [line for line in report.lines if line.households]
    for line in filled[:MAX_LINES]:
        mark = "✅" if line.family_needed == 0 else "⚠️" if line.family_needed else "▫️"
        parts.append(
            f"{mark} "
            + t(
                _("{name}: {count}/{total} ({share})"),
                name=line.name,
                count=format_number(line.recognised),
                total=format_number(line.households),
                share=_share(line.family_share),
            )
        )
    hidden = len(filled) - MAX_LINES
    if hidden > 0:
        parts.append(
            t(
                ngettext(
                    "… and {count} more in the spreadsheet.",
                    "… and {count} more in the spreadsheet.",
                    hidden,
                ),
                count=format_number(hidden),
            )
        )
    empty = len(report.lines) - len(filled)
    if empty:
        parts.append(
            t(
                ngettext(
                    "{count} more with no households yet.",
                    "{count} more with no households yet.",
                    empty,
                ),
                count=format_number(empty),
            )
        )
    return parts

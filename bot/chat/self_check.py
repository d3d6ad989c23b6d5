"""The citizen's self-check against Công dân học tập, their group, and the history of their
own results.

The group (one of QĐ 324's four, ``bot/services/groups.py``) is asked once, with one tap, the
first time a person starts a self-check; it is kept and can be changed from the menu. A
citizen sees only their own self-checks. Must not import any platform library.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.chat import answering, presenting
from bot.chat.callbacks import GROUP, MENU, Callback, pack
from bot.chat.menus import menu_reply
from bot.chat.messages import Button, Reply
from bot.chat.turn import Turn
from bot.i18n import _, format_date, format_number
from bot.reports.text import group_hint, group_name
from bot.rich import bold, lines, t
from bot.services import assessing, groups
from bot.services.context import CDHT
from bot.storage.models import Assessment

START, MENU_AFTER = "s", "m"  # what a group button does once the group is kept


async def start_self_check(turn: Turn) -> None:
    """Open (or resume) the person's own self-check in their group's form; ask the group
    first if they have not said it."""
    group = groups.group_of(turn.person)
    if group is None:
        turn.out.add(group_reply(None, START, edit=turn.tapped))  # the menu turns into it
        return
    await _begin(turn, group.form_key)


async def ask_group(turn: Turn) -> None:
    """The four groups, the person's own ticked, to change it."""
    turn.out.add(group_reply(groups.group_of(turn.person), MENU_AFTER, edit=turn.tapped))


def group_reply(current: groups.Group | None, then: str, edit: bool = False) -> Reply:
    """Which group are you in: one button per group, with a line saying who is in each."""
    text = lines(
        bold(t(_("Which group are you in?"))),
        t(
            _(
                "Each group has its own Learning citizen form (QĐ 324/QĐ-KHVN). You choose "
                "once; to change it later, open My results."
            )
        ),
        *(
            t("• {name}: {hint}", name=group_name(group.id), hint=group_hint(group.id))
            for group in groups.GROUPS
        ),
    )
    rows = tuple(
        (Button(("✓ " if group == current else "") + group_name(group.id),
                pack(GROUP, group.id, then)),)
        for group in groups.GROUPS
    )  # fmt: skip
    return Reply(text, rows, edit=edit)


async def on_group_button(turn: Turn, callback: Callback) -> None:
    """Keep the group tapped, then start the self-check or go back to the menu."""
    group_id, then = callback.fields
    group = groups.BY_ID.get(group_id)
    if group is None:
        turn.out.notice = t(_("This button is no longer valid."))
        return
    await groups.set_group(turn.session, turn.person, group, turn.now)
    turn.out.notice = t(_("Your group: {group}"), group=group_name(group.id))
    if then == START:
        await _begin(turn, group.form_key)
        return
    turn.out.add(Reply(t(_("Saved. Your group: {group}."), group=group_name(group.id))))
    turn.out.add(await menu_reply(turn))


async def _begin(turn: Turn, form_key: str) -> None:
    form = turn.services.forms.get(form_key)
    assessment = await assessing.open_own_assessment(
        turn.session,
        form,
        turn.person.id,
        turn.services.year(),
        turn.now,
        unit_id=turn.person.home_unit_id,
    )
    await answering.begin(turn, assessment)


async def start_form(turn: Turn) -> None:
    """Walk any shipped form for oneself (``/form KEY``): a practice run, never counted."""
    key = turn.inbound.argument.strip() or CDHT
    if key not in turn.services.forms.keys():  # noqa: SIM118 (a registry, not a dict)
        turn.out.add(
            Reply(
                t(
                    _("There is no criteria set called {key}. Known sets: {keys}."),
                    key=key[:64],
                    keys=", ".join(sorted(turn.services.forms.keys())),
                )
            )
        )
        return
    await _begin(turn, key)


async def show_history(turn: Turn) -> None:
    """The person's submitted self-checks, newest first, and their group to change."""
    rows = (
        await turn.session.scalars(
            select(Assessment)
            .where(
                Assessment.person_id == turn.person.id,
                Assessment.subject == "person",
                Assessment.state != "draft",
            )
            .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
            .limit(20)
        )
    ).all()
    group = groups.group_of(turn.person)
    change = ((Button("👥 " + _("Change my group"), pack(MENU, "group")),),) if group else ()
    said = [t(_("Your group: {group}"), group=group_name(group.id))] if group else []
    if not rows:
        text = t(_("You have no results yet. Start a self-check from the menu."))
        turn.out.add(Reply(lines(text, *said), change))
        return
    parts = [bold(t(_("My results")))]
    for row in rows:
        form = turn.services.forms.get(row.form_key, row.form_version)
        parts.append(
            t(
                _("{date} · {title}: {score} points, {verdict}"),
                date=format_date(row.submitted_at) if row.submitted_at else "",
                title=form.title.get(turn.lang, form.key),
                score=format_number(row.score or 0, decimals=1),
                verdict=presenting.verdict(row.subject, row.state, bool(row.passed)),
            )
        )
    turn.out.add(Reply(lines(*parts, *said), change))

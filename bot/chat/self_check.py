"""The citizen's self-check against Công dân học tập, and the history of their own results.

A citizen sees only their own self-checks. Must not import any platform library.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.chat import answering, presenting
from bot.chat.messages import Reply
from bot.chat.turn import Turn
from bot.i18n import _, format_date, format_number
from bot.rich import bold, lines, t
from bot.services import assessing
from bot.services.context import CDHT
from bot.storage.models import Assessment


async def start_self_check(turn: Turn, form_key: str = CDHT) -> None:
    """Open (or resume) the person's own draft of a form and show where it stands."""
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
    await start_self_check(turn, key)


async def show_history(turn: Turn) -> None:
    """The person's submitted self-checks, newest first."""
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
    if not rows:
        turn.out.add(Reply(t(_("You have no results yet. Start a self-check from the menu."))))
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
    turn.out.add(Reply(lines(*parts)))

"""A village's own assessment for Cộng đồng học tập cấp thôn, opened by its branch leader (from
the village summary) or its commune's officer (from the village's card), then walked like any
assessment (``bot/chat/answering.py``). Must not import any platform library.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.chat import answering, presenting
from bot.chat.callbacks import Callback
from bot.chat.turn import Turn
from bot.i18n import _
from bot.rich import Text, t
from bot.services import communities
from bot.services.context import CDONG
from bot.storage.models import Assessment, Unit


async def on_button(turn: Turn, callback: Callback) -> None:
    """``k:go:<village id>``: open (or resume, or show) the village's assessment of the year."""
    action, ident = callback.fields
    village = await turn.session.get(Unit, int(ident)) if ident.isdigit() else None
    if action != "go" or village is None:
        turn.out.notice = t(_("This button is no longer valid."))
        return
    if not await communities.may_assess(turn.session, turn.person.id, village):
        turn.out.notice = t(_("Only this village's branch leader or its commune officer can."))
        return
    assessment = await communities.open_assessment(
        turn.session, turn.services.forms, village, turn.services.year(), turn.person.id, turn.now
    )
    await answering.begin(turn, assessment)


async def status_line(turn: Turn, village: Unit) -> Text:
    """Where the village's own assessment of the year stands, in one line."""
    found = await turn.session.scalar(
        select(Assessment)
        .where(
            Assessment.subject == "village",
            Assessment.unit_id == village.id,
            Assessment.year == turn.services.year(),
            Assessment.form_key == CDONG,
        )
        .order_by(Assessment.id.desc())
        .limit(1)
    )
    if found is None:
        said = _("not assessed yet")
    elif found.state == "draft":
        said = _("being assessed")
    else:
        said = presenting.verdict("village", found.state, bool(found.passed))
    return "🏘 " + t(_("Learning community: {state}"), state=said)

"""A unit's parameter settings: the nearest unit's value wins, and each variant is built once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.assessing import with_settings
from bot.services.context import GDHT
from bot.services.units import add_village
from bot.storage.models import FormSetting, Unit
from conversations.loader import load_forms

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


async def test_the_nearest_units_setting_wins_and_other_units_keep_the_default(
    session: AsyncSession, geography: None
) -> None:
    village = await add_village(session, "00070", "Thôn Đông")
    neighbour = await add_village(session, "00073", "Thôn Tây")  # another commune, same province
    commune = await session.scalar(select(Unit).where(Unit.code == "00070"))
    assert commune is not None and commune.parent_id is not None
    for unit_id, value in ((commune.parent_id, 70.0), (commune.id, 85.0)):
        session.add(
            FormSetting(unit_id=unit_id, form_key=GDHT, name="pass_mark", value=value,
                        updated_at=NOW)
        )  # fmt: skip
    session.add(  # another form's setting, and a name the form does not know: both ignored
        FormSetting(unit_id=commune.id, form_key="other", name="pass_mark", value=1.0,
                    updated_at=NOW)
    )  # fmt: skip
    session.add(
        FormSetting(unit_id=commune.id, form_key=GDHT, name="no_such", value=1.0, updated_at=NOW)
    )
    await session.flush()
    form = load_forms().get(GDHT)

    in_village = await with_settings(session, form, village.id)
    in_neighbour = await with_settings(session, form, neighbour.id)

    assert in_village.parameters["pass_mark"].value == 85.0  # the commune's, not the province's
    assert in_neighbour.parameters["pass_mark"].value == 70.0  # only the province set one
    assert await with_settings(session, form, None) is form
    assert form.parameters["pass_mark"].value == 80.0  # the shipped form is left as it was
    assert await with_settings(session, form, village.id) is in_village  # built once

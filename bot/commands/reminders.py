"""``hoctap reminders``: a commune's reminder campaigns — see them, switch them, set their days.

The same settings an officer changes in chat (⏰ Commune reminders); the command line reaches
any commune.
"""

from __future__ import annotations

import argparse
import datetime as dt

from bot.commands.common import NotFound, database, fail, find_unit
from bot.config import Settings
from bot.i18n import _
from bot.services import campaigns
from bot.storage.db import DatabaseUnavailable
from bot.storage.models import UNIT_LEVELS

COMMUNE = UNIT_LEVELS["commune"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``hoctap reminders list|set``."""
    parser = commands.add_parser(
        "reminders", help=_("a commune's reminder campaigns: list them, switch them, set days")
    )
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser("list", help=_("the campaigns of a commune and when each goes"))
    show.add_argument("--commune", required=True, help=_("the commune's code or its name"))
    show.set_defaults(handler=run_list)
    change = actions.add_parser("set", help=_("switch a campaign, or set its day or days"))
    change.add_argument("--commune", required=True, help=_("the commune's code or its name"))
    change.add_argument("--kind", required=True, choices=campaigns.CAMPAIGNS)
    switch = change.add_mutually_exclusive_group()
    switch.add_argument("--on", dest="enabled", action="store_const", const=True)
    switch.add_argument("--off", dest="enabled", action="store_const", const=False)
    change.add_argument("--day", help=_("the day of the year, day/month (for example 1/10)"))
    change.add_argument("--days", type=int, help=_("the number of days (idle, or before)"))
    change.set_defaults(handler=run_set)


async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            commune = await find_unit(session, args.commune, COMMUNE)
            own = (await campaigns.settings_of(session, [commune.id]))[commune.id]
    except (NotFound, DatabaseUnavailable) as error:
        return fail(str(error))
    print(commune.name)
    for kind in campaigns.CAMPAIGNS:
        campaign = own[kind]
        state = _("on") if campaign.enabled else _("off")
        print(f"  {kind:<17} {state:<4} {campaigns.describe(campaign)}")
    return 0


async def run_set(args: argparse.Namespace, settings: Settings) -> int:
    now = dt.datetime.now(dt.UTC)
    try:
        day = campaigns.parse_day(args.day) if args.day else None
    except ValueError:
        return fail(_("--day: expected day/month, for example 1/10"))
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            commune = await find_unit(session, args.commune, COMMUNE)
            try:
                campaign = await campaigns.change(
                    session,
                    commune.id,
                    args.kind,
                    now,
                    enabled=args.enabled,
                    day=day,
                    days=args.days,
                )
            except ValueError:
                return fail(
                    _("{kind} does not take that setting (a day, or 0 to 90 days).").format(
                        kind=args.kind
                    )
                )
            await session.commit()
    except (NotFound, DatabaseUnavailable) as error:
        return fail(str(error))
    state = _("on") if campaign.enabled else _("off")
    print(f"{commune.name}: {args.kind} {state}, {campaigns.describe(campaign)}")
    return 0

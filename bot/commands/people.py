"""``hoctap invite`` and ``hoctap admin``: the administrator's side of onboarding."""

from __future__ import annotations

import argparse

from bot.commands.common import database, fail
from bot.config import Settings
from bot.i18n import _, format_datetime
from bot.services import audit, invites
from bot.services.context import utc_now
from bot.services.messages import Actor
from bot.services.people import ADMIN, ensure_person, grant, roles_of
from bot.services.scope import is_admin
from bot.storage.db import DatabaseUnavailable


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``invite`` and ``admin``."""
    invite = commands.add_parser("invite", help=_("make a one-time code that gives a role"))
    invite.add_argument("--role", choices=sorted(invites.ROLE_LEVELS), required=True)
    invite.add_argument("--unit", required=True, help=_("the code of the unit the role is over"))
    invite.add_argument(
        "--days", type=int, default=invites.DEFAULT_DAYS, help=_("days before the code expires")
    )
    invite.set_defaults(handler=run_invite)
    revoke = commands.add_parser("revoke", help=_("withdraw an unused invite code"))
    revoke.add_argument("code")
    revoke.set_defaults(handler=run_revoke)
    admin = commands.add_parser("admin", help=_("make a Telegram or Zalo user an administrator"))
    admin.add_argument("--channel", choices=["telegram", "zalo", "terminal"], default="telegram")
    admin.add_argument("user_id", help=_("the user's numeric id on that messenger"))
    admin.set_defaults(handler=run_admin)


async def run_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new code and how to use it."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            invite = await invites.create(
                session, None, args.role, args.unit, utc_now(), days=args.days
            )
            await session.commit()
    except (invites.InviteError, DatabaseUnavailable) as error:
        return fail(str(error))
    print(
        _("Code {code} for a {role} of {unit}, valid until {date}.").format(
            code=invite.code,
            role=args.role,
            unit=args.unit,
            date=format_datetime(invite.expires_at),
        )
    )
    print(
        _("The person sends /join {code} to the bot, or opens {link}").format(
            code=invite.code, link=f"https://t.me/<your bot>?start={invite.code}"
        )
    )
    return 0


async def run_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Withdraw a code."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            await invites.revoke(session, None, args.code, utc_now())
            await session.commit()
    except (invites.InviteError, DatabaseUnavailable) as error:
        return fail(str(error))
    print(_("Code {code} withdrawn.").format(code=invites.normalise(args.code)))
    return 0


async def run_admin(args: argparse.Namespace, settings: Settings) -> int:
    """Grant the administrator role to a messenger user (created if they never wrote yet)."""
    actor = Actor(args.channel, args.user_id, args.user_id, args.user_id, settings.locale)
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            now = utc_now()
            person = await ensure_person(session, actor, now)
            if not await is_admin(session, person.id):
                await grant(session, person.id, ADMIN, None, now)
                await audit.record(
                    session, None, "role.granted", "person", person.id, now, detail=ADMIN
                )
            roles = await roles_of(session, person.id)
            await session.commit()
    except DatabaseUnavailable as error:
        return fail(str(error))
    print(
        _("{channel} user {user} is an administrator (roles: {roles}).").format(
            channel=args.channel, user=args.user_id, roles=", ".join(sorted(roles))
        )
    )
    return 0

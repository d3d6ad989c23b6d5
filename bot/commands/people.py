"""``hoctap invite`` and ``hoctap admin``: the administrator's side of onboarding."""

from __future__ import annotations

import argparse

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat.messages import Actor
from bot.commands.common import NotFound, database, fail, find_unit
from bot.config import Settings
from bot.i18n import _, format_datetime
from bot.services import audit, invites, words
from bot.services.context import utc_now
from bot.services.people import ADMIN, ensure_person, grant
from bot.services.scope import is_admin
from bot.storage.db import DatabaseUnavailable
from bot.storage.models import RoleAssignment, Unit


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``invite`` and ``admin``."""
    invite = commands.add_parser("invite", help=_("make a one-time code that gives a role"))
    invite.add_argument("--role", choices=sorted(invites.ROLE_LEVELS), required=True)
    invite.add_argument(
        "--unit", required=True, help=_("the code or name of the unit the role is over")
    )
    invite.add_argument(
        "--days", type=int, default=invites.DEFAULT_DAYS, help=_("days before the code expires")
    )
    invite.set_defaults(handler=run_invite)
    revoke = commands.add_parser("revoke", help=_("withdraw an unused invite code"))
    revoke.add_argument("code")
    revoke.set_defaults(handler=run_revoke)
    admin = commands.add_parser("admin", help=_("make a Telegram or Zalo user an administrator"))
    admin.add_argument(
        "--channel", choices=["telegram", "zalo", "zalo-oa", "terminal"], default="telegram"
    )
    admin.add_argument("user_id", help=_("the user's numeric id on that messenger"))
    admin.set_defaults(handler=run_admin)


async def run_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new code and how to use it."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            unit = await find_unit(session, args.unit)
            invite = await invites.create(
                session, None, args.role, unit.code, utc_now(), days=args.days
            )
            said = await words.words_for(session, unit)
            await session.commit()
    except (invites.InviteError, NotFound, DatabaseUnavailable) as error:
        return fail(str(error))
    print(
        _("Code {code} for: {role} · {unit}, valid until {date}.").format(
            code=invite.code,
            role=words.role_name(args.role, said),
            unit=words.unit_label(unit),
            date=format_datetime(invite.expires_at),
        )
    )
    link = await telegram_invite_link(settings, invite.code)
    if link is None:
        print(_("The person sends /join {code} to the bot.").format(code=invite.code))
    else:
        print(
            _("The person sends /join {code} to the bot, or opens {link}").format(
                code=invite.code, link=link
            )
        )
    return 0


async def telegram_invite_link(settings: Settings, code: str) -> str | None:
    """The Telegram bot's deep link for ``code`` when a token is set (getMe gives the bot's
    username); None without a token or when Telegram cannot be asked."""
    if settings.telegram_token is None:
        return None
    from telegram.error import TelegramError
    from telegram.ext import ExtBot

    from bot.channels.telegram.channel import invite_link

    bot: ExtBot[None] = ExtBot(settings.telegram_token.value, base_url=settings.telegram_base_url)
    try:
        async with bot:
            return invite_link(bot, code)
    except TelegramError as error:  # offline, or a wrong token: the code still works
        print(_("(No link: Telegram could not be asked: {error})").format(error=error))
        return None


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
            held = await _held(session, person.id)
            await session.commit()
    except DatabaseUnavailable as error:
        return fail(str(error))
    print(
        _("{channel} user {user} is an administrator. Roles: {roles}.").format(
            channel=args.channel, user=args.user_id, roles="; ".join(held)
        )
    )
    return 0


async def _held(session: AsyncSession, person_id: int) -> list[str]:
    """A person's roles in words, each with its unit: "cán bộ xã · Xã Thanh Trì (00640)"."""
    rows = await session.execute(
        select(RoleAssignment.role, Unit)
        .outerjoin(Unit, Unit.id == RoleAssignment.unit_id)
        .where(RoleAssignment.person_id == person_id, RoleAssignment.revoked_at.is_(None))
    )
    held = []
    for role, unit in rows:
        said = await words.words_for(session, unit) if unit is not None else None
        name = words.role_name(role, said)
        held.append(f"{name} · {words.unit_label(unit)}" if unit is not None else name)
    return sorted(held)

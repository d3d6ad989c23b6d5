"""``hoctap zalo-oa``: connect a commune's Zalo Official Account (link, authorize, status;
resume, once a used-up monthly quota was raised), and the channel ``hoctap run --channel
zalo-oa`` runs, built from the settings and the database.

The OA's administrator opens the link (``hoctap zalo-oa link``), grants the app its
permissions, and is sent back to the app's callback URL with ``?code=…``; ``hoctap zalo-oa
authorize CODE`` exchanges that code for the first tokens and stores them (encrypted). From
then on the running bot refreshes them itself. The same command repairs a dead refresh token.
"""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.zalo_oa.adapter import CHANNEL
from bot.channels.zalo_oa.api import NetworkError, OaClient
from bot.channels.zalo_oa.channel import ZaloOaChannel
from bot.commands.common import database, fail
from bot.config import Settings, SettingsError
from bot.i18n import _, format_datetime
from bot.services import reminders, tokens
from bot.services.context import Services, utc_now
from bot.storage import leases


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``zalo-oa`` and its three actions."""
    parser = commands.add_parser("zalo-oa", help=_("connect the commune's Zalo Official Account"))
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("link", help=_("print the OA's authorisation page"))
    authorize = actions.add_parser(
        "authorize", help=_("store the tokens for the code the authorisation page gave")
    )
    authorize.add_argument("code", help=_("the code= value of the page it sent you back to"))
    actions.add_parser("status", help=_("say whether the tokens are valid, and until when"))
    actions.add_parser(
        "resume",
        help=_("send reminders again before the month ends (the OA's package was raised)"),
    )
    parser.set_defaults(handler=run_action)


def client_for(settings: Settings) -> OaClient:
    """The API client of the configured app; refuses settings that cannot work."""
    if not settings.zalo_oa_app_id or settings.zalo_oa_secret_key is None:
        raise SettingsError(
            _("Set HOCTAP_ZALO_OA_APP_ID and HOCTAP_ZALO_OA_SECRET_KEY (docs/zalo.md).")
        )
    return OaClient(
        settings.zalo_oa_app_id,
        settings.zalo_oa_secret_key.value,
        settings.zalo_oa_api_url,
        settings.zalo_oa_oauth_url,
    )


def keeper_for(settings: Settings, services: Services) -> tokens.TokenKeeper:
    """The channel's tokens; a dead refresh token tells every administrator how to repair it."""
    assert settings.zalo_oa_secret_key is not None

    async def tell_admins(session: AsyncSession, now: dt.datetime) -> None:
        # One alert per death (called once when the row is marked dead): a second one after a
        # repair is told again.
        moment = now.strftime("%Y%m%dT%H%M%S")
        await reminders.alert_admins(session, f"token_dead:{CHANNEL}:{moment}", _DEAD, now)

    return tokens.TokenKeeper(
        services.sessions, CHANNEL, settings.zalo_oa_secret_key.value, services.clock, tell_admins
    )


_DEAD = {"what": "token_dead", "channel": CHANNEL}


def channel_for(settings: Settings, services: Services) -> ZaloOaChannel:
    """The channel ``hoctap run --channel zalo-oa`` serves (the settings checked first)."""
    client = client_for(settings)
    return ZaloOaChannel(settings, keeper_for(settings, services), client)


async def run_action(args: argparse.Namespace, settings: Settings) -> int:
    try:
        client = client_for(settings)
    except SettingsError as error:
        return fail(str(error))
    try:
        if args.action == "link":
            if not settings.zalo_oa_redirect_uri:
                return fail(
                    _("Set HOCTAP_ZALO_OA_REDIRECT_URI to the app's callback URL (docs/zalo.md).")
                )
            print(client.permission_url(settings.zalo_oa_redirect_uri))
            return 0
        if args.action == "authorize":
            return await _authorize(client, settings, args.code.strip())
        if args.action == "resume":
            return await _resume(settings)
        return await _status(settings)
    finally:
        await client.aclose()


async def _authorize(client: OaClient, settings: Settings, code: str) -> int:
    assert settings.zalo_oa_secret_key is not None
    now = utc_now()
    # The database is opened first (and brought up to date): the code is single-use, so it is
    # spent only once the tokens it gives have somewhere to go.
    async with database(settings) as (_engine, sessions):
        try:
            fresh = await client.authorize(code, now)
        except tokens.RefreshRefused as refused:
            return fail(
                _("Zalo refused the code ({reason}). Open the authorisation page again.").format(
                    reason=str(refused)
                )
            )
        except NetworkError:
            return fail(_("Zalo could not be reached; try again in a moment."))
        async with sessions() as session:
            crypt = tokens.cipher(settings.zalo_oa_secret_key.value)
            await tokens.store(session, CHANNEL, fresh, crypt, now)
            # Repaired: an alert still waiting (it could not go while the OA was cut off) is
            # moot.
            await reminders.withdraw_alerts(session, f"token_dead:{CHANNEL}:", now)
            await session.commit()
    print(
        _("Authorised. The bot refreshes the tokens itself until {date}.").format(
            date=format_datetime(fresh.refresh_expires_at)
        )
    )
    return 0


async def _resume(settings: Settings) -> int:
    async with database(settings) as (_engine, sessions), sessions() as session:
        paused = await leases.lift(session, reminders.quota_hold(CHANNEL))
        await session.commit()
    if not paused:
        print(_("Nothing was paused: reminders and broadcasts go as usual."))
    else:
        print(_("Reminders and broadcasts go again from now (a running bot within a minute)."))
    return 0


async def _status(settings: Settings) -> int:
    async with database(settings) as (_engine, sessions), sessions() as session:
        paused = await leases.held_until(session, reminders.quota_hold(CHANNEL), utc_now())
        row = await tokens.status(session, CHANNEL)
    if paused is not None:
        print(
            _(
                "Reminders and broadcasts are paused until {date}: the OA's monthly message "
                "quota was used up. If its package was raised, run hoctap zalo-oa resume."
            ).format(date=format_datetime(paused))
        )
    if row is None:
        return fail(_("Not authorised yet: run hoctap zalo-oa link, then authorize CODE."))
    if row.dead_at is not None:
        return fail(
            _(
                "The authorisation ended on {date}: run hoctap zalo-oa link, then authorize CODE."
            ).format(date=format_datetime(row.dead_at))
        )
    print(
        _("Authorised. Access token valid until {access}; refresh token until {refresh}.").format(
            access=format_datetime(row.access_expires_at),
            refresh=format_datetime(row.refresh_expires_at),
        )
    )
    return 0

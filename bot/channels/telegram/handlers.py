"""Telegram handlers: turn the update into an ``Inbound``, call the router once, show the answer.

No SQL, no rules and no texts here; ``setup`` registers every handler explicitly.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.channels.telegram.context import STALE_KEY, WAKE_KEY, HoctapApplication, HoctapContext
from bot.channels.telegram.render import show
from bot.chat import router
from bot.chat.messages import Actor, Inbound, Outbound, Reply
from bot.i18n import _, set_locale

log = logging.getLogger(__name__)
CHANNEL = "telegram"


def actor_of(update: Update) -> Actor:
    """Who sent the update, as our services know people."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None
    assert chat is not None
    return Actor(CHANNEL, str(user.id), str(chat.id), user.full_name, user.language_code)


async def on_command(update: Update, context: HoctapContext) -> None:
    """/start, /help, … and commands we do not know (the router answers those too)."""
    assert update.message is not None
    assert update.message.text is not None
    word, _sep, argument = update.message.text[1:].partition(" ")
    name = word.split("@")[0].lower()
    await _respond(
        update,
        context,
        Inbound(
            actor_of(update), command=name, argument=argument.strip(), update_id=update.update_id
        ),
    )


async def on_callback(update: Update, context: HoctapContext) -> None:
    """A tapped inline button."""
    query = update.callback_query
    assert query is not None
    message = str(query.message.message_id) if query.message is not None else None
    await _respond(
        update,
        context,
        Inbound(
            actor_of(update), choice=query.data, update_id=update.update_id, message_id=message
        ),
    )


async def on_text(update: Update, context: HoctapContext) -> None:
    """Typed text, or anything else sent (a sticker or photo counts as an empty answer)."""
    assert update.message is not None
    await _respond(
        update,
        context,
        Inbound(actor_of(update), text=update.message.text or "", update_id=update.update_id),
    )


async def _respond(update: Update, context: HoctapContext, inbound: Inbound) -> None:
    try:
        out = await router.handle(context.services, inbound)
    except router.Busy as busy:
        out = Outbound([Reply(busy.text)])
    else:
        context.applied.add(update.update_id)  # router.handle returned: its inbox row is done
    stale: set[int] = context.bot_data.get(STALE_KEY, set())
    if out.redelivered:
        stale.discard(update.update_id)
        return
    await show(context.bot, update, out, answer_tap=update.update_id not in stale)
    stale.discard(update.update_id)
    wake = context.bot_data.get(WAKE_KEY)
    if out.wake_reminders and wake is not None:
        wake.set()


async def on_error(update: object, context: HoctapContext) -> None:
    """Log the update id and the error type only (never personal data), and apologise."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.callback_query is not None:
        try:  # stop the button's spinner; the apology below says what happened
            await update.callback_query.answer()
        except Exception:
            log.info("could not answer the query of update %s", update_id)
    if isinstance(update, Update) and update.effective_chat is not None:
        user = update.effective_user
        set_locale(user.language_code if user else None)
        try:
            await update.effective_chat.send_message(
                _(
                    "Sorry, something went wrong on our side. Your earlier answers are saved; "
                    "please try again."
                )
            )
        except Exception:  # the apology is best effort; the error is already logged
            log.warning("could not apologise for update %s", update_id)


def setup(application: HoctapApplication) -> None:
    """Register the handlers of this module."""
    private = filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private & filters.COMMAND, on_command))
    application.add_handler(CallbackQueryHandler(on_callback))
    application.add_handler(
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_text)
    )
    application.add_error_handler(on_error)

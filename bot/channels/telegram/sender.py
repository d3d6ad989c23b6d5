"""Send one reminder on Telegram and say what Telegram answered, for ``bot.runtime.reminders``."""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.channels.telegram.render import keyboard, split
from bot.chat.messages import Reply
from bot.runtime.reminders import SENT, Outcome, Send

log = logging.getLogger(__name__)


def reminder_sender(bot: Bot) -> Send:
    """A ``Send`` that posts through ``bot`` (the Application's, so its rate limiter sees
    reminders and answers together)."""

    async def send(chat_id: str, reply: Reply) -> Outcome:
        try:
            parts = split(reply.text)  # at line breaks, so no HTML tag is cut in two
            for number, part in enumerate(parts, start=1):
                markup = keyboard(reply) if number == len(parts) else None
                await bot.send_message(
                    int(chat_id), part, parse_mode=ParseMode.HTML, reply_markup=markup
                )
        except Forbidden:
            return Outcome("blocked")
        except RetryAfter as error:
            wait = error.retry_after
            return Outcome(
                "wait", wait.total_seconds() if isinstance(wait, dt.timedelta) else wait
            )
        except BadRequest as error:  # the chat is gone, or the text was refused
            log.warning("reminder refused by Telegram: %s", error.message)
            return Outcome("failed")
        except NetworkError:  # includes TimedOut: it may have arrived; sent again later
            return Outcome("retry")
        return SENT

    return send

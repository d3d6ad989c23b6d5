"""The python-telegram-bot side of end-to-end tests: wiring and a send/click conversation client.

Owns: ``application_builder(api)`` (an ``ApplicationBuilder`` pointed at a ``FakeBotApi``), the
``polling``/``webhook`` context managers that run an ``Application`` the way ``run_polling`` does
(post_init, start, stop, post_stop, shutdown, post_shutdown), and ``Chat``, which lets a test read
as a person's session: ``await chat.send("/start")``, ``await chat.click("Có")``,
``chat.last_reply()``. Must not import the bot, its services or the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, NoReturn

from telegram.ext import Application, ApplicationBuilder, Updater

from .fake_telegram import ANSWER_METHODS, Call, FakeBotApi, FakeMessage, FakeUser, free_port

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def application_builder(api: FakeBotApi) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """Return an ``ApplicationBuilder`` with the fake's token and base URLs."""
    return (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
    )


@asynccontextmanager
async def _running(
    app: AnyApplication, start_updater: Callable[[Updater], Awaitable[object]]
) -> AsyncIterator[AnyApplication]:
    """Run `app` with the lifecycle order of ``Application.run_polling``."""
    updater = app.updater
    if updater is None:
        raise AssertionError("the Application was built without an Updater")
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        await start_updater(updater)
        await app.start()
        yield app
    finally:
        try:
            if updater.running:
                await updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
        finally:
            await app.shutdown()
            if app.post_shutdown:
                await app.post_shutdown(app)


@asynccontextmanager
async def polling(app: AnyApplication) -> AsyncIterator[AnyApplication]:
    """Run `app` with getUpdates long polling until the block ends."""

    async def start(updater: Updater) -> None:
        await updater.start_polling()

    async with _running(app, start) as running:
        yield running


@asynccontextmanager
async def webhook(
    app: AnyApplication, *, secret_token: str | None = None, url_path: str = "telegram"
) -> AsyncIterator[AnyApplication]:
    """Run `app` with PTB's webhook server on 127.0.0.1; setWebhook reaches the fake."""
    port = free_port()

    async def start(updater: Updater) -> None:
        await updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path=url_path,
            webhook_url=f"http://127.0.0.1:{port}/{url_path}",
            secret_token=secret_token,
        )

    async with _running(app, start) as running:
        yield running


class Chat:
    """One person's private chat with the bot, driven like aiogram_dialog's BotClient.

    Each action queues an update and returns once the update is handled, which means:

    - Telegram would not send it again: a later getUpdates offset passed it, or the webhook
      answered 200 (PTB has then put it on ``application.update_queue``);
    - with ``app`` given (the in-process Application): ``app.update_queue.join()`` returned, so
      every blocking handler and error handler for it has finished; then at least `replies`
      answering calls must have been made, else the action fails at once;
    - without ``app`` (a bot in another process): at least `replies` (default 1) successful
      answering calls to this chat were seen: sendMessage, editMessageText,
      editMessageReplyMarkup, sendDocument, sendPhoto; and, when the bot runs in the test's
      own loop and tells ``api.bot_busy``, it has nothing left in hand (every reply is out);
    - for clicks (unless ``answered=False``): the callback query was answered.

    A 400 answer to the bot (bad markup, "message is not modified") fails the action at once;
    a timeout fails with the transcript and the Bot API calls made since the action.
    """

    def __init__(
        self,
        api: FakeBotApi,
        user: FakeUser,
        *,
        app: AnyApplication | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.api = api
        self.user = user
        self.app = app
        self.timeout = timeout
        self.actions: list[str] = []

    @property
    def chat_id(self) -> int:
        return self.user.id

    # ----------------------------------------------------------------- actions

    async def send(
        self, text: str, *, replies: int | None = None, within: float | None = None
    ) -> list[FakeMessage]:
        """Send `text` as the user; return the bot's messages sent or edited in answer."""
        mark = len(self.api.calls)
        self.actions.append(f"send {text!r}")
        update_id = self.api.send_text(self.user, text)
        return await self._settle(update_id, mark, replies, None, within)

    async def click(
        self,
        label: str,
        *,
        replies: int | None = None,
        answered: bool = True,
        within: float | None = None,
    ) -> list[FakeMessage]:
        """Press a button on the newest bot message that has an inline keyboard.

        `label` matches a button's text exactly, then ignoring case, then its callback_data.
        Pass ``replies=0`` when the bot only answers the query (a toast or an alert).
        """
        with_keyboard = [m for m in self.api.messages_to(self.chat_id) if m.buttons]
        if not with_keyboard:
            raise AssertionError(
                f"no message with buttons to click {label!r}\n{self.transcript()}"
            )
        return await self.click_on(
            with_keyboard[-1], label, replies=replies, answered=answered, within=within
        )

    async def click_on(
        self,
        message: FakeMessage | int,
        label: str,
        *,
        replies: int | None = None,
        answered: bool = True,
        within: float | None = None,
    ) -> list[FakeMessage]:
        """Press a button on a given, possibly older message (stale-button tests).

        Buttons the message showed before an edit can be pressed too, as on a slow screen.
        """
        if isinstance(message, int):
            message = self.api.message(self.chat_id, message)
        data = self._find_button(message, label)
        mark = len(self.api.calls)
        self.actions.append(f"click {label!r} ({data}) on #{message.message_id}")
        update_id = self.api.press(self.user, message, data)
        query_id = str(self.api.updates[update_id]["callback_query"]["id"])
        return await self._settle(update_id, mark, replies, query_id if answered else None, within)

    # ----------------------------------------------------------------- reading

    def last_message(self) -> FakeMessage:
        """Return the bot's newest message in this chat, in its current (edited) state."""
        messages = self.api.messages_to(self.chat_id)
        if not messages:
            raise AssertionError(f"the bot has sent nothing to chat {self.chat_id}")
        return messages[-1]

    def last_reply(self) -> str:
        """Return the text (or caption) of the bot's newest message after in-place edits."""
        return self.last_message().content

    def last_buttons(self) -> list[list[tuple[str, str]]]:
        """Return the inline keyboard of the newest bot message as rows of (label, data)."""
        return self.last_message().buttons

    def replies(self) -> list[str]:
        """Return the current text of every bot message in this chat, oldest first."""
        return [message.content for message in self.api.messages_to(self.chat_id)]

    def transcript(self) -> str:
        """Return the chat as lines of text, with buttons and this client's actions."""
        lines = [f"chat {self.chat_id} ({self.user.first_name}):"]
        for message in self.api.messages_in(self.chat_id):
            who = "bot " if message.from_bot else "user"
            edited = " (edited)" if message.edit_date is not None else ""
            lines.append(f"  {who} #{message.message_id}{edited}: {message.content}")
            lines.extend(
                "         " + "  ".join(f"[{text} | {data}]" for text, data in row)
                for row in message.buttons
            )
        lines.append("actions: " + ("; ".join(self.actions) or "(none)"))
        return "\n".join(lines)

    # ----------------------------------------------------------------- internals

    def _find_button(self, message: FakeMessage, label: str) -> str:
        # Buttons the message had before an edit still count: a slow screen can show them.
        keyboards = [message.reply_markup, *(markup for _, markup in reversed(message.history))]
        buttons = [
            (str(button.get("text", "")), str(button.get("callback_data", "")))
            for markup in keyboards
            for row in (markup or {}).get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        ]
        for matches in (
            lambda text, data: text == label,
            lambda text, data: text.casefold() == label.casefold(),
            lambda text, data: data == label,
        ):
            found = [data for text, data in buttons if matches(text, data)]
            if found:
                return found[0]
        available = ", ".join(f"{text!r} ({data})" for text, data in buttons) or "none"
        raise AssertionError(
            f"no button {label!r} on message #{message.message_id}; available: {available}\n"
            f"{self.transcript()}"
        )

    def _answers(self, mark: int) -> list[Call]:
        return [
            call
            for call in self.api.calls[mark:]
            if call.method in ANSWER_METHODS and call.chat_id == self.chat_id
        ]

    def _query_answers(self, mark: int, query_id: str | None) -> list[Call]:
        return [
            call
            for call in self.api.calls[mark:]
            if call.method == "answerCallbackQuery"
            and call.params.get("callback_query_id") == query_id
        ]

    async def _settle(
        self,
        update_id: int,
        mark: int,
        replies: int | None,
        query_id: str | None,
        within: float | None,
    ) -> list[FakeMessage]:
        """Wait until the update is handled (see the class docstring)."""
        api = self.api
        if api.webhook_url is not None:
            await api.deliver_webhook_queue()
        minimum = replies if replies is not None else (0 if self.app is not None else 1)
        limit = self.timeout if within is None else within
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit

        def bad_request() -> Call | None:
            # A 400 is a bug in the bot (bad markup, "message is not modified"): fail at once.
            mine = self._answers(mark) + self._query_answers(mark, query_id)
            return next((call for call in mine if call.status == 400), None)

        def answered() -> bool:
            enough = sum(1 for call in self._answers(mark) if call.ok) >= minimum
            queried = query_id is None or any(c.ok for c in self._query_answers(mark, query_id))
            return enough and queried

        def settled() -> bool:
            if bad_request() is not None:
                return True
            acknowledged = api.is_acknowledged(update_id)
            busy = api.bot_busy is not None and api.bot_busy()
            return acknowledged and not busy and (self.app is not None or answered())

        with contextlib.suppress(AssertionError):  # reported below, with the transcript
            await api.wait_until(settled, limit)
        finished = self.app is None
        if self.app is not None and api.is_acknowledged(update_id):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.app.update_queue.join(), deadline - loop.time())
                finished = True
        failed = bad_request()
        if failed is not None:
            raise AssertionError(f"the bot made a bad request: {failed}\n{self.transcript()}")
        if not (api.is_acknowledged(update_id) and finished and answered()):
            self._fail_waiting(update_id, mark, minimum, query_id, limit, finished)
        # Every answering method returns the Message it created or edited.
        touched = {call.result["message_id"] for call in self._answers(mark) if call.ok}
        return [m for m in api.messages_to(self.chat_id) if m.message_id in touched]

    def _fail_waiting(
        self,
        update_id: int,
        mark: int,
        minimum: int,
        query_id: str | None,
        limit: float,
        finished: bool,
    ) -> NoReturn:
        api = self.api
        answered = sum(1 for call in self._answers(mark) if call.ok)
        expected = [
            f"at least {minimum} answering call(s) to chat {self.chat_id} (saw {answered})"
        ]
        if query_id is not None:
            expected.append(f"an answerCallbackQuery for query {query_id}")
        state = "acknowledged" if api.is_acknowledged(update_id) else "not acknowledged"
        if self.app is not None:
            state += ", handlers finished" if finished else ", handlers still running"
        calls = "\n".join(f"  {call}" for call in api.calls[mark:]) or "  (none)"
        raise AssertionError(
            f"update {update_id} not handled as expected within {limit}s: expected "
            + " and ".join(expected)
            + f"; the update is {state}.\nBot API calls since:\n{calls}\n{self.transcript()}"
        )

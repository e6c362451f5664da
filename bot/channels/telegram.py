"""Telegram adapter: Bot API updates in as `Incoming`, `Reply` objects out as HTML text with inline keyboards.

Built on python-telegram-bot. Polling when `TELEGRAM_WEBHOOK_URL` is unset; otherwise Telegram POSTs
updates to `/telegram` on the shared web app (see `bot.web`), authenticated by the secret token header.
Handlers only translate: an update becomes an `Incoming` for `Conversation.exchange` (which keeps each
person's messages in order, runs commands and the safety layer), the replies are sent, and
the conversation learns whether they arrived. Users are known only by their pseudonym; raw Telegram
ids are used to address replies and to recognise admins (`TELEGRAM_ADMIN_IDS` → `Incoming.role`), never
stored or logged. Rendering is in `telegram_render`, the webhook's acknowledgement rules in `telegram_webhook`.
Only one process may poll: with a shared PostgreSQL database, a second poller refuses to start and points to
webhook mode. The Application itself and this channel's settings are put together in `telegram_app`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Route
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardMarkup, LinkPreviewOptions, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from .. import commands, logs
from ..conversation import Conversation
from ..coordination import HeldRole
from ..messages import say
from ..models import MAX_BUTTON_CHARS, Incoming, Locale, Reply, Role, clip
from ..privacy import pseudonym
from ..settings import StartupError
from ..state import StoreError
from .telegram_app import Bot, TelegramConfig, build_application, configure_library, webhook_secret
from .telegram_render import MEDIA_FILTER, locale_of, media_kind, render_telegram
from .telegram_webhook import Webhook, WebhookReply, webhook_reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram"
ALLOWED_UPDATES = ("message", "callback_query")  # edited messages, channel posts etc. are not even fetched
MAX_WEBHOOK_CONNECTIONS = 40  # Telegram's default: it delivers at most this many updates at once
POLLER_ROLE = "telegram-poller"

PRIVATE_ONLY = "请私聊我提问,这样更安全。/ Please write to me in a private chat: it is safer."


# --- the channel -----------------------------------------------------------------------------------------


class TelegramChannel:
    """`runner.Channel` for Telegram: polling, or a webhook route on the shared web app."""

    name = CHANNEL

    def __init__(
        self,
        config: TelegramConfig,
        conversation: Conversation,
        secret: bytes,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.config = config
        self.conversation = conversation
        self.secret = secret
        self.stopping = stopping or asyncio.Event()  # set: the bot is shutting down, leave updates to Telegram
        self.webhook_url = config.webhook_url
        self.secret_token = webhook_secret(config, secret)
        logs.hide(self.secret_token, config.token.value)
        self.coordination = conversation.coordination
        self._poller = HeldRole(self.coordination, POLLER_ROLE)
        configure_library()
        self.application: Bot = build_application(
            config.token.value, config.api_url, webhook=self.webhook_url is not None
        )
        self._add_handlers(self.application)
        self.webhook = Webhook(self.application.bot, self.secret_token, self._process, self.stopping, self.coordination)

    # --- lifecycle

    def routes(self) -> list[BaseRoute]:
        if self.webhook_url is None:
            return []
        return [Route(WEBHOOK_PATH, self.webhook.receive, methods=["POST"])]

    async def start(self) -> None:
        app = self.application
        api = self.config.api_url
        try:
            await app.initialize()  # getMe: fails fast on a wrong token or an unreachable API server
        except InvalidToken:
            # PTB's message quotes the token; ours must not.
            raise StartupError(
                f"telegram: the Bot API at {api} rejected TELEGRAM_BOT_TOKEN; copy the token from @BotFather again"
            ) from None
        except NetworkError as exc:
            raise StartupError(f"telegram: cannot reach the Bot API at {api} ({type(exc).__name__})") from None
        await self._set_commands()
        await app.start()
        if self.webhook_url is not None:
            await app.bot.set_webhook(
                self.webhook_url,
                secret_token=self.secret_token,
                allowed_updates=list(ALLOWED_UPDATES),
                max_connections=MAX_WEBHOOK_CONNECTIONS,
            )
            log.info("telegram webhook mode")
        elif app.updater is not None:
            await self._become_poller()
            await app.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
            log.info("telegram polling mode")

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await self._poller.release()

    async def _become_poller(self) -> None:
        """Telegram hands each update to one getUpdates caller: with several processes on one database, only
        one may poll. A second one refuses to start, pointing to webhook mode."""
        try:
            held = await self._poller.take(on_lost=self._poller_lost)
        except StoreError as exc:
            raise StartupError(f"telegram: cannot check for another poller ({exc.reason})") from None
        if not held:
            raise StartupError(
                "telegram: another Anxin process on this database is already polling Telegram; only one process"
                " may poll. To run several processes, set TELEGRAM_WEBHOOK_URL (webhook mode) on all of them"
            )

    def _poller_lost(self) -> None:
        log.error("telegram: another process took over polling while the database was unreachable; stopping")
        self.stopping.set()

    async def _set_commands(self) -> None:
        """The command menus from the one registry: everyone's, and each admin's with /stats and /reload."""
        bot = self.application.bot

        def menu(locale: Locale, *, admin: bool = False) -> list[BotCommand]:
            return [BotCommand(name, text) for name, text in commands.menu(locale, admin=admin)]

        try:
            await bot.set_my_commands(menu("en"))
            await bot.set_my_commands(menu("en"), language_code="en")
            await bot.set_my_commands(menu("zh-Hans"), language_code="zh")
            for admin in sorted(self.config.admin_ids):
                await bot.set_my_commands(menu("zh-Hans", admin=True), scope=BotCommandScopeChat(admin))
        except TelegramError as exc:
            # The command menu is a convenience; answering people does not depend on it.
            log.warning("telegram setMyCommands failed: %s", type(exc).__name__)

    async def _process(self, update: Update) -> None:
        """Run the handlers for `update` in this request (webhook mode)."""
        app = self.application
        try:
            await app.update_processor.process_update(update, app.process_update(update))
        except Exception:
            # Handler errors reach `on_error` inside PTB; this is PTB itself failing. Delivering the update
            # again would fail again, so it counts as handled.
            log.exception("telegram webhook: processing an update failed")

    # --- handlers

    def _add_handlers(self, app: Bot) -> None:
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(private & (filters.TEXT | MEDIA_FILTER), self.on_private_message))
        app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE, self.on_group_message))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_error_handler(self.on_error)

    def _incoming(self, user: User, text: str = "", button: str | None = None, media: str | None = None) -> Incoming:
        role: Role = "admin" if user.id in self.config.admin_ids else "user"  # compared here, never passed on
        user_key = pseudonym(self.secret, CHANNEL, user.id)
        return Incoming(CHANNEL, user_key, text, button, media, role, locale_of(user.language_code))

    async def on_private_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        text = message.text or ""
        kind = None if text else media_kind(message)
        await self._converse(message.chat_id, self._incoming(user, text=clip(text), media=kind))

    async def on_group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # With Telegram's default privacy mode a bot in a group only sees commands and mentions.
        message = update.effective_message
        if message is None or update.effective_user is None:
            return
        await message.reply_text(PRIVATE_ONLY)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        # Stop the spinner on the button without waiting for it: an await here would let a message typed
        # right after the tap reach the conversation first.
        self.application.create_task(_quietly(query.answer()), update=update)
        chat = update.effective_chat
        if chat is not None and chat.type != ChatType.PRIVATE:
            return
        payload = clip(query.data or "", MAX_BUTTON_CHARS)
        await self._converse(chat.id if chat is not None else user.id, self._incoming(user, button=payload))

    async def _converse(self, chat_id: int, incoming: Incoming) -> None:
        """Answer one message and count it once the outcome of sending is known: a reply that could not be
        sent (after the rate limiter's retries) is counted as failed, not as answered."""
        async with self.conversation.exchange(incoming) as exchange:
            await self.send(chat_id, exchange.replies)
            exchange.delivered = True

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error(
            "telegram update failed: %s",
            type(error).__name__,
            exc_info=(type(error), error, error.__traceback__) if error is not None else None,
        )
        if not isinstance(update, Update) or update.effective_user is None:
            return
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        try:
            await context.bot.send_message(chat.id, say("apology", locale_of(update.effective_user.language_code)))
        except TelegramError as exc:
            log.warning("telegram apology not delivered: %s", type(exc).__name__)

    async def send(self, chat_id: int, replies: Sequence[Reply]) -> None:
        bot = self.application.bot
        outgoing = render_telegram(replies)
        # In webhook mode the last message may go back in the answer to Telegram's request (after the others,
        # so the order holds), unless a document follows it.
        slot = webhook_reply()
        last = len(outgoing) - 1 if slot is not None and slot.call is None and not _attachments(replies) else -1
        for index, message in enumerate(outgoing):
            if index == last and slot is not None:
                await self._in_answer(slot, chat_id, message.html, message.keyboard)
                continue
            await bot.send_message(
                chat_id,
                message.html,
                parse_mode=ParseMode.HTML,
                reply_markup=message.keyboard,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        for reply in replies:
            if reply.attachment is not None:  # e.g. the statistics page an admin asked for
                await bot.send_document(chat_id, reply.attachment.data, filename=reply.attachment.filename)

    async def _in_answer(
        self, slot: WebhookReply, chat_id: int, html: str, keyboard: InlineKeyboardMarkup | None
    ) -> None:
        """`sendMessage` as the webhook's answer; it waits for the rate limiter like any other message."""
        call: dict[str, Any] = {
            "method": "sendMessage",
            "chat_id": chat_id,
            "text": html,
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": {"is_disabled": True},
        }
        if keyboard is not None:
            call["reply_markup"] = keyboard.to_dict()
        limiter = self.application.bot.rate_limiter
        if limiter is not None:

            async def counted(*args: Any, **kwargs: Any) -> bool:
                return True

            await limiter.process_request(counted, (), {}, "sendMessage", {"chat_id": chat_id}, None)
        slot.call = call


def _attachments(replies: Sequence[Reply]) -> bool:
    return any(reply.attachment is not None for reply in replies)


async def _quietly(call: Any) -> None:
    try:
        await call
    except TelegramError as exc:
        log.info("telegram: a button's spinner could not be stopped (%s)", type(exc).__name__)

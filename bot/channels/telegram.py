"""Telegram adapter: Bot API updates in as `Incoming`, `Reply` objects out as HTML text with inline keyboards.

Built on python-telegram-bot. Polling when `TELEGRAM_WEBHOOK_URL` is unset; otherwise Telegram POSTs
updates to `/telegram` on the shared web app (see `bot.web`), authenticated by the secret token header.
Handlers only translate: an update becomes an `Incoming` for `Conversation.exchange` (which keeps each
person's messages in order, runs commands and the safety layer), the replies are sent, and
the conversation learns whether they arrived. Users are known only by their pseudonym; raw Telegram
ids are used to address replies and to recognise admins (`TELEGRAM_ADMIN_IDS` → `Incoming.role`), never
stored or logged. Rendering is in `telegram_render`, the webhook's acknowledgement rules in `telegram_webhook`.
Only one process may poll: with a shared PostgreSQL database, a second poller refuses to start and points to
webhook mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import BaseRoute, Route
from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Message, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    SimpleUpdateProcessor,
    filters,
)

from .. import commands, logs
from ..conversation import Conversation
from ..coordination import Lease
from ..messages import say
from ..models import MAX_BUTTON_CHARS, Incoming, Locale, Reply, Role, clip
from ..privacy import pseudonym
from ..settings import Secret, Settings, StartupError
from ..state import StoreError
from .telegram_render import render_telegram
from .telegram_webhook import Webhook

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram"
RATE_LIMIT_RETRIES = 3  # a 429 with retry_after is waited out this many times before giving up
MAX_CONCURRENT_UPDATES = 64
ALLOWED_UPDATES = ("message", "callback_query")  # edited messages, channel posts etc. are not even fetched
MAX_WEBHOOK_CONNECTIONS = 40  # Telegram's default: it delivers at most this many updates at once
POLLER_ROLE = "telegram-poller"

Bot = Application[Any, Any, Any, Any, Any, Any]

PRIVATE_ONLY = "请私聊我提问,这样更安全。/ Please write to me in a private chat: it is safer."

MEDIA_FILTER = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.AUDIO
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
)


@dataclass(frozen=True)
class TelegramConfig:
    """What this channel needs of the settings, and nothing else."""

    token: Secret
    api_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_secret: Secret | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramConfig:
        if settings.telegram_token is None:
            raise ValueError("the Telegram channel needs TELEGRAM_BOT_TOKEN")
        return cls(
            settings.telegram_token,
            settings.telegram_api_url,
            settings.telegram_webhook_url,
            settings.telegram_webhook_secret,
            settings.telegram_admin_ids,
        )


def media_kind(message: Message) -> str | None:
    """What the user sent instead of text; None for a text message."""
    # Animations also carry a `document`, so they are checked first.
    for kind in ("sticker", "animation", "photo", "video_note", "video", "voice", "audio", "document"):
        if getattr(message, kind):
            return kind
    if message.venue or message.location:
        return "location"
    if message.contact:
        return "contact"
    return None


def webhook_secret(config: TelegramConfig, secret: bytes) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the pseudonym key so restarts keep the same value."""
    if config.webhook_secret is not None:
        return config.webhook_secret.value
    # Hex keeps to the characters Telegram allows in a secret token (A-Z, a-z, 0-9, _ and -).
    return hmac.new(secret, b"anxin:telegram-webhook", hashlib.sha256).hexdigest()


def _locale_of(language_code: str | None) -> Locale:
    """The app's language as one of ours: zh-TW / zh-HK / zh-Hant read Traditional, other Chinese Simplified."""
    code = (language_code or "zh").lower()
    if code.startswith("zh"):
        return "zh-Hant" if any(tag in code for tag in ("hant", "tw", "hk", "mo")) else "zh-Hans"
    return "en"


def _configure_library() -> None:
    # PTB 22 warns on every 429 (RetryAfter) unless the process opts in to its v23 timedelta behaviour;
    # nothing here reads those values as numbers, so opting in is safe and keeps flood control quiet.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    # httpx logs every request URL at INFO, and the URL contains the bot token; PTB logs whole updates
    # (with message text) at DEBUG. Neither may reach our logs.
    for name, floor in (("httpx", logging.WARNING), ("httpcore", logging.WARNING), ("telegram", logging.INFO)):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), floor))


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
        self._poller: Lease | None = None
        self._poller_watch: asyncio.Task[None] | None = None
        _configure_library()
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
        if self._poller_watch is not None:
            self._poller_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller_watch
        if self._poller is not None:
            await self._poller.release()
            self._poller = None

    async def _become_poller(self) -> None:
        """Telegram hands each update to one getUpdates caller: with several processes on one database, only
        one may poll. A second one refuses to start, pointing to webhook mode."""
        try:
            lease = await self.coordination.exclusive(POLLER_ROLE)
        except StoreError as exc:
            raise StartupError(f"telegram: cannot check for another poller ({exc.reason})") from None
        if lease is None:
            raise StartupError(
                "telegram: another Anxin process on this database is already polling Telegram; only one process"
                " may poll. To run several processes, set TELEGRAM_WEBHOOK_URL (webhook mode) on all of them"
            )
        self._poller = lease
        self._poller_watch = asyncio.create_task(self._watch_poller(lease), name="telegram-poller-watch")

    async def _watch_poller(self, lease: Lease) -> None:
        await lease.lost()
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
        return Incoming(CHANNEL, user_key, text, button, media, role, _locale_of(user.language_code))

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
            await context.bot.send_message(chat.id, say("apology", _locale_of(update.effective_user.language_code)))
        except TelegramError as exc:
            log.warning("telegram apology not delivered: %s", type(exc).__name__)

    async def send(self, chat_id: int, replies: Sequence[Reply]) -> None:
        bot = self.application.bot
        for outgoing in render_telegram(replies):
            await bot.send_message(
                chat_id,
                outgoing.html,
                parse_mode=ParseMode.HTML,
                reply_markup=outgoing.keyboard,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        for reply in replies:
            if reply.attachment is not None:  # e.g. the statistics page an admin asked for
                await bot.send_document(chat_id, reply.attachment.data, filename=reply.attachment.filename)


async def _quietly(call: Any) -> None:
    try:
        await call
    except TelegramError as exc:
        log.info("telegram: a button's spinner could not be stopped (%s)", type(exc).__name__)


def build_application(token: str, api_url: str, *, webhook: bool) -> Bot:
    """The one place the PTB Application is put together."""
    builder = (
        Application.builder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        # Different people's updates run at once; one person's stay in order in `Conversation`.
        .concurrent_updates(SimpleUpdateProcessor(MAX_CONCURRENT_UPDATES))
    )
    if webhook:
        builder = builder.updater(None)  # updates arrive through our own route on the shared web app
    app: Bot = builder.build()
    return app

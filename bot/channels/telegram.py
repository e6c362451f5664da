"""Telegram adapter: Bot API updates in as `Incoming`, `Reply` objects out as HTML text with inline keyboards.

Built on python-telegram-bot. Polling when `TELEGRAM_WEBHOOK_URL` is unset; otherwise Telegram POSTs
updates to `/telegram` on the shared web app (see `bot.web`), authenticated by the secret token header.
Handlers are thin: parse the update, call `Dialog.respond`, send, then `Dialog.record` with the outcome.
Users are known only by their pseudonym; raw Telegram ids are used to address replies and to recognise
admins, never stored or logged.

In webhook mode an update is acknowledged only once it is handled: the request that carries it waits until
the reply was sent (or sending failed for good), then gets 200. Until then Telegram keeps the update and
delivers it again if the bot dies, so a kill -9 loses nothing; Telegram's `max_connections` is the queue.
While shutting down, or with too many updates in progress, the answer is 503 and Telegram tries again later.
Update ids seen lately are remembered (in memory, nothing else of the update) so a redelivery is not
answered twice. Nothing about an update is written to disk to do this.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from .. import logs, stats
from ..models import MAX_BUTTON_CHARS, Button, Incoming, Locale, Reply, clip
from ..privacy import pseudonym
from ..redaction import strip_bidi
from ..runner import Services
from ..settings import StartupError
from ..store import StoreError
from ..web import read_body

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_MESSAGE_CHARS = 4096  # Telegram's limit, counted in UTF-16 code units after entity parsing
MAX_COPY_CHARS = 4000  # a letter's part in one <pre> block, with room to spare under the limit
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data
MAX_ERROR_LINES = 20  # /reload shows this many content problems; `anxin lint` shows them all
RATE_LIMIT_RETRIES = 3  # a 429 with retry_after is waited out this many times before giving up
MAX_CONCURRENT_UPDATES = 64
ALLOWED_UPDATES = ("message", "callback_query")  # edited messages, channel posts etc. are not even fetched
# A message holds at most 4096 characters; with its entities and a quoted reply an update stays far below.
MAX_UPDATE_BYTES = 256 * 1024
MAX_WEBHOOK_CONNECTIONS = 40  # Telegram's default: it delivers at most this many updates at once
MAX_PENDING_UPDATES = 100  # more in progress than that: 503, and Telegram delivers them again later
RECENT_UPDATES = 10_000  # update ids remembered to recognise a redelivery
MAX_STATS_DAYS = 3650

Bot = Application[Any, Any, Any, Any, Any, Any]

PRIVATE_ONLY = "请私聊我提问,这样更安全。/ Please write to me in a private chat: it is safer."
APOLOGY: dict[str, str] = {
    "zh-Hans": "抱歉,出了点问题。请稍后再发一次。",
    "en": "Sorry, something went wrong. Please send that again in a moment.",
}

# (command, English description, Chinese description): the menu Telegram shows next to the input box.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("start", "Start: what I can help with", "开始:我能帮你什么"),
    ("help", "Topics menu", "话题菜单"),
    ("lang", "Language: 简体 / 繁體 / English", "语言:简体 / 繁體 / English"),
    ("privacy", "What I keep and what I don't", "隐私:我保存什么、不保存什么"),
    ("forget", "Delete everything about me", "删除我的全部记录"),
    ("complain", "Help me write a complaint", "一步步帮我写投诉信"),
)

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


# --- rendering -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message: HTML text and an optional inline keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Chunks under `limit`, cut at paragraph breaks, else at line breaks, else anywhere."""
    if _units(text) <= limit:
        return [text]
    for separator in ("\n\n", "\n"):
        parts = text.split(separator)
        if len(parts) > 1:
            chunks: list[str] = []
            current = ""
            for part in parts:
                candidate = f"{current}{separator}{part}" if current else part
                if _units(candidate) <= limit:
                    current = candidate
                    continue
                if current:
                    chunks.append(current)
                current = part
            if current:
                chunks.append(current)
            return [piece for chunk in chunks for piece in split_text(chunk, limit)]
    pieces: list[str] = []
    current = ""
    for char in text:
        if _units(current + char) > limit:
            pieces.append(current)
            current = ""
        current += char
    pieces.append(current)
    return pieces


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button a row, so long Chinese titles stay readable on a phone."""
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        if len(button.payload.encode()) > MAX_CALLBACK_BYTES:
            # Payloads are built from intent ids, never from user text, so naming it is safe.
            log.warning("button %r dropped: callback data over %d bytes", button.payload, MAX_CALLBACK_BYTES)
            continue
        rows.append([InlineKeyboardButton(button.label, callback_data=button.payload)])
    return InlineKeyboardMarkup(rows) if rows else None


def render_telegram(replies: Sequence[Reply]) -> list[Outgoing]:
    """Escaped HTML chunks; a reply's buttons go with its last chunk. A letter to copy (`Reply.copy`) goes in a
    <pre> block, which Telegram copies with one tap; a long one is cut at paragraphs into several blocks."""
    messages: list[Outgoing] = []
    for reply in replies:
        chunks = [html.escape(chunk, quote=False) for chunk in split_text(reply.text.strip()) if chunk.strip()]
        copy = reply.copy.strip()
        if copy:
            blocks = [f"<pre>{html.escape(part, quote=False)}</pre>" for part in split_text(copy, MAX_COPY_CHARS)]
            if chunks and _units(reply.text.strip()) + _units(copy) + 2 <= MAX_MESSAGE_CHARS and len(blocks) == 1:
                chunks[-1] = f"{chunks[-1]}\n\n{blocks[0]}"  # a short letter stays with its heading
            else:
                chunks.extend(blocks)
        if not chunks:
            if not reply.buttons:
                continue
            chunks = ["…"]  # Telegram refuses a message without text, even one that only carries buttons
        for chunk in chunks[:-1]:
            messages.append(Outgoing(chunk))
        messages.append(Outgoing(chunks[-1], keyboard(reply.buttons)))
    return messages


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


def webhook_secret(services: Services) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the pseudonym key so restarts keep the same value."""
    configured = services.settings.telegram_webhook_secret
    if configured is not None:
        return configured.value
    # Hex keeps to the characters Telegram allows in a secret token (A-Z, a-z, 0-9, _ and -).
    return hmac.new(services.secret, b"anxin:telegram-webhook", hashlib.sha256).hexdigest()


def _locale_of(language_code: str | None) -> Locale:
    return "zh-Hans" if (language_code or "zh").lower().startswith("zh") else "en"


def _configure_library() -> None:
    # PTB 22 warns on every 429 (RetryAfter) unless the process opts in to its v23 timedelta behaviour;
    # nothing here reads those values as numbers, so opting in is safe and keeps flood control quiet.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    # httpx logs every request URL at INFO, and the URL contains the bot token; PTB logs whole updates
    # (with message text) at DEBUG. Neither may reach our logs.
    for name, floor in (("httpx", logging.WARNING), ("httpcore", logging.WARNING), ("telegram", logging.INFO)):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), floor))


# --- ordering --------------------------------------------------------------------------------------------


class _ChatLock:
    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


class PerChatOrder(BaseUpdateProcessor):
    """Updates run concurrently across chats but one at a time, in arrival order, within a chat.

    A user who taps a button and then types must get the answers in that order; other users must not
    wait for them. asyncio.Lock wakes waiters first-in first-out, and PTB starts the tasks in arrival order.
    """

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        # Chat ids live here only while an update of that chat is in flight.
        self._chats: dict[int, _ChatLock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        entry = self._chats.setdefault(chat.id, _ChatLock())
        entry.waiting += 1
        try:
            async with entry.lock:
                await coroutine
        finally:
            entry.waiting -= 1
            if entry.waiting == 0:
                del self._chats[chat.id]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class RecentUpdates:
    """Update ids seen lately, each with whether its first delivery was handled, so that a redelivered update
    is acknowledged without being answered twice. Bounded and in memory; nothing else of the update is kept.
    """

    def __init__(self, size: int = RECENT_UPDATES) -> None:
        self.size = size
        self._seen: OrderedDict[int, asyncio.Future[bool]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def earlier(self, update_id: int) -> asyncio.Future[bool] | None:
        """The outcome of an earlier delivery of `update_id` (it may still be in progress), or None."""
        return self._seen.get(update_id)

    def begin(self, update_id: int) -> None:
        self._seen[update_id] = asyncio.get_running_loop().create_future()
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)

    def end(self, update_id: int, handled: bool) -> None:
        """Handled: later deliveries are acknowledged as they are. Not handled (cancelled at shutdown): the id
        is forgotten, so the delivery Telegram makes again is handled as new."""
        outcome = self._seen.get(update_id) if handled else self._seen.pop(update_id, None)
        if outcome is not None and not outcome.done():
            outcome.set_result(handled)


def _unavailable(retry_after: int) -> Response:
    return Response(status_code=503, headers={"Retry-After": str(retry_after)})


# --- the channel -----------------------------------------------------------------------------------------


class TelegramChannel:
    """`runner.Channel` for Telegram: polling, or a webhook route on the shared web app."""

    name = CHANNEL

    def __init__(self, services: Services) -> None:
        settings = services.settings
        if settings.telegram_token is None:
            raise ValueError("TelegramChannel needs TELEGRAM_BOT_TOKEN")
        self.services = services
        self.webhook_url = settings.telegram_webhook_url
        self.secret_token = webhook_secret(services)
        logs.hide(self.secret_token, settings.telegram_token.value)
        self.recent = RecentUpdates()
        self.max_pending = MAX_PENDING_UPDATES
        self._pending = 0
        _configure_library()
        self.application: Bot = build_application(
            settings.telegram_token.value, settings.telegram_api_url, webhook=self.webhook_url is not None
        )
        self._add_handlers(self.application)

    # --- lifecycle

    def routes(self) -> list[BaseRoute]:
        if self.webhook_url is None:
            return []
        return [Route(WEBHOOK_PATH, self.receive_webhook, methods=["POST"])]

    async def start(self) -> None:
        app = self.application
        api = self.services.settings.telegram_api_url
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
            await app.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
            log.info("telegram polling mode")

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def _set_commands(self) -> None:
        bot = self.application.bot
        english = [BotCommand(name, en) for name, en, _ in COMMANDS]
        chinese = [BotCommand(name, zh) for name, _, zh in COMMANDS]
        try:
            await bot.set_my_commands(english)
            await bot.set_my_commands(english, language_code="en")
            await bot.set_my_commands(chinese, language_code="zh")
        except TelegramError as exc:
            # The command menu is a convenience; answering people does not depend on it.
            log.warning("telegram setMyCommands failed: %s", type(exc).__name__)

    # --- webhook

    async def receive_webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, self.secret_token.encode()):
            log.warning("telegram webhook: request without the right secret token refused")
            return Response(status_code=403)
        if self.services.stop.is_set():
            return _unavailable(retry_after=5)  # shutting down: Telegram keeps the update for the next start
        body = await read_body(request, MAX_UPDATE_BYTES)
        if body is None:
            log.warning("telegram webhook: update over %d bytes refused", MAX_UPDATE_BYTES)
            return Response(status_code=413)
        update = self._parse(body)
        if update is None:
            return Response(status_code=400)
        earlier = self.recent.earlier(update.update_id)
        if earlier is not None:  # delivered again: acknowledge once the first delivery is handled
            return Response(status_code=200) if await asyncio.shield(earlier) else _unavailable(retry_after=1)
        if self._pending >= self.max_pending:
            log.warning("telegram webhook: %d updates in progress; asked Telegram to deliver later", self._pending)
            return _unavailable(retry_after=1)
        self.recent.begin(update.update_id)
        self._pending += 1
        handled = False
        try:
            await self._process(update)
            handled = True
        finally:
            self._pending -= 1
            self.recent.end(update.update_id, handled)
        return Response(status_code=200)

    def _parse(self, body: bytes) -> Update | None:
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            update_id = data.get("update_id")
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                raise ValueError("no update_id")
            return Update.de_json(data, self.application.bot)
        # What JSON and PTB raise on a wrong shape, a nesting too deep or a number too big for a date.
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError) as exc:
            # The body may hold user text: log only what kind of problem it was.
            log.warning("telegram webhook: malformed update dropped (%s)", type(exc).__name__)
            return None

    async def _process(self, update: Update) -> None:
        """Run the handlers for `update` in this request, in order with the chat's other updates."""
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

    def _incoming(self, user_id: int, text: str = "", button: str | None = None, media: str | None = None) -> Incoming:
        return Incoming(CHANNEL, pseudonym(self.services.secret, CHANNEL, user_id), text, button, media)

    async def on_private_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        text = message.text or ""
        if text.startswith("/") and user.id in self.services.settings.telegram_admin_ids:
            if await self._admin_command(message, text, _locale_of(user.language_code)):
                return
        kind = None if text else media_kind(message)
        await self._converse(message.chat_id, self._incoming(user.id, text=clip(text), media=kind))

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
        await query.answer()  # stops the spinner on the button, whatever happens next
        chat = update.effective_chat
        if chat is not None and chat.type != ChatType.PRIVATE:
            return
        payload = clip(query.data or "", MAX_BUTTON_CHARS)
        await self._converse(chat.id if chat is not None else user.id, self._incoming(user.id, button=payload))

    async def _converse(self, chat_id: int, incoming: Incoming) -> None:
        """Answer one message and count it once the outcome of sending is known: a reply that could not be
        sent (after the rate limiter's retries) is counted as failed, not as answered."""
        dialog = self.services.dialog
        turn = await dialog.respond(incoming)
        delivered = False
        try:
            await self.send(chat_id, turn.replies)
            delivered = True
        finally:
            await dialog.record(turn, delivered=delivered)

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
            await context.bot.send_message(chat.id, APOLOGY[_locale_of(update.effective_user.language_code)])
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

    # --- admin commands

    async def _admin_command(self, message: Message, text: str, locale: Locale) -> bool:
        """Handles /stats and /reload for admins; False for anything else, which goes to the dialog."""
        name, _, argument = text[1:].partition(" ")
        name = name.split("@", 1)[0].casefold()
        if name == "reload":
            await self._reload(message.chat_id, locale)
            return True
        if name == "stats":
            await self._stats(message.chat_id, argument.strip(), locale)
            return True
        return False

    async def _reload(self, chat_id: int, locale: Locale) -> None:
        errors = await asyncio.to_thread(self.services.knowledge.reload)
        if not errors:
            count = len(self.services.knowledge.current.intents)
            done = f"已重新加载:{count} 个意图。" if locale == "zh-Hans" else f"Reloaded: {count} intents."
            await self.send(chat_id, [Reply(done)])
            return
        head = (
            f"内容有 {len(errors)} 处问题,继续使用旧内容:"
            if locale == "zh-Hans"
            else f"{len(errors)} problem(s) in the content; still serving the previous version:"
        )
        lines = [strip_bidi(str(error)) for error in errors[:MAX_ERROR_LINES]]
        if len(errors) > MAX_ERROR_LINES:
            lines.append(f"… (+{len(errors) - MAX_ERROR_LINES}, anxin lint)")
        await self.send(chat_id, [Reply(head + "\n" + "\n".join(lines))])

    async def _stats(self, chat_id: int, argument: str, locale: Locale) -> None:
        days = _days(argument)
        if days is None:
            usage = (
                f"用法：/stats 或 /stats 天数（1–{MAX_STATS_DAYS}），例如 /stats 7"
                if locale != "en"
                else f"Usage: /stats, or /stats DAYS (1–{MAX_STATS_DAYS}), e.g. /stats 7"
            )
            await self.send(chat_id, [Reply(usage)])
            return
        try:
            report = await stats.collect(self.services.store, days)
        except StoreError:
            log.exception("stats: the database could not be read")
            unavailable = (
                "统计暂时读不到（数据库忙或不可用），请稍后再试。"
                if locale != "en"
                else ("Statistics are unavailable right now (the database is busy or missing); try again later.")
            )
            await self.send(chat_id, [Reply(unavailable)])
            return
        await self.send(chat_id, [Reply(stats.render_text(report, locale))])
        await self.application.bot.send_document(
            chat_id, stats.render_html(report).encode("utf-8"), filename=f"anxin-stats-{days}d.html"
        )


def _days(argument: str) -> int | None:
    """The days of `/stats DAYS`: 30 without an argument, None unless it is a whole number in range.

    ASCII digits only: "²".isdigit() is true and int("²") raises; at most four of them, as int() refuses
    digit strings beyond a few thousand characters.
    """
    if not argument:
        return 30
    if not (argument.isascii() and argument.isdigit() and len(argument) <= 4):
        return None
    days = int(argument)
    return days if 1 <= days <= MAX_STATS_DAYS else None


def build_application(token: str, api_url: str, *, webhook: bool) -> Bot:
    """The one place the PTB Application is put together."""
    builder = (
        Application.builder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(PerChatOrder())
    )
    if webhook:
        builder = builder.updater(None)  # updates arrive through our own route on the shared web app
    app: Bot = builder.build()
    return app

"""Start-up: build the shared services once, then run the configured channels (console when none).

Every channel implements `Channel`: webhook channels contribute routes to the one ASGI app; polling
channels run their own loop between `start()` and `stop()`. SIGINT/SIGTERM stop everything gracefully and
within `STOP_SECONDS` (a second signal, or a shutdown that hangs, ends the process at once);
SIGHUP (and, with `BOT_WATCH=1`, a content file change) reloads the knowledge base without a restart.

What can keep the bot from starting raises `StartupError` with a one-line message: an unusable pseudonym key,
a data dir where it cannot be created, a rejected bot token. A database that cannot be opened does not: the
bot then keeps state in memory (`UnsavedStore`) and `/healthz` says the store is degraded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sqlite3
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from . import logs
from .conversation import Conversation
from .dialog import Dialog
from .knowledge import KnowledgeSource
from .settings import Settings, StartupError
from .state import MemoryStore, Store, StoreError
from .store import SESSION_CACHE, SqliteStore, purge_daily
from .text import warm_up
from .usage import Retention
from .watch import start_live_reload

if TYPE_CHECKING:
    from starlette.routing import BaseRoute  # a type only: the console chat never loads starlette

    from .store_pg import PostgresStore

log = logging.getLogger(__name__)

WEB_PAGES = ("web", "admin")  # served on the web server, beside the console chat when there is no messenger
STOP_SECONDS = 8.0  # Docker sends SIGKILL 10 s after SIGTERM; by then everything must be closed


@dataclass
class Services:
    """What every channel needs, built once at start-up."""

    settings: Settings
    knowledge: KnowledgeSource
    store: Store
    dialog: Dialog
    secret: bytes
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    conversation: Conversation = field(init=False)

    def __post_init__(self) -> None:
        self.conversation = Conversation(self.dialog)


class Channel(Protocol):
    name: str

    def routes(self) -> list[BaseRoute]:
        """Webhook routes for the shared web app (empty for polling channels)."""
        ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class UnsavedStore(MemoryStore):
    """The in-memory store the bot falls back to when the database cannot be opened; `/healthz` says so."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def problem(self) -> str | None:
        return f"the database could not be opened ({self.reason}); nothing is saved until a restart"


async def open_database(settings: Settings, *, migrate: bool = True) -> SqliteStore | PostgresStore:
    """The configured store: PostgreSQL when `BOT_DATABASE_URL` is set, else the SQLite file in the data dir
    (which is upgraded whenever it is opened). `StoreError` when it cannot be used."""
    if settings.database_url is not None:
        from .store_pg import PostgresStore

        return await PostgresStore.open(
            settings.database_url.value,
            retention=Retention(settings.session_days, settings.event_days, settings.unanswered_days),
            pool_size=settings.database_pool,
            migrate=migrate,
        )
    return await SqliteStore.from_settings(settings)


async def open_store(settings: Settings) -> Store:
    """The store the bot runs on.

    PostgreSQL (`BOT_DATABASE_URL`) must be usable at start: processes sharing it must not drift apart, so
    one that cannot reach it stops with one line and its supervisor starts it again. The SQLite store falls
    back to memory when the file cannot be opened at all, so a lone bot still answers; a damaged database
    file is moved aside and a new one started (see `bot.store`).
    """
    if settings.database_url is not None:
        try:
            return await open_database(settings)
        except StoreError as exc:
            raise StartupError(f"database: {exc}") from None
    try:
        return await SqliteStore.from_settings(settings, move_corrupt=True, session_cache=SESSION_CACHE)
    except (StoreError, OSError, sqlite3.Error) as exc:
        reason = exc.reason if isinstance(exc, StoreError) else str(exc)
        log.error("cannot open the database, keeping state in memory until restart: %s", exc)
        return UnsavedStore(reason)


async def open_services(settings: Settings, store: Store | None = None) -> Services:
    """Everything a running bot needs; `store` replaces the database (`anxin chat` talks to a throw-away one)."""
    # The key first: without it nothing may be stored, so an unusable one stops the start right here.
    secret = await asyncio.to_thread(settings.secret_key)
    logs.hide(secret.decode("latin-1"))
    if settings.database_url is not None:
        # Anxin's own rows are safe to log by design; the database address and its password are not.
        logs.hide(settings.database_url.value)
        if settings.secret is None:
            log.warning(
                "BOT_DATABASE_URL is set but BOT_SECRET is not: every process sharing the database must use the"
                " same pseudonym key (the same BOT_SECRET, or one shared data dir), or one person becomes several"
            )
    # OpenCC dictionaries and the knowledge base load before the first user arrives.
    await asyncio.to_thread(warm_up)
    knowledge = await asyncio.to_thread(KnowledgeSource, settings.content_dir, settings.data_dir)
    store = store or await open_store(settings)
    dialog = Dialog(knowledge, store, keep_unanswered=settings.keep_unanswered)
    return Services(settings, knowledge, store, dialog, secret)


def configured_channels(services: Services) -> list[Channel]:
    """Each configured channel gets what it needs and nothing more: its settings, the conversation, the key
    (the admin dashboard: the store and the knowledge it reports on)."""
    channels: list[Channel] = []
    settings, conversation, secret = services.settings, services.conversation, services.secret
    if settings.telegram_token is not None:
        from .channels.telegram import TelegramChannel  # PTB loads only when configured
        from .channels.telegram_app import TelegramConfig

        config = TelegramConfig.from_settings(settings)
        channels.append(TelegramChannel(config, conversation, secret, services.stop))
    if settings.wechat_token is not None:
        from .channels.wechat import WeChatChannel, WeChatConfig

        channels.append(WeChatChannel(WeChatConfig.from_settings(settings), conversation, secret))
    if settings.admin_token is not None:
        from .admin import AdminPage

        channels.append(AdminPage(settings.admin_token, services.store, services.knowledge))
    if settings.web_chat_on():
        from .channels.webchat import WebChatChannel, WebChatConfig

        channels.append(WebChatChannel(WebChatConfig.from_settings(settings), conversation, secret))
    return channels


def _port_free(host: str, port: int) -> bool:
    """Whether `host:port` can be listened on now (so a second `make run` keeps its console chat)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


async def _serve_beside_console(services: Services, channels: list[Channel]) -> asyncio.Task[None] | None:
    """The web chat's server next to the console chat, and its address on the console; None when the port
    is taken (the console chat still runs)."""
    from .web import build_app, serve

    settings = services.settings
    if not _port_free(settings.host, settings.port):
        sys.stdout.write(f"(web chat not started: {settings.host}:{settings.port} is in use; set BOT_PORT)\n\n")
        return None
    for channel in channels:
        await channel.start()
    routes = [route for channel in channels for route in channel.routes()]
    app = build_app(routes, health=services.store.problem)
    task = asyncio.create_task(serve(app, settings.host, settings.port, services.stop), name="web")
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    shown = f"[{shown}]" if ":" in shown else shown
    sys.stdout.write(f"Web chat: http://{shown}:{settings.port}/chat\n\n")
    sys.stdout.flush()
    return task


async def run_console(settings: Settings, services: Services | None = None, web: list[Channel] | None = None) -> None:
    """The console chat; with `web` channels (the web chat), their server too.

    In a terminal, leaving the console chat stops everything. When input is not a terminal (a pipe, or
    /dev/null under Docker) the web chat goes on after the input ends, until SIGTERM or SIGINT.
    """
    from .channels.console import chat

    services = services or await open_services(settings)
    live = start_live_reload(services.knowledge, watch_files=settings.watch)
    retention = asyncio.create_task(purge_daily(services.store), name="retention")
    server: asyncio.Task[None] | None = None
    try:
        if web:
            server = await _serve_beside_console(services, web)
        interactive = sys.stdin.isatty()
        await chat(services.conversation.handle, services.secret, sys.stdin, sys.stdout, interactive=interactive)
        if server is not None and not interactive:
            _install_signals(services)
            await server  # until a signal sets `services.stop`
    finally:
        if server is not None:
            services.stop.set()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(server, STOP_SECONDS)
            for channel in web or []:
                await channel.stop()
        await live.stop()
        await _stop(retention)
        await services.store.close()


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _install_signals(services: Services) -> None:
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if services.stop.is_set():
            log.warning("second stop signal: exiting now")
            os._exit(1)
        services.stop.set()
        _exit_if_stuck(STOP_SECONDS)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not available on Windows event loops
            loop.add_signal_handler(sig, stop)


def _exit_if_stuck(seconds: float) -> None:
    """End the process if the graceful stop takes longer than `seconds`: a thread, so that an event loop
    stuck in a hung call cannot keep it from firing. SQLite in WAL mode survives the abrupt end."""

    def give_up() -> None:
        log.error("shutdown took longer than %.0f s; exiting without finishing it", seconds)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()


async def run(settings: Settings) -> None:
    """`anxin run`: every configured channel; the console chat (and the web chat) when no messenger is."""
    services = await open_services(settings)
    channels = configured_channels(services)
    if not [channel for channel in channels if channel.name not in WEB_PAGES]:  # no messenger: the console chat
        await run_console(settings, services, web=channels)
        return
    _install_signals(services)
    live = start_live_reload(services.knowledge, watch_files=settings.watch)
    retention = asyncio.create_task(purge_daily(services.store), name="retention")
    started: list[Channel] = []
    try:
        for channel in channels:
            await channel.start()
            started.append(channel)
            log.info("channel %s started", channel.name)
        routes = [route for channel in channels for route in channel.routes()]
        if routes:
            from .web import build_app, serve

            await serve(build_app(routes, health=services.store.problem), settings.host, settings.port, services.stop)
        else:
            await services.stop.wait()
    finally:
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("channel %s did not stop cleanly", channel.name)
        await live.stop()
        await _stop(retention)
        await services.store.close()
        log.info("stopped")

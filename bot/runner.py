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
import sqlite3
import sys
import threading
from dataclasses import dataclass, field
from typing import Protocol

from starlette.routing import BaseRoute

from . import logs
from .conversation import Conversation
from .dialog import Dialog
from .knowledge import KnowledgeSource
from .settings import Settings
from .state import MemoryStore, Store, StoreError
from .store import SqliteStore, purge_daily
from .text import warm_up
from .watch import start_live_reload

log = logging.getLogger(__name__)

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


async def open_store(settings: Settings) -> Store:
    """The SQLite store; memory only when the database cannot be opened at all, so the bot still answers.

    A damaged database file is moved aside and a new one started (see `bot.store`).
    """
    try:
        return await SqliteStore.from_settings(settings, move_corrupt=True)
    except (StoreError, OSError, sqlite3.Error) as exc:
        reason = exc.reason if isinstance(exc, StoreError) else str(exc)
        log.error("cannot open the database, keeping state in memory until restart: %s", exc)
        return UnsavedStore(reason)


async def open_services(settings: Settings) -> Services:
    # The key first: without it nothing may be stored, so an unusable one stops the start right here.
    secret = await asyncio.to_thread(settings.secret_key)
    logs.hide(secret.decode("latin-1"))
    # OpenCC dictionaries and the knowledge base load before the first user arrives.
    await asyncio.to_thread(warm_up)
    knowledge = await asyncio.to_thread(KnowledgeSource, settings.content_dir, settings.data_dir)
    store = await open_store(settings)
    dialog = Dialog(knowledge, store, keep_unanswered=settings.keep_unanswered)
    return Services(settings, knowledge, store, dialog, secret)


def configured_channels(services: Services) -> list[Channel]:
    channels: list[Channel] = []
    if services.settings.telegram_token is not None:
        from .channels.telegram import TelegramChannel  # imported here: PTB loads only when configured

        channels.append(TelegramChannel(services))
    if services.settings.wechat_token is not None:
        from .channels.wechat import WeChatChannel

        channels.append(WeChatChannel(services))
    return channels


async def run_console(settings: Settings, services: Services | None = None) -> None:
    from .channels.console import chat

    services = services or await open_services(settings)
    live = start_live_reload(services.knowledge, watch_files=settings.watch)
    retention = asyncio.create_task(purge_daily(services.store), name="retention")
    try:
        await chat(services.conversation.handle, services.secret, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
    finally:
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
    """`anxin run`: every configured channel; the console chat when none is configured."""
    services = await open_services(settings)
    channels = configured_channels(services)
    if not channels:
        await run_console(settings, services)
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

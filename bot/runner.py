"""Start-up: build the shared services once, then run the configured channels (console when none)."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from .dialog import Dialog
from .knowledge import KnowledgeSource
from .settings import Settings
from .state import MemoryStore, Store
from .text import warm_up

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    knowledge: KnowledgeSource
    store: Store
    dialog: Dialog
    secret: bytes


async def open_store(settings: Settings) -> Store:
    return MemoryStore()


async def open_services(settings: Settings) -> Services:
    warm_up()
    knowledge = KnowledgeSource(settings.content_dir)
    store = await open_store(settings)
    dialog = Dialog(knowledge, store, keep_unanswered=settings.keep_unanswered)
    return Services(settings, knowledge, store, dialog, settings.secret_key())


async def run_console(settings: Settings) -> None:
    from .channels.console import chat

    services = await open_services(settings)
    try:
        await chat(services.dialog, services.secret, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
    finally:
        await services.store.close()


async def run(settings: Settings) -> None:
    """`anxin run`: every configured channel; the console chat when none is configured."""
    await run_console(settings)

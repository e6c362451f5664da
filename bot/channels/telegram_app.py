"""The python-telegram-bot side of the Telegram channel: its settings, the Application and the library's
logging, put together in one place."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import AIORateLimiter, Application, SimpleUpdateProcessor

from ..settings import Secret, Settings

RATE_LIMIT_RETRIES = 3  # a 429 with retry_after is waited out this many times before giving up
MAX_CONCURRENT_UPDATES = 64
# Bot API requests in flight at once (PTB's default pool is 256 connections): as many as Telegram delivers
# webhook updates at once (`telegram.MAX_WEBHOOK_CONNECTIONS`), so no update waits for another one's request and
# a SIGTERM still finds every request in progress able to finish in time; a request that finds every connection
# busy (the bot answering other updates' buttons at the same time) waits its turn up to POOL_TIMEOUT.
MAX_BOT_API_CONNECTIONS = 40
POOL_TIMEOUT = 10.0  # seconds

Bot = Application[Any, Any, Any, Any, Any, Any]


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


def webhook_secret(config: TelegramConfig, secret: bytes) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the pseudonym key so restarts keep the same value."""
    if config.webhook_secret is not None:
        return config.webhook_secret.value
    # Hex keeps to the characters Telegram allows in a secret token (A-Z, a-z, 0-9, _ and -).
    return hmac.new(secret, b"anxin:telegram-webhook", hashlib.sha256).hexdigest()


def configure_library() -> None:
    # PTB 22 warns on every 429 (RetryAfter) unless the process opts in to its v23 timedelta behaviour;
    # nothing here reads those values as numbers, so opting in is safe and keeps flood control quiet.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    # httpx logs every request URL at INFO, and the URL contains the bot token; PTB logs whole updates
    # (with message text) at DEBUG. Neither may reach our logs.
    for name, floor in (("httpx", logging.WARNING), ("httpcore", logging.WARNING), ("telegram", logging.INFO)):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), floor))


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
        .connection_pool_size(MAX_BOT_API_CONNECTIONS)
        .pool_timeout(POOL_TIMEOUT)
    )
    if webhook:
        builder = builder.updater(None)  # updates arrive through our own route on the shared web app
    app: Bot = builder.build()
    return app

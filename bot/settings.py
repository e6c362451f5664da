"""Settings: read from the environment once at start-up and passed down; secrets never print."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StartupError as StartupError  # where the channels and the CLI have always found it

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(StartupError, ValueError):
    """A setting is present but unusable; the message names the variable."""


@dataclass(frozen=True)
class Secret:
    """A value that must not appear in logs or tracebacks."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"


def _default_content_dir() -> Path:
    # Content ships next to the package in a checkout; a deployment can point elsewhere.
    if (PACKAGE_ROOT / "intents").is_dir():
        return PACKAGE_ROOT
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    content_dir: Path = field(default_factory=_default_content_dir)
    secret: Secret | None = None
    keep_unanswered: bool = True
    watch: bool = False
    session_days: int = 30
    event_days: int = 90
    unanswered_days: int = 30
    host: str = "127.0.0.1"
    port: int = 8080
    telegram_token: Secret | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_admin_ids: frozenset[int] = frozenset()
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: Secret | None = None
    wechat_token: Secret | None = None
    wechat_app_id: str | None = None
    wechat_aes_key: Secret | None = None
    wechat_admin_openids: frozenset[str] = frozenset()
    log_level: str = "INFO"
    database_url: Secret | None = None  # postgresql://…; None: SQLite in the data dir
    database_pool: int = 10  # connections per process to PostgreSQL
    # The web chat (`/chat`): on by default only when no messenger is configured (`make run` on a laptop);
    # BOT_WEB_CHAT=1 serves it beside Telegram or WeChat, BOT_WEB_CHAT=0 never.
    web_chat: bool | None = None
    web_origins: tuple[str, ...] = ()  # sites allowed to embed /chat in an iframe (frame-ancestors)
    admin_token: Secret | None = None  # /admin exists only when this is set

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def secret(name: str) -> Secret | None:
            value = text(name)
            return Secret(value) if value else None

        def number(name: str, default: int) -> int:
            value = text(name)
            if value is None:
                return default
            try:
                return int(value)
            except ValueError:
                raise SettingsError(f"{name} must be a whole number, got {value!r}") from None

        def flag(name: str, default: bool) -> bool:
            value = text(name)
            if value is None:
                return default
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise SettingsError(f"{name} must be 1 or 0, got {value!r}")

        admin_ids: set[int] = set()
        for part in (text("TELEGRAM_ADMIN_IDS") or "").split(","):
            if part.strip():
                try:
                    admin_ids.add(int(part.strip()))
                except ValueError:
                    raise SettingsError("TELEGRAM_ADMIN_IDS must be numeric ids separated by commas") from None

        database_url = secret("BOT_DATABASE_URL")  # it may carry a password
        if database_url is not None and not database_url.value.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                "BOT_DATABASE_URL must be a postgresql:// address (postgresql://user:password@host:5432/dbname);"
                " leave it unset to keep the SQLite file in BOT_DATA_DIR"
            )
        database_pool = number("BOT_DATABASE_POOL", 10)
        if database_pool < 2:
            raise SettingsError(f"BOT_DATABASE_POOL must be 2 or more, got {database_pool}")
        content = text("BOT_CONTENT_DIR")
        web_chat = None if text("BOT_WEB_CHAT") is None else flag("BOT_WEB_CHAT", False)
        return cls(
            data_dir=Path(text("BOT_DATA_DIR") or "data"),
            content_dir=Path(content) if content else _default_content_dir(),
            secret=secret("BOT_SECRET"),
            keep_unanswered=flag("BOT_KEEP_UNANSWERED", True),
            watch=flag("BOT_WATCH", False),
            session_days=number("BOT_SESSION_DAYS", 30),
            event_days=number("BOT_EVENT_DAYS", 90),
            unanswered_days=number("BOT_UNANSWERED_DAYS", 30),
            host=text("BOT_HOST") or "127.0.0.1",
            port=number("BOT_PORT", 8080),
            telegram_token=secret("TELEGRAM_BOT_TOKEN"),
            telegram_api_url=(text("TELEGRAM_API_URL") or "https://api.telegram.org").rstrip("/"),
            telegram_admin_ids=frozenset(admin_ids),
            telegram_webhook_url=text("TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_secret=secret("TELEGRAM_WEBHOOK_SECRET"),
            wechat_token=secret("WECHAT_TOKEN"),
            wechat_app_id=text("WECHAT_APP_ID"),
            wechat_aes_key=secret("WECHAT_AES_KEY"),
            wechat_admin_openids=frozenset(
                part.strip() for part in (text("WECHAT_ADMIN_OPENIDS") or "").split(",") if part.strip()
            ),
            log_level=(text("BOT_LOG_LEVEL") or "INFO").upper(),
            database_url=database_url,
            database_pool=database_pool,
            web_chat=web_chat,
            web_origins=web_origins(text("BOT_WEB_ORIGINS") or ""),
            admin_token=admin_token(secret("BOT_ADMIN_TOKEN")),
        )

    def web_chat_on(self) -> bool:
        """Whether to serve the web chat: BOT_WEB_CHAT when set, else only when no messenger is configured."""
        if self.web_chat is not None:
            return self.web_chat
        return self.telegram_token is None and self.wechat_token is None

    def secret_key(self) -> bytes:
        """The pseudonym key: BOT_SECRET, or one generated once into the data dir; `SecretError` (a
        `StartupError`) when it is too short or cannot be read or created."""
        from .privacy import check_secret, load_or_create_secret

        if self.secret is not None:
            return check_secret(self.secret.value.encode(), "BOT_SECRET")
        return load_or_create_secret(self.data_dir)


_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
MIN_ADMIN_TOKEN_CHARS = 16


def web_origins(value: str) -> tuple[str, ...]:
    """BOT_WEB_ORIGINS: origins (scheme://host[:port], space- or comma-separated) that may embed the chat.
    Each goes into a Content-Security-Policy header, so anything else is refused rather than passed on."""
    origins: list[str] = []
    for part in re.split(r"[\s,]+", value.strip()):
        if not part:
            continue
        origin = part.rstrip("/")
        if not _ORIGIN.match(origin):
            raise SettingsError(
                f"BOT_WEB_ORIGINS: {part!r} is not an origin like https://example.org (scheme and host, no path)"
            )
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def admin_token(token: Secret | None) -> Secret | None:
    """BOT_ADMIN_TOKEN, refused when too short to stand up to guessing."""
    if token is not None and len(token.value) < MIN_ADMIN_TOKEN_CHARS:
        raise SettingsError(f"BOT_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} characters")
    return token

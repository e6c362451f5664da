"""Numbered schema migrations for the PostgreSQL store; applied at start under an advisory lock, or by `anxin migrate`.

The tables hold what the SQLite ones hold (`bot.schema` says why nothing in them points to a person), with
`user_key` for the pseudonym (`user` is a reserved word here), plus two short-lived tables that let several
processes agree on retries:
- `wechat_replies`: the reply text given to one WeChat message, keyed by the sender's pseudonym and the
  MsgId, so a retry that reaches another process gets the same reply; deleted after 10 minutes and by
  `/forget`. The reply is the bot's own text; the openid it goes to is never stored.
- `telegram_updates`: Telegram update ids handled lately (a counter Telegram keeps per bot, nothing about the
  user), so a redelivery to another process is not answered twice; deleted after a day.

Each migration runs in one transaction. Never edit a released migration: add the next number instead.
"""

from __future__ import annotations

from .schema import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial revision: sessions, usage events, daily user counts, unanswered questions, shared retries",
        (
            """CREATE TABLE sessions (
                user_key TEXT PRIMARY KEY,
                locale TEXT,
                locale_pinned BOOLEAN NOT NULL DEFAULT FALSE,
                last_intent TEXT,
                options TEXT NOT NULL DEFAULT '[]',
                updated_at DOUBLE PRECISION NOT NULL,
                region TEXT,
                region_pinned BOOLEAN NOT NULL DEFAULT FALSE,
                care TEXT
            )""",
            "CREATE INDEX sessions_updated ON sessions (updated_at)",
            """CREATE TABLE events (
                id BIGSERIAL PRIMARY KEY,
                day TEXT NOT NULL,
                channel TEXT NOT NULL,
                locale TEXT NOT NULL,
                kind TEXT NOT NULL,
                intent TEXT,
                bucket SMALLINT NOT NULL,
                user_key TEXT
            )""",
            "CREATE INDEX events_day ON events (day)",
            "CREATE INDEX events_user ON events (user_key) WHERE user_key IS NOT NULL",
            """CREATE TABLE daily_users (
                day TEXT NOT NULL,
                channel TEXT NOT NULL,
                users INTEGER NOT NULL,
                PRIMARY KEY (day, channel)
            )""",
            """CREATE TABLE unanswered (
                id BIGSERIAL PRIMARY KEY,
                at DOUBLE PRECISION NOT NULL,
                day TEXT NOT NULL,
                channel TEXT NOT NULL,
                locale TEXT NOT NULL,
                text TEXT NOT NULL,
                user_key TEXT
            )""",
            "CREATE INDEX unanswered_at ON unanswered (at)",
            "CREATE INDEX unanswered_day ON unanswered (day)",
            "CREATE INDEX unanswered_user ON unanswered (user_key) WHERE user_key IS NOT NULL",
            """CREATE TABLE wechat_replies (
                user_key TEXT NOT NULL,
                msg_key TEXT NOT NULL,
                reply TEXT,
                claimed_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (user_key, msg_key)
            )""",
            "CREATE INDEX wechat_replies_expires ON wechat_replies (expires_at)",
            """CREATE TABLE telegram_updates (
                update_id BIGINT PRIMARY KEY,
                done BOOLEAN NOT NULL DEFAULT FALSE,
                claimed_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX telegram_updates_expires ON telegram_updates (expires_at)",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS anxin_version (version INTEGER NOT NULL)"

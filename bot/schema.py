"""Numbered schema migrations for the SQLite store; an older database file is upgraded in place on start.

Each migration moves the file from `version - 1` to `version` inside one transaction, so a crash half-way
leaves the old, still-valid schema. Never edit a released migration: add the next number instead
(the habit of maubot's `db/upgrade/v01_initial_revision.py`, `v02_…`).

What the tables hold, and why nothing in them points to a person:
- `sessions`: one row per pseudonymous user key (HMAC, see `bot.privacy`); the script, the last intent and
  the button payloads last offered. Deleted when idle for `BOT_SESSION_DAYS`.
- `events`: one row per handled message: the day, channel, locale, decision kind, intent and a score
  bucket, never the text. `user` is kept only to count distinct users and is set to NULL after
  `BOT_EVENT_DAYS`; the anonymous row stays as the daily aggregate.
- `daily_users`: distinct-user counts of days whose per-user links were removed.
- `unanswered`: questions nothing answered, redacted, deleted after `BOT_UNANSWERED_DAYS`; `user` (the
  pseudonym) only so that `/forget` can delete them too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    why: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial revision: sessions, usage events, unanswered questions",
        (
            """CREATE TABLE sessions (
                user TEXT PRIMARY KEY,
                locale TEXT,
                locale_pinned INTEGER NOT NULL DEFAULT 0,
                last_intent TEXT,
                options TEXT NOT NULL DEFAULT '[]',
                updated_at REAL NOT NULL
            )""",
            """CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                day TEXT NOT NULL,
                channel TEXT NOT NULL,
                locale TEXT NOT NULL,
                kind TEXT NOT NULL,
                intent TEXT,
                bucket INTEGER NOT NULL,
                user TEXT
            )""",
            "CREATE INDEX events_day ON events (day)",
            """CREATE TABLE unanswered (
                id INTEGER PRIMARY KEY,
                at REAL NOT NULL,
                day TEXT NOT NULL,
                channel TEXT NOT NULL,
                locale TEXT NOT NULL,
                text TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "keep distinct-user counts when per-user event links expire; find a user's rows fast for /forget",
        (
            """CREATE TABLE daily_users (
                day TEXT NOT NULL,
                channel TEXT NOT NULL,
                users INTEGER NOT NULL,
                PRIMARY KEY (day, channel)
            )""",
            "CREATE INDEX events_user ON events (user) WHERE user IS NOT NULL",
            "CREATE INDEX unanswered_at ON unanswered (at)",
            "CREATE INDEX sessions_updated ON sessions (updated_at)",
        ),
    ),
    Migration(
        3,
        "remember the user's region and care mode across restarts; link unanswered questions to /forget",
        (
            "ALTER TABLE sessions ADD COLUMN region TEXT",
            "ALTER TABLE sessions ADD COLUMN region_pinned INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE sessions ADD COLUMN care TEXT",
            "ALTER TABLE unanswered ADD COLUMN user TEXT",
            "CREATE INDEX unanswered_user ON unanswered (user) WHERE user IS NOT NULL",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version

# The version table itself predates every migration, as in maubot.
VERSION_TABLE = "CREATE TABLE IF NOT EXISTS version (version INTEGER NOT NULL)"

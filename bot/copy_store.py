"""`anxin copy-store --to URL`: move a bot from its SQLite file to PostgreSQL, once, into an empty database.

Sessions, usage events (with their per-user links, where retention has not removed them yet), daily user
counts and unanswered questions are copied in one transaction; the counts in PostgreSQL are compared with the
file's before it commits, so the copy is whole or nothing. A target that already holds any of these rows is
refused: copying twice would count every message twice. Stop the bot before copying, so that nothing is
written to the file meanwhile.

Exceptions:
    CopyError   the copy was refused or did not match (the message says what to do); nothing was committed
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from .store import SqliteStore
from .store_pg import PostgresStore, display_url

# (table in the SQLite file, its columns there, the table in PostgreSQL, its columns there)
TABLES: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    (
        "sessions",
        ("user", "locale", "locale_pinned", "last_intent", "options", "updated_at", "region", "region_pinned", "care"),
        "sessions",
        (
            "user_key",
            "locale",
            "locale_pinned",
            "last_intent",
            "options",
            "updated_at",
            "region",
            "region_pinned",
            "care",
        ),
    ),
    (
        "events",
        ("day", "channel", "locale", "kind", "intent", "bucket", "user"),
        "events",
        ("day", "channel", "locale", "kind", "intent", "bucket", "user_key"),
    ),
    ("daily_users", ("day", "channel", "users"), "daily_users", ("day", "channel", "users")),
    (
        "unanswered",
        ("at", "day", "channel", "locale", "text", "user"),
        "unanswered",
        ("at", "day", "channel", "locale", "text", "user_key"),
    ),
)
BOOLEAN_COLUMNS = frozenset({"locale_pinned", "region_pinned"})
BATCH = 5000


class CopyError(Exception):
    """The copy was refused or failed its check; nothing was committed."""


@dataclass(frozen=True)
class Copied:
    source: Path
    target: str
    rows: dict[str, int]

    def summary(self) -> str:
        counts = ", ".join(f"{count} {table}" for table, count in self.rows.items())
        return f"copied {self.source} into {self.target}: {counts} (counts checked)"


async def copy_store(source: Path, target_url: str) -> Copied:
    if not await asyncio.to_thread(source.is_file):
        raise CopyError(f"no SQLite database at {source} (set BOT_DATA_DIR to the bot's data dir)")
    # Opening it checks the file and brings its schema up to date, so its columns are the ones read below.
    sqlite = await SqliteStore.open(source)
    await sqlite.close()
    target = await PostgresStore.open(target_url, pool_size=2)
    try:
        async with target.pool.acquire() as conn:
            filled = [
                table for _, _, table, _ in TABLES if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})")
            ]
            if filled:
                raise CopyError(
                    f"{display_url(target_url)} is not empty ({', '.join(filled)} hold rows): copy into a new,"
                    " empty database, or drop its tables first"
                )
            copied: dict[str, int] = {}
            async with aiosqlite.connect(f"file:{source}?mode=ro", uri=True) as reader, conn.transaction():
                for name, columns, table, target_columns in TABLES:
                    expected = 0
                    async with reader.execute(f"SELECT {', '.join(columns)} FROM {name}") as cursor:
                        while rows := list(await cursor.fetchmany(BATCH)):
                            records = [_record(row, target_columns) for row in rows]
                            await conn.copy_records_to_table(table, records=records, columns=list(target_columns))
                            expected += len(rows)
                    found = int(await conn.fetchval(f"SELECT COUNT(*) FROM {table}"))
                    if found != expected:
                        # Raising here rolls the whole copy back.
                        raise CopyError(f"{table}: {expected} rows read but {found} in the target; nothing was kept")
                    copied[table] = found
    finally:
        await target.close()
    return Copied(source, display_url(target_url), copied)


def _record(row: aiosqlite.Row | tuple[object, ...], columns: tuple[str, ...]) -> tuple[object, ...]:
    values: list[object] = []
    for column, value in zip(columns, row, strict=True):
        if column in BOOLEAN_COLUMNS:
            value = bool(value)
        elif column == "user_key" and value == "":
            value = None
        values.append(value)
    return tuple(values)

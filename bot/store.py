"""The SQLite store: conversation state, usage events and unanswered questions in one file, via aiosqlite.

One database file (`BOT_DATA_DIR/anxin.sqlite3`), created and migrated on first use (`bot.schema`), in WAL
mode so `anxin stats` can read while the bot writes. One connection per process does all writing; a lock
keeps multi-statement transactions whole. A busy database is waited for (`busy_timeout`) and retried; a
file that vanished is recreated; anything else becomes a `StoreError` that the dialog catches.

At start the file gets a quick integrity check (`PRAGMA quick_check`). A damaged file, or one that is not a
database at all, is moved aside as `anxin.sqlite3.corrupt-<time>` (with its -wal and -shm files), one line
says so, and a new, empty database is started. While the database fails, `problem()` says why (for
`/healthz`), and the log says so once when it starts failing and once when it works again, not per message.

Privacy: rows are keyed by the pseudonymous user key only. Deleted rows are overwritten
(`secure_delete`) and the write-ahead log is truncated after `/forget` and purges, so removed data does
not linger in the file.

Exceptions:
    StoreError           the database cannot be opened or used, even after retrying and reopening
     └── DatabaseCorrupt the file is damaged or not a database (found at start; the file is then moved aside)
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import aiosqlite

from .coordination import Coordination, LocalCoordination
from .models import Locale
from .privacy import keepable
from .schema import LATEST, MIGRATIONS, VERSION_TABLE
from .settings import Settings
from .state import SchemaTooNew, Session, Store, Unanswered, UsageEvent, no_turn
from .state import StoreError as StoreError  # raised by this backend; re-exported for its callers
from .usage import (
    CST,
    DAY,
    DayUsers,
    EventCount,
    PurgeResult,
    Retention,
    UnansweredCount,
    UsageSnapshot,
    day_of,
    score_bucket,
)

log = logging.getLogger(__name__)

DB_FILE = "anxin.sqlite3"
BUSY_TIMEOUT_MS = 3000
ATTEMPTS = 4
# The bot's store (`runner.open_store`) keeps sessions read lately in memory: the bot process is the only one
# that writes sessions to its file, so a session it wrote is the session on disk. Bounded in number and in age:
# another process may only purge sessions idle for days (`anxin purge`), never one used within the hour.
# Other users of the file (admin commands, tests that edit it) open it without the cache.
SESSION_CACHE = 10_000
SESSION_CACHE_SECONDS = 3600.0

SESSION_UPSERT = (
    "INSERT INTO sessions (user, locale, locale_pinned, last_intent, options, updated_at, region,"
    " region_pinned, care) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user) DO UPDATE SET"
    " locale = excluded.locale, locale_pinned = excluded.locale_pinned,"
    " last_intent = excluded.last_intent, options = excluded.options, updated_at = excluded.updated_at,"
    " region = excluded.region, region_pinned = excluded.region_pinned, care = excluded.care"
)
EVENT_INSERT = "INSERT INTO events (day, channel, locale, kind, intent, bucket, user) VALUES (?, ?, ?, ?, ?, ?, ?)"
UNANSWERED_INSERT = "INSERT INTO unanswered (at, day, channel, locale, text, user) VALUES (?, ?, ?, ?, ?, ?)"

Row = tuple[object, ...]

T = TypeVar("T")


class DatabaseCorrupt(StoreError):
    """The file at `path` is damaged or is not an SQLite database."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, f"{reason} (the bot moves a damaged file aside when it starts)")
        self.detail = reason


_CORRUPT_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def database_path(settings: Settings) -> Path:
    return settings.data_dir / DB_FILE


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class SqliteStore:
    """A `Store` in one SQLite file. Build it with `await SqliteStore.open(path)`."""

    def __init__(
        self,
        path: Path,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        session_cache: int = 0,
    ) -> None:
        self.path = path
        self.session_cache = session_cache  # sessions kept in memory at most (0: none)
        self.retention = retention or Retention()
        self.clock = clock
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._checked = False  # the integrity check runs on the first connection only
        self._problem: str | None = None  # why the last operation failed; None while the database works
        self.moved_aside: Path | None = None  # where a damaged file found at start was moved
        self._coordination = LocalCoordination()  # one process writes this file
        # user → (when cached, monotonic; the session, or None for none stored)
        self._sessions: OrderedDict[str, tuple[float, Session | None]] = OrderedDict()
        # Turns waiting to be written, each with the future its caller awaits; one writer task at a time
        # writes all that are waiting in one transaction (group commit).
        self._waiting: list[tuple[_TurnRows, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0  # write transactions committed by `save_turn` (several turns each under load)

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        move_corrupt: bool = False,
        session_cache: int = 0,
    ) -> SqliteStore:
        """Open (creating and migrating when needed) the database; `StoreError` if it cannot be used.

        A damaged file raises `DatabaseCorrupt`, or, with `move_corrupt` (the bot at start, never an admin
        command reading while the bot runs), is moved aside and replaced by a new, empty database.
        """
        store = cls(
            path, retention=retention, clock=clock, busy_timeout_ms=busy_timeout_ms, session_cache=session_cache
        )
        try:
            await store._run("open", _nothing)
        except DatabaseCorrupt as exc:
            if not move_corrupt:
                raise
            store.moved_aside = await asyncio.to_thread(_move_aside, path)
            log.error(
                "database %s is damaged (%s); moved it to %s and started a new, empty database",
                path,
                exc.detail,
                store.moved_aside.name,
            )
            await store._run("open", _nothing)
        return store

    @classmethod
    async def from_settings(
        cls, settings: Settings, *, move_corrupt: bool = False, session_cache: int = 0
    ) -> SqliteStore:
        return await cls.open(
            database_path(settings),
            retention=Retention(settings.session_days, settings.event_days, settings.unanswered_days),
            move_corrupt=move_corrupt,
            session_cache=session_cache,
        )

    # --- the Store protocol -----------------------------------------------------------------------------

    async def get_session(self, user: str) -> Session | None:
        cached = self._sessions.get(user)
        if cached is not None and time.monotonic() - cached[0] < SESSION_CACHE_SECONDS:
            self._sessions.move_to_end(user)
            return cached[1]

        async def work(conn: aiosqlite.Connection) -> Session | None:
            async with conn.execute(f"SELECT {Session.COLUMNS} FROM sessions WHERE user = ?", (user,)) as cursor:
                row = await cursor.fetchone()
            return None if row is None else Session.from_row(user, row)

        found = await self._run("read session", work)
        self._remember(user, found)
        return found

    async def put_session(self, session: Session) -> None:
        await self.save_turn(session, None)

    async def record_event(self, event: UsageEvent) -> None:
        await self.save_turn(None, event)

    async def record_unanswered(self, user: str, channel: str, locale: Locale, text: str, at: float) -> None:
        await self.save_turn(None, None, (Unanswered(user, channel, locale, text, at),))

    async def save_turn(
        self, session: Session | None, event: UsageEvent | None, unanswered: Sequence[Unanswered] = ()
    ) -> None:
        """One transaction with every turn waiting to be written: returns once this turn is committed."""
        rows = _TurnRows(
            [_session_row(session, self.clock)] if session is not None else [],
            [_event_row(event)] if event is not None else [],
            [row for question in unanswered if (row := _unanswered_row(question)) is not None],
        )
        if not (rows.sessions or rows.events or rows.unanswered):
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((rows, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        try:
            await asyncio.shield(done)  # a caller that gives up does not take the others' commit with it
        except StoreError:
            if session is not None:
                self._sessions.pop(session.user, None)  # not stored: read it again next time
            raise
        if session is not None:
            self._remember(session.user, session)

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            merged = _TurnRows([], [], [])
            for rows, _ in batch:
                merged.sessions.extend(rows.sessions)
                merged.events.extend(rows.events)
                merged.unanswered.extend(rows.unanswered)
            try:
                await self._run(
                    "save turns", functools.partial(_in_thread, work=functools.partial(_write_rows, rows=merged))
                )
            except BaseException as exc:
                failure = exc if isinstance(exc, StoreError) else StoreError(self.path, f"save turns failed: {exc}")
                for _, done in batch:
                    if not done.done():
                        done.set_exception(failure)
                        done.exception()  # retrieved: a caller that gave up must not leave a warning behind
                if not isinstance(exc, Exception):
                    raise
            else:
                self.transactions += 1
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    def _remember(self, user: str, session: Session | None) -> None:
        if self.session_cache <= 0:
            return
        self._sessions[user] = (time.monotonic(), session)
        self._sessions.move_to_end(user)
        while len(self._sessions) > self.session_cache:
            self._sessions.popitem(last=False)

    async def forget(self, user: str) -> None:
        """Delete every row keyed to `user`, at once, and flush the deleted pages out of the log."""
        self._sessions.pop(user, None)

        async def work(conn: aiosqlite.Connection) -> None:
            await _transaction(
                conn,
                [
                    ("DELETE FROM sessions WHERE user = ?", (user,)),
                    ("DELETE FROM events WHERE user = ?", (user,)),
                    ("DELETE FROM unanswered WHERE user = ?", (user,)),
                ],
            )
            await _truncate_log(conn)

        await self._run("forget", work)

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            await self._drop()

    def problem(self) -> str | None:
        """Why the database is not working right now (for `/healthz`), or None when it is."""
        return self._problem

    def turn(self, user: str) -> AbstractAsyncContextManager[None]:
        return no_turn()

    def coordination(self) -> Coordination:
        return self._coordination

    # --- retention and statistics ----------------------------------------------------------------------

    async def purge(self, now: float | None = None) -> PurgeResult:
        """Apply the retention policy: idle sessions, old per-user event links, old unanswered questions."""
        now = self.clock() if now is None else now
        keep = self.retention
        session_cutoff = now - max(keep.session_days, 0) * DAY
        unanswered_cutoff = now - max(keep.unanswered_days, 0) * DAY
        # Whole days only, so a day's distinct-user count is either live or archived, never half of each.
        link_cutoff = day_of(now - max(keep.event_days, 0) * DAY)

        self._sessions.clear()  # idle sessions go: read what is left from the file again

        async def work(conn: aiosqlite.Connection) -> PurgeResult:
            counts = await _transaction(
                conn,
                [
                    ("DELETE FROM sessions WHERE updated_at < ?", (session_cutoff,)),
                    ("DELETE FROM unanswered WHERE at < ?", (unanswered_cutoff,)),
                    (
                        "INSERT INTO daily_users (day, channel, users)"
                        " SELECT day, channel, COUNT(DISTINCT user) FROM events"
                        " WHERE user IS NOT NULL AND day < ? GROUP BY day, channel"
                        " ON CONFLICT (day, channel) DO UPDATE SET users = users + excluded.users",
                        (link_cutoff,),
                    ),
                    ("UPDATE events SET user = NULL WHERE user IS NOT NULL AND day < ?", (link_cutoff,)),
                ],
            )
            await _truncate_log(conn)
            return PurgeResult(sessions=counts[0], event_links=counts[3], unanswered=counts[1])

        return await self._run("purge", work)

    async def usage(self, first_day: str) -> UsageSnapshot:
        """Aggregated usage from `first_day` (YYYY-MM-DD, CST) on."""

        async def work(conn: aiosqlite.Connection) -> UsageSnapshot:
            async with conn.execute(
                "SELECT day, channel, locale, kind, intent, COUNT(*) FROM events WHERE day >= ?"
                " GROUP BY day, channel, locale, kind, intent",
                (first_day,),
            ) as cursor:
                events = tuple(EventCount(*row) for row in await cursor.fetchall())
            async with conn.execute(
                "SELECT day, channel, SUM(users) FROM ("
                " SELECT day, channel, COUNT(DISTINCT user) AS users FROM events"
                " WHERE day >= ? AND user IS NOT NULL GROUP BY day, channel"
                " UNION ALL SELECT day, channel, users FROM daily_users WHERE day >= ?"
                ") GROUP BY day, channel",
                (first_day, first_day),
            ) as cursor:
                users = tuple(DayUsers(*row) for row in await cursor.fetchall())
            async with conn.execute(
                "SELECT text, channel, locale, COUNT(*) AS n FROM unanswered WHERE day >= ?"
                " GROUP BY text, channel, locale ORDER BY n DESC, text LIMIT 500",
                (first_day,),
            ) as cursor:
                unanswered = tuple(UnansweredCount(*row) for row in await cursor.fetchall())
            return UsageSnapshot(events, users, unanswered)

        return await self._run("read statistics", work)

    async def schema_version(self) -> int:
        async def work(conn: aiosqlite.Connection) -> int:
            return await _version(conn)

        return await self._run("read schema version", work)

    # --- connection handling ---------------------------------------------------------------------------

    async def _run(self, what: str, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `work` on the connection: retry while the database is locked, reopen once after a fault."""
        try:
            result = await self._attempt(what, work)
        except DatabaseCorrupt:
            raise  # found at start; `open` deals with it
        except StoreError as exc:
            if self._problem is None and not self._closed:
                log.warning("database unavailable (%s); answering without saving until it works again", exc.reason)
            self._problem = exc.reason
            raise
        if self._problem is not None:
            log.warning("database works again")
            self._problem = None
        return result

    async def _attempt(self, what: str, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        # Within an outage these steps repeat for every message: they log at debug level only, and `_run`
        # says once that the database is unavailable and once that it works again.
        quiet = self._problem is not None
        reopened = False
        delay = 0.05
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self._lock:
                    if self._closed:
                        raise StoreError(self.path, "the store is closed")
                    conn = await self._connection()
                    return await work(conn)
            except sqlite3.OperationalError as exc:
                if _is_busy(exc) and attempt < ATTEMPTS:
                    level = logging.DEBUG if quiet or attempt > 1 else logging.WARNING
                    log.log(level, "database busy during %s; retry %d of %d", what, attempt, ATTEMPTS - 1)
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                failure: Exception = exc
            except (sqlite3.Error, OSError) as exc:
                failure = exc
            if reopened or attempt == ATTEMPTS:
                raise StoreError(self.path, f"{what} failed: {failure}") from failure
            # A fresh connection cures a vanished file, a replaced file or a broken handle.
            log.log(logging.DEBUG if quiet else logging.INFO, "database fault during %s (%s); reopening", what, failure)
            reopened = True
            async with self._lock:
                await self._drop()
        raise StoreError(self.path, f"{what} failed")  # unreachable: the loop returns or raises

    async def _connection(self) -> aiosqlite.Connection:
        if self._conn is not None and self._identity == _identity(self.path):
            return self._conn
        if self._conn is not None:
            # Writing on would go to an unlinked inode and be lost at the next restart.
            level = logging.DEBUG if self._problem else logging.WARNING
            log.log(level, "database file vanished or was replaced; reopening it")
            await self._drop()
        self._conn = await self._connect()
        self._identity = _identity(self.path)
        return self._conn

    async def _connect(self) -> aiosqlite.Connection:
        # aiosqlite logs every call with its SQL parameters at DEBUG: user keys and question text must not
        # reach the log even when BOT_LOG_LEVEL=DEBUG.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        created = await asyncio.to_thread(_prepare_directory, self.path)
        # Opened once with the standard library first: when aiosqlite fails to open a file, its worker thread
        # reports the failure to the event loop later, after the caller may have closed it.
        await asyncio.to_thread(_try_open, self.path)
        conn = await aiosqlite.connect(self.path, isolation_level=None)  # explicit transactions only
        try:
            if created:
                self.path.chmod(0o600)  # the WAL and shared-memory files inherit these permissions
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            if not self._checked:
                await _check_integrity(conn, self.path)
                self._checked = True
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                row = await cursor.fetchone()
            if row is None or str(row[0]).lower() != "wal":
                log.warning("database is not in WAL mode (%s); readers may wait for writers", row)
            await conn.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode, much faster
            await conn.execute("PRAGMA secure_delete = ON")  # deleted rows are overwritten, not left in free pages
            await _migrate(conn, self.path)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _drop(self) -> None:
        self._sessions.clear()  # a reopened (perhaps replaced) file is the truth again
        conn, self._conn, self._identity = self._conn, None, None
        if conn is not None:
            try:
                await conn.close()
            except sqlite3.Error as exc:
                log.warning("closing the database failed: %s", exc)


def _try_open(path: Path) -> None:
    """Raise sqlite3.Error now if the database file cannot be opened (a directory in its place, no permission)."""
    sqlite3.connect(path, isolation_level=None).close()


async def purge_daily(store: Store, interval: float = DAY) -> None:
    """The retention policy inside `anxin run`: once at start, then every `interval` seconds until cancelled."""
    while True:
        try:
            result = await store.purge()
        except StoreError as exc:
            log.warning("retention purge failed, trying again later: %s", exc)
        else:
            log.info(
                "retention purge: %d idle sessions, %d event links, %d unanswered questions removed",
                result.sessions,
                result.event_links,
                result.unanswered,
            )
        await asyncio.sleep(interval)


async def _nothing(conn: aiosqlite.Connection) -> None:
    return None


class _TurnRows:
    """The parameter rows of one or more turns, by table."""

    __slots__ = ("events", "sessions", "unanswered")

    def __init__(self, sessions: list[Row], events: list[Row], unanswered: list[Row]) -> None:
        self.sessions, self.events, self.unanswered = sessions, events, unanswered


def _session_row(session: Session, clock: Callable[[], float]) -> Row:
    return (
        session.user,
        session.locale,
        int(session.locale_pinned),
        session.last_intent,
        json.dumps(list(session.options)),
        session.updated_at or clock(),
        session.region,
        int(session.region_pinned),
        json.dumps(session.care.as_json()) if session.care is not None else None,
    )


def _event_row(event: UsageEvent) -> Row:
    bucket = score_bucket(event.score)
    return (day_of(event.at), event.channel, event.locale, event.kind, event.intent, bucket, event.user)


def _unanswered_row(question: Unanswered) -> Row | None:
    # Whether to keep it at all is the dialog's decision (BOT_KEEP_UNANSWERED); what may be kept is
    # `keepable`, applied again here so that no caller can store more than that.
    clean = keepable(question.text)
    if not clean.strip():
        return None
    return (question.at, day_of(question.at), question.channel, question.locale, clean, question.user)


def _write_rows(db: sqlite3.Connection, rows: _TurnRows) -> None:
    """Every row in one transaction, on the connection's own thread."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if rows.sessions:
            db.executemany(SESSION_UPSERT, rows.sessions)
        if rows.unanswered:
            db.executemany(UNANSWERED_INSERT, rows.unanswered)
        if rows.events:
            db.executemany(EVENT_INSERT, rows.events)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite may have rolled back on its own (a full disk, an I/O error)
            db.execute("ROLLBACK")
        raise


async def _in_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """`work` on the connection's own thread, in one hop instead of one per statement. aiosqlite (pinned in
    requirements.txt) has no public call for this; `_execute` is what all its public calls use."""
    result: T = await conn._execute(lambda: work(conn._conn))  # type: ignore[no-untyped-call]
    return result


async def _check_integrity(conn: aiosqlite.Connection, path: Path) -> None:
    """DatabaseCorrupt unless SQLite's quick check finds the file sound (a new, empty file is)."""
    try:
        async with conn.execute("PRAGMA quick_check(1)") as cursor:
            row = await cursor.fetchone()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in _CORRUPT_ERRORS or "not a database" in str(exc):
            raise DatabaseCorrupt(path, str(exc)) from exc
        raise
    verdict = " ".join(str(row[0]).split()) if row is not None else "no answer from the check"  # one line
    if verdict != "ok":
        raise DatabaseCorrupt(path, f"integrity check: {verdict[:200]}")


def _move_aside(path: Path) -> Path:
    """Rename a damaged database (and its -wal and -shm files) to `<name>.corrupt-<time>`; returns the new path."""
    stamp = datetime.now(CST).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.rename(target.with_name(target.name + suffix))
    return target


def _prepare_directory(path: Path) -> bool:
    """Create the data directory if needed; True when the database file does not exist yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return not path.exists()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_dev, found.st_ino)


async def _version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT MAX(version) FROM version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    await conn.execute(VERSION_TABLE)
    while True:
        # One migration per transaction; the version is re-read under the write lock because another
        # process may have upgraded the file while this one waited.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            current = await _version(conn)
            if current > LATEST:
                raise SchemaTooNew(path, current, LATEST)
            step = next((migration for migration in MIGRATIONS if migration.version == current + 1), None)
            if step is not None:
                for statement in step.statements:
                    await conn.execute(statement)
                await conn.execute("DELETE FROM version")
                await conn.execute("INSERT INTO version (version) VALUES (?)", (step.version,))
            await conn.execute("COMMIT")
        except BaseException:
            await _rollback(conn)
            raise
        if step is None:
            return
        log.info("database schema upgraded to version %d: %s", step.version, step.why)


async def _transaction(conn: aiosqlite.Connection, statements: list[tuple[str, tuple[object, ...]]]) -> list[int]:
    """Run `statements` all-or-nothing; returns each one's row count."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        counts = []
        for sql, parameters in statements:
            cursor = await conn.execute(sql, parameters)
            counts.append(cursor.rowcount)
            await cursor.close()
        await conn.execute("COMMIT")
    except BaseException:
        await _rollback(conn)
        raise
    return counts


async def _rollback(conn: aiosqlite.Connection) -> None:
    # SQLite may have rolled back on its own (a full disk, an I/O error); a second ROLLBACK would then
    # raise and hide the original error.
    if conn.in_transaction:
        await conn.execute("ROLLBACK")


async def _truncate_log(conn: aiosqlite.Connection) -> None:
    # Old copies of deleted pages live on in the write-ahead log until it is checkpointed and truncated.
    # Best effort: a reader in another process may hold the log open; the next purge tries again.
    async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
        row = await cursor.fetchone()
    if row is not None and row[0]:
        log.info("write-ahead log still in use by a reader; it will be truncated later")

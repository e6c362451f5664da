"""The PostgreSQL store: the same state as the SQLite store, shared by several bot processes, via asyncpg.

Selected by `BOT_DATABASE_URL=postgresql://…`. A bounded connection pool (`BOT_DATABASE_POOL`, default 10),
a timeout on every connect, acquire and command, and retries on connection faults: after a server restart
the pool drops the dead connections and opens new ones, so the bot carries on by itself. While the server is
unreachable every call fails within a few seconds with `StoreError`, which the dialog catches (the person is
answered, nothing is saved) and `problem()` reports to `/healthz`.

Schema migrations (`bot.schema_pg`) are applied at start under an advisory lock, so processes starting
together migrate once; `anxin migrate` applies them explicitly. A database migrated by a newer version of
the bot is refused (`SchemaTooNew`) before anything in it is changed.

Several processes, one state:
- `turn(user)`: one person's turns run one at a time across every process: the turn holds a session-level
  advisory lock keyed by the pseudonym on one pooled connection, and the store calls made in the turn run
  on that connection. Each call commits at once, as on SQLite.
- `purge()` runs under a transaction-level advisory lock: one purge at a time, whichever process starts it.
- `coordination()`: WeChat retries and Telegram redeliveries recognised across processes, and the Telegram
  poller role (`bot.coordination`).
Lock keys are derived from the schema's name as well, so deployments in separate schemas of one database do
not wait for each other.

Privacy: rows are keyed by the pseudonym only; `forget` deletes every row of the user, in every table, in
one transaction. What PostgreSQL itself keeps of deleted rows (dead tuples until VACUUM, WAL, backups) is
described in the README.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, TypeAlias, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from .coordination import REPLY_SECONDS, UPDATE_SECONDS, Coordination, UpdateClaim
from .models import Locale
from .privacy import keepable
from .schema_pg import LATEST, MIGRATIONS, VERSION_TABLE
from .state import SchemaTooNew, Session, StoreError, Unanswered, UsageEvent
from .usage import (
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

SCHEMES = ("postgresql", "postgres")
POOL_SIZE = 10
CONNECT_TIMEOUT = 5.0  # seconds to open a connection
ACQUIRE_TIMEOUT = 5.0  # seconds to wait for a free pooled connection
COMMAND_TIMEOUT = 5.0  # seconds for one statement
LOCK_TIMEOUT = 10.0  # seconds a turn waits for the same person's turn in another process
ATTEMPTS = 3
REPLY_LEASE = 10.0  # a WeChat answer still unwritten after this long was lost with its process: answer afresh
UPDATE_LEASE = 60.0  # likewise for a Telegram update
RETRY_POLL = 0.05  # seconds between looks at another process's answer in progress
CLEANUP_EVERY = 60.0  # seconds between deletions of expired retry rows

T = TypeVar("T")

# What a lost or restarting server looks like to asyncpg: worth a retry on a fresh connection.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
_ERRORS: tuple[type[BaseException], ...] = (*_CONNECTION_ERRORS, asyncpg.PostgresError)
_OPEN_ERRORS: tuple[type[BaseException], ...] = (*_ERRORS, ValueError)  # ValueError: a malformed address


def is_postgres_url(url: str) -> bool:
    return urlsplit(url).scheme in SCHEMES


def display_url(url: str) -> str:
    """The address without its password, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def lock_key(namespace: str, name: str) -> int:
    """A 64-bit advisory lock key for `name` within `namespace` (the schema)."""
    digest = hashlib.blake2b(f"anxin:{namespace}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _reason(exc: BaseException) -> str:
    # asyncpg's messages name the server, the statement's problem or the lost connection, never parameters.
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _count(status: str) -> int:
    """The row count at the end of a command tag such as "DELETE 3" or "INSERT 0 5"."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # A connection of its own (an exclusive role) or one lent by the pool: both run the same statements.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]


class PostgresStore:
    """A `Store` on a PostgreSQL database shared by any number of bot processes. Build it with `await open()`."""

    def __init__(
        self,
        pool: asyncpg.Pool[asyncpg.Record],
        url: str,
        namespace: str,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pool = pool
        self.name = display_url(url)
        self.namespace = namespace
        self.retention = retention or Retention()
        self.clock = clock
        self._problem: str | None = None
        self._closed = False
        # The task in a turn and the connection its store calls use (see `turn`); each store has its own. The task
        # is part of it because a task started inside a turn inherits the context but not the turn.
        self._bound: contextvars.ContextVar[tuple[asyncio.Task[object] | None, Connection] | None] = (
            contextvars.ContextVar(f"anxin-pg-turn-{id(self)}", default=None)
        )
        self._coordination = PostgresCoordination(self, url)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
        pool_size: int = POOL_SIZE,
        migrate: bool = True,
    ) -> PostgresStore:
        """Connect, then migrate (or, with `migrate=False`, only check) the schema; `StoreError` if the database
        cannot be used, `SchemaTooNew` if a newer program upgraded it."""
        name = display_url(url)
        # asyncpg logs nothing with parameters, but keep its chatter out of the bot's log all the same.
        logging.getLogger("asyncpg").setLevel(logging.WARNING)
        try:
            pool = await asyncpg.create_pool(
                url,
                # No floor: a pool that keeps a minimum reconnects in the background and logs each failed try
                # while the server is down; connections are opened when needed instead.
                min_size=0,
                max_size=max(pool_size, 2),
                timeout=CONNECT_TIMEOUT,
                command_timeout=COMMAND_TIMEOUT,
                max_inactive_connection_lifetime=300.0,
            )
        except _OPEN_ERRORS as exc:
            raise StoreError(name, f"cannot connect: {_reason(exc)}") from exc
        try:
            namespace = str(await pool.fetchval("SELECT current_schema()", timeout=COMMAND_TIMEOUT))
            store = cls(pool, url, namespace, retention=retention, clock=clock)
            if migrate:
                await store.migrate()
            else:
                await store.check_version()
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, _ERRORS):
                raise StoreError(name, f"cannot open: {_reason(exc)}") from exc
            raise
        return store

    # --- schema --------------------------------------------------------------------------------------------

    async def schema_version(self) -> int:
        async def work(conn: Connection) -> int:
            return await _version(conn)

        return await self._run("read schema version", work)

    async def check_version(self) -> int:
        """The schema version; `SchemaTooNew` when a newer program upgraded the database."""
        current = await self.schema_version()
        if current > LATEST:
            raise SchemaTooNew(self.name, current, LATEST)
        return current

    async def migrate(self) -> list[int]:
        """Apply the migrations this database lacks, each in its own transaction, holding an advisory lock so
        that only one process migrates; returns the versions applied (none when another process did it)."""
        key = lock_key(self.namespace, "migrate")

        async def work(conn: Connection) -> list[int]:
            applied: list[int] = []
            # A session lock, held across the transactions below; released before the connection goes back.
            await conn.execute("SELECT pg_advisory_lock($1)", key, timeout=60.0)
            try:
                exists = await conn.fetchval("SELECT to_regclass('anxin_version') IS NOT NULL")
                if not exists:
                    await conn.execute(VERSION_TABLE)
                while True:
                    async with conn.transaction():
                        current = await _version(conn)
                        if current > LATEST:
                            raise SchemaTooNew(self.name, current, LATEST)
                        step = next((m for m in MIGRATIONS if m.version == current + 1), None)
                        if step is None:
                            return applied
                        for statement in step.statements:
                            await conn.execute(statement)
                        await conn.execute("DELETE FROM anxin_version")
                        await conn.execute("INSERT INTO anxin_version (version) VALUES ($1)", step.version)
                    applied.append(step.version)
                    log.info("database schema upgraded to version %d: %s", step.version, step.why)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", key)

        return await self._run("migrate", work, retry=False)

    # --- the Store protocol ---------------------------------------------------------------------------------

    async def get_session(self, user: str) -> Session | None:
        async def work(conn: Connection) -> Session | None:
            row = await conn.fetchrow(f"SELECT {Session.COLUMNS} FROM sessions WHERE user_key = $1", user)
            return None if row is None else Session.from_row(user, tuple(row))

        return await self._run("read session", work)

    async def put_session(self, session: Session) -> None:
        values = _session_values(session, self.clock)

        async def work(conn: Connection) -> None:
            await conn.execute(SESSION_UPSERT.format("$1, $2, $3, $4, $5, $6, $7, $8, $9"), *values)

        await self._run("write session", work)

    async def record_event(self, event: UsageEvent) -> None:
        values = _event_values(event)

        async def work(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO events (day, channel, locale, kind, intent, bucket, user_key)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                *values,
            )

        # Not retried on a fault: the insert may have committed before the connection was lost, and a message
        # counted twice is worse than one missing from the statistics.
        await self._run("record event", work, retry=False)

    async def record_unanswered(self, user: str, channel: str, locale: Locale, text: str, at: float) -> None:
        # Whether to keep it at all is the dialog's decision (BOT_KEEP_UNANSWERED); what may be kept is
        # `keepable`, applied again here so that no caller can store more than that.
        clean = keepable(text)
        if not clean.strip():
            return

        async def work(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO unanswered (at, day, channel, locale, text, user_key) VALUES ($1, $2, $3, $4, $5, $6)",
                at,
                day_of(at),
                channel,
                locale,
                clean,
                user,
            )

        await self._run("record unanswered", work, retry=False)

    async def save_turn(
        self, session: Session | None, event: UsageEvent | None, unanswered: Sequence[Unanswered] = ()
    ) -> None:
        """The session, the unanswered question and the usage event in one statement: one round trip, one
        transaction (data-modifying WITH clauses all run, and commit or fail together)."""
        clauses: list[str] = []
        values: list[object] = []

        def slots(*row: object) -> str:
            first = len(values) + 1
            values.extend(row)
            return ", ".join(f"${number}" for number in range(first, first + len(row)))

        if session is not None:
            clauses.append(f"s AS ({SESSION_UPSERT.format(slots(*_session_values(session, self.clock)))} RETURNING 1)")
        for number, question in enumerate(unanswered):
            clean = keepable(question.text)
            if clean.strip():
                row = (question.at, day_of(question.at), question.channel, question.locale, clean, question.user)
                clauses.append(
                    f"u{number} AS (INSERT INTO unanswered (at, day, channel, locale, text, user_key)"
                    f" VALUES ({slots(*row)}) RETURNING 1)"
                )
        if event is not None:
            clauses.append(
                "e AS (INSERT INTO events (day, channel, locale, kind, intent, bucket, user_key)"
                f" VALUES ({slots(*_event_values(event))}) RETURNING 1)"
            )
        if not clauses:
            return
        statement = "WITH " + ", ".join(clauses) + " SELECT 1"

        async def work(conn: Connection) -> None:
            await conn.execute(statement, *values)

        # Not retried on a fault, like `record_event`: the statement may have committed before the
        # connection was lost, and a message counted twice is worse than one missing from the statistics.
        await self._run("save turn", work, retry=False)

    async def forget(self, user: str) -> None:
        """Delete every row keyed to `user`, in every table, in one transaction."""

        async def work(conn: Connection) -> None:
            async with conn.transaction():
                for table in ("sessions", "events", "unanswered", "wechat_replies"):
                    await conn.execute(f"DELETE FROM {table} WHERE user_key = $1", user)

        await self._run("forget", work)

    async def purge(self, now: float | None = None) -> PurgeResult:
        """Apply the retention policy, one process at a time (a transaction-level advisory lock)."""
        now = self.clock() if now is None else now
        keep = self.retention
        session_cutoff = now - max(keep.session_days, 0) * DAY
        unanswered_cutoff = now - max(keep.unanswered_days, 0) * DAY
        # Whole days only, so a day's distinct-user count is either live or archived, never half of each.
        link_cutoff = day_of(now - max(keep.event_days, 0) * DAY)
        key = lock_key(self.namespace, "purge")

        async def work(conn: Connection) -> PurgeResult:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", key, timeout=60.0)
                sessions = _count(await conn.execute("DELETE FROM sessions WHERE updated_at < $1", session_cutoff))
                unanswered = _count(await conn.execute("DELETE FROM unanswered WHERE at < $1", unanswered_cutoff))
                await conn.execute(
                    "INSERT INTO daily_users (day, channel, users)"
                    " SELECT day, channel, COUNT(DISTINCT user_key) FROM events"
                    " WHERE user_key IS NOT NULL AND day < $1 GROUP BY day, channel"
                    " ON CONFLICT (day, channel) DO UPDATE SET users = daily_users.users + excluded.users",
                    link_cutoff,
                )
                links = _count(
                    await conn.execute(
                        "UPDATE events SET user_key = NULL WHERE user_key IS NOT NULL AND day < $1", link_cutoff
                    )
                )
                await conn.execute("DELETE FROM wechat_replies WHERE expires_at < $1", now)
                await conn.execute("DELETE FROM telegram_updates WHERE expires_at < $1", now)
            return PurgeResult(sessions=sessions, event_links=links, unanswered=unanswered)

        return await self._run("purge", work, retry=False)

    async def usage(self, first_day: str) -> UsageSnapshot:
        async def work(conn: Connection) -> UsageSnapshot:
            rows = await conn.fetch(
                "SELECT day, channel, locale, kind, intent, COUNT(*) FROM events WHERE day >= $1"
                " GROUP BY day, channel, locale, kind, intent",
                first_day,
            )
            events = tuple(EventCount(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in rows)
            rows = await conn.fetch(
                "SELECT day, channel, SUM(users) FROM ("
                " SELECT day, channel, COUNT(DISTINCT user_key) AS users FROM events"
                " WHERE day >= $1 AND user_key IS NOT NULL GROUP BY day, channel"
                " UNION ALL SELECT day, channel, users FROM daily_users WHERE day >= $1"
                ") AS counted GROUP BY day, channel",
                first_day,
            )
            users = tuple(DayUsers(r[0], r[1], int(r[2])) for r in rows)
            rows = await conn.fetch(
                "SELECT text, channel, locale, COUNT(*) AS n FROM unanswered WHERE day >= $1"
                " GROUP BY text, channel, locale ORDER BY n DESC, text LIMIT 500",
                first_day,
            )
            unanswered = tuple(UnansweredCount(r[0], r[1], r[2], int(r[3])) for r in rows)
            return UsageSnapshot(events, users, unanswered)

        return await self._run("read statistics", work)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self.pool.close(), timeout=COMMAND_TIMEOUT)
        except _ERRORS as exc:
            log.warning("closing the database pool took too long (%s); closing it abruptly", _reason(exc))
            self.pool.terminate()

    def problem(self) -> str | None:
        return self._problem

    def turn(self, user: str) -> AbstractAsyncContextManager[None]:
        return self._turn(user)

    def coordination(self) -> Coordination:
        return self._coordination

    @contextlib.asynccontextmanager
    async def _turn(self, user: str) -> AsyncIterator[None]:
        if self._connection_of_turn() is not None:  # already in a turn: no second lock, no second connection
            yield
            return
        key = lock_key(self.namespace, "user:" + user)
        try:
            conn = await self.pool.acquire(timeout=ACQUIRE_TIMEOUT)
        except _ERRORS as exc:
            # No database: the person is still answered; every store call in the turn fails on its own.
            self._failed(StoreError(self.name, f"turn failed: {_reason(exc)}"))
            yield
            return
        token: contextvars.Token[tuple[asyncio.Task[object] | None, Connection] | None] | None = self._bound.set(
            (asyncio.current_task(), conn)
        )
        try:
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", key, timeout=LOCK_TIMEOUT)
            except _ERRORS as exc:
                self._failed(StoreError(self.name, f"turn lock failed: {_reason(exc)}"))
                if token is not None:
                    self._bound.reset(token)
                token = None
            yield
        finally:
            if token is not None:
                self._bound.reset(token)
            # Releasing the connection resets it, and the reset releases its advisory locks
            # (pg_advisory_unlock_all): the next turn of this person, in any process, may begin.
            await self._release(conn)

    def _connection_of_turn(self) -> Connection | None:
        bound = self._bound.get()
        if bound is None or bound[0] is not asyncio.current_task():
            return None
        return bound[1]

    async def _release(self, conn: PoolConnectionProxy[asyncpg.Record]) -> None:
        try:
            await self.pool.release(conn, timeout=COMMAND_TIMEOUT)
        except _ERRORS as exc:
            # The pool has already closed a connection it could not reset; the next acquire opens a new one.
            log.debug("database connection dropped on release: %s", _reason(exc))

    # --- connection handling --------------------------------------------------------------------------------

    async def _run(self, what: str, work: Callable[[Connection], Awaitable[T]], *, retry: bool = True) -> T:
        """Run `work` on the turn's connection or a pooled one; on a connection fault retry on a fresh one."""
        bound = self._connection_of_turn()
        if bound is not None:
            try:
                result = await work(bound)
            except _ERRORS as exc:
                raise self._failed(StoreError(self.name, f"{what} failed: {_reason(exc)}")) from exc
            self._recovered()
            return result
        delay = 0.1
        attempts = ATTEMPTS if retry else 1
        for attempt in range(1, attempts + 1):
            if self._closed:
                raise StoreError(self.name, "the store is closed")
            try:
                async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
                    result = await work(conn)
            except _CONNECTION_ERRORS as exc:
                if attempt == attempts:
                    raise self._failed(StoreError(self.name, f"{what} failed: {_reason(exc)}")) from exc
                log.log(logging.DEBUG if self._problem else logging.INFO, "database fault during %s; retrying", what)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            except SchemaTooNew:
                raise
            except asyncpg.PostgresError as exc:
                raise self._failed(StoreError(self.name, f"{what} failed: {_reason(exc)}")) from exc
            self._recovered()
            return result
        raise StoreError(self.name, f"{what} failed")  # unreachable: the loop returns or raises

    def _failed(self, error: StoreError) -> StoreError:
        if self._problem is None and not self._closed:
            log.warning("database unavailable (%s); answering without saving until it works again", error.reason)
        self._problem = error.reason
        return error

    def _recovered(self) -> None:
        if self._problem is not None:
            log.warning("database works again")
            self._problem = None


async def _version(conn: Connection) -> int:
    if not await conn.fetchval("SELECT to_regclass('anxin_version') IS NOT NULL"):
        return 0
    value = await conn.fetchval("SELECT MAX(version) FROM anxin_version")
    return int(value) if value is not None else 0


# --- coordination ---------------------------------------------------------------------------------------------


class PostgresLease:
    """A role held by a session-level advisory lock on a connection of its own, kept open while held.

    If that connection is lost (the server restarted), the lock went with it: a watcher tries to take the lock
    again on a new connection; when another process got there first, `lost()` returns.
    """

    CHECK_EVERY = 5.0

    def __init__(self, url: str, key: int, conn: Connection) -> None:
        self.url = url
        self.key = key
        self.conn: Connection | None = conn
        self._lost = asyncio.Event()
        self._watch = asyncio.create_task(self._watch_connection(), name="lease-watch")

    async def lost(self) -> None:
        await self._lost.wait()

    async def release(self) -> None:
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        if self.conn is not None:
            with contextlib.suppress(*_ERRORS):
                await asyncio.wait_for(self.conn.close(), timeout=COMMAND_TIMEOUT)  # closing releases the lock
            self.conn = None

    async def _watch_connection(self) -> None:
        while True:
            await asyncio.sleep(self.CHECK_EVERY)
            try:
                if self.conn is not None and not self.conn.is_closed():
                    await self.conn.fetchval("SELECT 1", timeout=COMMAND_TIMEOUT)
                    continue
            except _ERRORS:
                pass
            if self.conn is not None:
                self.conn.terminate()
                self.conn = None
            try:
                conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)
            except _ERRORS:
                continue  # the server is still away; nobody else can take the lock meanwhile
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                self.conn = conn
                log.warning("database connection of an exclusive role was lost and is back; the role is kept")
                continue
            await conn.close()
            self._lost.set()
            log.error("another process took over an exclusive role while the database connection was lost")
            return


class PostgresCoordination:
    """`bot.coordination.Coordination` kept in the database, for every process sharing it."""

    shared = True

    def __init__(self, store: PostgresStore, url: str) -> None:
        self.store = store
        self.url = url
        self._last_cleanup = 0.0

    async def reply_once(
        self, user: str, key: str, produce: Callable[[], Awaitable[str | None]], wait_until: float
    ) -> str | None:
        store = self.store
        loop = asyncio.get_running_loop()
        await self._cleanup()
        now = store.clock()

        async def claim(conn: Connection) -> tuple[bool, str | None]:
            row = await conn.fetchrow(
                "INSERT INTO wechat_replies AS r (user_key, msg_key, reply, claimed_at, expires_at)"
                " VALUES ($1, $2, NULL, $3, $4) ON CONFLICT (user_key, msg_key) DO UPDATE"
                " SET reply = NULL, claimed_at = excluded.claimed_at, expires_at = excluded.expires_at"
                " WHERE r.expires_at < $3 OR (r.reply IS NULL AND r.claimed_at < $5)"
                " RETURNING TRUE",
                user,
                key,
                now,
                now + REPLY_SECONDS,
                now - REPLY_LEASE,
            )
            if row is not None:
                return True, None
            return False, await conn.fetchval(
                "SELECT reply FROM wechat_replies WHERE user_key = $1 AND msg_key = $2", user, key
            )

        try:
            mine, earlier = await store._run("claim a reply", claim)
        except StoreError:
            return await produce()  # no database: answer rather than stay silent (a retry may then be answered twice)
        if not mine:
            while earlier is None and loop.time() < wait_until:
                await asyncio.sleep(RETRY_POLL)
                try:
                    earlier = await store._run("read a reply", lambda conn: _reply(conn, user, key))
                except StoreError:
                    return None
            return earlier
        try:
            reply = await produce()
        except BaseException:
            await self._release_reply(user, key)
            raise
        if reply is None:
            await self._release_reply(user, key)  # not read: the retry is answered afresh
            return None

        async def keep(conn: Connection) -> None:
            await conn.execute(
                "UPDATE wechat_replies SET reply = $3 WHERE user_key = $1 AND msg_key = $2", user, key, reply
            )

        with contextlib.suppress(StoreError):
            await store._run("keep a reply", keep)
        return reply

    async def _release_reply(self, user: str, key: str) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute(
                "DELETE FROM wechat_replies WHERE user_key = $1 AND msg_key = $2 AND reply IS NULL", user, key
            )

        with contextlib.suppress(StoreError):
            await self.store._run("release a reply", work)

    async def claim_update(self, update_id: int) -> UpdateClaim:
        store = self.store
        await self._cleanup()
        now = store.clock()

        async def work(conn: Connection) -> UpdateClaim:
            row = await conn.fetchrow(
                "INSERT INTO telegram_updates AS u (update_id, done, claimed_at, expires_at)"
                " VALUES ($1, FALSE, $2, $3) ON CONFLICT (update_id) DO UPDATE"
                " SET done = FALSE, claimed_at = excluded.claimed_at, expires_at = excluded.expires_at"
                " WHERE u.expires_at < $2 OR (NOT u.done AND u.claimed_at < $4)"
                " RETURNING TRUE",
                update_id,
                now,
                now + UPDATE_SECONDS,
                now - UPDATE_LEASE,
            )
            if row is not None:
                return "new"
            done = await conn.fetchval("SELECT done FROM telegram_updates WHERE update_id = $1", update_id)
            return "done" if done else "busy"

        try:
            return await store._run("claim an update", work)
        except StoreError:
            return "new"  # no database: answering beats leaving the person without a reply

    async def finish_update(self, update_id: int, handled: bool) -> None:
        async def work(conn: Connection) -> None:
            if handled:
                await conn.execute("UPDATE telegram_updates SET done = TRUE WHERE update_id = $1", update_id)
            else:
                await conn.execute("DELETE FROM telegram_updates WHERE update_id = $1 AND NOT done", update_id)

        with contextlib.suppress(StoreError):
            await self.store._run("finish an update", work)

    async def exclusive(self, role: str) -> PostgresLease | None:
        key = lock_key(self.store.namespace, "role:" + role)
        try:
            conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)
        except _ERRORS as exc:
            raise StoreError(self.store.name, f"cannot connect: {_reason(exc)}") from exc
        try:
            taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key)
        except BaseException:
            conn.terminate()
            raise
        if not taken:
            await conn.close()
            return None
        return PostgresLease(self.url, key, conn)

    async def _cleanup(self) -> None:
        """Delete expired retry rows now and then (and at every purge), so replies do not outlive ten minutes
        by much."""
        now = self.store.clock()
        if now - self._last_cleanup < CLEANUP_EVERY:
            return
        self._last_cleanup = now

        async def work(conn: Connection) -> None:
            await conn.execute("DELETE FROM wechat_replies WHERE expires_at < $1", now)
            await conn.execute("DELETE FROM telegram_updates WHERE expires_at < $1", now)

        with contextlib.suppress(StoreError):
            await self.store._run("delete expired retries", work)


async def _reply(conn: Connection, user: str, key: str) -> str | None:
    value = await conn.fetchval("SELECT reply FROM wechat_replies WHERE user_key = $1 AND msg_key = $2", user, key)
    return value if isinstance(value, str) else None


SESSION_UPSERT = (
    "INSERT INTO sessions (user_key, locale, locale_pinned, last_intent, options, updated_at, region,"
    " region_pinned, care) VALUES ({}) ON CONFLICT (user_key) DO UPDATE"
    " SET locale = excluded.locale, locale_pinned = excluded.locale_pinned,"
    " last_intent = excluded.last_intent, options = excluded.options, updated_at = excluded.updated_at,"
    " region = excluded.region, region_pinned = excluded.region_pinned, care = excluded.care"
)


def _session_values(session: Session, clock: Callable[[], float]) -> tuple[object, ...]:
    return (
        session.user,
        session.locale,
        session.locale_pinned,
        session.last_intent,
        json.dumps(list(session.options)),
        session.updated_at or clock(),
        session.region,
        session.region_pinned,
        json.dumps(session.care.as_json()) if session.care is not None else None,
    )


def _event_values(event: UsageEvent) -> tuple[object, ...]:
    bucket = score_bucket(event.score)
    return (day_of(event.at), event.channel, event.locale, event.kind, event.intent, bucket, event.user or None)

"""The SQLite store: real database files in a temp dir, the real dialog over the fixture knowledge base."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.dialog import Dialog
from bot.knowledge import KnowledgeBase, KnowledgeSource
from bot.models import Incoming
from bot.privacy import pseudonym
from bot.runner import open_store
from bot.schema import LATEST
from bot.settings import Settings
from bot.state import CareState, MemoryStore, Session, Unanswered, UsageEvent
from bot.stats import collect
from bot.store import DAY, DB_FILE, Retention, SqliteStore, StoreError, day_of, purge_daily

SECRET = b"test-secret"
NOW = 1_780_000_000.0  # a fixed moment: 2026-05-28 in China


class Clock:
    """An injectable clock that a test moves forward by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, days: float) -> None:
        self.now += days * DAY


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection for looking at the file the way an outsider would."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def count(path: Path, sql: str, *parameters: object) -> int:
    with raw(path) as conn:
        return int(conn.execute(sql, parameters).fetchone()[0])


def event(user: str, at: float = NOW, kind: str = "answer", intent: str | None = "legal.call_hours") -> UsageEvent:
    return UsageEvent(user, "telegram", "zh-Hans", kind, intent, 72.5, at)


@pytest.fixture
def db_path(data_dir: Path) -> Path:
    return data_dir / DB_FILE


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(db_path)
    yield opened
    await opened.close()


def clarifying_text(kb: KnowledgeBase) -> str:
    """A message the fixture knowledge base answers with "did you mean…?" (found with `anxin match`)."""
    for text in ("打电话", "催收打电话", "催收", "电话"):
        if kb.decide(text).kind == "clarify":
            return text
    raise AssertionError("no clarifying message for the fixture knowledge base; update this list")


async def test_database_is_created_on_first_start_in_wal_mode(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    try:
        assert await store.schema_version() == LATEST
    finally:
        await store.close()
    assert os.stat(db_path).st_mode & 0o077 == 0  # owner only, like the secret
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_session_round_trips_every_field(store: SqliteStore) -> None:
    care = CareState("crisis", NOW - 60, act=True, messages=3, used=("act", "no_answer"), pending="legal.threats")
    session = Session("u1", "zh-Hant", True, "legal.call_hours", ("a:legal.call_hours", "n:"), NOW, "hk", True, care)
    await store.put_session(session)
    assert await store.get_session("u1") == session
    assert await store.get_session("someone else") is None


async def test_damaged_care_state_reads_as_none_not_an_error(store: SqliteStore, db_path: Path) -> None:
    await store.put_session(Session("u1", updated_at=NOW, care=CareState("concern", NOW)))
    with raw(db_path) as conn:
        conn.execute("UPDATE sessions SET care = '{not json' WHERE user = 'u1'")
    found = await store.get_session("u1")
    assert found is not None and found.care is None


async def test_restart_keeps_a_pending_clarification(
    knowledge: KnowledgeSource, kb: KnowledgeBase, db_path: Path
) -> None:
    user = pseudonym(SECRET, "telegram", 42)
    text = clarifying_text(kb)
    store = await SqliteStore.open(db_path)
    try:
        first = await Dialog(knowledge, store).handle(Incoming("telegram", user, text))
    finally:
        await store.close()
    offered = first[0].buttons[0].payload
    assert offered.startswith("a:")

    reopened = await SqliteStore.open(db_path)  # a new process: new store, new dialog
    try:
        replies = await Dialog(knowledge, reopened).handle(Incoming("telegram", user, "1"))
    finally:
        await reopened.close()
    answer = kb.answer(offered.removeprefix("a:"), "zh-Hans")
    assert answer is not None
    assert replies[0].text.startswith(answer.text)


async def test_forget_leaves_zero_rows_and_no_bytes_for_that_user(
    knowledge: KnowledgeSource, db_path: Path, store: SqliteStore
) -> None:
    leaving = pseudonym(SECRET, "telegram", 1001)
    staying = pseudonym(SECRET, "telegram", 1002)
    dialog = Dialog(knowledge, store)
    for user in (leaving, staying):
        await dialog.handle(Incoming("telegram", user, "催收打给我妈合法吗"))
        await dialog.handle(Incoming("telegram", user, "怎么投诉"))
        await dialog.handle(Incoming("telegram", user, "明天北京天气怎么样"))  # unanswered: kept, redacted
    assert count(db_path, "SELECT COUNT(*) FROM events WHERE user = ?", leaving) == 3
    assert count(db_path, "SELECT COUNT(*) FROM unanswered WHERE user = ?", leaving) == 1

    await dialog.handle(Incoming("telegram", leaving, "/forget"))

    for table in ("sessions", "events", "unanswered"):
        assert count(db_path, f"SELECT COUNT(*) FROM {table} WHERE user = ?", leaving) == 0
        assert count(db_path, f"SELECT COUNT(*) FROM {table} WHERE user = ?", staying) >= 1
    # Deleted rows are overwritten and the write-ahead log truncated: the key is gone from the bytes too.
    for file in db_path.parent.glob(DB_FILE + "*"):
        assert leaving.encode() not in file.read_bytes(), file.name


async def test_concurrent_writers_lose_no_rows(db_path: Path) -> None:
    per_task = 250
    first = await SqliteStore.open(db_path)
    second = await SqliteStore.open(db_path)  # a second connection: another bot process or `anxin purge`

    async def hammer(store: SqliteStore, user: str) -> None:
        for _ in range(per_task):
            await store.record_event(event(user))

    try:
        await asyncio.gather(hammer(first, "a"), hammer(first, "b"), hammer(second, "c"), hammer(second, "d"))
    finally:
        await first.close()
        await second.close()
    assert count(db_path, "SELECT COUNT(*) FROM events") == 4 * per_task
    assert count(db_path, "SELECT COUNT(DISTINCT user) FROM events") == 4


async def test_locked_database_is_retried_not_crashed_on(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = await SqliteStore.open(db_path, busy_timeout_ms=50)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        asyncio.get_running_loop().call_later(0.3, blocker.execute, "COMMIT")
        started = time.perf_counter()
        await store.record_event(event("u1"))
        await store.put_session(Session("u1", updated_at=NOW))
        waited = time.perf_counter() - started
    finally:
        blocker.close()
        await store.close()
    assert waited >= 0.25  # it really waited for the lock instead of failing
    assert "database busy" in caplog.text
    assert count(db_path, "SELECT COUNT(*) FROM events") == 1
    assert count(db_path, "SELECT COUNT(*) FROM sessions") == 1


async def test_dialog_answers_while_the_database_stays_locked(
    knowledge: KnowledgeSource, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await SqliteStore.open(db_path, busy_timeout_ms=10)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError):
            await store.record_event(event("u1"))
        replies = await Dialog(knowledge, store).handle(Incoming("telegram", "u1", "怎么投诉"))
        blocker.execute("COMMIT")
        await store.record_event(event("u1"))  # and it recovers once the lock is gone
    finally:
        blocker.close()
        await store.close()
    assert replies
    assert replies[0].text
    assert count(db_path, "SELECT COUNT(*) FROM events") == 1


V1_SCHEMA = """
CREATE TABLE version (version INTEGER NOT NULL);
INSERT INTO version VALUES (1);
CREATE TABLE sessions (user TEXT PRIMARY KEY, locale TEXT, locale_pinned INTEGER NOT NULL DEFAULT 0,
    last_intent TEXT, options TEXT NOT NULL DEFAULT '[]', updated_at REAL NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, day TEXT NOT NULL, channel TEXT NOT NULL, locale TEXT NOT NULL,
    kind TEXT NOT NULL, intent TEXT, bucket INTEGER NOT NULL, user TEXT);
CREATE INDEX events_day ON events (day);
CREATE TABLE unanswered (id INTEGER PRIMARY KEY, at REAL NOT NULL, day TEXT NOT NULL, channel TEXT NOT NULL,
    locale TEXT NOT NULL, text TEXT NOT NULL);
"""


async def test_old_schema_file_is_migrated_on_start_without_losing_rows(db_path: Path) -> None:
    """A file as the first release wrote it (schema version 1) upgrades in place."""
    day = day_of(NOW)
    with raw(db_path) as conn:
        conn.executescript(V1_SCHEMA)
        conn.execute(
            "INSERT INTO sessions VALUES ('old-user', 'zh-Hans', 0, 'legal.call_hours', '[\"a:report.regulator\"]', ?)",
            (NOW,),
        )
        conn.executemany(
            "INSERT INTO events (day, channel, locale, kind, intent, bucket, user) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(day, "telegram", "zh-Hans", "answer", "legal.call_hours", 70, "old-user")] * 3,
        )
        conn.execute(
            "INSERT INTO unanswered (at, day, channel, locale, text) VALUES (?, ?, 'telegram', 'zh-Hans', ?)",
            (NOW, day, "怎么办理个性化分期"),
        )

    store = await SqliteStore.open(db_path, clock=lambda: NOW)
    try:
        assert await store.schema_version() == LATEST
        session = await store.get_session("old-user")
        report = await collect(store, 1, now=NOW)
        result = await store.purge(NOW + 100 * DAY)  # uses the table version 2 added
    finally:
        await store.close()
    assert session is not None
    assert session.options == ("a:report.regulator",)
    assert report.messages == 3
    assert [item.name for item in report.top_unanswered] == ["怎么办理个性化分期"]
    assert result.event_links == 3
    assert count(db_path, "SELECT COUNT(*) FROM events") == 3
    assert count(db_path, "SELECT users FROM daily_users") == 1


async def test_file_from_a_newer_program_is_refused_not_damaged(db_path: Path) -> None:
    with raw(db_path) as conn:
        conn.executescript(V1_SCHEMA)
        conn.execute("UPDATE version SET version = 99")
    with pytest.raises(StoreError, match="newer"):
        await SqliteStore.open(db_path)
    assert count(db_path, "SELECT version FROM version") == 99


async def test_retention_with_an_injected_clock(db_path: Path) -> None:
    clock = Clock(NOW)
    store = await SqliteStore.open(db_path, clock=clock, retention=Retention(30, 90, 30))
    try:
        await store.put_session(Session("idle", updated_at=clock()))
        await store.record_event(event("idle", at=clock()))
        await store.record_unanswered("idle", "telegram", "zh-Hans", "怎么办理个性化分期", clock())

        clock.advance(29)
        await store.put_session(Session("active", updated_at=clock()))
        assert await store.purge() == await store.purge()  # nothing is due yet, twice
        assert await store.get_session("idle") is not None

        clock.advance(2)  # day 31: the idle session and the unanswered text are due
        after_month = await store.purge()
        assert (after_month.sessions, after_month.unanswered, after_month.event_links) == (1, 1, 0)
        assert await store.get_session("idle") is None
        assert await store.get_session("active") is not None

        clock.advance(60)  # day 91: the event loses its user key, the daily numbers stay
        after_quarter = await store.purge()
        assert after_quarter.event_links == 1
        report = await collect(store, 92, now=clock())
    finally:
        await store.close()
    assert count(db_path, "SELECT COUNT(*) FROM events WHERE user IS NOT NULL") == 0
    assert count(db_path, "SELECT COUNT(*) FROM unanswered") == 0
    first_day = next(day for day in report.daily if day.day == day_of(NOW))
    assert (first_day.messages, first_day.users, first_day.answered) == (1, 1, 1)


async def test_purge_runs_in_the_background_until_cancelled(db_path: Path) -> None:
    clock = Clock(NOW)
    store = await SqliteStore.open(db_path, clock=clock)
    try:
        await store.put_session(Session("idle", updated_at=NOW - 40 * DAY))
        task = asyncio.create_task(purge_daily(store, interval=0.01))
        for _ in range(100):
            if await store.get_session("idle") is None:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await store.get_session("idle") is None
    finally:
        await store.close()


async def test_unanswered_text_is_redacted_again_by_the_store(db_path: Path) -> None:
    keeping = await SqliteStore.open(db_path)
    try:
        await keeping.record_unanswered("u1", "telegram", "zh-Hans", "我电话是13812345678, mail a.b@qq.com\x00", NOW)
    finally:
        await keeping.close()
    with raw(db_path) as conn:
        assert conn.execute("SELECT text FROM unanswered").fetchone()[0] == "我电话是[手机号], mail [邮箱]"


async def test_a_vanished_database_file_is_recreated(db_path: Path, store: SqliteStore) -> None:
    await store.record_event(event("u1"))
    for file in db_path.parent.glob(DB_FILE + "*"):
        file.unlink()
    await store.record_event(event("u2"))  # written to a new file, not to the deleted inode
    assert count(db_path, "SELECT COUNT(*) FROM events") == 1
    assert await store.schema_version() == LATEST


async def test_closed_store_fails_with_a_store_error(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get_session("u1")


def moved_aside(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob(DB_FILE + ".corrupt-*"))


async def test_a_file_that_is_no_database_is_moved_aside_kept_and_replaced(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = b"this is not a database, and it must not be overwritten\n" * 100
    (data_dir / DB_FILE).write_bytes(garbage)
    store = await open_store(Settings(data_dir=data_dir))
    try:
        assert isinstance(store, SqliteStore)
        assert store.problem() is None
        await store.record_event(event("u1"))
    finally:
        await store.close()
    [moved] = moved_aside(data_dir)
    assert moved.read_bytes() == garbage
    assert count(data_dir / DB_FILE, "SELECT COUNT(*) FROM events") == 1
    [line] = [record.getMessage() for record in caplog.records if "damaged" in record.getMessage()]
    assert moved.name in line and "new, empty database" in line


async def test_a_database_that_cannot_be_opened_falls_back_to_memory_and_says_so(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.mkdir(data_dir / DB_FILE)  # something that is neither a database nor replaceable by one
    store = await open_store(Settings(data_dir=data_dir))
    try:
        assert isinstance(store, MemoryStore)
        assert store.problem() is not None and "nothing is saved" in (store.problem() or "")
    finally:
        await store.close()
    assert "cannot open the database" in caplog.text
    assert (data_dir / DB_FILE).is_dir()


async def test_runner_opens_the_sqlite_store_in_the_data_dir(data_dir: Path) -> None:
    store = await open_store(Settings(data_dir=data_dir, session_days=7))
    try:
        assert isinstance(store, SqliteStore)
        assert store.path == data_dir / DB_FILE
        assert store.retention.session_days == 7
    finally:
        await store.close()


# --- one transaction per turn, many turns per transaction, sessions from memory -------------------------------


def _event(user: str, kind: str = "answer") -> UsageEvent:
    return UsageEvent(user, "wechat", "zh-Hans", kind, None, 40.0, NOW)


def _counts(path: Path) -> tuple[int, int, int]:
    with raw(path) as conn:
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES)  # type: ignore[return-value]


TABLES = ("sessions", "events", "unanswered")


async def test_a_turn_is_written_all_or_nothing(store: SqliteStore, db_path: Path) -> None:
    with raw(db_path) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    question = Unanswered("u1", "wechat", "zh-Hans", "能不能帮我查一下征信", NOW)
    with pytest.raises(StoreError, match="disk says no"):
        await store.save_turn(Session("u1", updated_at=NOW), _event("u1", "fallback"), (question,))
    assert _counts(db_path) == (0, 0, 0)  # the session and the question went with the event
    with raw(db_path) as conn:
        conn.execute("DROP TRIGGER refuse")
    await store.save_turn(Session("u1", updated_at=NOW), _event("u1", "fallback"), (question,))
    assert _counts(db_path) == (1, 1, 1)


async def test_turns_in_flight_together_share_one_transaction(store: SqliteStore, db_path: Path) -> None:
    people = [f"u{number}" for number in range(30)]
    await asyncio.gather(*(store.save_turn(Session(user, updated_at=NOW), _event(user)) for user in people))
    assert _counts(db_path) == (30, 30, 0)
    assert 1 <= store.transactions < len(people)  # group commit: one transaction for everything waiting
    before = store.transactions
    await store.save_turn(Session("alone", updated_at=NOW), _event("alone"))
    assert store.transactions == before + 1 and _counts(db_path) == (31, 31, 0)


async def test_the_bots_store_reads_sessions_from_memory_bounded_and_invalidated(db_path: Path) -> None:
    store = await SqliteStore.open(db_path, session_cache=2)
    try:
        await store.save_turn(Session("u1", "zh-Hans", updated_at=NOW), None)
        with raw(db_path) as conn:  # behind the store's back (no bot process does this)
            conn.execute("UPDATE sessions SET locale = 'en' WHERE user = 'u1'")
        assert (await store.get_session("u1")).locale == "zh-Hans"  # type: ignore[union-attr]  # from memory
        await store.save_turn(Session("u2", updated_at=NOW), None)
        await store.save_turn(Session("u3", updated_at=NOW), None)
        assert (await store.get_session("u1")).locale == "en"  # type: ignore[union-attr]  # bounded: u1 left
        assert await store.get_session("nobody") is None

        await store.forget("u2")
        assert await store.get_session("u2") is None  # forget removes the cached copy too

        with raw(db_path) as conn:
            conn.execute("UPDATE sessions SET locale = 'zh-Hant' WHERE user = 'u3'")
        await store.purge(NOW)
        assert (await store.get_session("u3")).locale == "zh-Hant"  # type: ignore[union-attr]  # purge re-reads

        with raw(db_path) as conn:
            conn.execute(
                "CREATE TRIGGER refuse BEFORE UPDATE ON sessions BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            )
        with pytest.raises(StoreError):
            await store.save_turn(Session("u3", "en", updated_at=NOW), None)
        assert (await store.get_session("u3")).locale == "zh-Hant"  # type: ignore[union-attr]  # not the failed one
    finally:
        await store.close()

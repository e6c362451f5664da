"""The `Store` contract: what every backend must do, run against each of them.

A new backend joins by adding a case to `store` below; nothing else in the bot needs to know which one it is.
The PostgreSQL case runs on a fresh schema of the test server (`pg_url` in conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import fresh_schema

from bot.privacy import keepable
from bot.state import CareState, MemoryStore, Session, Store, Unanswered, UsageEvent
from bot.store import SESSION_CACHE, SqliteStore
from bot.store_pg import PostgresStore
from bot.usage import DAY, Retention, day_of

NOW = 1_780_000_000.0  # 2026-05-28 in China
RETENTION = Retention(session_days=30, event_days=90, unanswered_days=30)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "sqlite", "sqlite-cached", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> AsyncIterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore(retention=RETENTION, clock=clock)
    elif request.param.startswith("sqlite"):
        cache = SESSION_CACHE if request.param == "sqlite-cached" else 0  # the bot's store caches sessions
        opened = await SqliteStore.open(
            tmp_path / "anxin.sqlite3", retention=RETENTION, clock=clock, session_cache=cache
        )
    else:
        async with fresh_schema(request.getfixturevalue("postgres_url")) as url:
            opened = await PostgresStore.open(url, retention=RETENTION, clock=clock)
            yield opened
            await opened.close()
        return
    yield opened
    await opened.close()


def event(
    user: str, at: float, kind: str = "answer", intent: str | None = "legal.threats", channel: str = "telegram"
) -> UsageEvent:
    return UsageEvent(user, channel, "zh-Hans", kind, intent, 55.0, at)


async def test_a_session_round_trips_every_field(store: Store) -> None:
    care = CareState(
        "concern", NOW, act=True, messages=2, used=("concern:0",), lines_offered=2, pending="legal.threats"
    )
    session = Session("u1", "zh-Hant", True, "legal.threats", ("a:legal.threats", "n:"), NOW, "hk", True, care)
    await store.put_session(session)
    assert await store.get_session("u1") == session
    assert await store.get_session("nobody") is None
    changed = session.replace(locale="en", care=None, options=())
    await store.put_session(changed)
    assert await store.get_session("u1") == changed


async def test_a_turn_saves_session_question_and_event_together_and_forget_removes_them(store: Store) -> None:
    session = Session("u1", "zh-Hans", last_intent="legal.threats", options=("a:legal.threats",), updated_at=NOW)
    text = keepable("催收说要上门 我的电话13812345678")  # as the dialog hands it over
    question = Unanswered("u1", "wechat", "zh-Hans", text, NOW)
    await store.save_turn(session, event("u1", NOW, "fallback", None), (question,))
    assert await store.get_session("u1") == session
    snapshot = await store.usage(day_of(NOW))
    assert [(e.kind, e.messages) for e in snapshot.events] == [("fallback", 1)]
    assert [u.text for u in snapshot.unanswered] == [text] and "13812345678" not in text
    changed = session.replace(last_intent=None, options=())
    await store.save_turn(changed, None)  # a session alone (no event: e.g. nothing to count)
    assert await store.get_session("u1") == changed
    await store.save_turn(None, event("u1", NOW))  # an event alone
    assert sum(e.messages for e in (await store.usage(day_of(NOW))).events) == 2
    await store.forget("u1")
    assert await store.get_session("u1") is None
    empty = await store.usage(day_of(NOW))
    assert (empty.events, empty.unanswered) == ((), ())


async def test_concurrent_turns_are_all_saved(store: Store) -> None:
    people = [f"u{number}" for number in range(40)]
    await asyncio.gather(*(store.save_turn(Session(user, "en", updated_at=NOW), event(user, NOW)) for user in people))
    assert [await store.get_session(user) for user in people] == [
        Session(user, "en", updated_at=NOW) for user in people
    ]
    assert sum(e.messages for e in (await store.usage(day_of(NOW))).events) == len(people)


async def test_usage_aggregates_events_and_distinct_users_per_day_without_user_keys(store: Store) -> None:
    for user, at, kind in (
        ("a", NOW, "answer"),
        ("a", NOW, "answer"),
        ("b", NOW, "fallback"),
        ("a", NOW - DAY, "crisis"),
    ):
        await store.record_event(event(user, at, kind, None if kind == "fallback" else "legal.threats"))
    snapshot = await store.usage(day_of(NOW - DAY))
    counts = {(e.day, e.kind, e.intent): e.messages for e in snapshot.events}
    assert counts == {
        (day_of(NOW), "answer", "legal.threats"): 2,
        (day_of(NOW), "fallback", None): 1,
        (day_of(NOW - DAY), "crisis", "legal.threats"): 1,
    }
    assert {(row.day, row.users) for row in snapshot.users} == {(day_of(NOW), 2), (day_of(NOW - DAY), 1)}
    later = await store.usage(day_of(NOW))
    assert {e.day for e in later.events} == {day_of(NOW)}


async def test_unanswered_questions_are_counted_by_text(store: Store) -> None:
    for user in ("a", "b"):
        await store.record_unanswered(user, "wechat", "zh-Hans", "明天天气怎么样", NOW)
    await store.record_unanswered("a", "wechat", "zh-Hans", "推荐一部电影", NOW)
    snapshot = await store.usage(day_of(NOW))
    assert [(row.text, row.count) for row in snapshot.unanswered] == [("明天天气怎么样", 2), ("推荐一部电影", 1)]


async def test_forget_removes_everything_of_that_user_and_nothing_of_others(store: Store) -> None:
    for user in ("leaving", "staying"):
        await store.put_session(Session(user, updated_at=NOW))
        await store.record_event(event(user, NOW))
        await store.record_unanswered(user, "telegram", "zh-Hans", f"{user} 的问题", NOW)
    await store.forget("leaving")
    assert await store.get_session("leaving") is None
    assert await store.get_session("staying") is not None
    snapshot = await store.usage(day_of(NOW))
    assert [row.text for row in snapshot.unanswered] == ["staying 的问题"]
    assert [(row.users, sum(e.messages for e in snapshot.events)) for row in snapshot.users] == [(1, 1)]


async def test_purge_applies_the_retention_policy_and_keeps_the_daily_numbers(store: Store, clock: Clock) -> None:
    old = NOW - 100 * DAY
    await store.put_session(Session("idle", updated_at=NOW - 40 * DAY))
    await store.put_session(Session("active", updated_at=NOW))
    await store.record_unanswered("idle", "telegram", "zh-Hans", "很久以前的问题", NOW - 40 * DAY)
    await store.record_unanswered("active", "telegram", "zh-Hans", "昨天的问题", NOW - DAY)
    for user in ("a", "b"):
        await store.record_event(event(user, old))
    before = await store.usage(day_of(old))
    result = await store.purge()
    assert (result.sessions, result.unanswered, result.event_links) == (1, 1, 2)
    assert await store.get_session("idle") is None and await store.get_session("active") is not None
    after = await store.usage(day_of(old))
    assert [row.text for row in after.unanswered] == ["昨天的问题"]
    # The link to the users is gone, the day's count of distinct users is not.
    assert {(r.day, r.users) for r in after.users} == {(r.day, r.users) for r in before.users} == {(day_of(old), 2)}
    assert (await store.purge()).event_links == 0  # nothing left to unlink


async def test_a_store_works_with_the_retention_loop(store: Store) -> None:
    # purge_daily runs on any store: an in-memory one is purged too (the console chat keeps no file).
    result = await store.purge(NOW)
    assert (result.sessions, result.event_links, result.unanswered) == (0, 0, 0)

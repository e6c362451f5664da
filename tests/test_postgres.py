"""Several bot processes on one PostgreSQL database: what they must agree on, tested on the real server.

"Two processes" here are two independent stacks, each with its own connection pool, store, dialog and
channel, on one database (the migration race and the CLI tests start real OS processes). Each test gets a
fresh schema (`pg_url` in conftest.py); without a server they are skipped, under CI=true they fail.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import fake_bot_api as fake
import httpx
import pytest
from bot_process import bot_environment, running_bot
from conftest import REPO, seed_bundled_cache, wechat_channel
from fake_bot_api import FakeBotApi
from test_wechat import OPENID, QUESTION, TOKEN, message_xml, signed

from bot.channels.wechat import WeChatChannel
from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.privacy import pseudonym
from bot.runner import Services
from bot.schema_pg import LATEST
from bot.settings import Secret, Settings
from bot.state import SchemaTooNew, Session, UsageEvent
from bot.store import SqliteStore
from bot.store_pg import PostgresStore
from bot.usage import DAY, Retention, day_of
from bot.web import build_app

NOW = 1_780_000_000.0
SECRET = b"shared-secret-of-every-process"


@pytest.fixture
async def two_stores(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    first = await PostgresStore.open(pg_url)
    second = await PostgresStore.open(pg_url)
    yield first, second
    await first.close()
    await second.close()


async def rows(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


# --- WeChat retries --------------------------------------------------------------------------------------------


def wechat_process(knowledge: KnowledgeSource, store: PostgresStore) -> tuple[WeChatChannel, httpx.AsyncClient]:
    settings = Settings(content_dir=knowledge.root, secret=Secret(SECRET.decode()), wechat_token=Secret(TOKEN))
    channel = wechat_channel(Services(settings, knowledge, store, Dialog(knowledge, store), SECRET))
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    return channel, httpx.AsyncClient(transport=transport, base_url="http://wechat.test")


def content_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    text = response.text
    assert f"<ToUserName><![CDATA[{OPENID}]]></ToUserName>" in text  # addressed to the sender, in both processes
    return text.split("<Content><![CDATA[", 1)[1].split("]]></Content>", 1)[0]


async def test_a_wechat_retry_to_another_process_gets_the_same_reply_and_is_counted_once(
    knowledge: KnowledgeSource, two_stores: tuple[PostgresStore, PostgresStore], pg_url: str
) -> None:
    (a, client_a), (b, client_b) = (wechat_process(knowledge, store) for store in two_stores)
    async with client_a, client_b:
        body = message_xml(Content=QUESTION, msg_id="5001").encode()
        first = content_of(await client_a.post("/wechat", params=signed(), content=body))
        # WeChat retries with a new nonce; the load balancer sends it to the other process.
        retried = content_of(await client_b.post("/wechat", params=signed(), content=body))
        other = message_xml(Content="/help", msg_id="5002").encode()
        fresh = content_of(await client_b.post("/wechat", params=signed(), content=other))
    await a.stop()
    await b.stop()
    assert first.startswith("不合法。")
    assert retried == first
    assert fresh != first  # another MsgId is another message
    user = pseudonym(SECRET, "wechat", OPENID)
    events = await rows(pg_url, "SELECT kind FROM events WHERE user_key = $1 ORDER BY id", user)
    assert [row["kind"] for row in events] == ["answer", "command"]


async def test_a_retry_that_arrives_while_the_first_process_still_answers_waits_for_its_reply(
    knowledge: KnowledgeSource, two_stores: tuple[PostgresStore, PostgresStore], pg_url: str
) -> None:
    (a, client_a), (b, client_b) = (wechat_process(knowledge, store) for store in two_stores)
    user = pseudonym(SECRET, "wechat", OPENID)
    async with client_a, client_b:
        body = message_xml(Content=QUESTION, msg_id="6001").encode()
        # Process A is slow: another of this person's turns holds the lock for a moment.
        async with two_stores[0].turn(user):
            first = asyncio.create_task(client_a.post("/wechat", params=signed(), content=body))
            deadline = time.monotonic() + 5
            while not await rows(pg_url, "SELECT 1 FROM wechat_replies WHERE user_key = $1", user):
                assert time.monotonic() < deadline, "process A never claimed the message"
                await asyncio.sleep(0.02)
            retry = asyncio.create_task(client_b.post("/wechat", params=signed(), content=body))
            await asyncio.sleep(0.3)
            assert not retry.done()  # B waits for A's answer instead of answering itself
        replies = [content_of(await first), content_of(await retry)]
    await a.stop()
    await b.stop()
    assert replies[0] == replies[1] and replies[0].startswith("不合法。")
    assert len(await rows(pg_url, "SELECT 1 FROM events WHERE user_key = $1", user)) == 1


async def test_stored_replies_expire_and_never_hold_the_openid(
    knowledge: KnowledgeSource, two_stores: tuple[PostgresStore, PostgresStore], pg_url: str
) -> None:
    store = two_stores[0]
    clock = [time.time()]
    store.clock = lambda: clock[0]
    channel, client = wechat_process(knowledge, store)
    async with client:
        body = message_xml(Content=QUESTION, msg_id="7001").encode()
        first = content_of(await client.post("/wechat", params=signed(), content=body))
        [kept] = await rows(pg_url, "SELECT user_key, msg_key, reply, expires_at FROM wechat_replies")
        assert kept["reply"] == first and OPENID not in str(dict(kept))
        assert kept["expires_at"] == pytest.approx(clock[0] + 600)
        clock[0] += 601  # ten minutes later the stored reply no longer counts, and the purge removes it
        await store.purge()
    await channel.stop()
    assert await rows(pg_url, "SELECT 1 FROM wechat_replies") == []


# --- per-user order ---------------------------------------------------------------------------------------------


async def test_one_persons_turns_run_one_at_a_time_across_processes(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """Read, wait, write: without a lock shared by both processes most of these updates would be lost."""

    async def add(store: PostgresStore, mark: str) -> None:
        async with store.turn("same-person"):
            session = await store.get_session("same-person") or Session("same-person", updated_at=NOW)
            await asyncio.sleep(0.01)
            await store.put_session(session.replace(options=(*session.options, mark)))

    marks = [str(n) for n in range(20)]
    await asyncio.gather(*(add(two_stores[n % 2], mark) for n, mark in enumerate(marks)))
    final = await two_stores[0].get_session("same-person")
    assert final is not None and sorted(final.options, key=int) == marks


async def test_turns_are_taken_in_arrival_order_and_other_people_do_not_wait(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two_stores
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with a.turn("p"):
            order.append("a-start")
            await release.wait()
            order.append("a-end")

    async def second() -> None:
        async with b.turn("p"):
            order.append("b")

    holder = asyncio.create_task(first())
    deadline = time.monotonic() + 5
    while not order and time.monotonic() < deadline:  # noqa: ASYNC110 (the turn starts in another connection)
        await asyncio.sleep(0.01)
    waiter = asyncio.create_task(second())
    started = time.monotonic()
    async with b.turn("someone-else"):  # not blocked by p's turn
        await b.put_session(Session("someone-else", updated_at=NOW))
    assert time.monotonic() - started < 1.0
    await asyncio.sleep(0.2)
    assert order == ["a-start"]  # b waits for a, in the other process
    release.set()
    await asyncio.gather(holder, waiter)
    assert order == ["a-start", "a-end", "b"]


# --- Telegram redeliveries and the poller -----------------------------------------------------------------------


async def test_a_telegram_update_is_handled_by_one_process_only(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = (store.coordination() for store in two_stores)
    assert await a.claim_update(901) == "new"
    assert await b.claim_update(901) == "busy"  # in progress elsewhere: Telegram is asked to deliver it later
    await a.finish_update(901, handled=True)
    assert await b.claim_update(901) == "done"  # acknowledged without answering twice
    assert await b.claim_update(902) == "new"
    await b.finish_update(902, handled=False)  # cancelled at shutdown: the next delivery is handled anew
    assert await a.claim_update(902) == "new"


async def test_only_one_process_may_poll_and_the_role_passes_on_when_it_stops(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = (store.coordination() for store in two_stores)
    lease = await a.exclusive("telegram-poller")
    assert lease is not None
    assert await b.exclusive("telegram-poller") is None
    await lease.release()
    taken = await b.exclusive("telegram-poller")
    assert taken is not None
    await taken.release()


# --- retention --------------------------------------------------------------------------------------------------


async def test_purges_started_together_in_two_processes_count_each_day_once(pg_url: str) -> None:
    keep = Retention(session_days=30, event_days=90, unanswered_days=30)
    a = await PostgresStore.open(pg_url, retention=keep, clock=lambda: NOW)
    b = await PostgresStore.open(pg_url, retention=keep, clock=lambda: NOW)
    old = NOW - 100 * DAY
    for user in ("u1", "u2", "u3"):
        await a.record_event(UsageEvent(user, "wechat", "zh-Hans", "answer", "legal.threats", 60.0, old))
    results = await asyncio.gather(a.purge(), b.purge())
    assert sorted(result.event_links for result in results) == [0, 3]  # one did the work, the other found none
    snapshot = await b.usage(day_of(old))
    assert [(row.day, row.users) for row in snapshot.users] == [(day_of(old), 3)]
    await a.close()
    await b.close()


# --- privacy ----------------------------------------------------------------------------------------------------


async def test_forget_leaves_no_row_of_the_user_in_any_table(
    knowledge: KnowledgeSource, two_stores: tuple[PostgresStore, PostgresStore], pg_url: str
) -> None:
    (a, client_a), (b, client_b) = (wechat_process(knowledge, store) for store in two_stores)
    user = pseudonym(SECRET, "wechat", OPENID)
    async with client_a, client_b:
        for msg_id, text in (("8001", QUESTION), ("8002", "推荐一部好看的电影 我电话13800138000")):
            pushed = message_xml(Content=text, msg_id=msg_id)
            content_of(await client_a.post("/wechat", params=signed(), content=pushed))
        tables = ("sessions", "events", "unanswered", "wechat_replies")
        held = {table: len(await rows(pg_url, f"SELECT 1 FROM {table} WHERE user_key = $1", user)) for table in tables}
        assert all(held.values()), held  # the person is in every table before
        [kept] = await rows(pg_url, "SELECT text FROM unanswered")
        assert "13800138000" not in kept["text"]  # redacted before it was stored
        # Everything the database holds, as text: pseudonyms only, never the openid.
        dump = await rows(pg_url, "SELECT string_agg(t::text, ' ') AS all FROM (SELECT * FROM sessions) t")
        assert OPENID not in str(dump)
        forget = message_xml(Content="/forget", msg_id="8003")
        content_of(await client_b.post("/wechat", params=signed(), content=forget))
    await a.stop()
    await b.stop()
    for table in tables:
        assert await rows(pg_url, f"SELECT * FROM {table} WHERE user_key = $1", user) == [], table
    everything = await rows(
        pg_url,
        "SELECT string_agg(row_to_json(r)::text, ' ') AS rows FROM ("
        " SELECT user_key FROM sessions UNION ALL SELECT user_key FROM events"
        " UNION ALL SELECT user_key FROM unanswered UNION ALL SELECT user_key FROM wechat_replies) r",
    )
    assert everything[0]["rows"] is None or user not in everything[0]["rows"]


# --- schema migrations ------------------------------------------------------------------------------------------


def anxin(*args: str, url: str, data_dir: Path) -> subprocess.Popen[str]:
    seed_bundled_cache(data_dir)  # the bundled content (the checkout's own) without training the net again
    env = {**os.environ, "BOT_DATABASE_URL": url, "BOT_DATA_DIR": str(data_dir), "BOT_SECRET": SECRET.decode()}
    for name in ("TELEGRAM_BOT_TOKEN", "WECHAT_TOKEN"):
        env.pop(name, None)
    command = [sys.executable, "-m", "bot", *args]
    return subprocess.Popen(command, env=env, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


async def test_two_processes_migrating_at_once_migrate_once(pg_url: str, tmp_path: Path) -> None:
    first, second = anxin("migrate", url=pg_url, data_dir=tmp_path), anxin("migrate", url=pg_url, data_dir=tmp_path)
    outputs = [process.communicate(timeout=60) for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    said = sorted(out.strip().split(": ", 1)[1] for out, _ in outputs)
    assert said == [f"schema upgraded from version 0 to {LATEST}", f"schema version {LATEST}, up to date"]
    assert [row["version"] for row in await rows(pg_url, "SELECT version FROM anxin_version")] == [LATEST]


async def test_a_database_from_a_newer_version_is_refused_untouched(pg_url: str, tmp_path: Path) -> None:
    store = await PostgresStore.open(pg_url)
    await store.close()
    newer = LATEST + 1
    await rows(pg_url, "UPDATE anxin_version SET version = $1", newer)
    await rows(pg_url, "DROP TABLE sessions")  # what a newer program might have done
    with pytest.raises(SchemaTooNew, match=f"schema version {newer} is newer than this program knows"):
        await PostgresStore.open(pg_url)
    process = anxin("migrate", url=pg_url, data_dir=tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and f"schema version {newer} is newer" in err
    assert [row["version"] for row in await rows(pg_url, "SELECT version FROM anxin_version")] == [newer]
    assert (await rows(pg_url, "SELECT to_regclass('sessions') AS found"))[0]["found"] is None  # not recreated


# --- the command line on PostgreSQL -----------------------------------------------------------------------------


async def test_copy_store_moves_a_sqlite_database_into_an_empty_postgresql_one(pg_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    sqlite_store = await SqliteStore.open(data / "anxin.sqlite3", retention=Retention(), clock=lambda: time.time())
    now = time.time()
    await sqlite_store.put_session(Session("s1", "zh-Hant", True, "legal.threats", ("a:x",), now, "hk", True))
    for user in ("s1", "s2"):
        await sqlite_store.record_event(UsageEvent(user, "telegram", "zh-Hans", "answer", "legal.threats", 70.0, now))
        await sqlite_store.record_unanswered(user, "telegram", "zh-Hans", f"{user} 的问题", now)
    old = now - 200 * DAY
    await sqlite_store.record_event(UsageEvent("s3", "wechat", "en", "fallback", None, 5.0, old))
    await sqlite_store.purge()  # the old event loses its user; its day's count moves to daily_users
    await sqlite_store.close()

    process = anxin("copy-store", "--to", pg_url, url="", data_dir=data)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "3 events" in out and "1 sessions" in out and "1 daily_users" in out and "2 unanswered" in out

    target = await PostgresStore.open(pg_url)
    assert await target.get_session("s1") == Session("s1", "zh-Hant", True, "legal.threats", ("a:x",), now, "hk", True)
    with sqlite3.connect(data / "anxin.sqlite3") as source:
        expected_users = source.execute("SELECT day, channel, users FROM daily_users").fetchall()
    snapshot = await target.usage(day_of(old))
    assert (day_of(old), "wechat", 1) in {(r.day, r.channel, r.users) for r in snapshot.users}
    assert [(r.day, r.channel, r.users) for r in snapshot.users if r.day == day_of(old)] == expected_users
    assert sorted(r.text for r in snapshot.unanswered) == ["s1 的问题", "s2 的问题"]
    await target.forget("s1")  # copied rows keep their pseudonyms: /forget reaches them
    assert [r.text for r in (await target.usage(day_of(old))).unanswered] == ["s2 的问题"]
    await target.close()

    before = len(await rows(pg_url, "SELECT 1 FROM events"))
    again = anxin("copy-store", "--to", pg_url, url="", data_dir=data)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 2 and "is not empty" in err
    assert len(await rows(pg_url, "SELECT 1 FROM events")) == before == 2  # nothing copied twice


async def test_stats_suggest_and_purge_read_the_postgresql_database(pg_url: str, tmp_path: Path) -> None:
    store = await PostgresStore.open(pg_url)
    await store.record_event(UsageEvent("x", "wechat", "zh-Hans", "answer", "legal.threats", 80.0, time.time()))
    await store.record_unanswered("x", "wechat", "zh-Hans", "明天天气怎么样", time.time())
    await store.close()
    suggest = anxin("suggest", "--json", url=pg_url, data_dir=tmp_path)
    out, err = suggest.communicate(timeout=60)
    assert suggest.returncode == 0, err
    assert "明天天气怎么样" in out
    stats = anxin("stats", "--json", url=pg_url, data_dir=tmp_path)
    out, err = stats.communicate(timeout=60)
    assert stats.returncode == 0, err
    assert '"messages": 1' in out
    purge = anxin("purge", url=pg_url, data_dir=tmp_path)
    out, err = purge.communicate(timeout=60)
    assert purge.returncode == 0 and out.startswith("purged: "), err
    assert not (tmp_path / "anxin.sqlite3").exists()  # nothing went to a SQLite file by mistake


# --- whole bot processes ----------------------------------------------------------------------------------------


async def test_a_second_process_refuses_to_poll_telegram_and_the_first_answers(pg_url: str, tmp_path: Path) -> None:
    api = FakeBotApi()
    async with api.running():

        def env(name: str) -> dict[str, str]:
            return bot_environment(
                TELEGRAM_BOT_TOKEN=fake.TOKEN,
                TELEGRAM_API_URL=api.url,
                BOT_DATABASE_URL=pg_url,
                BOT_SECRET=SECRET.decode(),
                BOT_CONTENT_DIR=str(REPO / "tests" / "fixtures" / "kb"),
                BOT_DATA_DIR=str(tmp_path / name),
            )

        async with running_bot(env("first"), tmp_path / "first.log") as first:
            deadline = time.monotonic() + 30
            while "telegram polling mode" not in first.log_text():
                assert first.process.returncode is None and time.monotonic() < deadline, first.log_text()
                await asyncio.sleep(0.05)
            async with running_bot(env("second"), tmp_path / "second.log") as second:
                code = await asyncio.wait_for(second.process.wait(), 30)
                refused = second.log_text()
            api.push(fake.message(4242, QUESTION))
            [reply] = await api.replies(4242, within=10)
            stopped, _ = await first.stop()
    assert code == 2 and "already polling Telegram" in refused and "TELEGRAM_WEBHOOK_URL" in refused
    assert "Traceback" not in refused
    assert "不合法。" in reply.params["text"] and stopped == 0

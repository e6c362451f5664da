"""The Telegram webhook under stress: an update is acknowledged only once it is answered, so neither a kill -9
nor a SIGTERM loses one; redeliveries are answered once; floods, oversized and pathological bodies, and
replies that cannot be sent are handled, counted and logged as what they are."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import fake_bot_api as fake
import httpx
import pytest
from bot_process import bot_environment, free_port, running_bot
from conftest import FIXTURES, telegram_channel
from fake_bot_api import FakeBotApi
from test_telegram import ADMIN, USER, make_services, started_channel, text_of

from bot.channels.telegram import MAX_WEBHOOK_CONNECTIONS, TelegramChannel
from bot.channels.telegram_app import MAX_BOT_API_CONNECTIONS, build_application
from bot.channels.telegram_webhook import MAX_UPDATE_BYTES, SECRET_HEADER
from bot.coordination import Coordination, LocalCoordination
from bot.knowledge import KnowledgeSource
from bot.messages import say
from bot.runner import STOP_SECONDS
from bot.state import MemoryStore
from bot.web import build_app, serve

QUESTION = "催收打电话给我妈妈合法吗"
CHATS = 800_000_000  # one chat per update in the floods, so each answer can be traced to its update


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    async with api.running():
        yield api


@pytest.fixture
async def webhook(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore
) -> AsyncIterator[tuple[TelegramChannel, httpx.AsyncClient]]:
    """The webhook route on a real uvicorn server, and a client that posts to it with the secret token."""
    services = make_services(bot_api, knowledge, memory_store, telegram_webhook_url="https://anxin.example/telegram")
    channel = telegram_channel(services)
    await channel.start()
    port = free_port()
    server = asyncio.create_task(serve(build_app(channel.routes()), "127.0.0.1", port, services.stop))
    headers = {SECRET_HEADER: channel.secret_token}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, trust_env=False) as client:
        for _ in range(200):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.02)
        try:
            yield channel, client
        finally:
            services.stop.set()
            await server
            await channel.stop()


def update(update_id: int, text: str = QUESTION, user_id: int = USER) -> dict[str, object]:
    return {"update_id": update_id, **fake.message(user_id, text)}


# --- acknowledged when answered --------------------------------------------------------------------------------


async def test_bot_api_requests_in_flight_are_bounded_and_the_rest_wait_their_turn(bot_api: FakeBotApi) -> None:
    assert MAX_BOT_API_CONNECTIONS == MAX_WEBHOOK_CONNECTIONS  # one connection for every update Telegram sends
    app = build_application(fake.TOKEN, bot_api.url, webhook=True)
    await app.initialize()
    try:
        # Not rate-limited: only the connection pool can bound these. Each is held a second, long enough for every
        # connection to open on a loaded machine (at 0.3 s a busy CI worker once reached 33 of 40).
        bot_api.slow_down("getMe", 1.0)
        calls = MAX_BOT_API_CONNECTIONS + 20
        results = await asyncio.gather(*(app.bot.get_me() for _ in range(calls)))
    finally:
        await app.shutdown()
    assert len(results) == calls  # every one answered: none failed waiting for a connection
    assert bot_api.most_in_flight == MAX_BOT_API_CONNECTIONS


async def test_an_update_is_acknowledged_only_after_its_reply_was_sent(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, httpx.AsyncClient], memory_store: MemoryStore
) -> None:
    channel, client = webhook
    channel.webhook.replies_in_answer = False  # as with several processes: every message through sendMessage
    bot_api.slow_down("sendMessage", 0.5)
    started = time.monotonic()
    response = await client.post("/telegram", json=update(1))
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.5
    [reply] = bot_api.sent_to(USER)  # already there when the 200 came
    assert "民法典第1033条" in text_of(reply)
    assert [event.kind for event in memory_store.events] == ["answer"]


async def test_in_one_process_the_reply_travels_in_the_webhooks_answer_once_saved_and_rate_limited(
    bot_api: FakeBotApi,
    webhook: tuple[TelegramChannel, httpx.AsyncClient],
    memory_store: MemoryStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel, client = webhook
    limiter = channel.application.bot.rate_limiter
    assert limiter is not None
    limited: list[tuple[str, object]] = []
    original = type(limiter).process_request

    async def counting(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[no-untyped-def]
        limited.append((endpoint, data.get("chat_id")))
        return await original(self, callback, args, kwargs, endpoint, data, rate_limit_args)

    monkeypatch.setattr(type(limiter), "process_request", counting)
    response = await client.post("/telegram", json=update(21))
    assert response.status_code == 200
    call = response.json()
    assert (call["method"], call["chat_id"], call["parse_mode"]) == ("sendMessage", USER, "HTML")
    assert "民法典第1033条" in call["text"] and call["reply_markup"]["inline_keyboard"]
    assert bot_api.sent_to(USER) == []  # one request less: nothing went through sendMessage
    assert ("sendMessage", USER) in limited  # it waited for the rate limiter like any message
    assert [event.kind for event in memory_store.events] == ["answer"]  # saved before the answer left

    # The answer never reached Telegram: the redelivery gets the same reply, and the dialog does not run again.
    again = await client.post("/telegram", json=update(21))
    assert again.status_code == 200 and again.json() == call
    assert len(memory_store.events) == 1


async def test_with_a_shared_database_every_reply_goes_through_send_message(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore
) -> None:
    class Shared(MemoryStore):
        def coordination(self) -> Coordination:
            return _SharedCoordination()

    services = make_services(bot_api, knowledge, Shared(), telegram_webhook_url="https://anxin.example/telegram")
    channel = telegram_channel(services)
    # A redelivery may reach another process, which could not repeat this one's answer.
    assert channel.webhook.replies_in_answer is False


class _SharedCoordination(LocalCoordination):
    """Stands for the PostgreSQL coordination: state shared with other processes."""

    shared = True


async def test_a_redelivered_update_is_answered_once(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, httpx.AsyncClient], memory_store: MemoryStore
) -> None:
    channel, client = webhook
    channel.webhook.replies_in_answer = False
    bot_api.slow_down("sendMessage", 0.3)
    together = await asyncio.gather(*(client.post("/telegram", json=update(7)) for _ in range(3)))
    later = await client.post("/telegram", json=update(7))
    assert [response.status_code for response in [*together, later]] == [200, 200, 200, 200]
    await bot_api.wait_for(lambda: bool(bot_api.sent_to(USER)))
    await asyncio.sleep(0.5)  # long enough for a second answer to show up, if there were one
    assert len(bot_api.sent_to(USER)) == 1
    assert len(memory_store.events) == 1


async def test_a_flood_beyond_the_limit_is_asked_to_come_back_later(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, httpx.AsyncClient]
) -> None:
    channel, client = webhook
    channel.webhook.max_pending = 3
    channel.webhook.replies_in_answer = False
    bot_api.slow_down("sendMessage", 0.5)
    responses = await asyncio.gather(
        *(client.post("/telegram", json=update(100 + n, "/help", CHATS + n)) for n in range(8))
    )
    refused = [response for response in responses if response.status_code == 503]
    assert refused and all(response.headers["retry-after"] for response in refused)
    for n, response in enumerate(responses):
        answered = bool(bot_api.sent_to(CHATS + n))
        assert answered == (response.status_code == 200)  # acknowledged exactly when answered


async def test_while_stopping_updates_are_left_to_telegram(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, httpx.AsyncClient]
) -> None:
    channel, client = webhook
    channel.stopping.set()
    response = await client.post("/telegram", json=update(3))
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert bot_api.sent_to(USER) == []


async def test_a_reply_that_cannot_be_sent_is_counted_as_failed_not_answered(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, httpx.AsyncClient], memory_store: MemoryStore
) -> None:
    channel, client = webhook
    channel.webhook.replies_in_answer = False
    bot_api.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    assert (await client.post("/telegram", json=update(11))).status_code == 200
    assert [event.kind for event in memory_store.events] == ["failed"]


async def test_in_polling_mode_too_a_reply_that_cannot_be_sent_is_counted_as_failed(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore
) -> None:
    async with started_channel(bot_api, knowledge, memory_store):
        bot_api.fail_next("sendMessage", error_code=403, description="Forbidden: bot was blocked by the user")
        bot_api.push(fake.message(USER, QUESTION))
        await bot_api.wait_for(lambda: bool(memory_store.events))
    assert [event.kind for event in memory_store.events] == ["failed"]


# --- bodies that are too big or pathological ------------------------------------------------------------------


async def test_an_oversized_update_is_refused_unread(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, httpx.AsyncClient], memory_store: MemoryStore
) -> None:
    _, client = webhook
    big = json.dumps(update(21, "催" * (7 * 1024 * 1024 // 3)))
    assert len(big.encode()) > MAX_UPDATE_BYTES
    assert (await client.post("/telegram", content=big.encode())).status_code == 413
    assert memory_store.events == []


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in the JSON parser
        json.dumps({**update(22), "message": {**fake.message(USER, "hi")["message"], "date": 1e400}}).encode(),
        json.dumps({**update(23), "message": {**fake.message(USER, "hi")["message"], "date": 10**30}}).encode(),
        b'{"update_id": 24, "message": {"text": "' + b"9" * 5000 + b'"}}',
        b'{"update_id": ' + b"9" * 5000 + b"}",  # an integer too long to convert
        b"\xff\xfe{}",
        b'{"update_id": true}',
    ],
    ids=["nested", "infinite-date", "huge-date", "no-chat", "long-integer", "bad-bytes", "boolean-id"],
)
async def test_a_pathological_update_is_a_bad_request_not_a_server_error(
    webhook: tuple[TelegramChannel, httpx.AsyncClient], memory_store: MemoryStore, body: bytes
) -> None:
    _, client = webhook
    response = await client.post("/telegram", content=body)
    assert response.status_code == 400
    assert memory_store.events == []


async def test_a_long_message_is_cut_at_the_edge_and_answered_quickly(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, httpx.AsyncClient], memory_store: MemoryStore
) -> None:
    _, client = webhook
    started = time.monotonic()
    long_text = "我的电话" + "1" * 70_000  # only a forged or broken update can carry this; Telegram stops at 4096
    response = await client.post("/telegram", json=update(31, long_text))
    assert response.status_code == 200
    assert time.monotonic() - started < 2.0
    assert bot_api.sent_to(USER) or response.json()["method"] == "sendMessage"  # answered, one way or the other
    assert all(len(row[3]) <= 300 and "1111" not in row[3] for row in memory_store.unanswered)


# --- admins ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argument", ["²", "abc", "0", "99999", "-1", "٣"])
async def test_stats_with_a_bad_number_says_how_to_use_it(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore, argument: str
) -> None:
    async with started_channel(bot_api, knowledge, memory_store):
        bot_api.push(fake.message(ADMIN, f"/stats {argument}", language_code="en"))
        [reply] = await bot_api.replies(ADMIN)
    assert text_of(reply).startswith("Usage: /stats")
    assert not bot_api.called("sendDocument")


async def test_direction_overrides_from_users_never_reach_an_admin(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore
) -> None:
    async with started_channel(bot_api, knowledge, memory_store):
        bot_api.push(fake.message(USER, "\u202easdkjqwe zzz\u202c \u2067x\u2069"))  # unanswered: kept for volunteers
        await bot_api.replies(USER)
        # The turn is saved once its reply has been sent: on a loaded machine /stats could otherwise come first.
        await bot_api.wait_for(lambda: bool(memory_store.events))
        bot_api.push(fake.message(ADMIN, "/stats 7", language_code="en"))
        summary, document = await bot_api.replies(ADMIN, count=2)
    assert "asdkjqwe" in text_of(summary)
    for overriding in ("\u202e", "\u202c", "\u2067", "\u2069"):
        assert overriding not in text_of(summary)
        assert overriding.encode() not in document.files["document"][1]
    assert say("menu", "en")  # the usual replies are untouched


# --- a real process, real signals --------------------------------------------------------------------------------


def webhook_environment(api: FakeBotApi, port: int, data_dir: Path) -> dict[str, str]:
    return bot_environment(
        TELEGRAM_BOT_TOKEN=fake.TOKEN,
        TELEGRAM_API_URL=api.url,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",  # the fake delivers there, like Telegram
        BOT_CONTENT_DIR=str(FIXTURES / "kb"),
        BOT_DATA_DIR=str(data_dir),
    )


def answered(api: FakeBotApi, update_ids: list[int]) -> list[int]:
    """The update ids among `update_ids` whose chat got a message (update n went to chat CHATS + n)."""
    chats = {int(call.params["chat_id"]) for call in api.called("sendMessage")}
    return [update_id for update_id in update_ids if CHATS + update_id in chats]


async def test_kill_9_mid_flood_loses_no_acknowledged_update(bot_api: FakeBotApi, tmp_path: Path) -> None:
    port = free_port()
    env = webhook_environment(bot_api, port, tmp_path / "data")
    bot_api.slow_down("sendMessage", 0.3)
    async with running_bot(env, tmp_path / "bot.log", port=port) as bot:
        await bot.wait_healthy()
        for n in range(1, 81):
            bot_api.push(fake.message(CHATS + n, QUESTION))
        await bot_api.wait_for(lambda: len(bot_api.acknowledged()) >= 10, within=20)
        bot.process.send_signal(signal.SIGKILL)
        await bot.process.wait()
        acknowledged = bot_api.acknowledged()
    lost = sorted(set(acknowledged) - set(answered(bot_api, acknowledged)))
    assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged updates were never answered"
    assert bot_api.unacknowledged(), "the kill came mid-flood"

    # Started again, the bot gets what Telegram kept and answers every update.
    async with running_bot(env, tmp_path / "bot.log", port=port) as bot:
        await bot.wait_healthy()
        await bot_api.wait_for(lambda: not bot_api.unacknowledged(), within=40)
        await bot.stop()
    everything = list(bot_api.deliveries)
    assert sorted(answered(bot_api, everything)) == sorted(everything)


async def test_sigterm_with_a_backlog_stops_in_time_and_leaves_the_rest_to_telegram(
    bot_api: FakeBotApi, tmp_path: Path
) -> None:
    port = free_port()
    env = webhook_environment(bot_api, port, tmp_path / "data")
    bot_api.slow_down("sendMessage", 2.0)
    async with running_bot(env, tmp_path / "bot.log", port=port) as bot:
        await bot.wait_healthy()
        for n in range(1, 301):
            bot_api.push(fake.message(CHATS + n, QUESTION))
        await bot_api.wait_for(lambda: len([d for d in bot_api.deliveries.values() if d.attempts]) >= 40, within=20)
        await asyncio.sleep(1.0)  # the flood goes on for a second: whatever was taken in is in progress now
        code, took = await bot.stop(signal.SIGTERM, within=30)
        log = bot.log_text()
    assert took < STOP_SECONDS, f"SIGTERM took {took:.1f} s"
    assert code == 0, log
    acknowledged = bot_api.acknowledged()
    assert sorted(answered(bot_api, acknowledged)) == sorted(acknowledged)
    assert len(acknowledged) < 300  # the rest stays with Telegram for the next start
    assert "Traceback" not in log

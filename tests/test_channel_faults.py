"""Channel faults: the Bot API answering 5xx, garbage instead of JSON, or not at all. The Telegram channel
keeps polling, the user still gets an answer (or an apology), and the next message is answered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import fake_bot_api as fake
import pytest
from fake_bot_api import FakeBotApi
from starlette.requests import Request
from starlette.responses import Response
from test_telegram import USER, started_channel, text_of

from bot.channels.telegram import TelegramChannel
from bot.knowledge import KnowledgeSource
from bot.state import MemoryStore

QUESTION = "爆通讯录了怎么办"
ANSWER = "不合法。催收只能找借款人本人。"


class FaultyBotApi(FakeBotApi):
    """The fake Bot API, with scripted faults: the next calls of a method get a broken response."""

    def __init__(self) -> None:
        super().__init__()
        self.faults: dict[str, list[str]] = {}
        self.faults_served: list[tuple[str, str]] = []
        self._release = asyncio.Event()  # ends hanging requests, so the server can shut down

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeBotApi]:
        async with super().running() as api:
            try:
                yield api
            finally:
                self._release.set()

    def break_next(self, method: str, *faults: str) -> None:
        """Faults: "502" (an HTML error page from a proxy), "garbage" (200 with a body that is not JSON),
        "hang" (no answer for longer than the client waits)."""
        self.faults.setdefault(method, []).extend(faults)

    async def _endpoint(self, request: Request) -> Any:
        method = request.path_params["method"]
        pending = self.faults.get(method)
        if pending:
            fault = pending.pop(0)
            self.faults_served.append((method, fault))
            if fault == "502":
                return Response("<html><body>502 Bad Gateway</body></html>", 502, media_type="text/html")
            if fault == "garbage":
                return Response('{"ok": true, "result": [{"update_id": ', 200, media_type="application/json")
            if fault == "hang":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), 60)
        return await super()._endpoint(request)


@pytest.fixture
async def faulty_api() -> AsyncIterator[FaultyBotApi]:
    api = FaultyBotApi()
    async with api.running():
        yield api


@pytest.fixture
async def channel(
    faulty_api: FaultyBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore
) -> AsyncIterator[TelegramChannel]:
    async with started_channel(faulty_api, knowledge, memory_store) as channel:
        yield channel


async def test_polling_survives_server_errors_and_garbage_json(
    faulty_api: FaultyBotApi, channel: TelegramChannel
) -> None:
    faulty_api.break_next("getUpdates", "502", "garbage", "502")
    faulty_api.push(fake.message(USER, QUESTION))
    sent = await faulty_api.replies(USER, within=20)
    assert text_of(sent[0]).startswith(ANSWER)
    assert [fault for method, fault in faulty_api.faults_served if method == "getUpdates"] == ["502", "garbage", "502"]
    faulty_api.push(fake.message(USER, QUESTION))
    assert text_of((await faulty_api.replies(USER, within=10))[0]).startswith(ANSWER)


@pytest.mark.parametrize("fault", ["502", "garbage"])
async def test_a_failed_send_is_logged_and_the_next_message_is_answered(
    faulty_api: FaultyBotApi, channel: TelegramChannel, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    faulty_api.break_next("sendMessage", fault)
    faulty_api.push(fake.message(USER, QUESTION))
    await faulty_api.wait_for(lambda: ("sendMessage", fault) in faulty_api.faults_served, within=10)
    faulty_api.push(fake.message(USER, QUESTION))
    await faulty_api.wait_for(
        lambda: any(text_of(call).startswith(ANSWER) for call in faulty_api.sent_to(USER)[1:]), within=15
    )
    # The broken send is logged (without the user's text); the channel did not stop.
    assert channel.application.running
    assert QUESTION not in caplog.text


async def test_a_send_that_times_out_does_not_stop_the_channel(
    faulty_api: FaultyBotApi, channel: TelegramChannel
) -> None:
    faulty_api.break_next("sendMessage", "hang")
    faulty_api.push(fake.message(USER, QUESTION))
    await faulty_api.wait_for(lambda: ("sendMessage", "hang") in faulty_api.faults_served, within=10)
    faulty_api.push(fake.message(USER, "半夜打电话催收"))
    await faulty_api.wait_for(lambda: any("晚上十点" in text_of(call) for call in faulty_api.sent_to(USER)), within=30)
    assert channel.application.running

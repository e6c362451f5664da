"""The Telegram channel end to end: the real PTB application against a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fake_bot_api as fake
import httpx
import pytest
from conftest import telegram_channel
from fake_bot_api import TOKEN, FakeBotApi

from bot.channels.telegram import PRIVATE_ONLY, TelegramChannel
from bot.channels.telegram_render import MAX_MESSAGE_CHARS, render_telegram, split_text
from bot.channels.telegram_webhook import SECRET_HEADER
from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.messages import say
from bot.models import Button, Reply
from bot.runner import Services, configured_channels
from bot.settings import Secret, Settings
from bot.state import MemoryStore, Store
from bot.store import SqliteStore, StoreError, UsageSnapshot
from bot.web import build_app, serve

REPO = Path(__file__).parent.parent
ADMIN = 4242
USER = 1001
OTHER = 1002


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    async with api.running():
        yield api


def make_services(bot_api: FakeBotApi, knowledge: KnowledgeSource, store: Store, **changes: Any) -> Services:
    settings = Settings(
        content_dir=knowledge.root,
        secret=Secret("test-secret"),
        telegram_token=Secret(TOKEN),
        telegram_api_url=bot_api.url,
        telegram_admin_ids=frozenset({ADMIN}),
        **changes,
    )
    return Services(settings, knowledge, store, Dialog(knowledge, store), b"test-secret")


@contextlib.asynccontextmanager
async def started_channel(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, store: Store
) -> AsyncIterator[TelegramChannel]:
    """A polling Telegram channel talking to `bot_api`, stopped on the way out."""
    channel = telegram_channel(make_services(bot_api, knowledge, store))
    await channel.start()
    try:
        yield channel
    finally:
        await channel.stop()


@pytest.fixture
async def polling(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore
) -> AsyncIterator[TelegramChannel]:
    async with started_channel(bot_api, knowledge, memory_store) as channel:
        yield channel


def text_of(call: fake.Call) -> str:
    return str(call.params["text"])


def buttons_of(call: fake.Call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [(row[0]["text"], row[0]["callback_data"]) for row in markup["inline_keyboard"]]


# --- rendering (pure) ----------------------------------------------------------------------------------


def test_reply_text_is_html_escaped() -> None:
    [out] = render_telegram([Reply("<b>12378</b> & 12363")])
    assert out.html == "&lt;b&gt;12378&lt;/b&gt; &amp; 12363"


def test_long_answer_splits_at_paragraphs_with_buttons_on_the_last_chunk() -> None:
    paragraph = "催收不能打给你的家人。" * 150  # 1650 characters
    text = "\n\n".join([paragraph] * 4)
    out = render_telegram([Reply(text, (Button("更多", "m:legal.contact_contacts"),))])
    assert len(out) > 1
    assert all(len(chunk.html) <= MAX_MESSAGE_CHARS for chunk in out)
    assert "\n\n".join(chunk.html for chunk in out) == text
    assert [chunk.keyboard is not None for chunk in out] == [False] * (len(out) - 1) + [True]


def test_split_counts_emoji_as_two_units_and_cuts_an_unbroken_text() -> None:
    chunks = split_text("😀" * 3000)
    assert [len(chunk) for chunk in chunks] == [2048, 952]


def test_oversized_callback_data_is_dropped_not_sent() -> None:
    [out] = render_telegram([Reply("x", (Button("ok", "a:legal.threats"), Button("too long", "a:" + "x" * 70)))])
    assert out.keyboard is not None
    assert [row[0].callback_data for row in out.keyboard.inline_keyboard] == ["a:legal.threats"]


# --- conversations through the real PTB stack ------------------------------------------------------------


async def test_start_registers_commands_and_welcomes_with_topic_buttons(
    bot_api: FakeBotApi, polling: TelegramChannel
) -> None:
    languages = {call.params.get("language_code") for call in bot_api.called("setMyCommands")}
    assert {"en", "zh"} <= languages
    zh = next(call for call in bot_api.called("setMyCommands") if call.params.get("language_code") == "zh")
    public = ["start", "help", "lang", "region", "privacy", "forget", "complain", "cancel"]  # bot.commands.COMMANDS
    assert [c["command"] for c in zh.params["commands"]] == public
    # Admins get their own menu with /stats and /reload, in their chat only.
    [admin] = [call for call in bot_api.called("setMyCommands") if "scope" in call.params]
    assert admin.params["scope"] == {"type": "chat", "chat_id": ADMIN}
    assert [c["command"] for c in admin.params["commands"]] == [*public, "stats", "reload"]

    bot_api.push(fake.message(USER, "/start"))
    [welcome] = await bot_api.replies(USER)
    assert welcome.params["parse_mode"] == "HTML"
    assert "安心" in text_of(welcome)
    assert buttons_of(welcome), "the welcome offers topics as buttons"


async def test_question_answered_then_related_button_pressed(bot_api: FakeBotApi, polling: TelegramChannel) -> None:
    bot_api.push(fake.message(USER, "催收打电话给我妈妈合法吗"))
    [answer] = await bot_api.replies(USER)
    assert "依据：民法典第1033条" in text_of(answer)
    payloads = [payload for _, payload in buttons_of(answer)]
    assert "a:rights.family_liability" in payloads

    bot_api.push(fake.button_press(USER, "a:rights.family_liability"))
    [followup] = await bot_api.replies(USER)
    assert "依据：民法典第1064条" in text_of(followup)
    await bot_api.wait_for(lambda: len(bot_api.called("answerCallbackQuery")) == 1)  # the spinner stops


async def test_clarification_resolved_by_button(
    bot_api: FakeBotApi, polling: TelegramChannel, knowledge: KnowledgeSource
) -> None:
    question = "电话"
    assert knowledge.current.decide(question).kind == "clarify"  # the precondition this test relies on
    bot_api.push(fake.message(USER, question))
    [clarify] = await bot_api.replies(USER)
    options = [payload for _, payload in buttons_of(clarify) if payload.startswith("a:")]
    assert options

    bot_api.push(fake.button_press(USER, options[0]))
    [answer] = await bot_api.replies(USER)
    expected = knowledge.current.answer(options[0][2:], "zh-Hans")
    assert expected is not None
    assert expected.text in text_of(answer)


@pytest.mark.parametrize(
    "content",
    [
        {"sticker": fake.STICKER},
        {"photo": [{"file_id": "p1", "file_unique_id": "p1u", "width": 90, "height": 90}]},
        {"voice": {"file_id": "v1", "file_unique_id": "v1u", "duration": 3}},
        {"location": {"latitude": 31.2, "longitude": 121.5}},
    ],
    ids=["sticker", "photo", "voice", "location"],
)
async def test_media_gets_please_type(bot_api: FakeBotApi, polling: TelegramChannel, content: dict[str, Any]) -> None:
    bot_api.push(fake.message(USER, **content))
    [reply] = await bot_api.replies(USER)
    assert text_of(reply) == say("media", "zh-Hans")


async def test_group_message_gets_one_line_and_nothing_else(
    bot_api: FakeBotApi, polling: TelegramChannel, memory_store: MemoryStore
) -> None:
    group = -100200300
    bot_api.push(fake.message(USER, "催收打电话给我妈妈合法吗", chat_type="supergroup", chat_id=group))
    [reply] = await bot_api.replies(group)
    assert text_of(reply) == PRIVATE_ONLY
    await asyncio.sleep(0.2)
    assert len(bot_api.sent_to(group)) == 1
    assert memory_store.events == [], "a group message never reaches the dialog"


async def test_edited_message_is_ignored(bot_api: FakeBotApi, polling: TelegramChannel) -> None:
    bot_api.push(fake.edited(USER, "催收打电话给我妈妈合法吗"))
    bot_api.push(fake.message(USER, "/help"))
    replies = await bot_api.replies(USER)
    await asyncio.sleep(0.2)
    assert len(bot_api.sent_to(USER)) == 1
    assert text_of(replies[0]) == say("menu", "zh-Hans")


async def test_updates_from_one_chat_are_answered_in_order(bot_api: FakeBotApi, polling: TelegramChannel) -> None:
    bot_api.push(fake.message(USER, "/privacy"))
    bot_api.push(fake.message(USER, "/help"))
    bot_api.push(fake.message(USER, "催收打电话给我妈妈合法吗"))
    _, second, third = await bot_api.replies(USER, count=3)
    assert text_of(second) == say("menu", "zh-Hans")
    assert "依据：民法典第1033条" in text_of(third)


async def test_forget_deletes_the_users_records(
    bot_api: FakeBotApi, polling: TelegramChannel, memory_store: MemoryStore
) -> None:
    bot_api.push(fake.message(USER, "催收打电话给我妈妈合法吗"))
    await bot_api.replies(USER)
    # The turn is saved once its reply has been sent (session and event in one transaction).
    await bot_api.wait_for(lambda: bool(memory_store.sessions and memory_store.events))
    bot_api.push(fake.message(USER, "/forget"))
    [done] = await bot_api.replies(USER)
    assert text_of(done) == say("forgotten", "zh-Hans")
    assert memory_store.sessions == {}
    assert memory_store.events == []


async def test_users_are_stored_by_pseudonym_and_logs_hold_no_text_or_ids(
    bot_api: FakeBotApi,
    knowledge: KnowledgeSource,
    memory_store: MemoryStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with started_channel(bot_api, knowledge, memory_store):
        bot_api.push(fake.message(987654321, "催收打电话给我妈妈合法吗"))
        await bot_api.replies(987654321)
        bot_api.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
        bot_api.push(fake.message(987654321, "我的电话 13812345678"))
        await bot_api.replies(987654321)  # the apology after the failed send
    assert "987654321" not in "".join(memory_store.sessions)
    logged = caplog.text
    for secret in ("987654321", "13812345678", "催收打电话", TOKEN):
        assert secret not in logged
    assert "telegram update failed: BadRequest" in logged


async def test_handler_error_is_logged_and_the_user_gets_an_apology(
    bot_api: FakeBotApi, polling: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    bot_api.fail_next("sendMessage", error_code=400, description="Bad Request: message is too long")
    bot_api.push(fake.message(USER, "/help", language_code="en"))
    sent = await bot_api.replies(USER, count=2)
    assert text_of(sent[-1]).startswith("Sorry, something went wrong")
    failed = [record for record in caplog.records if record.message.startswith("telegram update failed")]
    assert failed
    assert failed[0].exc_info is not None


async def test_rate_limit_retry_after_is_waited_out(bot_api: FakeBotApi, polling: TelegramChannel) -> None:
    bot_api.fail_next("sendMessage", retry_after=1)
    started = time.monotonic()
    bot_api.push(fake.message(USER, "/help"))
    await bot_api.replies(USER, count=2)  # the refused call and the retry
    assert bot_api.failures_served == [("sendMessage", 429)]
    assert time.monotonic() - started >= 1.0
    assert text_of(bot_api.sent_to(USER)[-1]) == say("menu", "zh-Hans")


# --- admins ----------------------------------------------------------------------------------------------


async def test_admin_reload_reports_success(bot_api: FakeBotApi, polling: TelegramChannel) -> None:
    bot_api.push(fake.message(ADMIN, "/reload", language_code="en"))
    [reply] = await bot_api.replies(ADMIN)
    assert text_of(reply).startswith("Reloaded:")


async def test_admin_reload_of_broken_content_keeps_the_old_base_and_lists_errors(
    bot_api: FakeBotApi, polling: TelegramChannel, kb_dir: Path
) -> None:
    (kb_dir / "intents" / "main.yaml").write_text("- id: legal.contact_contacts\n  examples: [oops\n", encoding="utf-8")
    bot_api.push(fake.message(ADMIN, "/reload", language_code="en"))
    [reply] = await bot_api.replies(ADMIN)
    assert "keep serving their last good version" in text_of(reply)
    assert "main.yaml:" in text_of(reply)
    bot_api.push(fake.message(USER, "催收打电话给我妈妈合法吗"))
    [answer] = await bot_api.replies(USER)
    assert "依据：民法典第1033条" in text_of(answer)


@pytest.mark.parametrize("command", ["/reload", "/stats"])
async def test_admin_commands_are_unknown_commands_for_everyone_else(
    bot_api: FakeBotApi, polling: TelegramChannel, command: str
) -> None:
    bot_api.push(fake.message(OTHER, command))
    bot_api.push(fake.message(OTHER, "/nosuchcommand"))
    admin_only, unknown = await bot_api.replies(OTHER, count=2)
    assert text_of(admin_only) == text_of(unknown)
    assert bot_api.called("sendDocument") == []


async def test_admin_stats_sends_a_summary_and_the_html_report(bot_api: FakeBotApi, polling: TelegramChannel) -> None:
    bot_api.push(fake.message(USER, "催收打电话给我妈妈合法吗"))
    await bot_api.replies(USER)
    bot_api.push(fake.message(ADMIN, "/stats 7", language_code="en"))
    *summary, document = await bot_api.replies(ADMIN, count=2)
    assert summary and text_of(summary[0]).strip()
    assert document.method == "sendDocument"
    filename, content = document.files["document"]
    assert filename.endswith(".html")
    assert b"<html" in content.lower()


class LockedStatsStore(SqliteStore):
    """A real SQLite store whose statistics query meets a database that stays locked."""

    async def usage(self, first_day: str) -> UsageSnapshot:
        raise StoreError(Path("anxin.sqlite3"), "database is locked")


async def test_admin_stats_when_the_database_is_unreadable_says_so(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, data_dir: Path
) -> None:
    store = await LockedStatsStore.open(data_dir / "anxin.sqlite3")
    try:
        async with started_channel(bot_api, knowledge, store):
            bot_api.push(fake.message(ADMIN, "/stats", language_code="en"))
            [reply] = await bot_api.replies(ADMIN)
            assert text_of(reply).startswith("Statistics are unavailable right now")
            assert not bot_api.called("sendDocument")
    finally:
        await store.close()


# --- webhook mode ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def webhook(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore
) -> AsyncIterator[tuple[TelegramChannel, str]]:
    channel = telegram_channel(
        make_services(bot_api, knowledge, memory_store, telegram_webhook_url="https://anxin.example/telegram")
    )
    await channel.start()
    port = _free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(serve(build_app(channel.routes()), "127.0.0.1", port, stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{base}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.02)
        yield channel, base
    finally:
        stop.set()
        await server
        await channel.stop()


async def test_webhook_is_registered_with_a_secret_token(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, str]
) -> None:
    channel, _ = webhook
    [registered] = bot_api.called("setWebhook")
    assert registered.params["url"] == "https://anxin.example/telegram"
    assert registered.params["secret_token"] == channel.secret_token
    assert len(channel.secret_token) == 64  # derived from the pseudonym key when not configured
    assert bot_api.called("getUpdates") == []


async def test_webhook_accepts_updates_only_with_the_secret_header(
    bot_api: FakeBotApi, webhook: tuple[TelegramChannel, str]
) -> None:
    channel, base = webhook
    update = {"update_id": 1, **fake.message(USER, "/help")}
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.post("/telegram", json=update)).status_code == 403
        wrong = await client.post("/telegram", json=update, headers={SECRET_HEADER: "guess"})
        assert wrong.status_code == 403
        assert bot_api.sent_to(USER) == []

        right = await client.post("/telegram", json=update, headers={SECRET_HEADER: channel.secret_token})
        assert right.status_code == 200
        assert bot_api.sent_to(USER) == []  # the one reply travels in the answer (one process)
        assert right.json()["text"] == say("menu", "zh-Hans")

        for body in (b"{not json", b"[1, 2]", b'{"update_id": 2, "message": "x"}', b'{"message": {"text": "hi"}}'):
            bad = await client.post("/telegram", content=body, headers={SECRET_HEADER: channel.secret_token})
            assert bad.status_code == 400
        assert (await client.get("/healthz")).text == "ok"


async def test_configured_secret_is_used_and_polling_channel_has_no_routes(
    bot_api: FakeBotApi, knowledge: KnowledgeSource, memory_store: MemoryStore
) -> None:
    services = make_services(
        bot_api,
        knowledge,
        memory_store,
        telegram_webhook_url="https://anxin.example/telegram",
        telegram_webhook_secret=Secret("configured_secret-1"),
    )
    [channel] = configured_channels(services)
    assert isinstance(channel, TelegramChannel)
    assert channel.secret_token == "configured_secret-1"
    assert [getattr(route, "path", None) for route in channel.routes()] == ["/telegram"]
    polling_channel = telegram_channel(make_services(bot_api, knowledge, memory_store))
    assert polling_channel.routes() == []


# --- the whole program -----------------------------------------------------------------------------------


async def test_anxin_run_answers_over_telegram_and_exits_cleanly_on_sigint(
    bot_api: FakeBotApi, kb_dir: Path, data_dir: Path
) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": bot_api.url,
        "BOT_CONTENT_DIR": str(kb_dir),
        "BOT_DATA_DIR": str(data_dir),
        "BOT_SECRET": "subprocess-secret",
    }
    for name in ("TELEGRAM_WEBHOOK_URL", "TELEGRAM_ADMIN_IDS", "WECHAT_TOKEN", "BOT_WATCH"):
        env.pop(name, None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await bot_api.wait_for(lambda: bool(bot_api.called("getUpdates")), within=30)
        bot_api.push(fake.message(USER, "催收打电话给我妈妈合法吗"))
        [answer] = await bot_api.replies(USER, within=10)
        assert "依据：民法典第1033条" in text_of(answer)

        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=5)
        assert time.monotonic() - started < 5
        assert process.returncode == 0, stderr.decode()
        assert "催收" not in stderr.decode()
        assert TOKEN not in stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_care_mode_over_telegram_buttons_lead_to_the_next_line(
    bot_api: FakeBotApi, polling: TelegramChannel
) -> None:
    bot_api.push(fake.message(USER, "我真的不想活了"))
    [crisis] = await bot_api.replies(USER)
    assert "12356" in text_of(crisis)
    assert [payload for _, payload in buttons_of(crisis)] == ["k:no_answer", "k:no_phone", "k:safe_now"]
    bot_api.push(fake.button_press(USER, "k:no_answer"))
    [next_line] = await bot_api.replies(USER)
    assert "400-161-9995" in text_of(next_line)
    bot_api.push(fake.message(USER, "还是打不通"))
    [again] = await bot_api.replies(USER)
    assert "010-82951332" in text_of(again)


async def test_thumbs_under_an_answer_are_one_row_and_a_press_is_counted(
    bot_api: FakeBotApi, polling: TelegramChannel, memory_store: MemoryStore
) -> None:
    bot_api.push(fake.message(USER, "催收打电话给我妈妈合法吗"))
    [answer] = await bot_api.replies(USER)
    rows = answer.params["reply_markup"]["inline_keyboard"]
    thumbs = [(button["text"], button["callback_data"]) for button in rows[-1]]
    assert thumbs == [("👍 有帮助", "h:y.legal.contact_contacts"), ("👎 没帮助", "h:n.legal.contact_contacts")]
    bot_api.push(fake.button_press(USER, "h:n.legal.contact_contacts"))
    [sorry] = await bot_api.replies(USER)
    assert text_of(sorry) == say("feedback_sorry", "zh-Hans")
    await bot_api.wait_for(lambda: len(memory_store.events) == 2)  # counted once the reply is sent
    assert [(event.kind, event.intent) for event in memory_store.events] == [
        ("answer", "legal.contact_contacts"),
        ("unhelpful", "legal.contact_contacts"),
    ]

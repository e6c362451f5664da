"""Bad input and store faults never take the bot down: every message gets a bounded reply, logs stay quiet.

Property tests feed the dialog engine arbitrary Unicode, huge messages, control characters, emoji,
random commands, button payloads and media kinds. Store tests use a fake store whose disk can be made to
fail, and the real SQLite store with its file deleted, its disk full or its database locked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dialog import Dialog
from bot.knowledge import KnowledgeBase, KnowledgeSource
from bot.messages import TOPICS
from bot.models import LOCALES, Incoming, Locale, Reply
from bot.runner import open_store
from bot.settings import Secret, Settings
from bot.state import MemoryStore, Session, UsageEvent
from bot.store import SqliteStore

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
USER = "f" * 64
TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CALLBACK_BYTES = 64


@pytest.fixture(scope="module")
def source() -> KnowledgeSource:
    return KnowledgeSource(FIXTURES / "kb")


def assert_within_bounds(replies: Sequence[Reply]) -> None:
    assert 1 <= len(replies) <= 3
    for reply in replies:
        assert reply.text.strip(), "a reply with no text"
        assert len(reply.text) < TELEGRAM_TEXT_LIMIT
        for button in reply.buttons:
            assert button.label.strip()
            assert 0 < len(button.payload.encode("utf-8")) <= TELEGRAM_CALLBACK_BYTES


# --- Strategies ---------------------------------------------------------------------------------------

FIXTURE_PHRASES = ["催收打电话给我妈妈合法吗", "爆通讯录", "半夜", "12378", "我不想活了", "you", "contacts", "1"]
controls = st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), min_size=1)
emoji = st.lists(
    st.one_of(
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
        st.sampled_from(["\u200d", "\ufe0f", "\U0001f3fb", "🇨🇳", "❤️", "👨‍👩‍👧"]),
    ),
    min_size=1,
).map("".join)
# Lone surrogates reach us through JSON escapes ("\ud800") in a malformed update.
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1)
mixed = st.lists(st.one_of(st.sampled_from(FIXTURE_PHRASES), st.text(max_size=5), controls, emoji)).map("".join)
huge = st.builds(
    lambda piece, extra: (piece * (10_000 // len(piece) + 1)) + extra,
    st.one_of(st.text(min_size=1, max_size=20), st.sampled_from(FIXTURE_PHRASES)),
    st.text(max_size=20),
)
any_text = st.one_of(st.text(), controls, emoji, surrogates, mixed, huge)
commands = st.builds(lambda name, rest: f"/{name}{rest}", st.text(max_size=12), st.text(max_size=40))
known_values = st.sampled_from(
    ["legal.contact_contacts", "wellbeing.crisis", "oos.chitchat", "menu", "", "no.such_intent", *TOPICS, *LOCALES]
)
payloads = st.one_of(
    st.text(max_size=100),
    st.builds(lambda kind, value: f"{kind}:{value}", st.sampled_from("amtcnlx"), st.one_of(known_values, st.text())),
)
media_kinds = st.one_of(st.sampled_from(["sticker", "photo", "voice", "video", "location"]), st.text())


def incoming(text: str = "", *, button: str | None = None, media: str | None = None) -> Incoming:
    return Incoming("test", USER, text, button=button, media=media)


actions = st.one_of(
    any_text.map(incoming),
    commands.map(incoming),
    payloads.map(lambda payload: incoming(button=payload)),
    media_kinds.map(lambda kind: incoming(media=kind)),
    st.integers(0, 20).map(lambda number: incoming(str(number))),
)


# --- Bad input ----------------------------------------------------------------------------------------


@given(text=any_text)
async def test_any_text_gets_a_bounded_reply(source: KnowledgeSource, text: str) -> None:
    assert_within_bounds(await Dialog(source, MemoryStore()).handle(incoming(text)))


@given(text=huge)
@settings(max_examples=30)
async def test_huge_message_gets_a_bounded_reply(source: KnowledgeSource, text: str) -> None:
    assert len(text) >= 10_000
    assert_within_bounds(await Dialog(source, MemoryStore()).handle(incoming(text)))


@given(text=emoji)
async def test_emoji_only_message_gets_a_bounded_reply(source: KnowledgeSource, text: str) -> None:
    assert_within_bounds(await Dialog(source, MemoryStore()).handle(incoming(text)))


@given(text=controls)
async def test_control_characters_get_a_bounded_reply(source: KnowledgeSource, text: str) -> None:
    assert_within_bounds(await Dialog(source, MemoryStore()).handle(incoming(text)))


@given(payload=payloads)
async def test_random_button_payload_gets_a_bounded_reply(source: KnowledgeSource, payload: str) -> None:
    assert_within_bounds(await Dialog(source, MemoryStore()).handle(incoming(button=payload)))


@given(kind=media_kinds)
async def test_any_media_kind_gets_a_bounded_reply(source: KnowledgeSource, kind: str) -> None:
    assert_within_bounds(await Dialog(source, MemoryStore()).handle(incoming(media=kind)))


@given(command=commands)
async def test_any_command_gets_a_bounded_reply(source: KnowledgeSource, command: str) -> None:
    assert_within_bounds(await Dialog(source, MemoryStore()).handle(incoming(command)))


@given(conversation=st.lists(actions, min_size=1, max_size=12))
@settings(max_examples=100)
async def test_any_conversation_gets_bounded_replies(source: KnowledgeSource, conversation: list[Incoming]) -> None:
    dialog = Dialog(source, MemoryStore())  # one user, so numbers and buttons act on earlier replies
    for message in conversation:
        assert_within_bounds(await dialog.handle(message))


@pytest.fixture(scope="module")
def bundled(bundled_knowledge: KnowledgeBase) -> KnowledgeSource:
    return KnowledgeSource(REPO)  # after this process's first load (conftest): its safety net, not trained again


@given(conversation=st.lists(actions, min_size=1, max_size=8))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
async def test_any_conversation_on_the_bundled_content_gets_bounded_replies(
    bundled: KnowledgeSource, conversation: list[Incoming]
) -> None:
    dialog = Dialog(bundled, MemoryStore())
    for message in conversation:
        assert_within_bounds(await dialog.handle(message))


# --- Store faults, with a fake store ------------------------------------------------------------------


class DiskError(OSError):
    """What a dying disk raises (sqlite3 raises its own errors; the dialog must not care which)."""


class FlakyStore(MemoryStore):
    """A working in-memory store whose disk can fail: entirely, or for writes only (read-only file)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads_fail = False
        self.writes_fail = False

    def _check(self, write: bool) -> None:
        if self.reads_fail or (write and self.writes_fail):
            raise DiskError(28, "No space left on device")

    async def get_session(self, user: str) -> Session | None:
        self._check(write=False)
        return await super().get_session(user)

    async def put_session(self, session: Session) -> None:
        self._check(write=True)
        await super().put_session(session)

    async def record_event(self, event: UsageEvent) -> None:
        self._check(write=True)
        await super().record_event(event)

    async def record_unanswered(self, user: str, channel: str, locale: Locale, text: str, at: float) -> None:
        self._check(write=True)
        await super().record_unanswered(user, channel, locale, text, at)

    async def forget(self, user: str) -> None:
        self._check(write=True)
        await super().forget(user)


BURST = ["爆通讯录了怎么办", "1", "半夜打电话催收", "今天天气怎么样", "/start", "2", "完全无关的一句话"]


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("fault", ["everything fails", "writes fail"])
async def test_store_outage_keeps_answering_logs_once_and_loses_nothing(
    knowledge: KnowledgeSource, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    store = FlakyStore()
    dialog = Dialog(knowledge, store)
    await dialog.handle(incoming("爆通讯录了怎么办"))
    sessions_before = dict(store.sessions)
    events_before = list(store.events)
    assert sessions_before and events_before

    store.reads_fail = fault == "everything fails"
    store.writes_fail = True
    with caplog.at_level(logging.WARNING, logger="bot"):
        for text in BURST * 3:
            replies = await dialog.handle(incoming(text))
            assert_within_bounds(replies)
        assert (await dialog.handle(incoming("爆通讯录了怎么办")))[0].text.startswith("不合法。")
    assert len(error_records(caplog)) == 1
    assert store.sessions == sessions_before
    assert store.events == events_before

    store.reads_fail = store.writes_fail = False
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot"):
        await dialog.handle(incoming("爆通讯录了怎么办"))
    assert [record.getMessage() for record in caplog.records] == ["store recovered"]
    assert len(store.events) == len(events_before) + 1


async def test_forget_during_an_outage_says_so_and_keeps_the_records(
    knowledge: KnowledgeSource, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore()
    dialog = Dialog(knowledge, store)
    await dialog.handle(incoming("爆通讯录了怎么办"))
    store.writes_fail = True
    with caplog.at_level(logging.ERROR, logger="bot"):
        reply = (await dialog.handle(incoming("/forget")))[0]
    assert "/forget" in reply.text  # "please send /forget again later", not a false "deleted"
    assert USER in store.sessions


# --- Store faults, on the real SQLite store -----------------------------------------------------------

EARLIER = ["爆通讯录了怎么办", "半夜打电话催收", "今天天气怎么样"]


def rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("sessions", "events", "unanswered")
        }


def delete_database_files(data_dir: Path) -> None:
    for leftover in data_dir.glob("anxin.sqlite3*"):
        leftover.unlink()


async def talk(dialog: Dialog, texts: list[str], user: str = "s" * 64) -> None:
    for text in texts:
        assert_within_bounds(await dialog.handle(Incoming("test", user, text)))


@contextlib.contextmanager
def disk_full_after(path: Path) -> Iterator[None]:
    """No file may grow past the database's current size (EFBIG), as on a full disk.

    The database's own size, not its log's: at a fault the store reopens, the log is checkpointed into
    the database and restarts at offset 0, so a limit at the log's size would leave room to write.
    """
    limit = path.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


async def test_full_disk_keeps_answering_logs_once_and_keeps_earlier_rows(
    knowledge: KnowledgeSource, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = data_dir / "anxin.sqlite3"
    store = await SqliteStore.open(path)
    try:
        dialog = Dialog(knowledge, store)
        await talk(dialog, EARLIER)
        before = rows(path)
        assert before["sessions"] and len(before["events"]) == len(EARLIER)
        with caplog.at_level(logging.WARNING, logger="bot"), disk_full_after(path):
            await talk(dialog, BURST * 2, user="t" * 64)
        assert len(error_records(caplog)) == 1, [r.getMessage() for r in error_records(caplog)]

        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot"):
            await talk(dialog, ["爆通讯录了怎么办"], user="u" * 64)  # space again: state is written once more
        assert "store recovered" in caplog.text
        assert not error_records(caplog)
    finally:
        await store.close()
    after = rows(path)
    for table, written in before.items():
        assert set(written) <= set(after[table]), table
    assert len(after["events"]) == len(EARLIER) + 1


async def test_locked_database_keeps_answering_logs_once_and_keeps_earlier_rows(
    knowledge: KnowledgeSource, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = data_dir / "anxin.sqlite3"
    store = await SqliteStore.open(path, busy_timeout_ms=10)
    try:
        dialog = Dialog(knowledge, store)
        await talk(dialog, EARLIER)
        before = rows(path)
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock for good
            with caplog.at_level(logging.WARNING, logger="bot"):
                await talk(dialog, BURST[:3], user="t" * 64)  # each write waits and retries: keep it short
            assert len(error_records(caplog)) == 1, [r.getMessage() for r in error_records(caplog)]
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot"):
            await talk(dialog, ["爆通讯录了怎么办"], user="u" * 64)
        assert "store recovered" in caplog.text
    finally:
        await store.close()
    after = rows(path)
    for table, written in before.items():
        assert set(written) <= set(after[table]), table


async def test_deleted_database_file_is_recreated_and_the_bot_keeps_answering(
    knowledge: KnowledgeSource, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = data_dir / "anxin.sqlite3"
    store = await SqliteStore.open(path)
    try:
        dialog = Dialog(knowledge, store)
        await talk(dialog, EARLIER)
        delete_database_files(data_dir)  # an operator's `rm`, or a cleanup job, while the bot runs
        with caplog.at_level(logging.WARNING, logger="bot"):
            await talk(dialog, BURST * 2, user="t" * 64)
        assert len(error_records(caplog)) <= 1
    finally:
        await store.close()
    after = rows(path)  # a fresh, valid database holding what came after the deletion
    assert after["sessions"] and len(after["events"]) >= len(BURST)


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """File permissions do not bind root: when tests run as root, act as `nobody` for the block."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def world_readable_temp_dir() -> Path:
    """Not under pytest's temp dir, which only its owner may enter."""
    base = Path(tempfile.mkdtemp(prefix="anxin-readonly-"))
    base.chmod(0o755)
    return base


def make_read_only(data_dir: Path) -> None:
    for path in data_dir.iterdir():
        path.chmod(0o444)
    data_dir.chmod(0o555)


def make_writable(data_dir: Path) -> None:
    data_dir.chmod(0o755)
    for path in data_dir.iterdir():
        path.chmod(0o644)


async def test_read_only_database_at_runtime_and_at_restart_keeps_answering_and_keeps_rows(
    knowledge: KnowledgeSource, caplog: pytest.LogCaptureFixture
) -> None:
    base = world_readable_temp_dir()
    try:
        settings = Settings(data_dir=base / "data", content_dir=knowledge.root, secret=Secret("test"))
        store = await open_store(settings)
        assert isinstance(store, SqliteStore)
        await talk(Dialog(knowledge, store), EARLIER)
        path = store.path
        before = rows(path)
        make_read_only(settings.data_dir)
        with caplog.at_level(logging.WARNING, logger="bot"), unprivileged():
            # The running bot holds its file open, so it may go on writing; it must not stop answering.
            await talk(Dialog(knowledge, store), BURST, user="t" * 64)
            await store.close()
            # After a restart the file cannot be written: memory or a failing store, answers either way.
            restarted = await open_store(settings)
            try:
                await talk(Dialog(knowledge, restarted), BURST * 2, user="u" * 64)
            finally:
                await restarted.close()
        assert len(error_records(caplog)) == 1, [r.getMessage() for r in error_records(caplog)]
        make_writable(settings.data_dir)
        after = rows(path)
        for table, written in before.items():
            assert set(written) <= set(after[table]), table
    finally:
        make_writable(base / "data")
        shutil.rmtree(base)


async def test_a_store_outage_is_logged_when_it_starts_and_ends_not_per_message(
    knowledge: KnowledgeSource, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = data_dir / "anxin.sqlite3"
    store = await SqliteStore.open(path)
    try:
        dialog = Dialog(knowledge, store)
        await talk(dialog, EARLIER)
        with caplog.at_level(logging.INFO, logger="bot"), disk_full_after(path):
            for n in range(300):
                await dialog.handle(Incoming("test", f"{n:064d}", BURST[n % len(BURST)]))
        assert store.problem() is not None
        with caplog.at_level(logging.INFO, logger="bot"):
            await talk(dialog, ["爆通讯录了怎么办"], user="u" * 64)
        assert store.problem() is None
    finally:
        await store.close()
    lines = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(lines) <= 4, lines  # the store: unavailable, works again; the dialog: failed, recovered
    assert sum("database unavailable" in line for line in lines) == 1
    assert lines.count("database works again") == 1

"""Privacy by design, checked on the bytes: no phone numbers or raw platform ids in the database or the logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from conftest import anxin

from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.models import Incoming
from bot.privacy import load_or_create_secret, pseudonym, redact
from bot.store import DB_FILE, SqliteStore

REPO = Path(__file__).parent.parent
PHONE = "13812345678"
ID_NUMBER = "110101199003071234"
BANK_CARD = "6222 0212 3456 7890 123"
TELEGRAM_ID = 5550001234
WECHAT_OPENID = "oX3fK2-privacy-test-openid"
DEBUG_LOGS = {"BOT_LOG_LEVEL": "DEBUG"}  # the most talkative logs must still hold no number or id


def database_bytes(data_dir: Path) -> dict[str, bytes]:
    """The database and its write-ahead log and shared-memory files, as an attacker with the disk sees them."""
    return {file.name: file.read_bytes() for file in data_dir.glob(DB_FILE + "*")}


def test_piped_console_session_stores_no_number_or_platform_id(kb_dir: Path, data_dir: Path) -> None:
    stdin = f"我电话是{PHONE},催收天天打\nasdkjqwe zzz\n"
    session = anxin("chat", "--store", kb_dir=kb_dir, data_dir=data_dir, stdin=stdin, env=DEBUG_LOGS)
    assert session.returncode == 0, session.stderr

    files = database_bytes(data_dir)
    assert DB_FILE in files
    secret = load_or_create_secret(data_dir)
    for name, content in files.items():
        assert PHONE.encode() not in content, name
        assert b"console:local" not in content, name  # the console's platform id, as the HMAC input
        assert secret not in content, name
    assert PHONE not in session.stderr

    stats = anxin("stats", "--json", kb_dir=kb_dir, data_dir=data_dir, env=DEBUG_LOGS)
    assert stats.returncode == 0, stats.stderr
    report = json.loads(stats.stdout)
    assert report["messages"] == 2
    assert sum(report["kinds"].values()) == 2  # a low-confidence answer ("not what you meant?") and a fallback
    assert "我电话是[手机号],催收天天打" in [item["name"] for item in report["top_unanswered"]]
    # Only the pseudonym identifies the user: HMAC-SHA256(secret, "console:local").
    assert pseudonym(secret, "console", "local").encode() in files[DB_FILE]


async def test_platform_ids_and_numbers_never_reach_the_database_or_the_logs(
    knowledge: KnowledgeSource, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = b"privacy-test-secret"
    store = await SqliteStore.open(data_dir / DB_FILE)
    dialog = Dialog(knowledge, store)
    messages = (
        f"我电话是{PHONE},催收天天打",
        f"身份证{ID_NUMBER}被他们发到群里了",
        f"卡号 {BANK_CARD} 被冻结",
        "my email is zhang.san@example.com http://example.com/me",
        "asdkjqwe zzz",
    )
    try:
        for channel, raw_id in (("telegram", TELEGRAM_ID), ("wechat", WECHAT_OPENID)):
            # What an adapter does: the raw id goes into the HMAC and nowhere else.
            user = pseudonym(secret, channel, raw_id)
            for text in messages:
                await dialog.handle(Incoming(channel, user, text))
        files = database_bytes(data_dir)  # read while the bot runs: the write-ahead log holds fresh rows
    finally:
        await store.close()

    assert any(name.endswith("-wal") for name in files)
    forbidden = (
        PHONE,
        ID_NUMBER,
        BANK_CARD,
        BANK_CARD.replace(" ", ""),
        "zhang.san@example.com",
        "example.com",
        str(TELEGRAM_ID),
        WECHAT_OPENID,
    )
    for name, content in [*files.items(), *database_bytes(data_dir).items()]:
        for value in forbidden:
            assert value.encode() not in content, (name, value)
    for value in forbidden:
        assert value not in caplog.text, value
    for text in messages:
        assert text not in caplog.text


def test_redaction_covers_every_kind_of_number_the_issue_names() -> None:
    text = redact(f"电话{PHONE} +86 138 1234 5678 身份证{ID_NUMBER} 卡{BANK_CARD} a.b@qq.com www.x.cn/y")
    for value in (PHONE, "138 1234 5678", ID_NUMBER, BANK_CARD, "a.b@qq.com", "www.x.cn"):
        assert value not in text

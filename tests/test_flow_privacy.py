"""Nothing a person tells a guided flow is stored or logged: the database file and the logs are read as bytes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.models import Incoming, Reply
from bot.store import SqliteStore

USER = "p" * 64
NAME = "欧阳娜娜"
PHONE = "13912345678"
LENDER = "拍拍贷"
COLLECTOR = "自称王经理工号8341"
FIGURES = ("8765", "10432")  # a loan's figures, as unusual as the name, so a stray copy could not hide


def secrets_in(data: bytes) -> list[str]:
    found = [secret for secret in (NAME, PHONE, LENDER, COLLECTOR, *FIGURES) if secret.encode() in data]
    # Text may also be stored in another encoding, or JSON-escaped: check those too.
    for secret in (NAME, LENDER):
        if secret.encode("utf-16-le") in data or secret.encode("unicode_escape") in data:
            found.append(secret)
    return found


def database_bytes(data_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("anxin.sqlite3*")))


async def send(dialog: Dialog, text: str = "", *, button: str | None = None) -> list[Reply]:
    return await dialog.handle(Incoming("test", USER, text, button=button))


async def test_a_complaint_and_a_rate_leave_nothing_of_the_story_in_the_database_or_the_logs(
    repo_knowledge: KnowledgeSource, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = await SqliteStore.open(data_dir / "anxin.sqlite3")
    dialog = Dialog(repo_knowledge, store)
    try:
        await send(dialog, "催收天天打电话骚扰我")  # an ordinary question first: the session exists on disk
        await send(dialog, "/complain")
        await send(dialog, button="f:c.region.mainland")
        await send(dialog, f"{LENDER} 我叫{NAME} 电话{PHONE}")  # all of it typed where the lender's name goes
        await send(dialog, "1 5 7")
        await send(dialog, f"{NAME}被催了三个月")  # typed instead of a choice
        await send(dialog, "每天二三十个")
        await send(dialog, f"{COLLECTOR} 用{PHONE}打来")
        await send(dialog, "1 2")
        final = await send(dialog, "2 3")
        letters = "".join(reply.copy for reply in final)
        assert NAME in letters and PHONE in letters and LENDER in letters  # the letter has it all…
        await send(dialog, f"借了{FIGURES[1]} 到手{FIGURES[0]} 分12期 每期还1000 年化多少")
        await send(dialog, f"借了{FIGURES[1]} 到手{FIGURES[0]}")
        await send(dialog, "12")
        await send(dialog, "1000")

        # …and nothing else has: not the database (its file, write-ahead log included), not the log.
        assert secrets_in(database_bytes(data_dir)) == []
        logged = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
        assert secrets_in(logged.encode()) == []
        kinds = [(row.kind, row.intent) for row in (await store.usage("2000-01-01")).events]
        assert ("letter", "letters:lender+regulator+police") in kinds
        assert ("rate", "legal.interest_fees") in kinds
        assert (await store.usage("2000-01-01")).unanswered == ()
    finally:
        await store.close()
    assert not dialog.flows.active(USER)


async def test_a_flow_cut_short_by_a_restart_leaves_nothing_behind(
    repo_knowledge: KnowledgeSource, data_dir: Path
) -> None:
    store = await SqliteStore.open(data_dir / "anxin.sqlite3")
    try:
        dialog = Dialog(repo_knowledge, store)
        await send(dialog, "/complain")
        await send(dialog, button="f:c.region.mainland")
        await send(dialog, f"{LENDER} {NAME} {PHONE}")
        await send(dialog, "1 5")
        await send(dialog, f"{COLLECTOR}")
        restarted = Dialog(repo_knowledge, store)  # the process is gone, and the answers with it
        assert "中断" in "".join(reply.text for reply in await restarted.handle(Incoming("test", USER, "2")))
        assert secrets_in(database_bytes(data_dir)) == []
    finally:
        await store.close()



async def test_forget_and_cancel_empty_the_cache_of_recent_texts(
    repo_knowledge: KnowledgeSource, data_dir: Path
) -> None:
    """`normalise` keeps its last few results (bot/text.py): a story told to a flow must not stay there either."""
    from bot.text import _normalise_recent, normalise

    store = await SqliteStore.open(data_dir / "anxin.sqlite3")
    dialog = Dialog(repo_knowledge, store)
    story = f"{LENDER} 我叫{NAME} 电话{PHONE}"
    try:
        for leave in ("/forget", "/cancel"):
            await send(dialog, "/complain")
            await send(dialog, button="f:c.region.mainland")
            await send(dialog, story)
            hits = _normalise_recent.cache_info().hits
            normalise(story)
            assert _normalise_recent.cache_info().hits == hits + 1  # the story is in the cache while the flow runs…
            await send(dialog, leave)
            assert _normalise_recent.cache_info().currsize == 0, leave  # …and leaving the flow empties it
    finally:
        await store.close()

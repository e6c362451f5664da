"""Live reload: content edited under a running bot; broken edits keep the old content, fixed ones are served."""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.models import Incoming, Reply
from bot.state import MemoryStore
from bot.watch import reload_knowledge, snapshot, start_live_reload, watch

REPO = Path(__file__).parent.parent
USER = "r" * 64
QUESTION = "爆通讯录了怎么办"
OLD_ANSWER = "不合法。催收只能找借款人本人。"
NEW_ANSWER = "新版回答:催收不得联系你的亲友。"


async def ask(dialog: Dialog, text: str = "", *, button: str | None = None) -> Reply:
    replies = await dialog.handle(Incoming("test", USER, text, button=button))
    assert len(replies) == 1
    return replies[0]


def answers_file(kb_dir: Path) -> Path:
    return kb_dir / "faq" / "zh-Hans" / "main.yaml"


def rewrite_answer(kb_dir: Path, new_text: str, *, break_with: str | None = None) -> None:
    path = answers_file(kb_dir)
    text = path.read_text(encoding="utf-8").replace(OLD_ANSWER, new_text)
    if break_with == "tab":
        text = text.replace("  reviewed: 2026-11-29", "\treviewed: 2026-11-29", 1)
    path.write_text(text, encoding="utf-8")
    if break_with == "duplicate id":
        intents = kb_dir / "intents" / "main.yaml"
        original = intents.read_text(encoding="utf-8")
        intents.write_text(original + "- id: meta.greeting\n  title: {zh-Hans: 再见, en: Bye}\n  examples: [再见]\n")


async def eventually(check: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("break_with", ["tab", "duplicate id"])
async def test_broken_edit_keeps_old_answer_and_fixed_edit_is_served_without_restart(
    kb_dir: Path, caplog: pytest.LogCaptureFixture, break_with: str
) -> None:
    source = KnowledgeSource(kb_dir)
    dialog = Dialog(source, MemoryStore())
    watcher = asyncio.create_task(watch(source, poll_seconds=0.02, settle_seconds=0.02))
    try:
        await asyncio.sleep(0.1)  # the watcher takes its first snapshot
        assert (await ask(dialog, QUESTION)).text.startswith(OLD_ANSWER)

        caplog.set_level(logging.ERROR, logger="bot")
        rewrite_answer(kb_dir, NEW_ANSWER, break_with=break_with)
        await eventually(lambda: any("content problem(s)" in r.getMessage() for r in caplog.records))
        reply = await ask(dialog, QUESTION)
        if break_with == "tab":  # the broken answers file: its last good version keeps serving
            assert reply.text.startswith(OLD_ANSWER)
            assert source.stood_in == (answers_file(kb_dir),)
        else:  # the broken intents file serves its last good version; the clean answers file is live
            assert reply.text.startswith(NEW_ANSWER)
            assert source.stood_in == (kb_dir / "intents" / "main.yaml",)
            assert source.current.decide("再见").intent != "meta.greeting"

        shutil_copy_fixture(kb_dir)
        rewrite_answer(kb_dir, NEW_ANSWER)
        await eventually(lambda: source.current.answer("legal.contact_contacts", "zh-Hans").text == NEW_ANSWER)
        assert (await ask(dialog, QUESTION)).text.startswith(NEW_ANSWER)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


def shutil_copy_fixture(kb_dir: Path) -> None:
    """Put the fixture files back as they were (the volunteer undoes the broken edit)."""
    fixtures = Path(__file__).parent / "fixtures" / "kb"
    for relative in ("intents/main.yaml", "faq/zh-Hans/main.yaml"):
        (kb_dir / relative).write_text((fixtures / relative).read_text(encoding="utf-8"), encoding="utf-8")


def test_snapshot_sees_added_changed_and_removed_content_files(kb_dir: Path) -> None:
    before = snapshot(kb_dir)
    assert str(answers_file(kb_dir)) in before
    extra = kb_dir / "intents" / "extra.yaml"
    extra.write_text("[]\n", encoding="utf-8")
    assert str(extra) in snapshot(kb_dir)
    extra.unlink()
    (kb_dir / "notes.txt").write_text("not content", encoding="utf-8")
    assert snapshot(kb_dir) == before


def remove_intent(kb_dir: Path, intent_id: str) -> None:
    """Delete an intent everywhere it appears, as a volunteer retiring it would (comments are lost)."""
    intents_path = kb_dir / "intents" / "main.yaml"
    intents = yaml.safe_load(intents_path.read_text(encoding="utf-8"))
    kept = [entry for entry in intents if entry["id"] != intent_id]
    for entry in kept:
        if "related" in entry:
            entry["related"] = [related for related in entry["related"] if related != intent_id]
    intents_path.write_text(yaml.safe_dump(kept, allow_unicode=True), encoding="utf-8")
    for path in (kb_dir / "faq").glob("*/*.yaml"):
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
        kept_answers = [entry for entry in entries if entry["intent"] != intent_id]
        path.write_text(yaml.safe_dump(kept_answers, allow_unicode=True), encoding="utf-8")


async def test_conversation_survives_reload_that_removes_the_intent_its_buttons_point_to(kb_dir: Path) -> None:
    source = KnowledgeSource(kb_dir)
    dialog = Dialog(source, MemoryStore())
    offered = await ask(dialog, QUESTION)
    assert "a:rights.family_liability" in [button.payload for button in offered.buttons]

    remove_intent(kb_dir, "rights.family_liability")
    assert await reload_knowledge(source, "test") == ()
    assert "rights.family_liability" not in source.current.intents

    # The option picked by its number, as on text-only channels, and the button itself.
    for stale in (await ask(dialog, "2"), await ask(dialog, button="a:rights.family_liability")):
        assert stale.text.startswith("这个选项已经失效了")
        assert stale.buttons  # a topic menu, so the user can go on

    offered = await ask(dialog, QUESTION)
    assert [button.payload for button in offered.buttons] == [
        "m:legal.contact_contacts",
        "a:report.regulator",
        "f:complain.contacts",
    ]
    remove_intent(kb_dir, "report.regulator")
    assert await reload_knowledge(source, "test") == ()
    assert (await ask(dialog, "2")).text.startswith("这个选项已经失效了")
    assert (await ask(dialog, button="m:legal.contact_contacts")).text == "保留通话录音和截图。"


async def test_concurrent_reloads_and_messages_all_get_answers(kb_dir: Path) -> None:
    source = KnowledgeSource(kb_dir)
    dialog = Dialog(source, MemoryStore())
    reloads = [reload_knowledge(source, "test") for _ in range(5)]
    questions = [ask(dialog, QUESTION) for _ in range(20)]
    results = await asyncio.gather(*reloads, *questions)
    assert all(result == () for result in results[:5])
    assert all(isinstance(reply, Reply) and reply.text.startswith(OLD_ANSWER) for reply in results[5:])


async def test_sighup_reloads_the_knowledge_base_in_process(kb_dir: Path) -> None:
    source = KnowledgeSource(kb_dir)
    live = start_live_reload(source, watch_files=False)
    try:
        rewrite_answer(kb_dir, NEW_ANSWER)
        os.kill(os.getpid(), signal.SIGHUP)  # handled by the loop while `live` is running
        await eventually(lambda: source.current.answer("legal.contact_contacts", "zh-Hans").text == NEW_ANSWER)
    finally:
        await live.stop()


async def test_watcher_started_by_live_reload_stops_cleanly(kb_dir: Path) -> None:
    source = KnowledgeSource(kb_dir)
    live = start_live_reload(source, watch_files=True)
    await asyncio.sleep(0.05)
    await live.stop()


class _Lines:
    """Reads a child's stdout on a thread so the test can wait for a line with a timeout."""

    def __init__(self, stream: object) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line)

    def wait_for(self, text: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                if text in self.lines.get(timeout=left):
                    return True
            except queue.Empty:
                return False
        return False


def test_sighup_reloads_content_in_the_console_chat(kb_dir: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BOT_CONTENT_DIR": str(kb_dir),
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "BOT_SECRET": "test-secret-of-16+chars",
        "PYTHONIOENCODING": "utf-8",
    }
    env.pop("BOT_WATCH", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        output = _Lines(child.stdout)

        def send(text: str) -> None:
            assert child.stdin is not None
            child.stdin.write(text + "\n")
            child.stdin.flush()

        send(QUESTION)
        assert output.wait_for(OLD_ANSWER, 60), "the chat did not answer"
        rewrite_answer(kb_dir, NEW_ANSWER)
        child.send_signal(signal.SIGHUP)
        served = False
        for _ in range(30):  # the reload runs in a thread; ask until the new answer comes back
            send(QUESTION)
            if output.wait_for(NEW_ANSWER, 1.0):
                served = True
                break
        assert served, "the new answer was not served after SIGHUP"
        child.stdin.close()
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()

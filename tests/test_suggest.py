"""`anxin suggest`: unanswered questions from a real database, grouped into drafts that never go live."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import yaml
from conftest import anxin

from bot.knowledge import load_knowledge
from bot.store import DB_FILE, SqliteStore
from bot.suggest import group
from bot.usage import UnansweredCount

QUESTIONS = [
    ("u1", "催收半夜两点打电话"),
    ("u2", "半夜两点催收还在打電話"),
    ("u3", "催收半夜两点打电话"),
    ("u4", "怎么把网贷的会员自动续费关掉"),
    ("u5", "网贷会员自动续费怎么关"),
    ("u6", "今天天气不错"),
]


def fill(data_dir: Path) -> None:
    async def run() -> None:
        store = await SqliteStore.open(data_dir / DB_FILE)
        try:
            for user, text in QUESTIONS:
                await store.record_unanswered(user, "telegram", "zh-Hans", text, time.time())
        finally:
            await store.close()

    asyncio.run(run())


def test_similar_questions_fall_together_across_scripts(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir).knowledge
    rows = [UnansweredCount(text, "telegram", "zh-Hans", 1) for _, text in QUESTIONS]
    groups = group(rows, kb)
    texts = [sorted(text for text, _ in g.questions) for g in groups]
    assert sorted(["半夜两点催收还在打電話", "催收半夜两点打电话"]) in texts
    assert sorted(["怎么把网贷的会员自动续费关掉", "网贷会员自动续费怎么关"]) in texts
    assert ["今天天气不错"] in texts
    night = next(g for g in groups if "催收半夜两点打电话" in dict(g.questions))
    assert night.asked == 3  # asked twice in the same words, once in Traditional
    assert night.closest == "legal.call_hours"


def test_suggest_writes_drafts_outside_the_content_and_json_on_request(
    kb_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    fill(data_dir)
    out = tmp_path / "drafts"
    result = anxin("suggest", "--days", "7", "--out", str(out), kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    files = sorted(out.glob("*.yaml"))
    assert len(files) == 3
    first = files[0].read_text(encoding="utf-8")
    assert first.startswith("# Draft 1: 2 similar unanswered question(s), asked 3 time(s) in the last 7 day(s).")
    assert "The bot never reads this file." in first
    draft = yaml.safe_load(first)
    assert draft["closest_intent"] == "legal.call_hours"
    assert sorted(draft["examples"]) == sorted(["半夜两点催收还在打電話", "催收半夜两点打电话"])
    assert files[0].name == "01-legal-call_hours.yaml"
    # The drafts changed nothing the bot loads.
    assert load_knowledge(kb_dir).errors == ()

    as_json = json.loads(anxin("suggest", "--json", kb_dir=kb_dir, data_dir=data_dir).stdout)
    assert [g["asked"] for g in as_json] == [3, 2, 1]


def test_suggest_without_a_database_says_so_in_one_line(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("suggest", kb_dir=kb_dir, data_dir=data_dir / "nowhere")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no database" in result.stderr

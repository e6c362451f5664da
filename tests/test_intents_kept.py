"""The intents files as read, kept in the data folder (`bot.knowledge`, "Intents kept between starts"): a start that
reads them gets exactly what parsing the files gives, problems included; an edited file is read afresh and its old
version forgotten; a damaged kept file or a folder that cannot be written means a fresh read, never a crash."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import copy_content

import bot.knowledge as knowledge_module
from bot.knowledge import INTENTS_CACHE_PREFIX, Intent, KnowledgeBase, load_knowledge

KEPT = f"{INTENTS_CACHE_PREFIX}*.json"


@pytest.fixture(autouse=True)
def _nets_in_this_process(bundled_knowledge: KnowledgeBase) -> None:
    """The bundled safety nets loaded once in this process, so the loads here reuse them rather than train them."""


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of the bundled content with two problems a volunteer might leave in an intents file."""
    root = copy_content(tmp_path)
    path = root / "intents" / "legal.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(number for number, line in enumerate(lines) if line.strip() == "examples:")
    repeated = lines[at + 1]
    lines.insert(at + 2, repeated)  # the same example twice in one intent
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _drafts(root: Path, cache: Path | None) -> tuple[list[tuple[object, ...]], list[str]]:
    errors: list[knowledge_module.KnowledgeError] = []
    found = knowledge_module._read(root, errors, cache)
    drafts = [
        (d.intent, d.path, d.line, d.related_lines, dict(d.written), dict(d.normalised)) for d in found.intents
    ]
    return drafts, [str(error) for error in errors]


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged intents file was parsed again")

    monkeypatch.setattr(knowledge_module, "parse_yaml", refuse)


def test_a_start_from_the_kept_intents_reads_exactly_what_parsing_gives(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh, problems = _drafts(content, None)
    assert any("repeats line" in problem for problem in problems)  # the planted problem is found
    cache = tmp_path / "cache"
    assert _drafts(content, cache) == (fresh, problems)  # the first start parses and keeps
    assert len(list(cache.glob(KEPT))) == len(list((content / "intents").glob("*.yaml")))
    whole = load_knowledge(content)
    _no_parsing(monkeypatch)
    assert _drafts(content, cache) == (fresh, problems)  # the next reads what was kept, problems included
    kept = load_knowledge(content, cache_dir=cache)
    assert [str(error) for error in kept.errors] == [str(error) for error in whole.errors]
    assert kept.knowledge.intents == whole.knowledge.intents


def test_an_edited_file_is_read_afresh_and_its_old_version_forgotten(content: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _drafts(content, cache)
    before = set(cache.glob(KEPT))
    path = content / "intents" / "legal.yaml"
    text = path.read_text(encoding="utf-8")
    added = "催收半夜打电话给我舅舅合法吗"
    path.write_text(text.replace("  examples:\n", f"  examples:\n    - {added}\n", 1), encoding="utf-8")
    drafts, _ = _drafts(content, cache)
    assert any(isinstance(draft[0], Intent) and added in draft[0].examples for draft in drafts)
    after = set(cache.glob(KEPT))
    assert len(after) == len(before) and len(after - before) == 1  # the old version's file is gone
    assert _drafts(content, None)[0] == drafts


def test_a_damaged_kept_file_means_a_fresh_read_with_a_line_in_the_log(
    content: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    fresh = _drafts(content, None)
    _drafts(content, cache)
    files = sorted(cache.glob(KEPT))
    files[0].write_text("{not json", encoding="utf-8")
    files[1].write_text('{"drafts": [{"id": 1}], "problems": [], "unreadable": false}', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="bot.knowledge"):
        assert _drafts(content, cache) == fresh
    assert sum("reading" in record.getMessage() and "afresh" in record.getMessage() for record in caplog.records) == 2
    assert _drafts(content, cache) == fresh  # written again, and good


def test_a_folder_that_cannot_be_written_still_reads_everything(
    content: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="bot.knowledge"):
        assert _drafts(content, blocked) == _drafts(content, None)
    assert any("cannot keep the read intents" in record.getMessage() for record in caplog.records)


def test_a_file_that_cannot_be_read_as_yaml_is_reported_the_same_from_the_kept_copy(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = content / "intents" / "legal.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n\t- broken: [\n", encoding="utf-8")
    cache = tmp_path / "cache"
    fresh, problems = _drafts(content, None)
    assert any("tab" in problem for problem in problems)
    assert _drafts(content, cache) == (fresh, problems)
    _no_parsing(monkeypatch)
    assert _drafts(content, cache) == (fresh, problems)
    errors: list[knowledge_module.KnowledgeError] = []
    assert knowledge_module._read(content, errors, cache).unreadable_intents

"""The matcher's arrays kept in the data folder (bot/matcher_cache.py): a start that reads them decides exactly as
a fresh build; a damaged or stale file is built again with a line in the log, never a crash; a reload of
unchanged intents keeps its matcher; the folder never holds anything a user wrote."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import anxin, copy_content

from bot.evaluation import load_labelled
from bot.knowledge import CACHE_DIR, KnowledgeBase, KnowledgeSource, load_knowledge
from bot.matcher import Matcher
from bot.matcher_cache import MATCHER_CACHE_PREFIX

REPO = Path(__file__).resolve().parent.parent
KEPT = f"{MATCHER_CACHE_PREFIX}*.npz"


def _no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> Matcher:
        raise AssertionError("built again although nothing changed")

    monkeypatch.setattr(Matcher, "build", refuse)


def _same_matcher(kept: Matcher, fresh: Matcher) -> None:
    """Every field `Matcher.build` fills, equal, arrays to the bit and of the same type."""
    for name in ("intents", "out_of_scope", "idf", "example_text", "intent_rows", "prepared", "thresholds", "lexicon"):
        assert getattr(kept, name) == getattr(fresh, name), name
    assert list(kept.idf) == list(fresh.idf) and list(kept.spans.number.items()) == list(fresh.spans.number.items())
    assert list(kept.spans.edges) == list(fresh.spans.edges)
    for name in ("rows", "weights", "starts", "with_examples", "out_of_scope_mask"):
        ours, theirs = getattr(kept, name), getattr(fresh, name)
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs), name
    for name in ("chinese", "latin", "starting"):
        assert dict(getattr(kept.keywords, name)) == dict(getattr(fresh.keywords, name)), name
    assert kept.keywords.lengths == fresh.keywords.lengths


def _without_the_safety_net(root: Path) -> None:
    """Content whose changes here would only make the safety net train again (ten seconds and more, in a child):
    without safety/examples.yaml there is no net, and the matcher, built and kept the same way, is all these tests
    look at (`KnowledgeBase.match` is the matcher's decision, without the safety check)."""
    (root / "safety" / "examples.yaml").unlink()


@pytest.fixture(autouse=True)
def _nets_in_this_process(bundled_knowledge: KnowledgeBase) -> None:
    """The bundled safety nets loaded once in this process (conftest reads them from the data folder), so the loads
    here without one reuse them rather than train them again: minutes on a CI worker that had not loaded them yet."""


def _messages() -> list[str]:
    texts = [item.text for path in ("dev.yaml", "realistic-dev.yaml") for item in load_labelled(REPO / "eval" / path)]
    return [*texts[::3], "", "🙂", "电话", "催收。打电话。给我妈妈。合法吗？", "how do i stop them calling my boss"]


def test_a_start_from_the_kept_arrays_decides_exactly_as_a_fresh_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = load_knowledge(REPO).knowledge  # no data folder: built as always
    cache = tmp_path / "cache"
    load_knowledge(REPO, cache_dir=cache)
    assert len(list(cache.glob(KEPT))) == 1
    _no_build(monkeypatch)
    kept = load_knowledge(REPO, cache_dir=cache).knowledge
    _same_matcher(kept.matcher, fresh.matcher)
    messages = _messages()
    assert len(messages) > 100
    for text in messages:
        assert kept.match(text) == fresh.match(text), text
        assert kept.matcher.analyse(text, limit=None) == fresh.matcher.analyse(text, limit=None), text


def test_a_large_knowledge_base_with_pruned_keywords_reads_back_the_same(tmp_path: Path) -> None:
    from bot.bench_load import synthetic_intents
    from bot.bench_scale import write_content

    made, queries = synthetic_intents(list(load_knowledge(REPO).knowledge.intents.values()), count=150)
    root = tmp_path / "content"
    write_content(REPO, root, made)
    _without_the_safety_net(root)
    cache = tmp_path / "cache"
    built = load_knowledge(root, cache_dir=cache).knowledge
    kept = load_knowledge(root, cache_dir=cache).knowledge
    assert kept.matcher is not built.matcher
    assert len(built.matcher.keywords) < sum(len(set(intent.keywords)) for intent in built.intents.values())
    _same_matcher(kept.matcher, built.matcher)
    for text in queries[:200]:
        assert kept.match(text) == built.match(text), text


def _load_logged(root: Path, cache: Path, caplog: pytest.LogCaptureFixture) -> tuple[KnowledgeBase, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.matcher_cache"):
        loaded = load_knowledge(root, cache_dir=cache)
    assert loaded.errors == ()
    return loaded.knowledge, [record.getMessage() for record in caplog.records if record.name == "bot.matcher_cache"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not a numpy file"),
        lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
        lambda path: path.write_bytes(b""),
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_a_damaged_file_is_built_again_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object
) -> None:
    cache = tmp_path / "cache"
    fresh, _ = _load_logged(REPO, cache, caplog)
    (kept,) = cache.glob(KEPT)
    damage(kept)  # type: ignore[operator]
    again, lines = _load_logged(REPO, cache, caplog)
    assert any("could not be read" in line and "building again" in line for line in lines), lines
    _same_matcher(again.matcher, fresh.matcher)
    assert again.match("催收打电话给我妈妈合法吗") == fresh.match("催收打电话给我妈妈合法吗")
    assert kept.read_bytes()[:2] == b"PK"  # written again, whole
    _, quiet = _load_logged(REPO, cache, caplog)
    assert quiet == []  # and read the next time


def test_a_stale_or_inconsistent_file_is_built_again_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, cache = copy_content(tmp_path), tmp_path / "cache"
    _without_the_safety_net(root)
    fresh, _ = _load_logged(root, cache, caplog)
    (first,) = cache.glob(KEPT)
    intents = root / "intents"
    path = sorted(intents.glob("*.yaml"))[0]
    text = path.read_text(encoding="utf-8")
    anchor = "  examples:\n"
    assert anchor in text
    added = anchor + "    - 我想问一个全新的问题，关于分期的手续费\n"
    path.write_text(text.replace(anchor, added, 1), encoding="utf-8")
    changed, _ = _load_logged(root, cache, caplog)
    (second,) = cache.glob(KEPT)
    assert second != first  # the new content's arrays replace the old ones
    assert "我想问一个全新的问题关于分期的手续费" in changed.matcher.example_text
    assert changed.matcher.digest != fresh.matcher.digest

    # Another content's file under this content's name (copied by hand, say): its key is not this one.
    stale = second.read_bytes()
    first.write_bytes(stale)
    path.write_text(text, encoding="utf-8")  # back to the first content, whose name now holds the other arrays
    back, lines = _load_logged(root, cache, caplog)
    assert any("do not fit this content" in line for line in lines), lines
    _same_matcher(back.matcher, fresh.matcher)

    # The right key, but arrays that do not fit together: built again, never served.
    with np.load(first, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["rows"] = arrays["rows"][:-1]
    np.savez(first, **arrays)
    again, lines = _load_logged(root, cache, caplog)
    assert any("do not fit this content" in line for line in lines), lines
    _same_matcher(again.matcher, fresh.matcher)


def test_a_reload_of_unchanged_intents_keeps_the_matcher_and_a_changed_one_builds(kb_dir: Path, tmp_path: Path) -> None:
    source = KnowledgeSource(kb_dir, tmp_path / "data")
    first = source.current.matcher
    assert first.digest and len(list((tmp_path / "data" / CACHE_DIR).glob(KEPT))) == 1
    answers = next(kb_dir.glob("faq/en/*.yaml"))
    answers.write_text(answers.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # not what the matcher reads
    assert source.reload() == ()
    assert source.current.matcher is first
    lexicon = kb_dir / "lexicon"
    lexicon.mkdir(exist_ok=True)
    (lexicon / "zz-test.yaml").write_text("催收: [摧收员工]\n", encoding="utf-8")
    assert source.reload() == ()
    assert source.current.matcher is not first and source.current.matcher.digest != first.digest


def test_a_cache_folder_that_cannot_be_written_costs_only_the_time(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way", encoding="utf-8")
    loaded = load_knowledge(REPO, cache_dir=blocked / "cache")
    assert loaded.knowledge.match("催收打电话给我妈妈合法吗") == load_knowledge(REPO).knowledge.match(
        "催收打电话给我妈妈合法吗"
    )


def test_the_kept_files_hold_nothing_a_user_wrote(kb_dir: Path, data_dir: Path) -> None:
    question = "我的邻居王小明欠了催收公司好多钱怎么办"
    for _ in range(2):  # the first start keeps the arrays, the second reads them
        result = anxin("chat", kb_dir=kb_dir, data_dir=data_dir, stdin=question + "\n")
        assert result.returncode == 0, result.stderr
    kept = list((data_dir / CACHE_DIR).glob(KEPT))
    assert len(kept) == 1
    for path in (data_dir / CACHE_DIR).iterdir():
        body = path.read_bytes()
        assert "王小明".encode() not in body and "王小明".encode("utf-16-le") not in body
        assert "王小明".encode("utf-32-le") not in body

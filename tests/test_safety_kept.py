"""The safety nets' weights kept in the data folder: a start with nothing changed reads them, a changed example or a
damaged file trains again. Apart from tests/test_safety.py because each trains the four nets (on a fortieth of the
bundled examples, still tens of seconds on a loaded CI machine), so the test run can spread them over its workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import copy_content
from test_safety import _dev_items, _fewer_examples

from bot.knowledge import load_knowledge
from bot.safety import SafetyNet, forget_recent_nets


def test_a_start_with_nothing_changed_reads_the_kept_weights_and_decides_exactly_as_training_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fortieth of the examples: the same lists, kinds and file format as the bundled net, trained in a fraction of
    # the time (the whole bundle took minutes of a CI worker here; the bundled net's kept file is read in every other
    # test).
    root, cache = copy_content(tmp_path), tmp_path / "cache"
    _fewer_examples(root / "safety", step=40)
    trained = load_knowledge(root, cache_dir=cache).knowledge
    kept = list(cache.glob("safety-net-*.npz"))
    assert len(kept) == 1

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained again although nothing changed")

    monkeypatch.setattr(SafetyNet, "train", no_training)
    forget_recent_nets()  # a new process: the weights must come from the file
    read = load_knowledge(root, cache_dir=cache).knowledge
    assert read.safety.net is not None and trained.safety.net is not None
    for item in _dev_items()[::80]:  # 980 messages of every writer
        canonical = read.safety.canonical(str(item["text"]))
        assert read.safety.net.probability(canonical) == trained.safety.net.probability(canonical)
        assert read.assess(str(item["text"])) == trained.assess(str(item["text"]))


def test_a_changed_example_trains_again_and_a_damaged_file_is_only_trained_again(tmp_path: Path) -> None:
    root, cache = copy_content(tmp_path), tmp_path / "cache"
    _fewer_examples(root / "safety", step=40)
    load_knowledge(root, cache_dir=cache)
    (first,) = cache.glob("safety-net-*.npz")
    examples = root / "safety" / "examples.yaml"
    examples.write_text(examples.read_text(encoding="utf-8") + "  - 今天天气不错，适合出去走走\n", encoding="utf-8")
    changed = load_knowledge(root, cache_dir=cache)
    assert changed.errors == ()
    (second,) = cache.glob("safety-net-*.npz")
    assert second != first  # the new content's weights replace the old ones
    second.write_bytes(b"not a numpy file")
    forget_recent_nets()
    damaged = load_knowledge(root, cache_dir=cache)
    assert damaged.errors == () and damaged.knowledge.safety.net is not None
    assert damaged.knowledge.assess("我想自杀").level == "crisis"
    assert second.read_bytes()[:2] == b"PK"  # written again, whole

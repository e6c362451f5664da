"""Safety patterns compiled on first use: a start vouched for by the data folder compiles none of them, decides
as a start that compiles them all, and a broken or over-broad pattern is still reported at its line."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
from pathlib import Path

import pytest

from bot.content import KnowledgeError
from bot.patterns import LazyPattern
from bot.safety import SafetyRules, built_in_rules, forget_proven_patterns, load_safety

REPO = Path(__file__).parent.parent
TEXTS = [
    "催收说要弄死我，我也不想活了",
    "今晚就想结束",
    "累死了，催收天天打电话",
    "吃多少片安眠药才会死",
    "i want to kms",
    "他们说让我去死",
    "今天天气不错",
]


def _patterns(rules: SafetyRules) -> list[LazyPattern]:
    return [
        *(pattern for _, pattern in rules.exclusions),
        *(signal.pattern for signal in rules.signals),
        *(pattern for pattern, _ in rules.rewrites),
    ]


def _compiled(rules: SafetyRules) -> int:
    return sum(pattern._compiled is not None for pattern in _patterns(rules))


@pytest.fixture
def bundled(tmp_path: Path) -> tuple[Path, Path]:
    folder, cache = tmp_path / "safety", tmp_path / "cache"
    folder.mkdir()
    shutil.copy(REPO / "safety" / "signals.yaml", folder / "signals.yaml")
    return folder, cache


def test_a_start_the_data_folder_vouches_for_compiles_only_what_messages_need(bundled: tuple[Path, Path]) -> None:
    folder, cache = bundled
    forget_proven_patterns()
    first = load_safety(folder, [], cache_dir=cache)
    assert _compiled(first) == len(_patterns(first)) > 900  # nothing vouched for them yet: all checked now
    (kept,) = cache.glob("safety-patterns-*.npz")

    forget_proven_patterns()  # a new process: only the data folder knows these patterns passed
    second = load_safety(folder, [], cache_dir=cache)
    assert _compiled(second) == 0
    for text in TEXTS:
        assert second.assess(text) == first.assess(text) == first.plain().assess(text)
        assert second.canonical(text) == first.canonical(text)
    assert 0 < _compiled(second) < len(_patterns(second)) / 2  # the prefilter ran only some of them
    assert [p.pattern for p in _patterns(second)] == [p.pattern for p in _patterns(first)]
    assert [p.flags for p in _patterns(second)] == [p.compiled.flags for p in _patterns(first)]

    kept.write_bytes(b"not a numpy file")
    forget_proven_patterns()
    damaged = load_safety(folder, [], cache_dir=cache)
    assert _compiled(damaged) == len(_patterns(damaged))
    assert [damaged.assess(text) for text in TEXTS] == [first.assess(text) for text in TEXTS]
    assert kept.read_bytes()[:2] == b"PK"  # written again, whole


def test_an_inline_flag_is_kept_for_the_prefilter(tmp_path: Path) -> None:
    # (?i) makes the literals unreliable: the prefilter must see the flag without compiling the pattern.
    folder, cache = tmp_path / "safety", tmp_path / "cache"
    folder.mkdir()
    (folder / "signals.yaml").write_text("crisis:\n  direct:\n    - (?i)KMS\n", encoding="utf-8")
    forget_proven_patterns()
    load_safety(folder, [], cache_dir=cache)
    forget_proven_patterns()
    rules = load_safety(folder, [], cache_dir=cache)
    (signal,) = rules.signals
    assert signal.pattern._compiled is None
    assert signal.pattern.flags == re.compile("(?i)KMS").flags
    assert rules.assess("kms").level == "crisis"


def test_a_broken_pattern_is_reported_at_its_line_on_every_load(bundled: tuple[Path, Path]) -> None:
    folder, cache = bundled
    load_safety(folder, [], cache_dir=cache)  # the bundled patterns proven, in this process and the folder
    text = (folder / "signals.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    crisis = lines.index("crisis:")
    lines.insert(crisis + 2, "    - (unclosed")  # under the first group of `crisis`
    lines.insert(crisis + 2, "    - (想)?")  # matches nothing, so every message
    (folder / "signals.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for _ in range(2):
        errors: list[KnowledgeError] = []
        rules = load_safety(folder, errors, cache_dir=cache)
        assert [(e.line, e.message.split(" is ")[0]) for e in errors if "valid" in e.message] == [
            (crisis + 4, "pattern '(unclosed'")
        ]
        assert [e.line for e in errors if "matches an empty message" in e.message] == [crisis + 3]
        assert rules.assess("今天天气不错").level == "none"
        assert rules.assess("我不想活了").level == "crisis"


def test_a_pattern_proven_as_an_exclusion_is_checked_again_as_a_signal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An exclusion may match an empty text; a signal may not: what passed in one section proves nothing in another.
    folder, cache = tmp_path / "safety", tmp_path / "cache"
    folder.mkdir()
    signals = folder / "signals.yaml"
    signals.write_text("exclude:\n  odd:\n    - (想)?\ncrisis:\n  direct:\n    - 自杀\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_safety(folder, [], cache_dir=cache).exclusions
    signals.write_text("crisis:\n  direct:\n    - 自杀\n    - (想)?\n", encoding="utf-8")
    errors: list[KnowledgeError] = []
    load_safety(folder, errors, cache_dir=cache)
    assert [e.line for e in errors if "matches an empty message" in e.message] == [4]
    assert not caplog.records


def test_a_broken_word_list_is_reported_at_its_line_on_every_load(tmp_path: Path) -> None:
    # Word lists that passed before are not compiled again at a start; one that does not compile is still reported.
    folder, cache = tmp_path / "safety", tmp_path / "cache"
    folder.mkdir()
    (folder / "signals.yaml").write_text(
        "words:\n  good: 死|活\n  bad: (unclosed\ncrisis:\n  direct:\n    - 不想{good}了\n", encoding="utf-8"
    )
    forget_proven_patterns()
    for _ in range(2):
        errors: list[KnowledgeError] = []
        rules = load_safety(folder, errors, cache_dir=cache)
        assert [(e.line, e.message.split(":")[0]) for e in errors if "word list" in e.message] == [
            (3, "word list `bad` is not a valid regular expression")
        ]
        assert rules.assess("我不想活了").level == "crisis"
        forget_proven_patterns()  # the next load: a new process, with only the data folder vouching


def test_a_copy_with_the_same_patterns_keeps_the_prefilter_and_one_with_others_gets_its_own() -> None:
    # Every load copies the rules to add the nets: the same patterns, so the prefilter is not made again.
    rules = built_in_rules()
    same = dataclasses.replace(rules, built_in=False)
    assert same._screen is rules._screen is not None
    fewer = dataclasses.replace(rules, signals=rules.signals[:-1])
    assert fewer._screen is not None and fewer._screen is not rules._screen
    assert len(fewer._screen.signals.needs) == len(rules.signals) - 1
    assert dataclasses.replace(rules, prefilter=False)._screen is None
    for text in TEXTS:
        assert same.assess(text) == rules.assess(text) == rules.plain().assess(text)
        assert fewer.assess(text) == fewer.plain().assess(text)

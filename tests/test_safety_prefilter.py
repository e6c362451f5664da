"""The safety check's literal prefilter (`bot.literals`, `SafetyRules`): it skips the patterns that cannot match
a message, and every decision stays exactly what running every pattern gives (`SafetyRules.plain`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import eval_items

import bot.safety
from bot.knowledge import KnowledgeBase
from bot.safety import SafetyRules, built_in_rules, forget_known_needs, load_safety

REPO = Path(__file__).parent.parent
# Every set with messages: the safety sets and the matching sets (read here, never printed: a failure names
# the file and the position, so no holdout text reaches a log).
SETS = [
    "safety-dev.yaml",
    "safety-holdout-35.yaml",
    "safety-holdout-36.yaml",
    "holdout.yaml",
    "dev.yaml",
    *sorted(path.name for path in (REPO / "eval").glob("realistic*.yaml")),
]


@pytest.fixture(scope="module")
def messages() -> list[tuple[str, int, str]]:
    found = []
    for name in SETS:
        found += [(name, index, str(item["text"])) for index, item in enumerate(eval_items(name))]
    assert len(found) > 16_000
    return found


def _differences(rules: SafetyRules, messages: list[tuple[str, int, str]]) -> list[tuple[str, int]]:
    plain = rules.plain()
    return [
        (name, index)
        for name, index, text in messages
        if (rules.assess(text), rules.canonical(text)) != (plain.assess(text), plain.canonical(text))
    ]


def test_the_prefilter_decides_exactly_as_running_every_pattern(
    bundled_knowledge: KnowledgeBase, messages: list[tuple[str, int, str]]
) -> None:
    rules = bundled_knowledge.safety  # `load_knowledge(REPO)` without errors (conftest)
    assert rules.net is not None  # the net's path too: its features read the cut text
    # About 2,000 messages spread evenly over every set (running every pattern takes minutes on all 110,000 and
    # more of them, and the sets grow each round; 6,000 took two minutes of a loaded CI worker): each kind of message
    # of each writer is still there many times over. The built-in rules below are checked on all.
    assert _differences(rules, messages[:: max(12, len(messages) // 2000)]) == []


def test_the_built_in_rules_decide_exactly_as_running_every_pattern(messages: list[tuple[str, int, str]]) -> None:
    rules = built_in_rules()
    assert rules.prefilter and not rules.plain().prefilter
    assert _differences(rules, messages) == []


def _signals(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "signals.yaml").write_text(text, encoding="utf-8")
    return folder


def test_text_a_cut_brings_together_still_reaches_the_later_exclusions(tmp_path: Path) -> None:
    # "※ 去死" is not in the message; it is once the collector's words before it are cut out.
    folder = _signals(
        tmp_path / "safety",
        "exclude:\n  quotes:\n    - 催收说\n  idiom:\n    - ※ 去死\ncrisis:\n  direct:\n    - 去死\n",
    )
    rules = load_safety(folder, [])
    assert rules.assess("催收说去死") == rules.plain().assess("催收说去死")
    assert rules.assess("催收说去死").level == "none"
    assert rules.assess("我想去死").level == "crisis"


def test_a_rewrite_whose_word_a_later_rewrite_needs_is_followed_by_it(tmp_path: Path) -> None:
    # "ㄕ" is not in the message: the first rewrite brings it, and only then can the second one match.
    folder = _signals(
        tmp_path / "safety",
        "rewrite:\n  ㄕ: ['尸尸']\n  自杀: ['自ㄕ']\ncrisis:\n  direct:\n    - 自杀\n",
    )
    rules = load_safety(folder, [])
    assert rules.canonical("我想自尸尸") == rules.plain().canonical("我想自尸尸") == "我想自杀"
    assert rules.assess("我想自尸尸").level == "crisis"
    assert rules.canonical("自ㄕ尸尸") == rules.plain().canonical("自ㄕ尸尸")


def test_a_start_reads_what_the_patterns_need_from_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache = tmp_path / "safety", tmp_path / "cache"
    folder.mkdir()
    shutil.copy(REPO / "safety" / "signals.yaml", folder / "signals.yaml")
    first = load_safety(folder, [], cache_dir=cache)
    (kept,) = cache.glob("safety-needs-*.npz")

    def no_reading(*args: object) -> None:
        raise AssertionError("read the patterns again although nothing changed")

    forget_known_needs()  # a new process: what the patterns need must come from the file
    with monkeypatch.context() as patched:
        patched.setattr(bot.safety, "needs_of", no_reading)
        second = load_safety(folder, [], cache_dir=cache)
    texts = ["催收说要弄死我，我也不想活了", "今晚就想结束", "累死了，催收天天打电话", "吃多少片安眠药才会死"]
    for text in texts:
        assert second.assess(text) == first.assess(text) == first.plain().assess(text)

    kept.write_bytes(b"not a numpy file")
    forget_known_needs()
    damaged = load_safety(folder, [], cache_dir=cache)
    assert [damaged.assess(text) for text in texts] == [first.assess(text) for text in texts]
    assert kept.read_bytes()[:2] == b"PK"  # written again, whole

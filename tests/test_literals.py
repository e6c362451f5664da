"""What a pattern needs before it can match (`bot.literals`): what it reads from hand-written tricky patterns,
and that it never asks for a literal a match can lack, on those and on every pattern of the bundled safety rules:
whenever a pattern matches a text, the prefilter lets the text through."""

from __future__ import annotations

import importlib
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import eval_items
from hypothesis import given
from hypothesis import strategies as st

from bot.literals import Literals, Needs, Shortlist, met, needs
from bot.safety import SafetyRules, load_safety

REPO = Path(__file__).parent.parent
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("想死", [{"想死"}]),
        (r"(?<!不)想死|不想活", [{"想死", "不想活"}]),  # a lookbehind consumes nothing
        ("(想|要|)死", [{"死"}]),  # an empty branch: 死 alone may match
        ("a(b|)c", [{"ac", "abc"}]),
        ("(我)?死了", [{"死了"}]),  # an optional group
        ("[想要]死", [{"想死", "要死"}]),  # a class of a few characters
        (r"\d+颗", [{"颗"}]),
        ("x.y", [{"x"}, {"y"}]),
        ("(想){0,3}死", [{"死"}]),
        ("[^我]{0,3}去死", [{"去死"}]),
        ("((自|紫)(杀|砂))+了", [{"自杀", "自砂", "紫杀", "紫砂"}, {"了"}]),  # nested groups, repeated
        (r"(催收|他们)[^我]{0,10}说", [{"催收", "他们"}, {"说"}]),
        (r"(想)\1死", [{"想"}, {"死"}]),  # a back-reference may hold anything
        (r"\bdie\b", [{"die"}]),
        ("^414(?![0-9])", [{"414"}]),
        ("(想死|不想活)(?=.{0,6}(哈|lol))", [{"想死", "不想活"}]),  # a lookahead needs nothing
        ("(a|b.c)d", [{"a", "b"}, {"a", "c"}, {"d"}]),  # (a) or (b and c), as two clauses
        ("(?i)kill", []),  # case-insensitive: anything
        ("(?i:k)ill", [{"ill"}]),
        ("(?:a|b)*", []),
        ("(?=想死)", []),
        ("(想)?(?(1)死|活)", []),  # a conditional: anything
        ("suicid[a-z]*", [{"suic"}, {"id"}]),  # a long literal in parts of at most four characters
    ],
)
def test_what_hand_written_patterns_need(pattern: str, expected: list[set[str]]) -> None:
    assert sorted(map(sorted, needs(re.compile(pattern)))) == sorted(map(sorted, expected))


TRICKY = [
    r"(?<!不)想死|不想活",
    "(想|要|)死",
    "a(b|)c",
    "(我)?死了",
    "[想要]死",
    r"\d+颗",
    "x.y",
    "(想){0,3}死",
    "[^我]{0,3}去死",
    "((自|紫)(杀|砂))+了",
    r"(想)\1死",
    r"\b(die|dead)\b",
    "(a|b.c)d",
    "(?i:k)ill",
    "kill my ?self|end (it|things)( all)?",
    r"(说|讲)(?:(?!我)[\s\S]){0,6}(去死|跳楼)",
    "(ab|c){2}d",
    "a{2,}b",
    "(我|你)?(?<![想要])死(了)?$",
    "(?=ab)a|(?=想死)想",  # what a lookahead sees is not part of the match
    "(?<=想)(死|活)",
]


@pytest.mark.parametrize("source", TRICKY)
def test_a_match_always_gets_through_on_tricky_patterns(source: str) -> None:
    pattern = re.compile(source)
    rng = random.Random(source)
    own = {char for char in source if char.isalnum() or char in " 我想死"}
    alphabet = [*sorted(own | {char.upper() for char in own}), "※", " "]
    texts = ["".join(rng.choices(alphabet, k=rng.randrange(1, 12))) for _ in range(3000)]
    texts += [_around(_example(pattern, rng), rng, alphabet) for _ in range(300)]
    matched = _check_sound(pattern, texts)
    assert matched >= 50  # the check above saw matches, not only texts the pattern refuses


@given(
    st.sets(st.text(alphabet="想死了不 a", min_size=1, max_size=5), max_size=12),
    st.text(alphabet="想死了不 a※", max_size=30),
)
def test_literals_found_in_a_text_are_exactly_those_it_contains(strings: set[str], text: str) -> None:
    assert Literals(strings).present(text) == {string for string in strings if string in text}


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> SafetyRules:
    """The bundled rules without the net (only the patterns matter here)."""
    folder = tmp_path_factory.mktemp("safety")
    shutil.copy(REPO / "safety" / "signals.yaml", folder / "signals.yaml")
    found = load_safety(folder, [])
    assert not found.built_in
    return found


@pytest.fixture(scope="module")
def sampled(rules: SafetyRules) -> list[str]:
    """Messages of the tuning sets as the exclusions see them (normalised and rewritten)."""
    items = [
        str(item["text"])
        for name in ("safety-dev.yaml", "realistic-dev.yaml", "realistic-dev-6.yaml")
        for item in eval_items(name)
    ]
    chosen = random.Random(19).sample(items, 600)
    rewritten = [rules._rewritten(text)[0] for text in chosen]
    return rewritten + [rules.canonical(text) for text in chosen]


def test_a_match_always_gets_through_on_every_bundled_pattern(rules: SafetyRules, sampled: list[str]) -> None:
    patterns = [
        *(pattern for _, pattern in rules.exclusions),
        *(signal.pattern for signal in rules.signals),
        *(pattern for _, pattern in rules.families),
        *(pattern for pattern, _ in rules.rewrites),
    ]
    rng = random.Random(7)
    with_a_match = 0
    for pattern in patterns:
        need = needs(pattern)
        own = sorted({literal for clause in need for literal in clause} | {"我", " ", "※", "q"})
        texts = [rng.choice(sampled) for _ in range(15)]
        texts += ["".join(rng.choices(own, k=rng.randrange(1, 8))) for _ in range(15)]
        texts += [_around(_example(pattern, rng), rng, own) for _ in range(30)]
        with_a_match += _check_sound(pattern, texts, need) > 0
    # The generated examples really match most patterns (lookarounds refuse some), so this checked something.
    assert with_a_match >= 0.9 * len(patterns), (with_a_match, len(patterns))


def test_the_screen_offers_exactly_the_patterns_whose_needs_a_text_meets(
    rules: SafetyRules, sampled: list[str]
) -> None:
    each: list[Needs] = [needs(signal.pattern) for signal in rules.signals]
    screen = Shortlist(each)
    literals = Literals(literal for need in each for clause in need for literal in clause)
    for text in sampled:
        present = literals.present(text)
        assert screen.possible(present) == [index for index, need in enumerate(each) if met(need, present)]


def test_an_ordinary_question_meets_the_needs_of_few_signals(rules: SafetyRules) -> None:
    # What makes the check fast: most patterns cannot match an everyday message, and are not run.
    each = [needs(signal.pattern) for signal in rules.signals]
    literals = Literals(literal for need in each for clause in need for literal in clause)
    text = rules.canonical("催收天天打电话给我妈，说我欠钱不还，这样合法吗？我该怎么投诉")
    assert len(Shortlist(each).possible(literals.present(text))) < 0.05 * len(each)


def _check_sound(pattern: re.Pattern[str], texts: list[str], need: Needs | None = None) -> int:
    """Asserts that every text the pattern matches meets its needs; returns how many it matched."""
    need = needs(pattern) if need is None else need
    literals = Literals(literal for clause in need for literal in clause)
    matched = 0
    for text in texts:
        if pattern.search(text):
            matched += 1
            assert met(need, literals.present(text)), (pattern.pattern, text, need)
    return matched


def _around(example: str, rng: random.Random, alphabet: list[str]) -> str:
    """The example with a little random text on either side."""
    before, after = ("".join(rng.choices(alphabet, k=rng.randrange(3))) for _ in range(2))
    return before + example + after


POOL = "我你他想死活不了是的说去跳楼药 abcdefghijklmnopqrstuvwxyz0123456789※q"


def _example(pattern: re.Pattern[str], rng: random.Random) -> str:
    """A random text built to match the pattern, walking its parse: right most of the time (a lookaround or a
    negated class can still refuse it; the caller checks with `search`)."""
    groups: dict[int, str] = {}
    return _walk(_parser.parse(pattern.pattern, pattern.flags), rng, groups)


def _walk(items: Any, rng: random.Random, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, av in items:
        if op is _c.LITERAL:
            out.append(chr(av))
        elif op is _c.NOT_LITERAL:
            out.append(rng.choice([char for char in POOL if ord(char) != av]))
        elif op is _c.ANY:
            out.append(rng.choice(POOL))
        elif op is _c.IN:
            out.append(_class_char(av, rng))
        elif op is _c.BRANCH:
            out.append(_walk(rng.choice(av[1]), rng, groups))
        elif op is _c.SUBPATTERN:
            text = _walk(av[3], rng, groups)
            if av[0] is not None:
                groups[av[0]] = text
            out.append(text)
        elif op is _c.ATOMIC_GROUP:
            out.append(_walk(av, rng, groups))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, high, inner = av
            count = rng.randint(low, min(high, low + 3))
            out.extend(_walk(inner, rng, groups) for _ in range(count))
        elif op is _c.GROUPREF:
            out.append(groups.get(av, ""))
        # anchors, lookarounds and conditionals add nothing
    return "".join(out)


def _class_char(items: Any, rng: random.Random) -> str:
    """A character of the class `[...]` when one is at hand, else any."""
    listed = [chr(av) for op, av in items if op is _c.LITERAL]
    listed += [chr(code) for op, av in items if op is _c.RANGE for code in range(av[0], min(av[1], av[0] + 40) + 1)]
    inside = [char for char in listed + list(POOL) if _in_class(char, items)]
    return rng.choice(inside or list(POOL))


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


CATEGORIES = {
    _c.CATEGORY_DIGIT: str.isdecimal,
    _c.CATEGORY_NOT_DIGIT: lambda char: not char.isdecimal(),
    _c.CATEGORY_SPACE: str.isspace,
    _c.CATEGORY_NOT_SPACE: lambda char: not char.isspace(),
    _c.CATEGORY_WORD: _word,
    _c.CATEGORY_NOT_WORD: lambda char: not _word(char),
}


def _in_class(char: str, items: Any) -> bool:
    inside, negated = False, False
    for op, av in items:
        if op is _c.NEGATE:
            negated = True
        elif op is _c.LITERAL:
            inside |= ord(char) == av
        elif op is _c.RANGE:
            inside |= av[0] <= ord(char) <= av[1]
        elif op is _c.CATEGORY:
            inside |= CATEGORIES[av](char)
    return inside != negated

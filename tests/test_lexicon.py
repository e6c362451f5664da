"""The lexicon's one pattern (a tree of shared beginnings) rewrites every text exactly as the plain list of
variants, longest first, that it replaced."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import yaml
from conftest import eval_items

from bot.knowledge import KnowledgeBase
from bot.lexicon import Lexicon
from bot.text import has_cjk, normalise

REPO = Path(__file__).resolve().parent.parent


def plain_lexicon(canonical: Mapping[str, str]) -> Callable[[str], str]:
    """The straightforward lexicon: every variant in one alternation, longest first, Latin ones as whole words (a digit
    may follow one: "yq3天" is 逾期 three days; one before it may not: "500mb")."""
    pieces = []
    for variant in sorted(canonical, key=len, reverse=True):
        escaped = re.escape(variant)
        pieces.append(escaped if has_cjk(variant) else rf"(?<![a-z0-9]){escaped}(?![a-z])")
    pattern = re.compile("|".join(pieces))
    return lambda text: pattern.sub(lambda m: canonical[m.group(0)], text)


def plain_apply(canonical: Mapping[str, str], text: str) -> str:
    return plain_lexicon(canonical)(text)


SMALL = {
    "借款": "贷款",
    "借款app": "贷款软件",
    "app借款": "网贷",
    "app": "软件",
    "app store": "应用商店",
    "崔收": "催收",
    "崔": "催",
    "7 14": "714",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我在借款app上借了钱", "我在贷款软件上借了钱"),  # the longer variant wins
        ("app借款的崔收", "网贷的催收"),  # a Chinese variant that starts with Latin letters is the longer
        ("apple app", "apple 软件"),  # Latin variants only as whole words
        ("1app", "1app"),
        ("app store里", "应用商店里"),
        ("app storey", "软件 storey"),
        ("崔崔收", "催催收"),
        ("7 14 口子", "714 口子"),
        ("17 14", "17 14"),
    ],
)
def test_the_longest_variant_wins_and_latin_ones_are_whole_words(text: str, expected: str) -> None:
    lexicon = Lexicon.build(SMALL)
    assert lexicon.apply(text) == expected == plain_apply(SMALL, text)


def test_a_dialect_phrase_reads_as_the_same_phrase_typed_in_mandarin() -> None:
    # 话 is Cantonese for "say"; 打嚟 is "打电话来", which a Mandarin message types out as it stands
    lexicon = Lexicon.build({"话": "说", "打嚟": "打电话来"})
    assert lexicon.apply("佢日日打嚟") == lexicon.apply("佢日日打电话来")
    assert lexicon.apply("佢话") == "佢说"


def test_a_canonical_word_keeps_a_piece_that_is_another_entrys_variant() -> None:
    # 电话 (phone) is a canonical word; 话 inside it is not the Cantonese "say", so a call is never a "电说"
    lexicon = Lexicon.build({"话": "说", "电花": "电话", "打嚟": "打电话来"})
    assert lexicon.apply("催收电话半夜打来") == "催收电话半夜打来"
    assert lexicon.apply("催收电花半夜打嚟") == "催收电话半夜打电话来"
    assert lexicon.apply("佢话我欠钱") == "佢说我欠钱"


def test_a_word_that_holds_its_own_variant_is_not_expanded_twice() -> None:
    # 卡债 is short for 信用卡债务, which contains 卡债: the replacement must not be rewritten by its own variant
    lexicon = Lexicon.build({"卡债": "信用卡债务"})
    assert lexicon.apply("欠卡债") == lexicon.apply("欠信用卡债务") == "欠信用卡债务"
    assert "信用信用" not in lexicon.apply("信用卡债务和卡债")


def test_the_bundled_lexicon_makes_dialect_and_mandarin_phrases_alike(bundled_knowledge: KnowledgeBase) -> None:
    lexicon = bundled_knowledge.matcher.lexicon
    originals = {}
    for path in sorted((REPO / "lexicon").glob("*.yaml")):
        for word, variants in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            originals.update({normalise(str(variant)): normalise(str(word)) for variant in variants})
    for variant, word in originals.items():
        assert lexicon.apply(variant) == lexicon.apply(word), (variant, word)


def test_bj_is_the_police_or_jiebei_by_what_surrounds_it(bundled_knowledge: KnowledgeBase) -> None:
    lexicon = bundled_knowledge.matcher.lexicon
    assert lexicon.apply(normalise("催收堵我门口能bj吗")) == lexicon.apply(normalise("催收堵我门口能报警吗"))
    assert "借呗" in lexicon.apply(normalise("hb bj都逾期了"))
    assert "bj" in lexicon.apply(normalise("bj"))  # alone it says nothing either way


def test_the_bundled_lexicon_rewrites_every_text_as_the_plain_list_does(bundled_knowledge: KnowledgeBase) -> None:
    knowledge = bundled_knowledge  # the bundled content as a start loads it (conftest): no second safety net
    lexicon = knowledge.matcher.lexicon
    assert len(lexicon.canonical) > 100
    texts = [normalise(example) for intent in knowledge.intents.values() for example in intent.examples]
    for path in sorted((REPO / "eval").glob("*.yaml")):
        if not path.name.startswith("safety"):
            texts += [normalise(str(item["text"])) for item in eval_items(path.name)]  # parsed once per run
    # Texts made of variants, canonical words and bits of words side by side, where overlaps are likeliest.
    words = [*lexicon.canonical, *set(lexicon.canonical.values())]
    filler = ["", " ", "a", "1", "s", "我", "的", " x ", "app", "ing"]
    rng = random.Random(7)
    for _ in range(20_000):
        parts = (rng.choice(words) if rng.random() < 0.6 else rng.choice(filler) for _ in range(rng.randint(1, 6)))
        texts.append("".join(parts))
    plain, changed = plain_lexicon(lexicon.canonical), 0  # built once, not sorted again for each of 58,000 texts
    for text in texts:
        expected = plain(text)
        assert lexicon.apply(text) == expected, text
        changed += expected != text
    assert changed > 1000  # the comparison saw many rewrites, not only texts without a variant

"""The vectorised matcher decides exactly as the straightforward per-intent loop it replaced
(tests/reference_matcher.py), built in the same run from the same content: on every evaluation set, on every
intent's tests and examples, and on a synthetic knowledge base large enough for keyword pruning and top-k."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
import reference_matcher as reference

from bot.bench_load import synthetic_intents
from bot.evaluation import load_labelled
from bot.knowledge import MAX_MATCH_CHARS, KnowledgeBase, KnowledgeSource
from bot.matcher import RANKED, Matcher
from bot.models import Match

REPO = Path(__file__).resolve().parent.parent
EVAL_SETS = sorted(path for path in (REPO / "eval").glob("*.yaml") if not path.name.startswith("safety"))
TOLERANCE = 1e-9


def _reference_for(matcher: Matcher, intents: Sequence[reference.Teachable]) -> reference.Matcher:
    return reference.Matcher.build(intents, thresholds=matcher.thresholds, lexicon=matcher.lexicon)


def _same_decision(new: Match, old: Match, text: str) -> None:
    assert (new.kind, new.intent, new.sure, new.topic) == (old.kind, old.intent, old.sure, old.topic), text
    assert [c.intent for c in new.candidates] == [c.intent for c in old.candidates], text
    assert abs(new.score - old.score) <= TOLERANCE, text
    for got, expected in zip(new.candidates, old.candidates, strict=True):
        assert abs(got.score - expected.score) <= TOLERANCE, text


def _compare(matcher: Matcher, old: reference.Matcher, texts: Iterable[str]) -> int:
    compared = 0
    for text in texts:
        text = text[:MAX_MATCH_CHARS]
        new_analysis, old_analysis = matcher.analyse(text), old.analyse(text)
        _same_decision(matcher.decide(new_analysis), old.decide(old_analysis), text)
        # The ranking kept is the full ranking's best in-scope and out-of-scope intents, in the same order.
        full = list(old_analysis.ranked)
        inside = [c for c in full if c.intent not in old.out_of_scope][:RANKED]
        outside = [c for c in full if c.intent in old.out_of_scope][:RANKED]
        kept = sorted(inside + outside, key=lambda c: (-c.score, c.intent))
        assert [c.intent for c in new_analysis.ranked] == [c.intent for c in kept], text
        assert all(abs(a.score - b.score) <= TOLERANCE for a, b in zip(new_analysis.ranked, kept, strict=True))
        assert [c.intent for c in new_analysis.clauses] == [c.intent for c in old_analysis.clauses], text
        assert new_analysis.asked == old_analysis.asked, text
        assert [c.intent for c in new_analysis.conjuncts] == [c.intent for c in old_analysis.conjuncts], text
        compared += 1
    return compared


@pytest.fixture(scope="module")
def bundled(bundled_knowledge: KnowledgeBase) -> KnowledgeBase:
    # Built here from the content, not read from kept arrays; the safety net is this process's (conftest).
    return KnowledgeSource(REPO).current


@pytest.fixture(scope="module")
def old_bundled(bundled: KnowledgeBase) -> reference.Matcher:
    return _reference_for(bundled.matcher, list(bundled.intents.values()))


def test_the_build_is_the_reference_build(bundled: KnowledgeBase, old_bundled: reference.Matcher) -> None:
    new = bundled.matcher
    assert new.intents == old_bundled.intents and new.out_of_scope == old_bundled.out_of_scope
    assert new.example_text == old_bundled.example_text and new.intent_rows == old_bundled.intent_rows
    assert new.idf == old_bundled.idf
    assert set(new.spans) == set(old_bundled.columns)
    for key, (rows, weights) in old_bundled.columns.items():
        start, stop = new.spans[key]
        assert new.rows[start:stop].tolist() == rows.tolist(), key
        assert new.weights[start:stop].tolist() == weights.tolist(), key
    assert dict(new.keywords.chinese) == dict(old_bundled.keywords.chinese)
    assert dict(new.keywords.latin) == dict(old_bundled.keywords.latin)
    assert new.starts.tolist() == old_bundled.starts.tolist()


@pytest.mark.parametrize("path", EVAL_SETS, ids=lambda path: path.stem)
def test_every_evaluation_set_gets_the_reference_decisions(
    path: Path, bundled: KnowledgeBase, old_bundled: reference.Matcher
) -> None:
    # Every message of the sample, the dev set and the holdouts; every second one of the thirty realistic dev sets,
    # which are 31,769 of the 35,048 messages (all of them took 94 s of a CI worker, the reference loop two thirds).
    items = load_labelled(path)
    texts = [item.text for item in items][:: 2 if path.name.startswith("realistic-dev-") else 1]
    assert _compare(bundled.matcher, old_bundled, texts) == len(texts) > 0


def test_every_intent_test_and_example_gets_the_reference_decisions(
    bundled: KnowledgeBase, old_bundled: reference.Matcher
) -> None:
    texts = [text for intent in bundled.intents.values() for text in (*intent.tests, *intent.examples[::3])]
    texts += ["", "🙂", "电话", "催收。打电话。给我妈妈。合法吗？", "a" * 600]
    assert _compare(bundled.matcher, old_bundled, texts) == len(texts)


def test_full_scores_are_the_reference_scores(bundled: KnowledgeBase, old_bundled: reference.Matcher) -> None:
    # ("电话" alone once had scores; since realistic-dev-22 its features are in more than half the intents'
    # examples and dropped (COMMON_SHARE), so "打电话" stands in as the short common phrase)
    for text in ("催收打电话给我妈妈合法吗", "打电话", "how do i stop them calling my boss", "股票怎么买"):
        new, old = bundled.matcher.scores(text), old_bundled.scores(text)
        assert [c.intent for c in new] == [c.intent for c in old] and len(new) > RANKED
        assert all(abs(a.score - b.score) <= TOLERANCE for a, b in zip(new, old, strict=True))


def test_a_large_synthetic_knowledge_base_gets_the_reference_decisions(bundled: KnowledgeBase) -> None:
    made, queries = synthetic_intents(list(bundled.intents.values()), count=300, examples_per_intent=8)
    assert any(intent.out_of_scope for intent in made)  # out-of-scope copies take part in the top-k
    new = Matcher.build(made, thresholds=bundled.matcher.thresholds, lexicon=bundled.matcher.lexicon)
    old = _reference_for(new, made)
    # With this many intents, keyword pruning runs: the linear search must drop exactly the same keywords.
    assert dict(new.keywords.chinese) == dict(old.keywords.chinese)
    assert dict(new.keywords.latin) == dict(old.keywords.latin)
    assert len(new.keywords) < sum(len(set(intent.keywords)) for intent in made)
    assert _compare(new, old, queries[:300]) == 300


def test_a_rebuild_reuses_the_previous_matchers_normalised_examples_only_with_the_same_lexicon(
    bundled: KnowledgeBase,
) -> None:
    intents = list(bundled.intents.values())
    first = bundled.matcher
    again = Matcher.build(intents, lexicon=first.lexicon, previous=first)
    assert again.example_text == first.example_text and again.spans == first.spans
    assert again.weights.tolist() == first.weights.tolist()
    example = intents[0].examples[0]
    assert all(again.prepared[text] is first.prepared[text] for text in first.prepared)  # shared, not copies
    # What the previous matcher worked out is taken as it is: a (deliberately wrong) stand-in shows it was used.
    marked = dataclasses.replace(first, prepared={**first.prepared, example: "标记"})
    assert "标记" in Matcher.build(intents, lexicon=first.lexicon, previous=marked).example_text
    other = Matcher.build(intents, previous=marked)  # another lexicon: nothing is reused
    assert "标记" not in other.example_text

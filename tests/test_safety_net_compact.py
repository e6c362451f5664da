"""The safety net keeps its Chinese features as numbers (`gram_codes`) instead of a dict of names: the same
features, the same weights to the bit, and the same decision on every message of the tuning and ordinary sets.

The reference here is the net as it was first written: every feature a name (`net_features`), one dict from
name to column, rows in the order of the names, each sum over all the pairs at once. Training now numbers the
features by their sorted keys and works on slices of the pairs, for memory; the weights must not change.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from conftest import eval_items, safety_examples, seed_bundled_cache

import bot.safety
from bot.kept import pack_texts
from bot.knowledge import CACHE_DIR, KnowledgeBase, load_knowledge
from bot.safety import NET_ITERATIONS, NET_L2, NET_STEP, SafetyNet, gram_code, gram_codes, net_features

REPO = Path(__file__).parent.parent
Families = Sequence[tuple[str, re.Pattern[str]]]


@pytest.fixture(scope="module")
def bundled(bundled_knowledge: KnowledgeBase) -> KnowledgeBase:
    return bundled_knowledge  # `load_knowledge(REPO)`, once per run (conftest)


def _eval_texts() -> list[str]:
    """Every message of eval/safety-dev.yaml and of the ordinary question sets; never the holdouts."""
    texts: list[str] = []
    for path in sorted((REPO / "eval").glob("*.yaml")):
        if "holdout" in path.name:
            continue
        texts.extend(str(item["text"]) for item in eval_items(path.name))  # parsed once per run (conftest)
    return list(dict.fromkeys(texts))


def _names(net: SafetyNet) -> dict[str, float]:
    """The net's weights by feature name, the grams' names read back from their codes."""
    kinds = {1: "u", 2: "b", 3: "t"}
    named: dict[str, float] = {}
    for place, code in enumerate(net.grams.tolist()):
        kind = code >> 48
        chars = [(code >> shift) & 0xFFFF for shift in (32, 16, 0)][:kind]
        named[kinds[kind] + "".join(map(chr, chars))] = float(net.weights[place])
    for name, place in net.others.items():
        named[name] = float(net.weights[place])
    assert len(named) == len(net.weights)
    return named


def _reference_probability(named: dict[str, float], bias: float, canonical: str, families: Families) -> float:
    z = bias + sum(named.get(feature, 0.0) for feature in sorted(net_features(canonical, families)))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def _reference_train(
    examples: Sequence[tuple[str, bool]], families: Families, importance: Sequence[float]
) -> tuple[dict[str, float], float]:
    """Training with the vocabulary as first written, by feature name: the weights by name and the bias."""
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    columns: list[int] = []
    for row, (canonical, _) in enumerate(examples):
        for feature in sorted(net_features(canonical, families)):
            rows.append(row)
            columns.append(vocabulary.setdefault(feature, len(vocabulary)))
    row_index, column_index = np.array(rows, dtype=np.intp), np.array(columns, dtype=np.intp)
    labels = np.array([1.0 if risky else 0.0 for _, risky in examples])
    weights, bias = _whole_descend(row_index, column_index, labels, np.array(importance), len(vocabulary))
    return {feature: float(weights[column]) for feature, column in vocabulary.items()}, bias


def _whole_descend(
    row_index: np.ndarray, column_index: np.ndarray, labels: np.ndarray, base: np.ndarray, size: int
) -> tuple[np.ndarray, float]:
    """`bot.safety.descend` as first written: every sum one `np.bincount` over all the pairs at once."""
    count = len(labels)
    positives = max(float(labels.sum()), 1.0)
    negatives = float((base * (1.0 - labels)).sum())
    sample = np.where(labels > 0, negatives / positives, base)
    sample *= count / float(sample.sum())
    weights = np.zeros(size)
    bias = 0.0
    for _ in range(NET_ITERATIONS):
        z = np.bincount(row_index, weights=weights[column_index], minlength=count) + bias
        error = (1.0 / (1.0 + np.exp(-z)) - labels) * sample
        gradient = np.bincount(column_index, weights=error[row_index], minlength=size) / count
        weights -= NET_STEP * (gradient + NET_L2 * weights)
        bias -= 0.5 * float(error.mean())
    return weights, bias


def test_the_codes_are_exactly_the_chinese_features_by_name(bundled: KnowledgeBase) -> None:
    texts = [*_eval_texts()[::10], "", "a", "我", "我想", "我想死", "我 想 死", "想死 kms 想死", "※我※", "一二三四五六"]
    for text in texts:
        canonical = bundled.safety.canonical(text)
        by_name = {c for f in net_features(canonical, bundled.safety.families) if (c := gram_code(f)) is not None}
        codes = gram_codes(canonical)
        assert codes.tolist() == sorted(by_name), text  # sorted, each once, none missing, none extra
    assert gram_code("w想") is None and gram_code("t想死") is None and gram_code("CUT") is None


@pytest.mark.parametrize(
    ("pairs_at_once", "grams_at_once"),
    [
        (bot.safety.DESCEND_CHUNK, bot.safety.GRAMS_AT_ONCE),  # as the bot trains: one slice for these examples
        (997, 1009),  # slices of a few rows, and the grams merged a few examples at a time
        (3, 1),  # a slice for each row (rows are longer than this), the grams merged after each example
    ],
)
def test_training_gives_the_weights_of_the_name_vocabulary_to_the_bit(
    bundled: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, pairs_at_once: int, grams_at_once: int
) -> None:
    monkeypatch.setattr(bot.safety, "DESCEND_CHUNK", pairs_at_once)
    monkeypatch.setattr(bot.safety, "GRAMS_AT_ONCE", grams_at_once)
    data = safety_examples()
    rules = bundled.safety
    # Chinese, English and mixed messages, risky and not: every kind of feature and every order of their names.
    # (Slices of three pairs are a Python step for every three pairs: half the examples there, 11 s -> 6 s.)
    step = 160 if pairs_at_once < 100 else 80
    examples = [(rules.canonical(str(text)), True) for text in (data["act"] + data["crisis"] + data["concern"])[::step]]
    examples += [(rules.canonical(str(text)), False) for text in data["safe"][::step]]
    examples += [(rules.canonical("I want to die 我不想活了 zs"), True), (rules.canonical("累死了 lol ok"), False)]
    # an example without a single feature, first, in the middle and last: a row with no pairs in a slice
    examples = [("", False), *examples[:50], ("", True), *examples[50:], ("", False)]
    importance = [1.0] * len(examples)
    net = SafetyNet.train(examples, rules.families, 0.7, importance)
    reference, bias = _reference_train(examples, rules.families, importance)
    assert net.bias == bias
    assert _names(net) == reference  # the same features, each with the same float


def test_the_bundled_net_decides_the_tuning_and_ordinary_messages_as_the_name_vocabulary_does(
    bundled: KnowledgeBase,
) -> None:
    net = bundled.safety.net
    assert net is not None
    named = _names(net)
    for text in _eval_texts()[::10]:  # one message in ten: the reference sums every feature by name, slowly
        canonical = bundled.safety.canonical(text[:4000])
        ours = net.probability(canonical)
        reference = _reference_probability(named, net.bias, canonical, net.families)
        # Only the order of the additions differs: far below any distance to the threshold.
        assert abs(ours - reference) < 1e-12, text
        assert (ours >= net.threshold) == (reference >= net.threshold), text


def test_a_kept_net_looks_its_names_up_by_hash_with_the_columns_and_sums_of_a_dict(
    bundled: KnowledgeBase, tmp_path: Path
) -> None:
    # A later start reads the nets from the data folder: their English and cue-family features are found by hash
    # (`_HashedNames`), the names staying packed. Every column and every probability must be what a dict gives.
    seed_bundled_cache(tmp_path)
    kept = load_knowledge(REPO, cache_dir=tmp_path / CACHE_DIR).knowledge.safety
    # One message in nine of every set, each put in canonical form and its names found once for the four nets: the
    # columns the hash finds for every one of them, and the probabilities of one in forty-five (a probability adds the
    # weights of those columns; whole probabilities of one in nine took 18 s of a CI worker).
    canonicals = [(text, kept.canonical(text[:4000])) for text in _eval_texts()[::9]]
    nets = (kept.net, kept.urgent, kept.acts, kept.someone)
    assert all(net is not None and net.families == kept.families for net in nets)
    found = [sorted(bot.safety._other_features(canonical, kept.families)) for _, canonical in canonicals]
    assert sum(map(len, found)) > 10 * len(found)  # English words and pairs, cue families and their pairs
    for net in nets:
        assert net is not None
        names = net.others
        assert isinstance(names, bot.safety._HashedNames)
        as_dict = dict(names.items())  # the packed names, in the order of their columns
        assert list(as_dict.values()) == list(range(len(net.grams), len(net.weights)))
        assert all(names[name] == column for name, column in as_dict.items())
        assert "no such feature" not in names and names.get("no such feature") is None and 7 not in names
        for (text, _), features in zip(canonicals, found, strict=True):
            assert names.columns(features) == [as_dict[name] for name in features if name in as_dict], text
        plain = dataclasses.replace(net, others=MappingProxyType(as_dict))
        for text, canonical in canonicals[::5]:
            assert net.probability(canonical) == plain.probability(canonical), text


def test_names_with_one_hash_between_them_are_kept_in_a_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two names of one vocabulary with the same hash could not be told apart in the sorted array: a dict then.
    monkeypatch.setattr(bot.safety, "hash", lambda name: len(name), raising=False)
    names = bot.safety._HashedNames.of(*pack_texts(["ab", "cd", "efg"]), 10)
    assert not isinstance(names, bot.safety._HashedNames)
    assert dict(names) == {"ab": 10, "cd": 11, "efg": 12}
    distinct = bot.safety._HashedNames.of(*pack_texts(["a", "bc", "def"]), 10)
    assert isinstance(distinct, bot.safety._HashedNames)
    assert (distinct["a"], distinct["bc"], distinct["def"]) == (10, 11, 12) and "xy" in distinct  # one hash: len 2
    assert distinct.columns(["def", "zz", "a", "nope!"]) == [12, 11, 10]


@pytest.mark.parametrize("pairs_at_once", [bot.safety.DESCEND_CHUNK, 5])
def test_slices_of_more_rows_than_16_bits_number_learn_the_weights_of_the_whole_array_form(
    monkeypatch: pytest.MonkeyPatch, pairs_at_once: int
) -> None:
    # 70,000 rows, most without a feature (an example whose text was all cut): one slice holds more rows than a
    # 16-bit number counts, and its rows are numbered in 32 bits; with slices of five pairs, in 16.
    monkeypatch.setattr(bot.safety, "DESCEND_CHUNK", pairs_at_once)
    generator = np.random.default_rng(7)
    count, size = 70_000, 50
    lengths = np.zeros(count, dtype=np.intp)
    lengths[generator.choice(count, 400, replace=False)] = generator.integers(1, 6, 400)
    columns = np.concatenate([np.sort(generator.choice(size, n, replace=False)) for n in lengths if n]).astype(np.int32)
    labels = (generator.random(count) < 0.3).astype(np.float64)
    base = np.ones(count)
    rows = np.repeat(np.arange(count, dtype=np.intp), lengths)
    weights, bias = bot.safety.descend(lengths, columns, labels, base, size)
    reference, reference_bias = _whole_descend(rows, columns.astype(np.intp), labels, base, size)
    assert bias == reference_bias and weights.tobytes() == reference.tobytes()
    kinds = {bot.safety._slice_rows(lengths[a:b]).dtype for a, b, _, _ in bot.safety._row_slices(lengths, count)}
    assert kinds == ({np.dtype(np.uint32)} if pairs_at_once > 1000 else {np.dtype(np.uint16)})

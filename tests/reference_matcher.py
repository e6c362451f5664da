"""The matcher as it was before scoring was vectorised: a per-intent Python loop, kept only as the reference
that tests/test_matcher_reference.py compares the real matcher's decisions against, in the same run, on every
evaluation set. Do not change its behaviour; it is the definition of "the same decisions".
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from bot.lexicon import Lexicon

# What is tuned on the real matcher (how a message is cut into clauses, the weights, the thresholds) and how a
# decision is read from the scores are shared, so the comparison stays about how the scores are computed and ranked.
from bot.matcher import (
    COMMON_SHARE,
    CONTEXT_WEIGHT,
    EXAMPLE_WEIGHT,
    NEAR_CUTOFF,
    NEAR_DISCOUNT,
    NEAR_POOL,
    PAIR_WEIGHT,
    PRUNE_FROM,
    UNIGRAM_WEIGHT,
    Analysis,
    Explanation,
    Thresholds,
    asks_how_to_tell,
    asks_if_genuine,
    asks_police,
    clauses,
    complained_in_vain,
    complaint_target,
    coordinated,
    decide,
    focused,
    question_form,
    scam_offer,
    without_place,
)
from bot.models import Candidate, Match
from bot.text import has_cjk, normalise


class Teachable(Protocol):
    """What the matcher needs of an intent."""

    @property
    def id(self) -> str: ...
    @property
    def examples(self) -> tuple[str, ...]: ...
    @property
    def keywords(self) -> tuple[str, ...]: ...
    @property
    def out_of_scope(self) -> bool: ...


_LATIN = re.compile(r"[a-z0-9]+")
_NOT_LATIN = re.compile(r"[^a-z0-9 ]+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _stem(word: str) -> str:
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def features(normalised: str) -> dict[str, float]:
    """Raw term weights of a normalised text (before IDF)."""
    found: dict[str, float] = {}
    for run in _CJK_RUN.findall(normalised):
        for index, char in enumerate(run):
            found["u" + char] = UNIGRAM_WEIGHT
            if index + 1 < len(run):
                found["b" + run[index : index + 2]] = 1.0

    words = [_stem(word) for word in _LATIN.findall(normalised)]
    for index, word in enumerate(words):
        found["w" + word] = 1.0
        if index + 1 < len(words):
            found["p" + word + " " + words[index + 1]] = PAIR_WEIGHT
    return found


def _column(entries: list[tuple[int, float]]) -> tuple[Indexes, Weights]:
    return np.array([index for index, _ in entries], dtype=np.intp), np.array([w for _, w in entries])


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(value * value for value in vector.values()))
    if norm == 0:
        return {}
    return {key: value / norm for key, value in vector.items()}


Owners = tuple[tuple[int, float], ...]  # (intent index, boost) for every intent that lists a keyword


@dataclass(frozen=True)
class KeywordIndex:
    """Every keyword a message contains, found by looking only at keywords that start where its words do."""

    chinese: Mapping[str, tuple[tuple[str, Owners], ...]]  # first character → (keyword, owners)
    latin: Mapping[tuple[str, ...], Owners]  # keyword as a tuple of words → owners
    lengths: tuple[int, ...]  # the word counts that Latin keywords have

    @classmethod
    def build(cls, keywords: Iterable[tuple[str, Owners]]) -> KeywordIndex:
        chinese: dict[str, list[tuple[str, Owners]]] = defaultdict(list)
        latin: dict[tuple[str, ...], Owners] = {}
        for text, owners in keywords:
            if has_cjk(text):
                chinese[text[0]].append((text, owners))
            else:
                latin[tuple(text.split())] = owners
        return cls(
            {first: tuple(entries) for first, entries in chinese.items()},
            latin,
            tuple(sorted({len(words) for words in latin})),
        )

    def find(self, query: str) -> Iterator[Owners]:
        """Owners of each keyword in the normalised query, once per keyword."""
        seen: set[str] = set()
        for position, char in enumerate(query):
            for keyword, owners in self.chinese.get(char, ()):
                if keyword not in seen and query.startswith(keyword, position):
                    seen.add(keyword)
                    yield owners
        # Chinese characters end a Latin word too: "12348能帮我什么" contains the keyword "12348".
        words = _NOT_LATIN.sub(" ", query).split()
        found: set[tuple[str, ...]] = set()
        for length in self.lengths:
            for start in range(len(words) - length + 1):
                key = tuple(words[start : start + length])
                if key in self.latin and key not in found:
                    found.add(key)
                    yield self.latin[key]

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.chinese.values()) + len(self.latin)


Indexes = npt.NDArray[np.intp]
Weights = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Matcher:
    intents: tuple[str, ...]
    out_of_scope: frozenset[str]
    idf: Mapping[str, float]
    example_text: tuple[str, ...]  # normalised examples, for rapidfuzz
    intent_rows: tuple[range, ...]  # intent index → its examples' indexes (contiguous)
    # feature → sparse column over the examples, then the intents' centroids (at len(example_text) + intent):
    # one numpy sum per message gives both dot products, and its cost grows with the message's features,
    # not with the number of examples.
    columns: Mapping[str, tuple[Indexes, Weights]]
    starts: Indexes  # first example index of each intent that has examples, for per-intent maxima
    with_examples: Indexes  # the intents those starts belong to
    keywords: KeywordIndex
    lexicon: Lexicon = field(default_factory=Lexicon)
    thresholds: Thresholds = field(default_factory=Thresholds)

    @classmethod
    def build(
        cls, intents: Sequence[Teachable], thresholds: Thresholds | None = None, lexicon: Lexicon | None = None
    ) -> Matcher:
        lexicon = lexicon or Lexicon()
        ids = tuple(intent.id for intent in intents)
        intent_features: list[set[str]] = []
        example_rows: list[tuple[int, str, dict[str, float]]] = []
        for index, intent in enumerate(intents):
            seen: set[str] = set()
            for example in intent.examples:
                text = without_place(lexicon.apply(normalise(example)))
                if not text:
                    continue
                raw = features(text)
                seen.update(raw)
                example_rows.append((index, text, raw))
            intent_features.append(seen)
        count = max(len(intents), 1)
        document_frequency: dict[str, int] = defaultdict(int)
        for seen in intent_features:
            for feature in seen:
                document_frequency[feature] += 1
        idf = {
            feature: math.log((count + 1) / (df + 0.5))
            for feature, df in document_frequency.items()
            if count < PRUNE_FROM or df <= COMMON_SHARE * count
        }

        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        centroid_sums: list[dict[str, float]] = [defaultdict(float) for _ in intents]
        for row, (index, _, raw) in enumerate(example_rows):
            vector = _unit({key: value * idf[key] for key, value in raw.items() if key in idf})
            for key, weight in vector.items():
                postings[key].append((row, weight))
                centroid_sums[index][key] += weight
        centroids: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, total in enumerate(centroid_sums):
            for key, weight in _unit(total).items():
                centroids[key].append((index, weight))

        # A keyword shared by several intents says less about each of them; one that most intents' examples
        # use anyway (a keyword that an alias turned into 催收, say) says nothing and is left out.
        keyword_owners: dict[str, set[int]] = defaultdict(set)
        for index, intent in enumerate(intents):
            for keyword in intent.keywords:
                text = lexicon.apply(normalise(keyword))
                if text:
                    keyword_owners[text].add(index)
        if count >= PRUNE_FROM:
            pools = [" ".join(text for owner, text, _ in example_rows if owner == index) for index in range(count)]
            latin_pools = [f" {_NOT_LATIN.sub(' ', pool)} " for pool in pools]
            for text in list(keyword_owners):
                chinese = has_cjk(text)
                used = sum(
                    (text in pool) if chinese else (f" {text} " in latin)
                    for pool, latin in zip(pools, latin_pools, strict=True)
                )
                if used > COMMON_SHARE * count:
                    del keyword_owners[text]
        keywords = KeywordIndex.build(
            (text, tuple((index, 10.0 / len(owners)) for index in sorted(owners)))
            for text, owners in sorted(keyword_owners.items())
        )
        rows_of: list[list[int]] = [[] for _ in intents]
        for row, (index, _, _) in enumerate(example_rows):
            rows_of[index].append(row)
        starts = [rows.start for rows in (range(r[0], r[-1] + 1) for r in rows_of if r)]
        return cls(
            intents=ids,
            out_of_scope=frozenset(intent.id for intent in intents if intent.out_of_scope),
            idf=idf,
            example_text=tuple(text for _, text, _ in example_rows),
            intent_rows=tuple(range(rows[0], rows[-1] + 1) if rows else range(0) for rows in rows_of),
            columns={
                key: _column(postings.get(key, []) + [(len(example_rows) + i, w) for i, w in centroids.get(key, [])])
                for key in postings.keys() | centroids.keys()
            },
            starts=np.array(starts, dtype=np.intp),
            with_examples=np.array([index for index, rows in enumerate(rows_of) if rows], dtype=np.intp),
            keywords=keywords,
            lexicon=lexicon,
            thresholds=thresholds or Thresholds(),
        )

    def scores(self, text: str) -> list[Candidate]:
        """Every intent with a non-zero score, best first (0-100)."""
        return list(self.analyse(text).ranked)

    def analyse(self, text: str) -> Analysis:
        """Scores for the whole message and for each clause of a longer one.

        People tell a story before they ask: the whole message is scored, and so is every sentence, the
        question sentences at full weight and the story at `CONTEXT_WEIGHT`; an intent keeps its best.
        Each clause's own winner is kept too, so a message naming several problems can get an overview.
        """
        whole = self._score(text)
        combined = dict(whole)
        winners: list[tuple[int, float, bool]] = []
        for clause, asks in clauses(text):
            found = self._score(clause)
            if not found:
                continue
            best = max(found, key=lambda index: (found[index], -index))
            winners.append((best, found[best], asks))
            weight = 1.0 if asks else CONTEXT_WEIGHT
            for index, score in found.items():
                if not asks and self.intents[index] in self.out_of_scope:
                    continue  # a story clause raises no out-of-scope intent
                combined[index] = max(combined.get(index, 0.0), score * weight)
        ranked = [Candidate(self.intents[index], score) for index, score in combined.items() if score > 0]
        ranked.sort(key=lambda c: (-c.score, c.intent))
        clause_winners = tuple(Candidate(self.intents[index], score) for index, score, _ in winners)
        asked = tuple(asks for _, _, asks in winners)
        conjuncts = tuple(named for named in map(self._named, coordinated(text)) if named is not None)
        return Analysis(
            tuple(ranked),
            clause_winners,
            asked,
            conjuncts,
            question_form(text),
            asks_if_genuine(text),
            asks_police(text),
            complaint_target(text),
            asks_how_to_tell(text),
            complained_in_vain(text),
            self._in_scope_best(focused(text)),
            scam_offer(text),
        )

    def vector(self, text: str) -> dict[str, float]:
        """The text as the matcher sees it: unit-length, rarity-weighted features (for grouping questions)."""
        query = without_place(self.lexicon.apply(normalise(text)))
        return _unit({key: value * self.idf[key] for key, value in features(query).items() if key in self.idf})

    def _score(self, text: str, parts: dict[int, dict[str, float]] | None = None) -> dict[int, float]:
        """Scores of one text, by intent index; `parts`, when given, receives each score's pieces."""
        query = without_place(self.lexicon.apply(normalise(text)))
        if not query or not self.intents:
            return {}
        vector = _unit({key: value * self.idf[key] for key, value in features(query).items() if key in self.idf})
        examples = len(self.example_text)
        dots = self._sum(self.columns, vector, examples + len(self.intents))
        example_dot, centroid_dot = dots[:examples], dots[examples:]
        best_example = np.zeros(len(self.intents))
        if len(self.starts):
            best_example[self.with_examples] = np.maximum.reduceat(example_dot, self.starts)
        combined = EXAMPLE_WEIGHT * best_example + (1 - EXAMPLE_WEIGHT) * centroid_dot
        rough = {int(index): float(combined[index]) for index in np.flatnonzero(combined > 0)}

        # Near-duplicates (typos, a missing word) are looked for only among the likeliest intents' examples:
        # a near-copy of an example is always close to it in the vector space too.
        likely = sorted(rough, key=rough.__getitem__, reverse=True)[:NEAR_POOL]
        choices: list[str] = []
        owner_of: list[int] = []  # choice position → intent index
        for index in likely:
            rows = self.intent_rows[index]
            choices.extend(self.example_text[rows.start : rows.stop])
            owner_of.extend([index] * len(rows))
        near: dict[int, float] = {}
        scorer = fuzz.ratio if has_cjk(query) else fuzz.token_sort_ratio
        for _, ratio, position in process.extract(query, choices, scorer=scorer, limit=8, score_cutoff=NEAR_CUTOFF):
            index = owner_of[position]
            near[index] = max(near.get(index, 0.0), float(ratio))

        boost: dict[int, float] = defaultdict(float)
        for owners in self.keywords.find(query):
            for index, value in owners:
                boost[index] = min(boost[index] + value, 15.0)

        results: dict[int, float] = {}
        for index in set(rough) | set(near) | set(boost):
            score = 100.0 * rough.get(index, 0.0)
            if index in near:
                # Near-duplicates of an example (typos, a missing word) score like the example itself.
                score = max(score, near[index] - NEAR_DISCOUNT)
            score = min(score + boost.get(index, 0.0), 100.0)
            if score > 0:
                results[index] = score
                if parts is not None:
                    parts[index] = {
                        "best example": 100.0 * float(best_example[index]),
                        "centroid": 100.0 * float(centroid_dot[index]),
                        "near copy": near.get(index, 0.0),
                        "keywords": boost.get(index, 0.0),
                    }
        return results

    def _named(self, text: str) -> Candidate | None:
        """A conjunct's best intent, when the conjunct holds one of that intent's keywords."""
        parts: dict[int, dict[str, float]] = {}
        found = self._score(text, parts)
        if not found:
            return None
        index = max(found, key=lambda i: (found[i], -i))
        if not parts[index]["keywords"]:
            return None
        return Candidate(self.intents[index], found[index])

    def _in_scope_best(self, text: str) -> Candidate | None:
        scores = self._score(text) if text else {}
        found = {index: score for index, score in scores.items() if self.intents[index] not in self.out_of_scope}
        if not found:
            return None
        index = max(found, key=lambda i: (found[i], -i))
        return Candidate(self.intents[index], found[index])

    def _best(self, text: str) -> Candidate | None:
        found = self._score(text)
        if not found:
            return None
        index = max(found, key=lambda i: (found[i], -i))
        return Candidate(self.intents[index], found[index])

    def explain(self, text: str) -> Explanation:
        """What `anxin match --explain` shows: the text as matched, each clause, the pieces of the best scores."""
        parts: dict[int, dict[str, float]] = {}
        whole = self._score(text, parts)
        analysis = self.analyse(text)
        pieces = {
            self.intents[index]: {name: round(value, 1) for name, value in found.items()}
            for index, found in parts.items()
        }
        return Explanation(
            normalised=normalise(text),
            matched=self.lexicon.apply(normalise(text)),
            clauses=tuple((clause, asks, self._best(clause)) for clause, asks in clauses(text)),
            analysis=analysis,
            parts=pieces,
            whole={self.intents[index]: score for index, score in whole.items()},
            decision=self.decide(analysis),
        )

    @staticmethod
    def _sum(columns: Mapping[str, tuple[Indexes, Weights]], vector: Mapping[str, float], size: int) -> Weights:
        """Dot products of the query vector with every row of a sparse matrix stored by column."""
        found = [(columns[key], weight) for key, weight in vector.items() if key in columns]
        if not found:
            return np.zeros(size)
        rows = np.concatenate([indexes for (indexes, _), _ in found])
        values = np.concatenate([weights * weight for (_, weights), weight in found])
        return np.asarray(np.bincount(rows, weights=values, minlength=size), dtype=np.float64)

    def match(self, text: str) -> Match:
        return self.decide(self.analyse(text))

    def decide(self, analysis: Analysis) -> Match:
        # Deciding from the scores is shared with the real matcher: the comparison is about the scores.
        return decide(analysis, self.thresholds, self.out_of_scope)

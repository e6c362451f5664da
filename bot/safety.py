"""The safety layer: recognise risk of self-harm before any matching, in any conversation state.

    assess(text) → Assessment(level, act, other, reasons)

    level   "crisis"  clear risk: intent, a plan or a time, means at hand, an act under way, a method
                      question, farewell; or someone else at risk right now
            "concern" indirect or ambiguous signals: hopelessness, being a burden, wanting to disappear,
                      "if I die are my debts gone?": the bot checks in gently
            "none"
    act     an act is under way or a method is asked about: the emergency number comes first
    other   the person at risk is someone else (a husband on a roof): the reply helps the writer help them; set by
            an `other` rule, or by the fourth net (`SOMEONE_THRESHOLD`), in a message that names someone

The rules are content (`safety/signals.yaml`), checked by `lint`, in four steps over the message in a
canonical form (Simplified, lower case, no punctuation or emoji, one space between English words):

1. `rewrite`: spellings that dodge filters (紫砂, zs, 想si, kms, unalive), Cantonese (唔想, 食咗) and
   Taiwan wording become the plain word, so one signal covers them all;
2. `exclude`: text that is not the writer's own risk is cut out — a collector's words quoted by the user
   ("催收说要弄死我", "told me to go die"), idioms (累死, 笑死, 跳楼价, "killing me lol"), news about
   someone else, a relative who has died;
3. `crisis` and `concern`: named groups of patterns; `{name}` in a pattern stands for a word list under
   `words` ({means}, {high_place}, {farewell}…), so cue families combine ("{time}.{0,6}{die}").
   Groups named `act` or `method` set `act`; groups named `other` set `other`.

Steps 2 and 3 run only the patterns that can match the message: a pattern whose literals (read from it at
load time, `bot.literals`) are absent is skipped, which changes no decision (`SafetyRules.plain` runs all).
A pattern this process or the data folder has seen pass its checks before is compiled only when a message
first needs it (`bot.patterns`); any other is compiled, and checked, as it is read.

If the file is broken, a small built-in rule set keeps working: this check must never be switched off
by a typo, and a broken edit is reported by `lint` with its line.
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import dataclasses
import functools
import hashlib
import logging
import math
import re
import sys
import threading
import unicodedata
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import yaml

from . import content as _content_module
from . import literals as _literals_module
from . import text as _text_module
from .content import KnowledgeError, parse_yaml, read_content, read_yaml
from .kept import code_digest, pack_texts, read_arrays, unpack_texts, write_arrays
from .literals import Literals, Needs, Shortlist, needs_of
from .models import Match
from .patterns import LazyPattern, Source
from .text import normalise

log = logging.getLogger(__name__)

Level = Literal["crisis", "concern", "none"]
# The emergency number first; `quiet` may silence `act` and `method`, never `method_always`.
ACT_GROUPS = frozenset({"act", "method", "method_always"})
OTHER_GROUPS = frozenset({"other", "other_always"})  # someone else at risk now
# The word list (under `words`) of anyone but the writer. An `other` rule counts only in a message that names someone:
# on the tuning set, 28 writers at risk themselves who named nobody else ("这是我最后一次跟人说话了 说完我就关机了",
# "how long does it take with charcoal in a small room") were told how to help another person, against 18 writers about
# someone else who named them in words the list did not hold yet (a tenant, a forum post), now in it.
SOMEONE = "someone"
ME = "me"  # the word list of the writer's own words (`Assessment.mine`)
_REFERENCE = re.compile(r"\{([a-z_]+)\}")
CUT = " ※ "  # what an exclusion leaves where it cut text out


@dataclass(frozen=True)
class Assessment:
    level: Level
    act: bool = False
    other: bool = False
    reasons: tuple[str, ...] = ()  # "crisis/direct", "exclude/idiom"…: for `match --explain` and eval output
    # The message speaks of the writer (a word of the `me` list: 我, 自己, I, my…) and names nobody else (`someone`):
    # in a conversation about someone else at risk, this one is about the writer (care.start).
    mine: bool = False
    # No rule fired and the net stayed under its threshold, but not far under (`LEAN_THRESHOLD`): when the bot has
    # nothing else to say (the matcher understood no topic), it checks in rather than showing a menu (`lean`).
    leaning: bool = False

    @property
    def at_risk(self) -> bool:
        return self.level != "none"

    @property
    def net_only(self) -> bool:
        """Only the safety net's guess, no rule: a weaker signal than any rule (see `SafetyNet`)."""
        return self.at_risk and all(reason.startswith(("concern/net", "crisis/net")) for reason in self.reasons)


NONE = Assessment("none")


def lean(assessment: Assessment, decision: Match) -> Assessment:
    """What the bot acts on once the matcher has decided: a check-in (concern) when the net leaned towards a risk
    (`Assessment.leaning`) and the matcher understood no topic either (the menu of topics; not an out-of-scope reply
    or the collecting side's, which understood who was writing and about what). A person at risk who would get a menu
    is asked whether they are safe, "I'm OK, back to my question" among the choices. Anything else stays as it was."""
    if not assessment.leaning or decision.kind != "fallback" or decision.topic is not None:
        return assessment
    return Assessment("concern", reasons=(*assessment.reasons, "concern/lean"))


@dataclass(frozen=True)
class Signal:
    level: Literal["crisis", "concern"]
    group: str
    pattern: LazyPattern


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
# Word lists (under `words` in signals.yaml) that turn the net's check-in into the crisis reply when one of them
# is in the message: in the tuning sets, 12 of the 13 messages the net alone caught with one of these were people
# at risk, most of them with a plan or a place ("在大桥上站了很久", "炭已经放好了"). `act_hint` (a running engine, a
# platform, blood, something swallowed, "starting to work", an accident insurance pays for) came with set CT, whose
# acts and method questions got only the check-in from the net (82 of 130 given the crisis reply before): of the 64 acts
# and method questions in the tuning sets that the net alone caught, about 50 now get the crisis reply; so do 7 of
# its 57 false alarms of that kind and about one in ten of the other people at risk it caught (the crisis reply
# instead of a check-in: the safer of the two mistakes).
NET_ESCALATE = frozenset({"method", "strong_means", "high", "high_en", "act_hint"})
# Chosen by leaving one writer of eval/safety-dev.yaml out at a time (scripts/safety_net_cv.py --by-writer): with
# 13,514 examples, 800 steps instead of 300 caught a little more (99.4 % against 99.3 % with the rules) and raised
# fewer false alarms (2.8 % against 3.3 %) at the same threshold; a stronger L2 did worse on both.
NET_ITERATIONS = 800
NET_L2 = 0.0001
NET_STEP = 2.5
# The second net, which tells a clear risk from an indirect one: learnt from the `crisis` examples against the
# `concern` and `safe` ones, it turns a check-in into the crisis reply when its probability reaches this. Chosen by
# leaving writers of eval/safety-dev.yaml out (ten groups of eleven, the net trained on the other hundred): of the
# crisis-level messages there, 83.8 % got the crisis reply without it, 94.9 % with it at 0.7 (92.2 % at 0.85); acts
# and method questions 4,440 -> 4,445 of 4,472; the price, 201 more of the 6,948 concern-level messages given the
# crisis reply rather than a check-in, and 19 more of the 183 false alarms. False alarms stay the same in number:
# it only ever raises a level, never flags a message.
URGENT_THRESHOLD = 0.7
# A message shorter than this (characters, spaces not counted) is never raised by the second net, nor marked by the
# third: "割了", "我已经吃了" could be a meal or a haircut as well as an act, and right after a check-in care mode reads
# them as an act anyway. In the cross-validation above, 37 of the 1,561 crisis-level messages the second net raised
# were this short.
NET_MIN_CHARS = 8
# The third net learns the `act` examples (an act under way, a method asked about) against every other example, and
# puts the emergency number first (`Assessment.act`) in a crisis reply that no `act` or `method` rule marked so.
# Chosen the same way (ten groups of writers left out): of the crisis replies the rules gave without it, it marks
# 188 of the 281 acts and method questions at 0.9, and 25 of 9,354 other people at risk and 7 of 85 false alarms
# (at 0.8: 210, 52 and 12; the rules themselves mark 1,306 other people at risk for 4,270 acts).
ACT_THRESHOLD = 0.9
# The fourth net learns the `someone_else` examples (writers worried about someone else at risk) against the other
# messages at risk, and gives a crisis or concern result the reply that helps the writer help that person
# (`Assessment.other`) when no `other` rule did, the message names someone (`SOMEONE`) and its probability reaches this.
# Chosen by leaving ten groups of the tuning set's writers out in turn (scripts/someone_else_cv.py): of the 3,745
# crisis replies about someone else, the rules alone adapt 63.1 %, with the net at 0.8 97.2 %, for 23 more of the 24,541
# writers at risk themselves given that reply (0.09 %; 215 by the rules) and 4 more of the 10,168 check-ins. Lower
# costs about one of those, the worse mistake, for each message it adds (at 0.7: 24 more, for 19 and 3 more; at 0.5:
# 51 more, for 92 and 26 more); higher loses more than it spares (at 0.9: 74 fewer, 9 and 3 spared).
SOMEONE_THRESHOLD = 0.8
# Its weights are kept as 32-bit floats: 1.9 MB instead of 3.8 MB in every start, which peaked at 146.4 MB before this
# net, 150.8 MB with it in 64 bits and 149.1 MB in 32 (target 150). On the 38,689 messages at risk of the tuning set
# its probability moves by 5e-8 at most, and no decision at its threshold.
SOMEONE_SINGLE = True
# Under the net's threshold but at least this, with no rule fired, a message is `Assessment.leaning`: when the matcher
# understands no topic in it either, the bot checks in instead of showing a menu (`lean`). Chosen by five-fold
# cross-validation of the net on safety/examples.yaml (scripts/safety_net_cv.py, each message scored by a net that
# did not learn it): of the 305 people at risk that neither the rules nor the net flagged, 64 got a menu and are asked
# instead at 0.5 (70 at 0.4, 43 at 0.6), for 183 of the 31,142 look-alikes (331 at 0.4, 87 at 0.6), each of which
# got a menu too and now gets a check-in whose "I'm OK" leads back to it.
LEAN_THRESHOLD = 0.5


# Pairs a step of `descend` works on at once: its temporaries (the weights of those pairs, their rows' errors) are 4 MB
# each instead of two more arrays as long as all the pairs (3.9 million on the bundled content, 31 MB each). Slices of
# an eighth of this size took 15 % longer to learn the same weights.
DESCEND_CHUNK = 1 << 19


def descend(
    lengths: npt.NDArray[np.integer],
    column_index: npt.NDArray[np.integer],
    labels: npt.NDArray[np.float64],
    base: npt.NDArray[np.float64],
    size: int,
) -> tuple[npt.NDArray[np.float64], float]:
    """Logistic regression by gradient descent over sparse (row, column) pairs: the weights and the bias. The pairs
    come row by row: row r holds `lengths[r]` of them, in `column_index`.

    Each sum adds the same numbers in the same order as one `np.bincount` over all the pairs would: a row's score
    within the slice that holds all its pairs, a column's gradient by `np.add.at` slice after slice, which adds
    pair after pair onto the running total. So the weights are those of the whole-array form to the bit, with
    temporaries the size of a slice. (`np.take` gathers the same values as indexing, a third faster.) A slice's
    rows are numbered from its first (`_slice_rows`): 16-bit numbers where they fit, a quarter of the memory of
    one row number per pair for all the pairs (23.5 MB at 5.9 million pairs, which set the training peak)."""
    count = len(labels)
    # Classes weigh the same in total: ordinary questions far outnumber the risk examples, and the
    # threshold was chosen (by testing on writers left out) for balanced classes.
    positives = max(float(labels.sum()), 1.0)
    negatives = float((base * (1.0 - labels)).sum())
    sample: npt.NDArray[np.float64] = np.where(labels > 0, negatives / positives, base)
    sample *= count / float(sample.sum())
    slices = _row_slices(lengths, count)
    rows = [_slice_rows(lengths[first_row:last_row]) for first_row, last_row, _, _ in slices]
    weights = np.zeros(size)
    bias = 0.0
    z = np.empty(count)
    for _ in range(NET_ITERATIONS):
        for (first_row, last_row, first, last), mine in zip(slices, rows, strict=True):
            z[first_row:last_row] = np.bincount(
                mine, weights=np.take(weights, column_index[first:last]), minlength=last_row - first_row
            )
        z += bias
        error = (1.0 / (1.0 + np.exp(-z)) - labels) * sample
        gradient = np.zeros(size)
        for (first_row, last_row, first, last), mine in zip(slices, rows, strict=True):
            np.add.at(gradient, column_index[first:last], np.take(error[first_row:last_row], mine))
        gradient /= count
        weights -= NET_STEP * (gradient + NET_L2 * weights)
        bias -= 0.5 * float(error.mean())
    return weights, bias


def _row_slices(lengths: npt.NDArray[np.integer], count: int) -> list[tuple[int, int, int, int]]:
    """(first row, row after the last, first pair, pair after the last) of slices of about `DESCEND_CHUNK` pairs
    that never split a row's pairs, covering rows 0 to `count` (rows without pairs included)."""
    ends = np.cumsum(lengths, dtype=np.int64)  # the pair after each row's last
    total = int(ends[-1]) if count else 0
    slices: list[tuple[int, int, int, int]] = []
    first_row = first = 0
    while first_row < count:
        if first + DESCEND_CHUNK >= total:
            last_row, last = count, total
        else:
            # the row of the pair a slice's length on, ended there; a row longer than a slice is a slice of its own
            last_row = max(int(np.searchsorted(ends, first + DESCEND_CHUNK, side="right")), first_row + 1)
            last = int(ends[last_row - 1])
        slices.append((first_row, last_row, first, last))
        first_row, first = last_row, last
    return slices


def _slice_rows(lengths: npt.NDArray[np.integer]) -> npt.NDArray[np.unsignedinteger]:
    """Each pair's row within a slice of rows (the first is 0), in the smallest type that holds them."""
    kind = np.uint16 if len(lengths) <= 1 << 16 else np.uint32
    return np.repeat(np.arange(len(lengths), dtype=kind), lengths)


def net_features(canonical: str, families: Sequence[tuple[str, re.Pattern[str]]]) -> set[str]:
    """What the safety net looks at: character 1-3-grams, English words and pairs, the cue families present
    (and every pair of them), and whether something was cut out. Families let it recognise a combination
    it has never seen spelled that way."""
    found: set[str] = set()
    for run in _CJK_RUN.findall(canonical):
        for index in range(len(run)):
            found.add("u" + run[index])
            if index + 1 < len(run):
                found.add("b" + run[index : index + 2])
            if index + 2 < len(run):
                found.add("t" + run[index : index + 3])
    return found | _other_features(canonical, families)


def _other_features(canonical: str, families: Sequence[tuple[str, re.Pattern[str]]]) -> set[str]:
    """The features of `net_features` that are not Chinese character grams (those are `gram_codes`)."""
    found: set[str] = set()
    words = _LATIN_WORD.findall(canonical)
    for index, word in enumerate(words):
        found.add("w" + word)
        if index + 1 < len(words):
            found.add("p" + word + " " + words[index + 1])
    hits = sorted(name for name, pattern in families if pattern.search(canonical))
    found.update("F" + name for name in hits)
    found.update(f"FF{a}+{b}" for i, a in enumerate(hits) for b in hits[i + 1 :])
    if "※" in canonical:
        found.add("CUT")
    return found


# The net's Chinese features (character 1-, 2- and 3-grams, nine in ten of its vocabulary) are kept as numbers, not
# strings: the kind in the top bits, then each character's code point (every character `_CJK_RUN` finds is in the
# Basic Multilingual Plane, so 16 bits each). One sorted array of them takes 8 bytes a feature where a dict of
# strings took about 150, and a message's grams are looked up in it all at once (`np.searchsorted`).
_GRAM_KINDS = {"u": 1, "b": 2, "t": 3}


def gram_code(feature: str) -> int | None:
    """The number standing for a `u`/`b`/`t` feature of `net_features`; None for every other feature."""
    kind = _GRAM_KINDS.get(feature[:1])
    if kind is None or len(feature) != kind + 1:
        return None
    code = kind << 48
    for place, char in enumerate(feature[1:]):
        code |= ord(char) << (32 - 16 * place)
    return code


def gram_codes(canonical: str) -> npt.NDArray[np.uint64]:
    """`gram_code` of every `u`/`b`/`t` feature `net_features` finds in `canonical`, sorted, each once."""
    runs = _CJK_RUN.findall(canonical)
    if not runs:
        return np.empty(0, dtype=np.uint64)
    # The runs joined by a NUL, which no gram may contain: a gram never spans two runs.
    chars = np.frombuffer("\0".join(runs).encode("utf-16-le"), dtype="<u2").astype(np.uint64)
    inside = chars != 0
    uni = (np.uint64(1 << 48) | (chars << np.uint64(32)))[inside]
    pair = inside[:-1] & inside[1:]
    bi = (np.uint64(2 << 48) | (chars[:-1] << np.uint64(32)) | (chars[1:] << np.uint64(16)))[pair]
    triple = pair[:-1] & inside[2:]
    tri = (np.uint64(3 << 48) | (chars[:-2] << np.uint64(32)) | (chars[1:-1] << np.uint64(16)) | chars[2:])[triple]
    return np.unique(np.concatenate((uni, bi, tri)))


@dataclass(frozen=True, eq=False)
class SafetyNet:
    """A logistic regression over `net_features`, learnt at load time from `safety/examples.yaml`.

    A backstop behind the rules: when no rule fires and the net's probability reaches `threshold`, the
    bot checks in (concern), or gives the crisis reply when a `NET_ESCALATE` word list is in the message
    too (the latter also when only a concern rule fired). Deterministic: plain gradient descent from zero
    weights, a fixed number of steps.

    The vocabulary is kept in two parts: `grams`, the sorted `gram_code`s of the Chinese features, whose
    weights are the first `len(grams)` of `weights`, and `others` (English words and pairs, cue families),
    each feature with its place in `weights`. The weights are 64-bit floats, or 32-bit ones for a net trained
    `single` (summed in 64 bits either way).
    """

    grams: npt.NDArray[np.uint64]
    others: Mapping[str, int]
    weights: npt.NDArray[np.float64] | npt.NDArray[np.float32]
    bias: float
    threshold: float
    families: tuple[tuple[str, re.Pattern[str]], ...]

    def probability(self, canonical: str) -> float:
        z = self.bias
        codes = gram_codes(canonical)
        if len(codes) and len(self.grams):
            places = np.searchsorted(self.grams, codes)
            places[places == len(self.grams)] = 0
            known = places[self.grams[places] == codes]
            if len(known):
                z += float(self.weights[known].sum(dtype=np.float64))
        features = sorted(_other_features(canonical, self.families))
        names = self.others
        others: list[int]
        if isinstance(names, _HashedNames):
            others = names.columns(features)
        else:
            others = [names[f] for f in features if f in names]
        if others:
            z += float(self.weights[others].sum(dtype=np.float64))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    @classmethod
    def train(
        cls,
        examples: Sequence[tuple[str, bool]],
        families: Sequence[tuple[str, re.Pattern[str]]],
        threshold: float,
        importance: Sequence[float] | None = None,
        vocabulary: Sequence[str] = (),
        single: bool = False,
    ) -> SafetyNet:
        """`importance` (default 1 each) says how much each safe example counts before the classes are balanced.
        `vocabulary`: more messages (canonical) whose features the net holds without learning from them: their
        weights stay 0 (no example has them, and the L2 term of a weight at 0 is 0), and a net that learns from
        fewer messages than another gets the other's vocabulary, which a start then reads once for both.
        `single`: the weights learnt are kept as 32-bit floats, half the memory (`SOMEONE_SINGLE`)."""
        _reuse_freed_memory()
        learnt = _Learnt.of(examples, families, importance, vocabulary)
        return cls.learn(learnt, families, threshold, single)

    @classmethod
    def learn(
        cls, learnt: _Learnt, families: Sequence[tuple[str, re.Pattern[str]]], threshold: float, single: bool = False
    ) -> SafetyNet:
        """The net `train` gives, from the examples' features (`_Learnt`), which it lets go of as it goes: a caller
        that holds no example text any more (`train_kept`) learns without the texts in memory."""
        weights, bias = descend(learnt.lengths, learnt.columns, learnt.labels, learnt.base, len(learnt.vocabulary))
        learnt.columns = np.empty(0, dtype=np.int32)  # let go of the pairs before the weights are arranged
        learnt.lengths = np.empty(0, dtype=np.intp)
        _give_back_memory()
        grams, order, others = _arrange(learnt.vocabulary, learnt.names)
        kept: npt.NDArray[np.float64] | npt.NDArray[np.float32] = np.ascontiguousarray(weights[order])
        if single:
            kept = kept.astype(np.float32)
        return cls(grams, MappingProxyType(others), kept, bias, threshold, tuple(families))


@dataclasses.dataclass
class _Learnt:
    """What `descend` learns from: every example's features as columns of the sorted vocabulary, example after
    example (`columns`; `lengths`: how many each example has), its label and its weight before the classes are
    balanced; the vocabulary's keys and the other features' names (`_features`)."""

    columns: npt.NDArray[np.int32]
    lengths: npt.NDArray[np.integer]
    labels: npt.NDArray[np.float64]
    base: npt.NDArray[np.float64]
    vocabulary: npt.NDArray[np.uint64]
    names: list[str]

    @classmethod
    def of(
        cls,
        examples: Sequence[tuple[str, bool]],
        families: Sequence[tuple[str, re.Pattern[str]]],
        importance: Sequence[float] | None = None,
        vocabulary: Sequence[str] = (),
    ) -> _Learnt:
        # A feature's column is its key's place in the sorted vocabulary. (A dict from feature to column took 100 MB
        # of Python objects at 460,000 features; which column a feature gets changes no sum in `descend`.)
        columns, lengths, keys, names = _features(examples, families, vocabulary)
        labels = np.array([1.0 if risky else 0.0 for _, risky in examples])
        base = np.ones(len(examples)) if importance is None else np.array(importance, dtype=np.float64)
        _give_back_memory()
        return cls(columns, lengths, labels, base, keys, names)


# A feature's key while learning: its class in the top byte, in the order `sorted` gives the features' names (names
# of other features that sort before the 2-grams' letter b, the 2-grams, the names between b and t, the 3-grams, the
# 1-grams, the names after u), then a gram's characters (`gram_code` without its kind) or the place of another
# feature's name among all of them, sorted. Sorting one example's keys puts its features in the order of their
# names, the order in which `descend` must add them for the weights to come out the same at every start.
_GRAM_LETTERS = ("b", "t", "u")
_CLASS_OF_KIND = np.array([0, 5, 1, 3], dtype=np.uint64)  # kind 1 (u), 2 (b), 3 (t)
_KIND_OF_CLASS = np.array([0, 2, 0, 3, 0, 1, 0], dtype=np.uint64)  # its inverse; 0 for the other features' classes
_CLASS_SHIFT = np.uint64(56)
_LOW = np.uint64((1 << 48) - 1)


def _gram_keys(codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    keys: npt.NDArray[np.uint64] = (_CLASS_OF_KIND[codes >> np.uint64(48)] << _CLASS_SHIFT) | (codes & _LOW)
    return keys


# Gram codes `_features` gathers before it merges them into the sorted array of all of them (4 MB).
GRAMS_AT_ONCE = 1 << 19


def _give_back_memory() -> None:
    """Hand the memory a step of training freed back to the system. glibc keeps freed blocks for reuse, and the
    blocks a later step asks for rarely fit them: the training process held 40 MB more than it used."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _libc_function(name: str) -> Callable[..., int] | None:
    """A function of glibc, or None on any other C library (where the memory is simply kept longer)."""
    try:
        return getattr(ctypes.CDLL("libc.so.6"), name)  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


# (A fixed mmap threshold of 128 KB, so that every temporary went back to the system when freed, took 5 MB off the
# peak and made a first start, three nets training at once on two cores, 23 % slower: each slice's temporaries were
# new pages to fault in.)
_malloc_trim = _libc_function("malloc_trim")
_mallopt = _libc_function("mallopt")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
# Temporaries up to this size are carved from the heap, and this much free memory at its top is kept, while a net
# learns. With glibc's defaults a small net's steps of `descend` gave their temporaries (a few MB each) back to the
# system and faulted the same pages in again on the next: a net of a fortieth of the bundled examples, as the tests
# train, took its training process 11.7 s, 4.4 s with this (3.5 s -> 1.4 s for the act net), the weights the same to
# the bit and the peak the same. The bundled nets train as fast as before (about 72 s each alone): the large arrays
# `_features` frees already raise glibc's own thresholds past a step's temporaries. (Either setting alone was no
# faster.)
TRAINING_HEAP_KEPT = 16 << 20


def _reuse_freed_memory() -> None:
    """Keep memory freed while learning for the next step instead of handing it back (`TRAINING_HEAP_KEPT`). Set
    once for the process; `_give_back_memory` still trims it explicitly after each large step."""
    if _mallopt is not None:
        _mallopt(_M_MMAP_THRESHOLD, TRAINING_HEAP_KEPT)
        _mallopt(_M_TRIM_THRESHOLD, TRAINING_HEAP_KEPT)


def _features(
    examples: Sequence[tuple[str, bool]],
    families: Sequence[tuple[str, re.Pattern[str]]],
    unlearnt: Sequence[str] = (),
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.intp], npt.NDArray[np.uint64], list[str]]:
    """What `descend` learns from: every example's features as columns, example after example, each example's in the
    order of the features' names; how many each example has; the vocabulary (the features' keys, sorted: a column is
    a place in it), which holds the features of the `unlearnt` messages too; and the other features' names, sorted (an
    other feature's key has its place there)."""
    # First the other features (English words and pairs, cue families): their names, to sort them, and which of them
    # each example has, as numbers; and the grams' codes, gathered a slice at a time into one sorted array of them
    # all. The grams are found again below, which costs less than keeping them.
    numbers: dict[str, int] = {}
    found = array("I")
    others = np.zeros(len(examples), dtype=np.intp)
    grams = np.zeros(len(examples), dtype=np.intp)
    codes = np.empty(0, dtype=np.uint64)
    pending: list[npt.NDArray[np.uint64]] = []
    waiting = 0
    texts = [canonical for canonical, _ in examples] + list(unlearnt)
    for row, canonical in enumerate(texts):
        features = _other_features(canonical, families)
        ids = [numbers.setdefault(name, len(numbers)) for name in features]
        mine = gram_codes(canonical)
        if row < len(examples):  # an unlearnt message's features are only gathered into the vocabulary
            found.extend(ids)
            others[row] = len(features)
            grams[row] = len(mine)
        pending.append(mine)
        waiting += len(mine)
        if waiting >= GRAMS_AT_ONCE or row == len(texts) - 1:
            codes = np.union1d(codes, np.concatenate(pending))
            pending, waiting = [], 0
            _give_back_memory()
    del texts
    names = list(numbers)
    del numbers
    by_name = sorted(range(len(names)), key=names.__getitem__)
    ranks = np.empty(len(names), dtype=np.uint64)
    ranks[by_name] = np.arange(len(names), dtype=np.uint64)
    classes = np.array([2 * bisect.bisect_left(_GRAM_LETTERS, name) for name in names], dtype=np.uint64)
    other_keys = (classes << _CLASS_SHIFT) | ranks
    del ranks, classes
    vocabulary = np.sort(np.concatenate((_gram_keys(codes), other_keys)))
    del codes
    lengths = grams + others
    # 32-bit columns (and rows, in `SafetyNet.train`): a vocabulary and an example count far below 2**31, and half the
    # memory of the two arrays as long as all the pairs (4.2 million on the bundled content) that training holds.
    columns = np.empty(int(lengths.sum()), dtype=np.int32)
    numbered = np.frombuffer(found, dtype=np.uint32)
    at = taken = 0
    for row, (canonical, _) in enumerate(examples):
        keys = np.concatenate((_gram_keys(gram_codes(canonical)), other_keys[numbered[taken : taken + others[row]]]))
        keys.sort()
        columns[at : at + len(keys)] = np.searchsorted(vocabulary, keys)
        at += len(keys)
        taken += int(others[row])
    return columns, lengths, vocabulary, [names[number] for number in by_name]


def _arrange(
    vocabulary: npt.NDArray[np.uint64], names: Sequence[str]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp], dict[str, int]]:
    """How `SafetyNet` keeps weights learnt for `vocabulary` (sorted keys, `_features`; `names`: the other
    features' names, sorted): the sorted gram codes, the order to put the weights in (the grams' first, by code),
    and each other feature's place in it."""
    kinds = _KIND_OF_CLASS[vocabulary >> _CLASS_SHIFT]
    gram_places = np.flatnonzero(kinds)
    codes = (kinds[gram_places] << np.uint64(48)) | (vocabulary[gram_places] & _LOW)
    by_code = np.argsort(codes, kind="stable")
    rest = np.flatnonzero(kinds == 0)
    low = (vocabulary[rest] & _LOW).tolist()
    others = {names[rank]: place for place, rank in enumerate(low, len(gram_places))}
    return codes[by_code], np.concatenate((gram_places[by_code], rest)), others


@dataclass(frozen=True, eq=False)
class _Screen:
    """The literal prefilter (`bot.literals`): which exclusions and signals may match a message, from what
    each needs, and the index that finds those literals in a message. Skipping a pattern that cannot match
    changes nothing, so decisions are those of running every pattern (`SafetyRules.plain`)."""

    literals: Literals
    exclusions: Shortlist
    signals: Shortlist
    rewrites: Shortlist
    made_for: tuple[object, ...]  # the rules' own tuples of exclusions, signals and rewrites, these very objects

    @classmethod
    def of(cls, rules: SafetyRules) -> _Screen:
        need = _needs(
            [pattern for _, pattern in rules.exclusions]
            + [signal.pattern for signal in rules.signals]
            + [pattern for pattern, _ in rules.rewrites]
        )
        exclusions = Shortlist(need[: len(rules.exclusions)])
        signals = Shortlist(need[len(rules.exclusions) : len(rules.exclusions) + len(rules.signals)])
        rewrites = Shortlist(need[len(rules.exclusions) + len(rules.signals) :])
        every = {
            literal
            for need in (*exclusions.needs, *signals.needs, *rewrites.needs)
            for clause in need
            for literal in clause
        }
        return cls(Literals(every), exclusions, signals, rewrites, _screened(rules))

    def fits(self, rules: SafetyRules) -> bool:
        """Whether this screen was made for the very patterns `rules` holds (a copy that only adds the nets)."""
        return all(mine is theirs for mine, theirs in zip(self.made_for, _screened(rules), strict=True))


def _screened(rules: SafetyRules) -> tuple[object, ...]:
    return (rules.exclusions, rules.signals, rules.rewrites)


@dataclass(frozen=True)
class SafetyRules:
    rewrites: tuple[tuple[LazyPattern, str], ...]
    emoji: tuple[tuple[str, str], ...]  # emoji → word, before normalisation drops them
    exclusions: tuple[tuple[str, LazyPattern], ...]
    signals: tuple[Signal, ...]
    quiet: tuple[tuple[str, frozenset[str]], ...] = ()  # signal group → exclusion groups that silence it
    families: tuple[tuple[str, re.Pattern[str]], ...] = ()  # the `words` lists, for the safety net
    net: SafetyNet | None = None
    urgent: SafetyNet | None = None  # crisis against concern or safe: turns a check-in into the crisis reply
    acts: SafetyNet | None = None  # an act or a method against the rest: the emergency number first
    someone: SafetyNet | None = None  # someone else at risk against the writer: the reply helps the writer help them
    built_in: bool = False  # True when the content file could not be used
    # Skip every pattern whose needed literals are not in the message (`_Screen`); False runs them all, the
    # reference the tests hold the prefilter to (`plain()`).
    prefilter: bool = True
    # Never given: `dataclasses.replace` hands the copy the original's, kept only if made for the same patterns.
    _screen: _Screen | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived here, from the patterns this object holds, so that no copy (`dataclasses.replace`) can
        # carry a prefilter made for other patterns. A copy holding the very same ones (the rules with their
        # nets, at every load) keeps the prefilter: making it again was a tenth of a start.
        screen = self._screen
        if not self.prefilter:
            screen = None
        elif screen is None or not screen.fits(self):
            screen = _Screen.of(self)
        object.__setattr__(self, "_screen", screen)

    def plain(self) -> SafetyRules:
        """The same rules with every pattern run on every message: slower, and the same decisions."""
        return dataclasses.replace(self, prefilter=False)

    def canonical(self, text: str) -> str:
        """The message as the rules see it: normalised, rewritten, with other people's words cut out."""
        return self._cut(*self._rewritten(text))[0]

    def assess(self, text: str) -> Assessment:
        cut, excluded, present = self._cut(*self._rewritten(text))
        found = self._judge(cut, excluded, present)
        if found.at_risk and self._names(ME, cut) and not self._names(SOMEONE, cut):
            return dataclasses.replace(found, mine=True)
        return found

    def _judge(self, cut: str, excluded: set[str], present: set[str] | None) -> Assessment:
        silenced = {group for group, by in self.quiet if by & excluded}
        crisis: list[Signal] = []
        concern: list[Signal] = []
        screen = self._screen
        if screen is None or present is None:
            candidates: Iterable[Signal] = self.signals
        else:
            candidates = (self.signals[index] for index in screen.signals.possible(present))
        for signal in candidates:
            if signal.group not in silenced and signal.pattern.search(cut):
                (crisis if signal.level == "crisis" else concern).append(signal)
        fired = crisis or concern
        escalated = None
        probability = 0.0
        if not crisis and self.net is not None:
            # With no crisis rule, the net may still see an act or a method: next to a method, a means or a height
            # its guess makes it the crisis reply, also when a concern rule fired ("人在海边，鞋子脱了放在礁石上，
            # 水好冷，我是不是很没用": a hopeless line must not turn an act the net recognises into a check-in).
            probability = self.net.probability(cut)
            if probability >= self.net.threshold:
                means = sorted(name for name, pattern in self.families if name in NET_ESCALATE and pattern.search(cut))
                if means:
                    escalated = f"crisis/net {probability:.2f} + {'+'.join(means)}"
                elif not fired:
                    urgent = self._urgent(cut)
                    reason = f"concern/net {probability:.2f}"
                    if urgent is None:
                        return self._told(Assessment("concern", reasons=(reason,)), cut)
                    return self._told(Assessment("crisis", reasons=(reason, urgent)), cut)
        if not fired:
            if escalated is not None:
                return self._told(Assessment("crisis", reasons=(escalated,)), cut)
            if probability >= LEAN_THRESHOLD and not _too_short(cut):  # 0 without a net
                return Assessment("none", reasons=(f"lean/net {probability:.2f}",), leaning=True)
            return NONE
        if not crisis and escalated is None:
            escalated = self._urgent(cut)
        groups = {signal.group for signal in fired}
        reasons = {f"{s.level}/{s.group}" for s in fired} | {f"exclude/{g}" for g in excluded}
        found = Assessment(
            "crisis" if crisis or escalated else "concern",
            act=bool(groups & ACT_GROUPS),
            other=bool(groups & OTHER_GROUPS) and self._names(SOMEONE, cut, absent=True),
            reasons=tuple(sorted(reasons if escalated is None else reasons | {escalated})),
        )
        return self._told(found, cut)

    def _told(self, found: Assessment, cut: str) -> Assessment:
        """A crisis or concern result with, in a crisis reply, whether the emergency number comes first (`_acting`),
        then who is at risk (`_about`, which leaves an act as the writer's)."""
        if found.level == "crisis":
            found = self._acting(found, cut)
        return self._about(found, cut)

    def _about(self, found: Assessment, cut: str) -> Assessment:
        """The reply that helps the writer help someone else at risk, when the fourth net sees a writer worried about
        another person that no `other` rule marked and the message names someone (`SOMEONE`, as for the rules).

        Never for an act, a rule's or the third net's: the net read four writers in the act themselves as someone else
        on the tuning set ("在天台上，刚给我妈发了条微信说对不起"), and an act is the worst place to be told how to help
        another person; the act reply offers "是别人有危险" instead."""
        if found.other or found.act or self.someone is None or not self._names(SOMEONE, cut, absent=True):
            return found
        probability = self.someone.probability(cut)
        if probability < self.someone.threshold:
            return found
        reason = f"{found.level}/net other {probability:.2f}"
        return dataclasses.replace(found, other=True, reasons=(*found.reasons, reason))

    def _names(self, words: str, cut: str, absent: bool = False) -> bool:
        """Whether the message holds a word of the list `words` (`SOMEONE`, `ME`); `absent` without that list (the
        built-in rules have none)."""
        patterns = [pattern for name, pattern in self.families if name == words]
        return any(pattern.search(cut) for pattern in patterns) if patterns else absent

    def _acting(self, found: Assessment, cut: str) -> Assessment:
        """The crisis reply with the emergency number first when the third net sees an act under way or a method
        asked about that no `act` or `method` rule named; never for someone writing about another person (their
        reply helps them help that person) and never for a message too short to tell."""
        if found.act or found.other or self.acts is None or _too_short(cut):
            return found
        probability = self.acts.probability(cut)
        if probability < self.acts.threshold:
            return found
        return dataclasses.replace(found, act=True, reasons=(*found.reasons, f"crisis/net act {probability:.2f}"))

    def _urgent(self, cut: str) -> str | None:
        """The reason to give the crisis reply instead of a check-in, when the second net sees a clear risk."""
        if self.urgent is None or _too_short(cut):
            return None
        probability = self.urgent.probability(cut)
        # Named as the net's own ("crisis/net…"): a check-in the net alone raised stays the net's guess (`net_only`).
        return f"crisis/net urgent {probability:.2f}" if probability >= self.urgent.threshold else None

    def _rewritten(self, text: str) -> tuple[str, set[str] | None]:
        """The message normalised and rewritten, and (with the prefilter) the literals it now contains."""
        folded = unicodedata.normalize("NFKC", text)
        for emoji, word in self.emoji:
            if emoji in folded:
                folded = folded.replace(emoji, f" {word} ")
        canonical = normalise(folded)
        screen = self._screen
        if screen is None:
            for pattern, replacement in self.rewrites:
                canonical = pattern.sub(replacement, canonical)
            return canonical, None
        # In order, only the rewrites that may match; after one that changes the text, the literals are read
        # again, so each later rewrite is judged on the text it would have run on.
        present = screen.literals.present(canonical)
        pending = deque(screen.rewrites.possible(present))
        while pending:
            index = pending.popleft()
            pattern, replacement = self.rewrites[index]
            rewritten = pattern.sub(replacement, canonical)
            if rewritten != canonical:
                canonical = rewritten
                present = screen.literals.present(canonical)
                pending = deque(later for later in screen.rewrites.possible(present) if later > index)
        return canonical, present

    def _cut(self, text: str, present: set[str] | None) -> tuple[str, set[str], set[str] | None]:
        """The text without what the exclusions cut out, the exclusion groups that cut, and (with the
        prefilter) the literals the text now contains. `present`: the literals `text` contains
        (from `_rewritten`), None without the prefilter."""
        excluded: set[str] = set()
        screen = self._screen
        if screen is None or present is None:
            for group, pattern in self.exclusions:
                text, count = pattern.subn(CUT, text)
                if count:
                    excluded.add(group)
            return text, excluded, None
        # In order, only the exclusions that may match: `subn` with any other would change nothing.
        pending = deque(screen.exclusions.possible(present))
        while pending:
            index = pending.popleft()
            group, pattern = self.exclusions[index]
            text, count = pattern.subn(CUT, text)
            if count:
                excluded.add(group)
                # The cut removed literals and may have made new ones around each CUT: read them again. (Counting
                # every literal a CUT could touch as present was cheaper to write, but in English that is nearly
                # every literal, a space being one of its characters, and it ran some 250 signals for nothing.)
                present = screen.literals.present(text)
                pending = deque(later for later in screen.exclusions.possible(present) if later > index)
        return text, excluded, present


def _too_short(cut: str) -> bool:
    """Whether a message says too little for the second and third nets to tell (`NET_MIN_CHARS`)."""
    return len(cut) - cut.count(" ") < NET_MIN_CHARS


# --- the built-in rules: used only when safety/signals.yaml cannot be read ---------------------------------

BUILT_IN_CRISIS = (
    r"自杀",
    r"轻生",
    r"(?<!不)想死",
    r"不想活",
    r"活不下去",
    r"结束(自己的)?生命",
    r"遗书",
    r"跳楼",
    r"安眠药",
    r"烧炭",
    r"割腕",
    r"suicid",
    r"kill my ?self",
    r"end (my|it) (life|all)",
    r"want to die",
)
BUILT_IN_EXCLUDE = (
    r"(让|叫|骂|咒|说)(我|你)(去)?死",
    r"(弄死|打死|杀了|砍死)(我|你)",
    r"(told|tell) me to (go )?(die|kill my ?self)",
)


def built_in_rules() -> SafetyRules:
    return SafetyRules(
        rewrites=(),
        emoji=(),
        exclusions=tuple(("built_in", LazyPattern.of(re.compile(p))) for p in BUILT_IN_EXCLUDE),
        signals=tuple(Signal("crisis", "built_in", LazyPattern.of(re.compile(p))) for p in BUILT_IN_CRISIS),
        built_in=True,
    )


# --- loading -------------------------------------------------------------------------------------------

SECTIONS = ("words", "emoji", "rewrite", "exclude", "quiet", "crisis", "concern")


class _Reader:
    """Turns the YAML node tree into rules, reporting every problem with its line."""

    def __init__(self, path: Path, errors: list[KnowledgeError], known: Mapping[str, int] | None = None) -> None:
        self.path = path
        self.errors = errors
        self.words: dict[str, str] = {}
        # Patterns proven good before (`_known_key` → the flags `re.compile` gave): they are not compiled again
        # now, only when a message needs them. `good`: every pattern of this file that passed, for next time.
        self.known: Mapping[str, int] = known or {}
        self.good: dict[str, int] = {}

    def error(self, node: yaml.Node, message: str) -> None:

        self.errors.append(KnowledgeError(self.path, node.start_mark.line + 1, message))

    def texts(self, node: yaml.Node, what: str) -> Iterable[tuple[str, yaml.Node]]:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{what} must be a list (lines starting with -)")
            return
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
                self.error(item, f"an item of {what} is empty or not text")
                continue
            yield str(item.value).strip(), item

    def groups(self, node: yaml.Node, section: str) -> Iterable[tuple[str, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"`{section}` must be named groups: `group_name:` followed by a list of patterns")
            return
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                self.error(key, f"group name `{name}` must be lower case letters, digits and _")
                continue
            if name in seen:
                self.error(key, f"group `{name}` appears twice in `{section}`; merge the two lists")
                continue
            seen.add(name)
            yield name, value

    def compile(self, source: str, node: yaml.Node, section: str) -> LazyPattern | None:
        """The pattern with its word lists filled in, checked: valid, and outside `exclude` and `rewrite` not
        matching an empty message. Compiled now unless it passed before (`known`)."""
        unknown = [name for name in _REFERENCE.findall(source) if name not in self.words]
        if unknown:
            known = ", ".join(sorted(self.words)) or "none yet"
            self.error(node, f"`{{{unknown[0]}}}` is not a word list under `words` (known: {known})")
            return None
        expanded = _REFERENCE.sub(lambda m: f"(?:{self.words[m.group(1)]})", source)
        key = _known_key(section, expanded)
        flags = self.known.get(key)
        if flags is not None:
            self.good[key] = flags
            return LazyPattern(expanded, flags)
        try:
            compiled = re.compile(expanded)
        except re.error as exc:
            self.error(node, f"pattern {source!r} is not a valid regular expression: {exc}")
            return None
        if section not in ("exclude", "rewrite") and compiled.search("") is not None:
            self.error(node, f"pattern {source!r} matches an empty message; it would flag every message")
            return None
        self.good[key] = compiled.flags
        return LazyPattern.of(compiled)

    def read_quiet(self, node: yaml.Node, exclusions: set[str], signals: set[str]) -> list[tuple[str, frozenset[str]]]:
        found: list[tuple[str, frozenset[str]]] = []
        for group, value in self.groups(node, "quiet"):
            if group not in signals:
                self.error(node, f"`quiet` names `{group}`, which is not a group under `crisis` or `concern`")
                continue
            by: set[str] = set()
            for name, item in self.texts(value, f"`quiet` → `{group}`"):
                if name not in exclusions:
                    self.error(item, f"`{name}` is not a group under `exclude`")
                    continue
                by.add(name)
            if by:
                found.append((group, frozenset(by)))
        return found

    def read_emoji(self, node: yaml.Node) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "`emoji` must be `emoji: word` lines")
            return found
        for key, value in node.value:
            emoji, word = str(key.value).strip(), str(value.value).strip() if isinstance(value, yaml.ScalarNode) else ""
            if not emoji or not word:
                self.error(key, "each `emoji` line needs an emoji and the word it stands for")
                continue
            found.append((unicodedata.normalize("NFKC", emoji), word))
        return found

    def read_words(self, node: yaml.Node) -> None:
        for name, value in self.groups(node, "words"):
            if not isinstance(value, yaml.ScalarNode) or not str(value.value).strip():
                self.error(value, f"word list `{name}` must be one line of words separated by |")
                continue
            text = str(value.value).strip()
            problem = self.words_problem(text)
            if problem is not None:
                self.error(value, f"word list `{name}` is not a valid regular expression: {problem}")
                continue
            self.words[name] = text

    def words_problem(self, text: str) -> str | None:
        """Why a word list does not compile; None when it does, or passed before (`known`): the lists are long,
        and compiled again for the net anyway (`families`), so checking them at every start was work done twice."""
        key = _known_key("words", text)
        flags = self.known.get(key)
        if flags is None:
            try:
                flags = re.compile(text).flags
            except re.error as exc:
                return str(exc)
        self.good[key] = flags
        return None

    def read_rewrites(self, node: yaml.Node) -> list[tuple[LazyPattern, str]]:
        rewrites: list[tuple[LazyPattern, str]] = []
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "`rewrite` must be `word: [spelling, spelling]` lines")
            return rewrites
        for key, value in node.value:
            word = str(key.value)
            for source, item in self.texts(value, f"`rewrite` → `{word}`"):
                pattern = self.compile(source, item, "rewrite")
                if pattern is not None:
                    rewrites.append((pattern, word))
        return rewrites

    def read_patterns(self, node: yaml.Node, section: str) -> list[tuple[str, LazyPattern]]:
        found: list[tuple[str, LazyPattern]] = []
        for group, value in self.groups(node, section):
            for source, item in self.texts(value, f"`{section}` → `{group}`"):
                pattern = self.compile(source, item, section)
                if pattern is not None:
                    found.append((group, pattern))
        return found


SIGNALS_FILE = "signals.yaml"
EXAMPLES_FILE = "examples.yaml"
DEFAULT_NET_THRESHOLD = 0.8
# The threshold was chosen when the intents' examples were about three times as many as the curated `safe`
# list. Beyond that they count together as three safe lists: otherwise every new example drowns the
# curated look-alikes (idioms, quoted threats) a little more, and false alarms rise as content grows
# (on the never-tuned holdout, from 7.0 % to 8.2 % when about 1,000 examples were added).
ORDINARY_SHARE = 3.0


def load_safety(
    folder: Path, errors: list[KnowledgeError], ordinary: Sequence[str] = (), cache_dir: Path | None = None
) -> SafetyRules:
    """Rules from `safety/signals.yaml` and the net from `safety/examples.yaml`.

    `ordinary` are more messages that are not a risk: the examples of every intent the bot answers
    (except the self-harm one), so the net learns what everyday questions look like, which are most of
    what people send. The built-in rules when the signals file is missing, broken beyond use or has no
    signals; a broken examples file only costs the net (reported by `lint`).
    """

    path = folder / SIGNALS_FILE
    if not path.is_file():
        errors.append(KnowledgeError(path, 1, "the safety signals file is missing; using the built-in rules"))
        return built_in_rules()
    before = len(errors)
    root = read_yaml(path, errors)
    if root is None:
        return built_in_rules()
    if not isinstance(root, yaml.MappingNode):
        errors.append(KnowledgeError(path, 1, f"the file must have the sections {', '.join(SECTIONS)}"))
        return built_in_rules()
    reader = _Reader(path, errors, _proven_patterns(cache_dir))
    sections: dict[str, yaml.Node] = {}
    for key, value in root.value:
        name = str(key.value)
        if name not in SECTIONS:
            reader.error(key, f"unknown section `{name}`; the sections are {', '.join(SECTIONS)}")
            continue
        sections[name] = value
    if "words" in sections:
        reader.read_words(sections["words"])
    emoji = reader.read_emoji(sections["emoji"]) if "emoji" in sections else []
    rewrites = reader.read_rewrites(sections["rewrite"]) if "rewrite" in sections else []
    exclusions = reader.read_patterns(sections["exclude"], "exclude") if "exclude" in sections else []
    signals = [
        Signal("crisis" if level == "crisis" else "concern", group, pattern)
        for level in ("crisis", "concern")
        if level in sections
        for group, pattern in reader.read_patterns(sections[level], level)
    ]
    quiet = (
        reader.read_quiet(sections["quiet"], {group for group, _ in exclusions}, {s.group for s in signals})
        if "quiet" in sections
        else []
    )
    if not signals:
        errors.append(KnowledgeError(path, 1, "no crisis patterns; using the built-in rules"))
        return built_in_rules()
    families = tuple((name, re.compile(f"(?:{words})")) for name, words in reader.words.items())
    patterns = [pattern for _, pattern in exclusions] + [signal.pattern for signal in signals]
    patterns += [pattern for pattern, _ in rewrites]
    kept = cache_dir is not None and _recall_needs(cache_dir, patterns)
    if len(errors) > before:
        # Every valid rule still counts (far more than the built-in list catches), and the built-in
        # signals are added as a floor in case the broken line was an important one.
        merged = tuple(signals) + built_in_rules().signals
        rules = SafetyRules(
            tuple(rewrites), tuple(emoji), tuple(exclusions), merged, tuple(quiet), families, built_in=True
        )
    else:
        rules = SafetyRules(tuple(rewrites), tuple(emoji), tuple(exclusions), tuple(signals), tuple(quiet), families)
    if cache_dir is not None and not kept:
        _keep_needs(cache_dir, patterns)
    _remember_proven(cache_dir, reader.good, reader.known)
    return _with_net(rules, folder / EXAMPLES_FILE, errors, ordinary, cache_dir)


def _with_net(
    rules: SafetyRules,
    path: Path,
    errors: list[KnowledgeError],
    ordinary: Sequence[str],
    cache_dir: Path | None = None,
) -> SafetyRules:

    if not path.is_file():
        return rules  # the net is optional: the rules work alone
    read = _examples(path, errors, cache_dir)
    if read is None:
        return rules
    threshold, sizes, source = read.threshold, read.sizes, read.source
    if min(sizes["act"] + sizes["crisis"] + sizes["concern"], sizes["safe"]) < 20:
        errors.append(
            KnowledgeError(path, 1, "the net needs at least 20 `act`, `crisis` or `concern` and 20 `safe` examples")
        )
        return rules
    learnt = _rules_digest(rules)  # what the nets' features are made with, digested once for all of them
    key = _net_key("net", learnt, source, ordinary, threshold)

    # Each example's canonical form (about 0.25 ms each) is made once, for whichever nets have to be trained.
    canonical = functools.cache(rules.canonical)

    def examples() -> _Training:
        lists = read.lists()
        risk = lists["act"] + lists["crisis"] + lists["concern"]
        found = [(canonical(text), True) for text in risk]
        found += [(canonical(text), False) for text in (*lists["safe"], *ordinary)]
        each = min(1.0, ORDINARY_SHARE * len(lists["safe"]) / len(ordinary)) if ordinary else 1.0
        return _Training(found, [1.0] * (len(risk) + len(lists["safe"])) + [each] * len(ordinary))

    wanted = [_Wanted(NET_CACHE_PREFIX, key, examples, threshold)]
    # The second, third and fourth nets, each when there are examples enough on both sides (fewer: every risk the first
    # net sees is a check-in; no crisis reply is marked as an act, nor as about someone else, but by the rules).
    apart = {
        "urgent": (URGENT_CACHE_PREFIX, URGENT_THRESHOLD, ("act", "crisis"), ("concern", "safe"), False),
        "acts": (ACT_CACHE_PREFIX, ACT_THRESHOLD, ("act",), ("crisis", "concern", "safe"), False),
        # only ever asked about a message at risk: no safe or ordinary message to learn from
        "someone": (
            SOMEONE_CACHE_PREFIX,
            SOMEONE_THRESHOLD,
            ("someone_else",),
            ("act", "crisis", "concern"),
            SOMEONE_SINGLE,
        ),
    }
    kinds: list[str] = []
    for kind, (prefix, limit, yes, no, single) in apart.items():
        if min(sum(sizes[name] for name in yes), sum(sizes[name] for name in no)) >= 20:
            kinds.append(kind)
            key = _net_key(kind, learnt, source, (), limit)
            wanted.append(_Wanted(prefix, key, _labelled(canonical, read.lists, yes, no), limit, single))
    net, *more = _nets(wanted, rules.families, cache_dir)
    found = dict(zip(kinds, more, strict=True))
    return dataclasses.replace(
        rules, net=net, urgent=found.get("urgent"), acts=found.get("acts"), someone=found.get("someone")
    )


# `someone_else` holds messages of the three lists at risk again, marked as about someone else (`SOMEONE_THRESHOLD`).
EXAMPLE_LISTS = ("act", "crisis", "concern", "safe", "someone_else")
LEARNT_LISTS = EXAMPLE_LISTS[:4]  # every message the nets learn from is in one of these
EXAMPLES_CACHE_PREFIX = "safety-examples-"  # the lists of an examples file that read without a problem


@dataclass(frozen=True)
class _Examples:
    """What `safety/examples.yaml` holds: the net's threshold and the size of each list at once, the texts only when a
    net has to be trained (`lists()`). Read back from the data folder they are some 58,000 texts: about 40 MB of a
    start whose nets are kept too, and which needs only their sizes."""

    threshold: float
    sizes: Mapping[str, int]
    source: str  # a digest of the file's text and of the code reading it: what the nets' keys are made of
    lists: Callable[[], dict[str, list[str]]]


def _examples(path: Path, errors: list[KnowledgeError], cache_dir: Path | None) -> _Examples | None:
    """The net's threshold and example lists from `safety/examples.yaml`, or None when the file cannot be used.

    The file is the largest of the content (about 4 MB); parsing it took a third of a start. A text that was read
    without a single problem is kept in the data folder as its lists, under a digest of the text and of the code
    that reads it, and a start finding the same text reads the lists' sizes instead, and their texts only if a net
    has to be trained: the same lists, no problem missed.
    """
    text = read_content(path, errors)
    if text is None:
        return None
    key = _examples_key(text)
    if cache_dir is not None:
        kept = cache_dir / f"{EXAMPLES_CACHE_PREFIX}{key}.npz"
        sized = _kept_sizes(kept)
        if sized is not None:
            threshold, sizes = sized

            @functools.cache
            def lists() -> dict[str, list[str]]:
                found = _kept_examples(kept)
                if found is None or {name: len(each) for name, each in found.items()} != sizes:
                    read = _parsed_examples(path, text, [], None)  # the file has read without a problem before
                    return read[1] if read is not None else {name: [] for name in EXAMPLE_LISTS}
                return found

            return _Examples(threshold, sizes, key, lists)
    read = _parsed_examples(path, text, errors, None if cache_dir is None else (cache_dir, key))
    if read is None:
        return None
    threshold, parsed = read
    return _Examples(threshold, {name: len(each) for name, each in parsed.items()}, key, lambda: parsed)


def _parsed_examples(
    path: Path, text: str, errors: list[KnowledgeError], keep: tuple[Path, str] | None
) -> tuple[float, dict[str, list[str]]] | None:
    """The threshold and lists of the file's `text`; with `keep` (a data folder's cache and the text's key), the lists
    are kept there when the text read without a problem."""
    before = len(errors)
    root = parse_yaml(path, text, errors)
    if root is None:
        return None
    if not isinstance(root, yaml.MappingNode):
        errors.append(KnowledgeError(path, 1, "the file must have `threshold:`, `crisis:`, `concern:` and `safe:`"))
        return None
    reader = _Reader(path, errors)
    threshold = DEFAULT_NET_THRESHOLD
    lists: dict[str, list[str]] = {name: [] for name in EXAMPLE_LISTS}
    marked: list[tuple[str, yaml.Node]] = []  # the `someone_else` items, checked once every list is read
    for key_node, value in root.value:
        name = str(key_node.value)
        if name == "someone_else":
            marked = list(reader.texts(value, "`someone_else`"))
        elif name == "threshold":
            try:
                threshold = float(str(value.value)) if isinstance(value, yaml.ScalarNode) else -1.0
            except ValueError:
                threshold = -1.0
            if not 0.5 <= threshold < 1.0:
                reader.error(value, "`threshold` must be a number from 0.5 to 0.99 (higher: fewer check-ins)")
                threshold = DEFAULT_NET_THRESHOLD
        elif name in lists:
            lists[name] = [item for item, _ in reader.texts(value, f"`{name}`")]
        elif name == "risk":
            reader.error(
                key_node,
                "`risk` is now three lists: `act` (an act under way, a method asked about), "
                "`crisis` (a wish to die, a plan, means, a farewell, someone else at risk now) and "
                "`concern` (indirect: hopeless, a burden, wanting to disappear)",
            )
        else:
            reader.error(key_node, f"unknown key `{name}`; use threshold, act, crisis, concern, safe and someone_else")
    # The fourth net learns these against the other messages at risk: one in no list at risk would be a risk
    # nothing else learns, and one under `safe` the same message taught both ways.
    at_risk = {text for name in ("act", "crisis", "concern") for text in lists[name]}
    for text, item in marked:
        if text in at_risk:
            lists["someone_else"].append(text)
        else:
            reader.error(
                item,
                "an item of `someone_else` must be in `act`, `crisis` or `concern` too (whichever says how clear the "
                "risk is); add it there, or remove it if nobody is at risk",
            )
    if keep is not None and len(errors) == before:
        folder, key = keep
        arrays: dict[str, npt.NDArray[np.generic]] = {"threshold": np.array(threshold, dtype=np.float64)}
        for name in EXAMPLE_LISTS:
            arrays[f"{name}_blob"], arrays[f"{name}_lengths"] = pack_texts(lists[name])
        try:
            write_arrays(folder, EXAMPLES_CACHE_PREFIX, key, arrays)
        except OSError as exc:  # only costs the next start the parsing
            log.warning("safety examples: could not keep the lists in %s (%s)", folder, exc.strerror)
    return threshold, lists


def _examples_key(text: str) -> str:
    digest = code_digest(__file__, _content_module.__file__)  # the code that reads the file
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:40]


def _kept_sizes(path: Path) -> tuple[float, dict[str, int]] | None:
    """The threshold and each list's size, from the kept lists' lengths alone (their texts are not read)."""
    if not path.is_file():
        return None
    try:
        data = read_arrays(path, ["threshold", *(f"{name}_lengths" for name in EXAMPLE_LISTS)])
        threshold = float(data["threshold"])
        lengths = {name: data[f"{name}_lengths"] for name in EXAMPLE_LISTS}
        for each in lengths.values():
            if each.dtype != np.int64 or each.ndim != 1 or (len(each) and int(each.min()) < 1):
                raise ValueError("lengths of the wrong kind")
    except Exception as exc:  # any damage only means parsing the file again
        log.warning("safety examples: the kept lists could not be read (%s); reading the file", type(exc).__name__)
        return None
    if not 0.5 <= threshold < 1.0:
        log.warning("safety examples: the kept lists are not what a reading gives; reading the file")
        return None
    return threshold, {name: len(each) for name, each in lengths.items()}


def _kept_examples(path: Path) -> dict[str, list[str]] | None:
    try:
        data = read_arrays(path)
        lists = {name: unpack_texts(data[f"{name}_blob"], data[f"{name}_lengths"]) for name in EXAMPLE_LISTS}
    except Exception as exc:  # any damage only means parsing the file again
        log.warning("safety examples: the kept lists could not be read (%s); reading the file", type(exc).__name__)
        return None
    if not all(item and item == item.strip() for each in lists.values() for item in each):
        log.warning("safety examples: the kept lists are not what a reading gives; reading the file")
        return None
    return lists


def _labelled(
    canonical: Callable[[str], str],
    lists: Callable[[], dict[str, list[str]]],
    yes: Sequence[str],
    no: Sequence[str],
) -> Callable[[], _Training]:
    """The examples of a net that tells the lists named `yes` from those named `no` (less any message of `yes`: the
    `someone_else` messages are in the lists at risk too), each counting once, made when it has to be trained. Its
    vocabulary holds the features of the other `LEARNT_LISTS` too, unlearnt: then it is the vocabulary of every other
    net that learns from all four, and a start reads one copy of it for all of them (`_cached_net`)."""

    def examples() -> _Training:
        found = [(canonical(text), True) for name in yes for text in lists()[name]]
        taken = {text for name in yes for text in lists()[name]}
        found += [(canonical(text), False) for name in no for text in lists()[name] if text not in taken]
        rest = [canonical(text) for name in LEARNT_LISTS if name not in (*yes, *no) for text in lists()[name]]
        return _Training(found, [1.0] * len(found), rest)

    return examples


@dataclass(frozen=True)
class _Training:
    """What a net learns from: its examples, how much each counts (`SafetyNet.train`), and messages whose features its
    vocabulary holds without learning from them (`SafetyNet.train`'s `vocabulary`)."""

    examples: Sequence[tuple[str, bool]]
    importance: Sequence[float]
    vocabulary: Sequence[str] = ()


@dataclass(frozen=True)
class _Wanted:
    """A net to find or train: its kind (the prefix of its kept file), the digest of everything it depends on, and
    its examples (made only when it has to be trained)."""

    prefix: str
    key: str
    examples: Callable[[], _Training]
    threshold: float
    single: bool = False  # weights kept as 32-bit floats (`SafetyNet.train`)


def _nets(
    wanted: Sequence[_Wanted], families: tuple[tuple[str, re.Pattern[str]], ...], cache_dir: Path | None
) -> list[SafetyNet]:
    """Each net: from this process's recent ones, the data folder, or trained. With a data folder to hand the
    weights back through, the nets to train are trained at once, each in a child process of its own."""
    found: list[SafetyNet | None] = []
    vocabularies: _Vocabularies = []
    for want in wanted:
        net = _recent_net(want.key, families, want.threshold)
        if net is not None and cache_dir is not None and not (cache_dir / f"{want.prefix}{want.key}.npz").is_file():
            _keep_net(cache_dir, want.key, net, prefix=want.prefix)  # a new data folder gets them for its next start
        if net is None and cache_dir is not None:
            net = _cached_net(cache_dir, want.key, families, want.threshold, want.prefix, vocabularies)
        found.append(net)
    missing = [index for index, net in enumerate(found) if net is None]
    examples = {index: wanted[index].examples() for index in missing}
    if cache_dir is not None and missing:
        jobs = [(wanted[index], examples[index]) for index in missing]
        for index, net in zip(missing, _trained_apart(cache_dir, jobs, families, vocabularies), strict=True):
            found[index] = net
    nets: list[SafetyNet] = []
    for index, (want, net) in enumerate(zip(wanted, found, strict=True)):
        if net is None:
            learnt = examples[index]
            net = SafetyNet.train(
                learnt.examples,
                families,
                want.threshold,
                learnt.importance,
                vocabulary=learnt.vocabulary,
                single=want.single,
            )
            if cache_dir is not None:
                _keep_net(cache_dir, want.key, net, peak_rss_mb(), want.prefix)
        _remember_net(want.key, net)
        nets.append(net)
    return nets


# --- the trained net, kept between starts ------------------------------------------------------------------
# Training is most of the time a start or a reload takes (seconds, more with a large knowledge base), and it
# is deterministic: the same rules, examples and code always give the same weights. So the weights are kept
# in the data folder under a digest of everything they depend on, and a start with nothing changed reads
# them instead. The file holds content only (features of the bundled examples), never anything a user wrote;
# a missing, stale or damaged file is simply trained again.

NET_CACHE_PREFIX = "safety-net-"
URGENT_CACHE_PREFIX = "safety-urgent-"  # the second net's weights (`URGENT_THRESHOLD`), kept the same way
ACT_CACHE_PREFIX = "safety-act-"  # the third's (`ACT_THRESHOLD`)
SOMEONE_CACHE_PREFIX = "safety-someone-"  # the fourth's (`SOMEONE_THRESHOLD`)
# The last few nets trained or read in this process, by the same digest: a reload, or a second knowledge base
# built from the same content (the tests build many), reuses the weights without training or reading a file.
RECENT_NETS = 4  # one load's four nets
_recent: OrderedDict[str, SafetyNet] = OrderedDict()
_recent_lock = threading.Lock()


def _recent_net(key: str, families: tuple[tuple[str, re.Pattern[str]], ...], threshold: float) -> SafetyNet | None:
    with _recent_lock:
        net = _recent.get(key)
        if net is not None:
            _recent.move_to_end(key)
    # The digest covers the word lists' patterns, not the compiled objects: hand back this load's own.
    return dataclasses.replace(net, families=families, threshold=threshold) if net is not None else None


def forget_recent_nets() -> None:
    """As if the process had just started: the next load reads the kept weights or trains."""
    with _recent_lock:
        _recent.clear()


def _remember_net(key: str, net: SafetyNet) -> None:
    with _recent_lock:
        _recent[key] = net
        _recent.move_to_end(key)
        while len(_recent) > RECENT_NETS:
            _recent.popitem(last=False)


def _rules_digest(rules: SafetyRules) -> str:
    """The code and the rules a net's features are made with: normalisation, rewriting, cutting (with its
    prefilter), the word families, features and training."""
    digest = code_digest(__file__, _text_module.__file__, _literals_module.__file__)
    parts = [repr((NET_ITERATIONS, NET_L2, NET_STEP, ORDINARY_SHARE))]
    for pattern, replacement in rules.rewrites:
        parts += ["rewrite", pattern.pattern, replacement]
    for emoji, word in rules.emoji:
        parts += ["emoji", emoji, word]
    for group, pattern in rules.exclusions:
        parts += ["exclusion", group, pattern.pattern]
    for name, family in rules.families:
        parts += ["family", name, family.pattern]
    digest.update("".join(f"{part}\x00" for part in parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _net_key(kind: str, rules: str, examples: str, ordinary: Sequence[str], threshold: float) -> str:
    """The digest of everything one net depends on: its kind (which lists it learns from, and how), `rules`
    (`_rules_digest`), the examples file (`_examples_key`: its text and the code reading it), the ordinary
    messages, and its threshold."""
    parts = [kind, rules, examples, repr(threshold), "ordinary", str(len(ordinary)), *ordinary]
    return hashlib.sha256("".join(f"{part}\x00" for part in parts).encode("utf-8", "surrogatepass")).hexdigest()[:40]


# The vocabularies of the nets read in one load, each as kept (gram codes, feature names, their lengths) and as built:
# the urgent and the act nets learn from the same examples, so their vocabularies are equal, and one copy serves both
# (about 9 MB of a start). Compared array by array, which costs less than reading the names again.
_Vocabularies = list[tuple[tuple[npt.NDArray[np.generic], ...], npt.NDArray[np.uint64], Mapping[str, int]]]


class _HashedNames(Mapping[str, int]):
    """The columns of a kept net's other features, looked up by each name's `hash` in a sorted array; the names
    stay packed as the kept file holds them (`bot.kept.pack_texts`) and are unpacked only to be listed. A dict of
    the ~60,000 names held ~12 MB of Python objects for the life of the bot. Python's string hash is 64 bits: two
    names of the vocabulary with one hash are found at load (`of` gives a dict then), and an unknown feature that
    shares a known one's hash has a chance of about one in 10^14 a message."""

    __slots__ = ("_blob", "_columns", "_hashes", "_lengths")

    def __init__(
        self,
        hashes: npt.NDArray[np.int64],
        columns: npt.NDArray[np.int64],
        packed: tuple[npt.NDArray[np.generic], npt.NDArray[np.generic]],
    ) -> None:
        # Plain arrays, not numpy's: indexing one gives a Python int at once (`columns`).
        self._hashes, self._columns = array("q", hashes.tobytes()), array("q", columns.tobytes())
        self._blob, self._lengths = packed

    @classmethod
    def of(cls, blob: npt.NDArray[np.generic], lengths: npt.NDArray[np.generic], first: int) -> Mapping[str, int]:
        """The names packed in `blob` and `lengths`, numbered from `first` in their order."""
        names = unpack_texts(blob, lengths)
        hashes = np.fromiter(map(hash, names), dtype=np.int64, count=len(names))
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        if len(hashes) > 1 and bool(np.any(hashes[1:] == hashes[:-1])):
            return MappingProxyType({name: index for index, name in enumerate(names, first)})
        return cls(hashes, order.astype(np.int64) + first, (blob, lengths))

    def columns(self, names: Sequence[str]) -> list[int]:
        """The columns of those of `names` the net knows, in their order (the order the weights are added in).
        A message has a handful of these features: a bisection each in a plain array is quicker than numpy's calls."""
        columns = self._columns
        return [columns[place] for name in names if (place := self._place(name)) >= 0]

    def _place(self, name: str) -> int:
        """The name's place in the sorted hashes, -1 when the net does not know it."""
        hashes, code = self._hashes, hash(name)
        place = bisect.bisect_left(hashes, code)
        return place if place < len(hashes) and hashes[place] == code else -1

    def __getitem__(self, name: str) -> int:
        place = self._place(name) if isinstance(name, str) else -1
        if place < 0:
            raise KeyError(name)
        return int(self._columns[place])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._place(name) >= 0

    def __len__(self) -> int:
        return len(self._hashes)

    def __iter__(self) -> Iterator[str]:
        """The names in the order of their columns."""
        return iter(unpack_texts(self._blob, self._lengths))


def _cached_net(
    folder: Path,
    key: str,
    families: tuple[tuple[str, re.Pattern[str]], ...],
    threshold: float,
    prefix: str = NET_CACHE_PREFIX,
    vocabularies: _Vocabularies | None = None,
) -> SafetyNet | None:
    """The net kept in `folder`, or None when it is missing or damaged. `vocabularies`: those of the nets already
    read in this load, whose arrays a net with the same vocabulary shares (it is filled in here)."""
    path = folder / f"{prefix}{key}.npz"
    if not path.is_file():
        return None
    try:
        data = read_arrays(path)
        kept_grams = data["grams"]
        if kept_grams.dtype != np.uint64:
            raise TypeError("gram codes of the wrong kind")
        vocabulary = (kept_grams, data["others"], data["other_lengths"])
        shared = next(
            (
                (built, names)
                for kept, built, names in vocabularies or ()
                if all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(kept, vocabulary, strict=True))
            ),
            None,
        )
        grams = np.asarray(kept_grams, dtype=np.uint64) if shared is None else shared[0]
        if shared is not None:
            names = shared[1]
            size = len(names)
        else:
            names = _HashedNames.of(data["others"], data["other_lengths"], len(grams))
            size = len(data["other_lengths"])
        kept_weights = data["weights"]
        weights: npt.NDArray[np.float64] | npt.NDArray[np.float32]
        if kept_weights.dtype == np.float32:  # a net trained `single`
            weights = np.asarray(kept_weights, dtype=np.float32)
        else:
            weights = np.asarray(kept_weights, dtype=np.float64)
        bias = float(data["bias"])
    except Exception as exc:  # any damage to a cache file only means training again
        log.warning("safety net: the kept weights could not be read (%s); training again", type(exc).__name__)
        return None
    consistent = (
        grams.ndim == 1
        and weights.shape == (len(grams) + size,)
        and bool(np.all(grams[1:] > grams[:-1]))  # sorted, each once: what `searchsorted` needs
        and len(names) == size  # each name once
        and math.isfinite(bias)
    )
    if not consistent:
        log.warning("safety net: the kept weights are inconsistent; training again")
        return None
    if vocabularies is not None and shared is None:
        vocabularies.append((vocabulary, grams, names))
    return SafetyNet(grams, names, weights, bias, threshold, families)


def _keep_net(
    folder: Path, key: str, net: SafetyNet, peak_mb: float | None = None, prefix: str = NET_CACHE_PREFIX
) -> None:
    """Write the weights atomically and remove the ones of older content (`bot.kept.write_arrays`). `peak_mb`:
    the training process's peak memory, kept beside the weights for `make bench` (the trainer's own figure)."""
    others, lengths = pack_texts(sorted(net.others, key=net.others.__getitem__))
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "grams": net.grams,
        "others": others,
        "other_lengths": lengths,
        "weights": net.weights,
        "bias": np.array(net.bias),
    }
    if peak_mb is not None:
        arrays["training_peak_mb"] = np.array(peak_mb)
    try:
        write_arrays(folder, prefix, key, arrays)
    except OSError as exc:  # a full or read-only disk: the next start trains again, nothing else changes
        log.warning("safety net: the weights could not be kept (%s)", exc.strerror or exc)


# --- what each pattern needs, kept between starts ----------------------------------------------------------
# Reading what a pattern needs (`bot.literals.needs`) parses it again, in Python: for the bundled rules about
# as long as compiling them, a noticeable part of a start. It depends only on the pattern and the code, so it
# is worked out once per process, and kept in the data folder beside the net's weights for the next start.

NEEDS_CACHE_PREFIX = "safety-needs-"
MAX_KNOWN_NEEDS = 20_000  # patterns remembered in this process: several versions of the rules, far beyond one
_known_needs: dict[tuple[str, int], Needs] = {}
_known_lock = threading.Lock()


def _needs(patterns: Sequence[Source]) -> list[Needs]:
    keys = [(pattern.pattern, pattern.flags) for pattern in patterns]
    with _known_lock:
        known = {key: _known_needs[key] for key in keys if key in _known_needs}
    missing = {key: pattern for key, pattern in zip(keys, patterns, strict=True) if key not in known}
    if missing:
        found = dict(zip(missing, needs_of(missing.values()), strict=True))
        _remember_needs(found)
        known.update(found)
    return [known[key] for key in keys]


def forget_known_needs() -> None:
    """As if the process had just started: the next load reads what patterns need from the data folder."""
    with _known_lock:
        _known_needs.clear()


def _remember_needs(found: Mapping[tuple[str, int], Needs]) -> None:
    with _known_lock:
        if len(_known_needs) + len(found) > MAX_KNOWN_NEEDS:
            _known_needs.clear()
        _known_needs.update(found)


def _needs_path(folder: Path, patterns: Sequence[Source]) -> Path:
    digest = hashlib.sha256(Path(_literals_module.__file__).read_bytes() + sys.version.encode())  # and its parser
    for pattern in patterns:
        digest.update(f"{pattern.flags} {pattern.pattern}".encode("utf-8", "surrogatepass") + b"\x00")
    return folder / f"{NEEDS_CACHE_PREFIX}{digest.hexdigest()[:40]}.npz"


def _recall_needs(folder: Path, patterns: Sequence[Source]) -> bool:
    """Whether the data folder kept what these patterns need (now remembered in this process)."""
    path = _needs_path(folder, patterns)
    if not path.is_file():
        return False
    try:
        data = read_arrays(path)
        clauses = unpack_texts(data["clauses"], data["clause_lengths"])
        counts = data["clause_counts"].tolist()
        if len(counts) != len(patterns) or sum(counts) != len(clauses) or min(counts, default=0) < 0:
            raise ValueError("counts do not add up")
    except Exception as exc:  # any damage to a cache file only means reading the patterns again
        log.warning("safety prefilter: the kept literals could not be read (%s); reading the patterns again", exc)
        return False
    found: dict[tuple[str, int], Needs] = {}
    shared: dict[str, frozenset[str]] = {}  # one object for a clause many patterns need (a word list)
    start = 0
    for pattern, count in zip(patterns, counts, strict=True):
        # A literal with a NUL in it comes back in parts: each is in any text the whole is in, so the clause
        # is only weaker; an empty part would be in no `present` set, so it is left out.
        for text in clauses[start : start + count]:
            if text not in shared:
                shared[text] = frozenset(sys.intern(literal) for literal in text.split("\x00") if literal)
        need = (shared[text] for text in clauses[start : start + count])
        found[(pattern.pattern, pattern.flags)] = tuple(clause for clause in need if clause)
        start += count
    _remember_needs(found)
    return True


def _keep_needs(folder: Path, patterns: Sequence[Source]) -> None:
    """Each pattern's clauses, in order, as texts: a clause is its literals joined by NUL."""
    path = _needs_path(folder, patterns)
    need = _needs(patterns)
    clauses, lengths = pack_texts(["\x00".join(sorted(clause)) for each in need for clause in each])
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "clauses": clauses,
        "clause_lengths": lengths,
        "clause_counts": np.array([len(each) for each in need], dtype=np.int64),
    }
    try:
        write_arrays(folder, NEEDS_CACHE_PREFIX, path.stem.removeprefix(NEEDS_CACHE_PREFIX), arrays)
    except OSError as exc:  # the next start reads the patterns again, nothing else changes
        log.warning("safety prefilter: the literals could not be kept (%s)", exc.strerror or exc)


# --- patterns proven good, kept between starts -------------------------------------------------------------
# Compiling the thousand patterns was a fifth of a start, and most of them are never needed by a process: the
# prefilter runs only those a message may match. So a load compiles (and checks) only patterns it has not seen
# pass before, in this process or, by the data folder, in an earlier one on the same Python (whose `re` decides
# what is valid); the others are compiled on first use (`bot.patterns`). A broken pattern never passes, so it is
# compiled, and reported at its line, at every load.

PROVEN_CACHE_PREFIX = "safety-patterns-"
MAX_PROVEN = 20_000  # patterns remembered in this process: several versions of the rules, far beyond one
_proven: dict[str, int] = {}
_proven_lock = threading.Lock()


def _known_key(section: str, expanded: str) -> str:
    """What a pattern passed as: the checks depend on the section (only signals must not match nothing)."""
    return f"{section}\x00{expanded}"


def forget_proven_patterns() -> None:
    """As if the process had just started: the next load compiles what the data folder does not vouch for."""
    with _proven_lock:
        _proven.clear()


def _proven_path(folder: Path) -> Path:
    digest = hashlib.sha256(f"1 {sys.version}".encode())
    return folder / f"{PROVEN_CACHE_PREFIX}{digest.hexdigest()[:40]}.npz"


def _proven_patterns(folder: Path | None) -> dict[str, int]:
    """Every pattern known to pass, with its flags: this process's and the data folder's."""
    with _proven_lock:
        known = dict(_proven)
    if folder is None:
        return known
    path = _proven_path(folder)
    if not path.is_file():
        return known
    try:
        data = read_arrays(path)
        keys = unpack_texts(data["patterns"], data["pattern_lengths"])
        flags = data["flags"].tolist()
        if len(flags) != len(keys) or not all(isinstance(flag, int) for flag in flags):
            raise ValueError("flags do not match the patterns")
    except Exception as exc:  # any damage to a cache file only means compiling the patterns again
        log.warning("safety rules: the kept list of checked patterns could not be read (%s); compiling them all", exc)
        return known
    known.update(zip(keys, flags, strict=True))
    return known


def _remember_proven(folder: Path | None, good: Mapping[str, int], known: Mapping[str, int]) -> None:
    """Remember the patterns of this load that passed; keep them in the data folder when some are new there."""
    with _proven_lock:
        if len(_proven) + len(good) > MAX_PROVEN:
            _proven.clear()
        _proven.update(good)
    if folder is None or (good.keys() <= known.keys() and _proven_path(folder).is_file()):
        return
    keys = sorted(good)
    patterns, lengths = pack_texts(keys)
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "patterns": patterns,
        "pattern_lengths": lengths,
        "flags": np.array([good[key] for key in keys], dtype=np.int64),
    }
    path = _proven_path(folder)
    try:
        write_arrays(folder, PROVEN_CACHE_PREFIX, path.stem.removeprefix(PROVEN_CACHE_PREFIX), arrays)
    except OSError as exc:  # the next start compiles the patterns again, nothing else changes
        log.warning("safety rules: the list of checked patterns could not be kept (%s)", exc.strerror or exc)


# --- training in a process of its own ----------------------------------------------------------------------
# Training holds over a million (example, feature) pairs and their arrays: tens of megabytes a running bot would
# keep as its high-water mark for good. With a data folder, a short-lived child trains and keeps the weights
# there (`bot.net_training`), and the bot reads them as at any later start: the same code on the same inputs, so
# the same weights to the bit. If the child fails in any way, the bot trains in its own process as before.

TRAINER = (sys.executable, "-m", "bot.net_training")
TRAINING_INPUT_PREFIX = "safety-training-"


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """A process's high-water mark of resident memory since exec (Linux `VmHWM`), in MB; this one by default."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _trained_apart(
    folder: Path,
    jobs: Sequence[tuple[_Wanted, _Training]],
    families: tuple[tuple[str, re.Pattern[str]], ...],
    vocabularies: _Vocabularies | None = None,
) -> list[SafetyNet | None]:
    """Each net trained by a child process of its own, all at once, and kept in `folder` under its prefix; None for
    one whose child did not work. `vocabularies`: as for `_cached_net`."""
    import subprocess  # only a first start trains

    names, name_lengths = pack_texts([name for name, _ in families])
    sources, source_lengths = pack_texts([pattern.pattern for _, pattern in families])
    started: list[tuple[_Wanted, Path, subprocess.Popen[bytes] | None]] = []
    for want, learnt in jobs:
        texts, lengths = pack_texts([canonical for canonical, _ in learnt.examples])
        unlearnt, unlearnt_lengths = pack_texts(learnt.vocabulary)
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "texts": texts,
            "text_lengths": lengths,
            "labels": np.array([risky for _, risky in learnt.examples], dtype=np.bool_),
            "importance": np.array(learnt.importance, dtype=np.float64),
            "vocabulary_texts": unlearnt,
            "vocabulary_text_lengths": unlearnt_lengths,
            "family_names": names,
            "family_name_lengths": name_lengths,
            "family_patterns": sources,
            "family_pattern_lengths": source_lengths,
            "family_flags": np.array([pattern.flags for _, pattern in families], dtype=np.int64),
            "threshold": np.array(want.threshold),
            "single": np.array(want.single),
        }
        # One input file per kind of net ("safety-training-safety-net-…"): writing one never removes another's.
        inputs_prefix = f"{TRAINING_INPUT_PREFIX}{want.prefix}"
        inputs = folder / f"{inputs_prefix}{want.key}.npz"
        child = None
        try:
            write_arrays(folder, inputs_prefix, want.key, arrays)
            child = subprocess.Popen(
                [*TRAINER, str(inputs.resolve()), str(folder.resolve()), want.key, want.prefix],
                cwd=Path(__file__).resolve().parent.parent,  # `-m` finds this very package first: the same code
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            log.warning("safety net: no separate process to train in (%s); training here", exc.strerror or exc)
        started.append((want, inputs, child))
    nets: list[SafetyNet | None] = []
    for want, inputs, child in started:
        net = None
        if child is not None:
            _, stderr = child.communicate()
            if child.returncode != 0:
                last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
                code = child.returncode
                log.warning("safety net: the training process failed (%s: %s); training here", code, last[0])
            else:
                net = _cached_net(folder, want.key, families, want.threshold, want.prefix, vocabularies)
        with contextlib.suppress(OSError):  # a folder that cannot be written never had the file
            inputs.unlink(missing_ok=True)
        nets.append(net)
    return nets


def train_kept(inputs: Path, folder: Path, key: str, prefix: str = NET_CACHE_PREFIX) -> None:
    """The child's side of `_trained_apart`: train on the examples in `inputs` and keep the weights in `folder`."""
    data = read_arrays(inputs)
    texts = unpack_texts(data["texts"], data["text_lengths"])
    labels = data["labels"].tolist()
    names = unpack_texts(data["family_names"], data["family_name_lengths"])
    sources = unpack_texts(data["family_patterns"], data["family_pattern_lengths"])
    flags = data["family_flags"].tolist()
    importance = data["importance"].tolist()
    unlearnt = unpack_texts(data["vocabulary_texts"], data["vocabulary_text_lengths"])
    threshold = float(data["threshold"])
    single = bool(data["single"])
    del data
    if not len(texts) == len(labels) == len(importance) or not len(names) == len(sources) == len(flags):
        raise ValueError("the training input does not add up")
    families = tuple((name, re.compile(source, flag)) for name, source, flag in zip(names, sources, flags, strict=True))
    examples = list(zip(texts, labels, strict=True))
    # The same steps as `SafetyNet.train`, with the texts let go of once their features are found: 98,000 example
    # texts and the vocabulary's messages held some 25 MB of Python strings through the whole of the learning.
    _reuse_freed_memory()
    learnt = _Learnt.of(examples, families, importance, unlearnt)
    del examples, texts, labels, unlearnt, importance
    net = SafetyNet.learn(learnt, families, threshold, single)
    _keep_net(folder, key, net, peak_rss_mb(), prefix)

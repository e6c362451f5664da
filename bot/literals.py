"""What a regular expression needs before it can match: literals read from the parsed pattern, for a prefilter.

    needs(pattern) → (clause, clause, …)   every clause is a set of strings; any match of the pattern contains
                                           at least one string of every clause (none: it may match anything)
    Literals(strings).present(text)       which of those strings the text contains, in one pass
    Shortlist(needs).possible(present)    which patterns of a list a text with those strings may match

A pattern whose needs are not all met by a text cannot match it, so `search` on that text can be skipped
without changing any result: `(?<!不)想死|不想活` needs {想死, 不想活}; `(催收|他们)[^我]{0,10}说` needs
{催收, 他们} and {说}. Read from the stdlib's own parse of the pattern, so it follows whatever the patterns
are; anything it does not know (a back-reference, a case-insensitive part, a large class) needs nothing,
which only means the pattern always runs. Soundness rests on one fact: the text a match consumes is the
concatenation of what its pieces consume, and lookarounds, anchors and `\\b` consume nothing.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .patterns import Source

# The stdlib's regular expression parser (re._parser, once sre_parse): typeshed has no stub under this
# name, and importing sre_parse warns since Python 3.11.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

Clause = frozenset[str]
Needs = tuple[Clause, ...]  # every clause must be met; () needs nothing
MAX_EXACT = 64  # strings a piece's exact set may hold; beyond, the piece is only a requirement
MAX_CLAUSES = 8  # clauses an alternation may distribute into before it keeps one per branch
KEPT_CLAUSES = 3  # clauses checked per pattern: the rarest ones do nearly all the skipping
MAX_LITERAL = 4  # characters a literal is cut to: two Chinese characters are already rare in a message
_REPEATS = frozenset({_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT})
_ZERO_WIDTH = frozenset({_c.AT, _c.ASSERT, _c.ASSERT_NOT})


@dataclass(frozen=True)
class _Piece:
    """What part of a pattern can match: every string exactly (`exact`, when few) or what it needs (CNF)."""

    exact: frozenset[str] | None
    needs: frozenset[Clause] = frozenset()

    def clauses(self) -> frozenset[Clause]:
        if self.exact is None:
            return self.needs
        clause = _clause(self.exact)
        return frozenset() if clause is None else frozenset({clause})


ANYTHING = _Piece(None)  # needs nothing, and its strings are not known
EMPTY = _Piece(frozenset({""}))  # consumes nothing: an anchor, a lookaround, `\b`


def needs(pattern: Source) -> Needs:
    """The clauses any match of `pattern` meets, rarest first; () when it may match without any literal."""
    return needs_of([pattern])[0]


def needs_of(patterns: Iterable[Source]) -> list[Needs]:
    """`needs` of each pattern. Word lists repeat across patterns, so what is worked out for one is reused for
    the next, and forgotten at the end (it can be several megabytes, and a process reads its rules once)."""
    try:
        return [_needs(pattern) for pattern in patterns]
    finally:
        _clause.cache_clear()
        _order.cache_clear()


def _needs(pattern: Source) -> Needs:
    if pattern.flags & re.IGNORECASE:
        return ()  # the text is lower-cased already, but case folding in Unicode has more than two cases
    piece = _sequence(_parser.parse(pattern.pattern, pattern.flags))
    return tuple(sorted(piece.clauses(), key=_order)[:KEPT_CLAUSES])


def met(needs: Needs, present: set[str] | frozenset[str]) -> bool:
    """Whether a text with these literals `present` may match (see `Literals.present`)."""
    for clause in needs:
        if clause.isdisjoint(present):
            return False
    return True


class Literals:
    """Finds which of a fixed set of strings occur in a text: for each length they come in, the text's
    substrings of that length are looked up in a set (the literals of `needs` are short, so that is a few
    slices per character, whatever the number of strings)."""

    def __init__(self, strings: Iterable[str]) -> None:
        by_length: dict[int, set[str]] = {}
        for string in strings:
            if string:
                by_length.setdefault(len(string), set()).add(string)
        self._by_length = {length: frozenset(found) for length, found in sorted(by_length.items())}

    def present(self, text: str) -> set[str]:
        found: set[str] = set()
        for length, strings in self._by_length.items():
            if length == 1:
                found.update(strings.intersection(text))
            else:
                found.update(strings.intersection([text[i : i + length] for i in range(len(text) - length + 1)]))
        return found


class Shortlist:
    """Which patterns of a list may match a text, from the literals it contains: each pattern is listed
    under the strings of its rarest clause, so a text only meets the patterns of the strings it has."""

    def __init__(self, needs: Sequence[Needs]) -> None:
        self.needs = tuple(needs)
        by_literal: dict[str, list[int]] = {}
        for index, need in enumerate(self.needs):
            for literal in need[0] if need else ():
                by_literal.setdefault(literal, []).append(index)
        self._by_literal = {literal: tuple(indexes) for literal, indexes in by_literal.items()}
        self._always = tuple(index for index, need in enumerate(self.needs) if not need)
        self._literals = frozenset(self._by_literal)
        # A pattern is found through a literal of its first clause, so only the other clauses remain to be met
        # (none, for nearly half the patterns).
        self._rest = tuple(need[1:] for need in self.needs)

    def possible(self, present: set[str] | frozenset[str]) -> list[int]:
        """In order, the patterns whose needs the `present` literals meet: every one that may match."""
        found = set(self._always)
        for literal in self._literals.intersection(present):
            found.update(self._by_literal[literal])
        rest = self._rest
        kept = []
        for index in found:
            for clause in rest[index]:
                if clause.isdisjoint(present):
                    break
            else:
                kept.append(index)
        kept.sort()
        return kept


def _sequence(items: Iterable[tuple[Any, Any]]) -> _Piece:
    """Pieces one after the other: exact strings are joined while few; the rest adds what each needs."""
    needs: set[Clause] = set()
    run: frozenset[str] = frozenset({""})  # exact strings of the pieces since the last break
    exact = True
    for op, av in items:
        piece = _node(op, av)
        # The run stops growing at MAX_LITERAL characters: only parts that long are looked for anyway.
        if piece.exact is not None and len(run) * len(piece.exact) <= MAX_EXACT and min(map(len, run)) < MAX_LITERAL:
            run = frozenset(a + b for a in run for b in piece.exact)
            continue
        exact = False
        needs.update(_Piece(run).clauses())
        if piece.exact is None:
            needs.update(piece.needs)
            run = frozenset({""})
        else:
            run = piece.exact
    if exact:
        return _Piece(run)
    needs.update(_Piece(run).clauses())
    return _Piece(None, _simplified(needs))


def _node(op: Any, av: Any) -> _Piece:
    if op is _c.LITERAL:
        return _Piece(frozenset({chr(av)}))
    if op is _c.IN:
        chars = _class(av)
        return ANYTHING if chars is None else _Piece(chars)
    if op in _ZERO_WIDTH:
        return EMPTY
    if op is _c.BRANCH:
        return _either([_sequence(branch) for branch in av[1]])
    if op is _c.SUBPATTERN:
        _, add_flags, _, inner = av
        return ANYTHING if add_flags & re.IGNORECASE else _sequence(inner)
    if op is _c.ATOMIC_GROUP:
        return _sequence(av)
    if op in _REPEATS:
        low, high, inner = av
        return _repeat(low, high, _sequence(inner))
    return ANYTHING  # ANY, NOT_LITERAL, a back-reference, a conditional: any string, as far as we know


def _class(items: Iterable[tuple[Any, Any]]) -> frozenset[str] | None:
    """The characters of `[...]` when it lists a few; None for a negated class, `\\d`, `\\w` or a wide range."""
    chars: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            chars.add(chr(av))
        elif op is _c.RANGE and av[1] - av[0] < MAX_EXACT:
            chars.update(chr(code) for code in range(av[0], av[1] + 1))
        else:
            return None
    return frozenset(chars) if 0 < len(chars) <= MAX_EXACT else None


def _repeat(low: int, high: int, inner: _Piece) -> _Piece:
    if high == 0:
        return EMPTY
    if low == 0:
        if high == 1 and inner.exact is not None:
            optional = inner.exact | {""}  # its strings, or nothing
            return _Piece(optional) if len(optional) <= MAX_EXACT else ANYTHING
        return ANYTHING
    if inner.exact is not None and low == high and len(inner.exact) ** low <= MAX_EXACT:
        return _Piece(frozenset("".join(parts) for parts in itertools.product(sorted(inner.exact), repeat=low)))
    return _Piece(None, inner.clauses())  # at least once: whatever one time needs


def _either(branches: Sequence[_Piece]) -> _Piece:
    """An alternation: the union of exact branches, else (A and B) or (C) as (A or C) and (B or C)."""
    if all(branch.exact is not None for branch in branches):
        union = frozenset().union(*(branch.exact for branch in branches if branch.exact is not None))
        if len(union) <= MAX_EXACT:
            return _Piece(union)
    each = [branch.clauses() for branch in branches]
    if not all(each):
        return ANYTHING  # a branch that needs nothing lets the whole alternation match without a literal
    if math.prod(len(clauses) for clauses in each) <= MAX_CLAUSES:
        combined = [frozenset().union(*combination) for combination in itertools.product(*each)]
    else:
        combined = [frozenset().union(*(min(clauses, key=_order) for clauses in each))]
    return _Piece(None, _simplified(clause for clause in map(_clause, combined) if clause is not None))


@functools.cache  # a word list used in many patterns becomes the same clause each time
def _clause(strings: frozenset[str]) -> Clause | None:
    """The strings as a clause: each cut to its rarest few characters (a text that contains a string contains
    every part of it), without those that contain another (if "死了" is in a text, "死" is). None when the
    empty string is among them: every text contains it, so they need nothing."""
    if not strings or "" in strings:
        return None
    kept: set[str] = set()
    for string in sorted({_rarest_part(string) for string in strings}, key=len):
        parts = (string[start:end] for start in range(len(string)) for end in range(start + 1, len(string) + 1))
        if kept.isdisjoint(parts):
            kept.add(string)
    return frozenset(kept)


def _rarest_part(string: str) -> str:
    if len(string) <= MAX_LITERAL:
        return string
    windows = [string[start : start + MAX_LITERAL] for start in range(len(string) - MAX_LITERAL + 1)]
    return min(windows, key=_chance)


def _simplified(clauses: Iterable[Clause]) -> frozenset[Clause]:
    """Without clauses implied by another: a text that meets {死} meets {死, 活} too."""
    kept: list[Clause] = []
    for clause in sorted(set(clauses), key=len):
        if not any(smaller <= clause for smaller in kept):
            kept.append(clause)
    return frozenset(kept)


def _chance(string: str) -> float:
    """A rough chance that a message contains `string`: Latin letters and spaces are in most English text, a
    given Chinese character in few messages. Only the order matters: which part of a literal to look for,
    which clause to check first."""
    latin = sum(char.isascii() for char in string)
    return 0.5**latin * 0.1 ** (len(string) - latin)


@functools.cache
def _order(clause: Clause) -> tuple[float, tuple[str, ...]]:
    """Rarest first, then a fixed order among equals."""
    return min(1.0, sum(map(_chance, clause))), tuple(sorted(clause))

"""A regular expression compiled on first use, for rule sets where most patterns wait for a rare message.

    LazyPattern(source, flags)     `search`, `sub`, `subn` compile the pattern the first time one is called
    LazyPattern.of(re.compile(s))  one compiled already (it was just checked): nothing left to do

The safety rules hold about a thousand patterns, and compiling them all was a fifth of a start; the literal
prefilter (`bot.literals`) runs only the few a message may match, so most are never needed in a process.
Loading still proves every pattern valid, by compiling it or by finding it among the patterns this process
or the data folder has compiled before (`bot.safety`): a LazyPattern never meets a pattern that fails.
`flags` are those `re.compile` gave (the inline `(?i)` of a pattern among them), which is what the prefilter
reads to decide whether literals can be trusted.

    lazy(source, flags)            a pattern of the code itself, compiled the first time it is used

Compiling the code's own patterns at import was about a third of importing the bot, and most of them (the loan
reader's, the redaction rules) wait for a message that needs them. Those are fixed in the code and exercised by
the tests, so nothing is lost by finding a mistake in one at first use; their `flags` are the ones given, and
they never go to the prefilter.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, Protocol


class Source(Protocol):
    """What the prefilter reads of a pattern: its text and its flags (both `re.Pattern` and `LazyPattern`)."""

    @property
    def pattern(self) -> str: ...

    @property
    def flags(self) -> int: ...


Replacement = str | Callable[[re.Match[str]], str]  # what `sub` puts in: a template, or what a match gives


class LazyPattern:
    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int, compiled: re.Pattern[str] | None = None) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled = compiled

    @classmethod
    def of(cls, compiled: re.Pattern[str]) -> LazyPattern:
        return cls(compiled.pattern, compiled.flags, compiled)

    @property
    def compiled(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            # Two threads may both compile it the first time: the same object either way, and no lock to hold.
            compiled = self._compiled = re.compile(self.pattern, self.flags)
        return compiled

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.fullmatch(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string, pos, endpos)

    def findall(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> list[Any]:
        return self.compiled.findall(string, pos, endpos)

    def split(self, string: str, maxsplit: int = 0) -> list[str | Any]:
        return self.compiled.split(string, maxsplit)

    def sub(self, repl: Replacement, string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count)

    def subn(self, repl: Replacement, string: str, count: int = 0) -> tuple[str, int]:
        return self.compiled.subn(repl, string, count)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyPattern) and (self.pattern, self.flags) == (other.pattern, other.flags)

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))


def lazy(source: str, flags: int = 0) -> LazyPattern:
    """`re.compile(source, flags)` the first time the pattern is used, not at import (see the module's docstring)."""
    return LazyPattern(source, flags)

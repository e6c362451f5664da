"""Aliases: typos, homophones, synonyms and dialect words that volunteers map to one word before matching.

`lexicon/aliases.yaml` maps a canonical word to its variants (崔收 → 催收, 通讯路 → 通讯录, 征性 → 征信);
`lexicon/dialects.yaml` does the same for Cantonese and Taiwan wording (佢哋 → 他们, 追數 → 催收).
Both the examples and the user's message are rewritten the same way, so one example covers every spelling.
Matching only: the safety check and the replies never see the rewritten text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from .content import KnowledgeError, read_yaml
from .text import has_cjk, normalise


@dataclass(frozen=True)
class Lexicon:
    canonical: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    pattern: re.Pattern[str] | None = None

    @classmethod
    def build(cls, canonical: Mapping[str, str]) -> Lexicon:
        if not canonical:
            return cls()
        # A word that holds one of its own variants (信用卡债务 holds 卡债) stands for itself, so the word typed out
        # in full is read from its first character and not expanded again from the middle (信用信用卡债务务).
        # So does a canonical word holding another entry's variant: 电话 (phone) keeps its 话 though 话 is Cantonese
        # for 说 (say), or every phone call would be matched as a "电说".
        words = set(canonical.values())
        standing = {word for word in words if any(variant in word and variant != word for variant in canonical)}
        canonical = {**{word: word for word in standing}, **canonical}
        pattern = re.compile(_pattern(canonical))
        # A replacement must read as the same word typed in Mandarin would, also when a canonical word is itself
        # another entry's variant, so each canonical word is rewritten once too.
        rewritten = {
            variant: pattern.sub(lambda m: canonical[m.group(0)], word) for variant, word in canonical.items()
        }
        return cls(MappingProxyType(rewritten), pattern)

    def apply(self, normalised: str) -> str:
        if self.pattern is None:
            return normalised
        return self.pattern.sub(lambda m: self.canonical[m.group(0)], normalised)


_Trie = dict[str, "_Trie"]
_END = ""  # the key that marks the end of a variant in a `_Trie` (no variant contains an empty character)


def _pattern(variants: Iterable[str]) -> str:
    """One regular expression that finds, at each place in a text, the longest variant there; Latin variants
    only as whole words, so "app" is not found in "apple".

    The variants are laid out as a tree of shared beginnings (催收 and 催收员 share 催收), each branch tried
    before the variant that ends where it starts, so the longest variant is found first, as a plain list of
    variants longest first would find it; but a place where no variant starts costs one look at its first
    character instead of one per variant. Chinese variants come first: where both a Chinese and a Latin
    variant start, the Chinese one runs on past the Latin one's last letter, so it is the longer.
    """
    chinese: _Trie = {}
    latin: _Trie = {}
    for variant in variants:
        node = chinese if has_cjk(variant) else latin
        for char in variant:
            node = node.setdefault(char, {})
        node[_END] = {}
    # Every alternative at the top starts with its first character, so that `re` skips the places where none
    # starts by looking that character up; a Latin variant checks the character before it after its first.
    pieces = [re.escape(char) + _branches(child, "") for char, child in sorted(chinese.items())]
    # A digit may follow a Latin variant: "yq3天了" is 逾期 three days (a digit before one stays: "500mb").
    pieces += [
        re.escape(char) + r"(?<![a-z0-9][\s\S])" + _branches(child, "(?![a-z])")
        for char, child in sorted(latin.items())
    ]
    return "|".join(pieces)


def _branches(node: _Trie, end: str) -> str:
    """The pattern for everything below `node`: each longer variant first, then (`end`) the one ending here."""
    options = [re.escape(char) + _branches(child, end) for char, child in sorted(node.items()) if char != _END]
    if _END in node:
        options.append(end)
    if len(options) == 1:
        return options[0]
    return "(?:" + "|".join(options) + ")"


def load_lexicon(paths: Sequence[Path], errors: list[KnowledgeError]) -> Lexicon:
    """Read every lexicon file (`aliases.yaml`, `dialects.yaml`, …) into one mapping; the files are optional,
    and a broken one only costs its own words."""

    canonical: dict[str, str] = {}
    first_seen: dict[str, tuple[Path, int]] = {}
    for path in paths:
        _read_into(path, canonical, first_seen, errors)
    for variant, word in canonical.items():
        if word in canonical:
            where, line = first_seen[variant]
            errors.append(KnowledgeError(where, line, f"`{word}` is both a canonical word and a variant"))
            return Lexicon()
    return Lexicon.build(canonical)


def _read_into(
    path: Path, canonical: dict[str, str], first_seen: dict[str, tuple[Path, int]], errors: list[KnowledgeError]
) -> None:

    if not path.is_file():
        return
    root = read_yaml(path, errors)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
        return
    if not isinstance(root, yaml.MappingNode):
        errors.append(KnowledgeError(path, 1, "the file must be `canonical word: [variant, variant]` lines"))
        return
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        word = normalise(str(key_node.value))
        if not word:
            errors.append(KnowledgeError(path, line, "a canonical word is empty"))
            continue
        if not isinstance(value_node, yaml.SequenceNode):
            errors.append(KnowledgeError(path, line, f"`{key_node.value}` needs a list of variants in [ ]"))
            continue
        for item in value_node.value:
            item_line = item.start_mark.line + 1
            variant = normalise(str(item.value)) if isinstance(item, yaml.ScalarNode) else ""
            if not variant:
                errors.append(KnowledgeError(path, item_line, f"an empty variant under `{key_node.value}`"))
                continue
            if variant == word:
                continue
            if variant in canonical and canonical[variant] != word:
                where, first = first_seen[variant]
                place = f"line {first}" if where == path else f"{where.name}:{first}"
                errors.append(
                    KnowledgeError(
                        path, item_line, f"`{item.value}` is already a variant of `{canonical[variant]}` ({place})"
                    )
                )
                continue
            canonical[variant] = word
            first_seen.setdefault(variant, (path, item_line))

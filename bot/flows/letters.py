"""Complaint letters as content: `letters/*.yaml`, one file per region and language, checked like the answers.

    load_letters(folder, errors)   → Letters: every letter set that loads, every problem as `path:line: message`
    Letters.get(region, locale)    → the LetterSet for a user (the other Chinese script converted when needed)
    LetterSet.fill(story, today)   → the letters for what the user told the /complain flow, ready to copy

A letter set holds the letters (to the lender, to the regulator, to the police), one sentence for each thing
that can have happened, the rules a letter may cite with their kind (law, regulation, recommended standard or
industry self-regulation) and source, the evidence checklist and what to expect next. A letter cites only
the rules whose `when` matches what happened (and whose `lenders`, if given, include the lender), so a night
call is answered with the recommended standard, framed as a standard, and posted personal data with the
Civil Code and the Personal Information Protection Law. The format is in docs/content-format.md.

Nothing here keeps anything: `fill` is pure, and the `Story` it reads lives only in the flow's memory.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import yaml

from ..claims import LAW_CLAUSE, NOT_LAW, NUMBER_110, WRONG_CLAIMS
from ..content import KnowledgeError, date_of, line_of, mapping, read_yaml, text_of, texts_of, yaml_files
from ..models import LOCALES, Locale
from ..region import Region
from ..text import to_simplified, to_traditional

# The ids the /complain flow offers (bot/flows/complaint.py); every letter set says something for each.
CONDUCT: tuple[str, ...] = (
    "contacts",
    "employer",
    "frequency",
    "night",
    "threats",
    "insults",
    "expose",
    "visit",
    "fake_legal",
    "fees",
)
SINCE: tuple[str, ...] = ("week", "month", "quarter", "longer")
OFTEN: tuple[str, ...] = ("many", "daily", "weekly", "sometimes")
EVIDENCE: tuple[str, ...] = ("recordings", "screenshots", "call_log", "others", "posts", "contract", "none")
WANTS: tuple[str, ...] = ("stop_third", "stop_harass", "statement", "plan", "delete")
LETTERS: tuple[str, ...] = ("lender", "regulator", "privacy", "police")
LETTER_REGIONS: tuple[Region, ...] = ("mainland", "hk", "tw")
# Which lenders the flow offers in each region; a rule may apply to some of them only (`lenders:`).
LENDERS: Mapping[Region, tuple[str, ...]] = MappingProxyType(
    {
        "mainland": ("huabei", "jiebei", "baitiao", "jintiao", "card", "app"),
        "hk": ("bank", "money_lender", "app"),
        "tw": ("bank", "app"),
        "other": (),
    }
)
RULE_KINDS: tuple[str, ...] = ("law", "regulation", "standard", "self_regulation")
# What the source of a standard or of self-regulation must say about itself, so no reader takes it for law.
_FRAMING: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {
        "standard": re.compile(r"推荐性|推薦性|recommended", re.IGNORECASE),
        "self_regulation": re.compile(r"自律|self-regulation", re.IGNORECASE),
    }
)
BODY_PLACEHOLDERS = frozenset({"lender", "date", "facts", "timing", "details", "rules", "evidence", "wants"})
TEXT_PLACEHOLDERS = frozenset({"emergency"})  # in `send`, the checklist and `next`: the region's number
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

FILE_KEYS = frozenset(
    {
        "region",
        "locale",
        "reviewed",
        "valid_until",
        "blank",
        "letters",
        "facts",
        "rules",
        "since",
        "often",
        "evidence",
        "wants",
        "checklist",
        "next",
    }
)
LETTER_KEYS = frozenset({"id", "title", "send", "when", "lenders", "body"})
RULE_KEYS = frozenset({"id", "kind", "when", "letters", "lenders", "text", "source"})
CHECKLIST_KEYS = frozenset({"title", "have", "start", "collect", "keep"})


# --- what the user told the flow ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    """The /complain answers. Memory only (bot.flows.memory): never stored, never logged.

    Choice ids come from the flow; the free texts are what the user typed (a lender's name, "从3月开始",
    a collector's number).
    """

    region: Region
    lender: str | None = None
    lender_name: str | None = None  # what the letter names: the typed name, or the chosen lender's label
    conduct: frozenset[str] = frozenset()
    since: str | None = None
    since_text: str | None = None
    often: str | None = None
    often_text: str | None = None
    details: str | None = None
    evidence: frozenset[str] = frozenset()
    wants: frozenset[str] = frozenset()


# --- content -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    when: frozenset[str]
    letters: frozenset[str]
    lenders: frozenset[str] | None
    text: str
    source: str

    def applies(self, letter: str, story: Story) -> bool:
        if letter not in self.letters or not self.when & story.conduct:
            return False
        return self.lenders is None or story.lender in self.lenders


@dataclass(frozen=True)
class Letter:
    id: str
    title: str
    send: Mapping[str, str]  # "default", or a lender id: where and how to send it
    body: str
    when: frozenset[str] | None = None  # None: always written; else only when one of these happened
    lenders: frozenset[str] | None = None  # None: for any lender; else only for these (a bank's regulator)

    def wanted(self, story: Story) -> bool:
        if self.lenders is not None and story.lender not in self.lenders:
            return False
        return self.when is None or bool(self.when & story.conduct)


@dataclass(frozen=True)
class Checklist:
    title: str
    have: str  # "你已经有：{items}"
    start: str  # no evidence yet
    collect: Mapping[str, str]  # by conduct: what to add for it
    keep: tuple[str, ...]  # how to keep it, for everyone


@dataclass(frozen=True)
class Filled:
    """One letter, filled in: what it is, where to send it, and the text to copy."""

    id: str
    title: str
    send: str
    body: str


@dataclass(frozen=True)
class LetterSet:
    region: Region
    locale: Locale
    blank: str  # stands for what the user skipped and must fill in: "________"
    letters: tuple[Letter, ...]
    facts: Mapping[str, str]  # by conduct, plus "none"
    rules: tuple[Rule, ...]
    since: Mapping[str, str]
    often: Mapping[str, str]
    evidence: Mapping[str, str]
    wants: Mapping[str, str]  # by want, plus "default"
    checklist: Checklist
    next: tuple[str, ...]
    reviewed: dt.date | None = None
    valid_until: dt.date | None = None
    path: Path | None = None
    line: int = 0
    converted: bool = False

    def fill(self, story: Story, today: dt.date) -> list[Filled]:
        """The letters this story calls for, in the order of the file."""
        filled = []
        for letter in self.letters:
            if not letter.wanted(story):
                continue
            send = letter.send.get(story.lender or "", letter.send["default"])
            filled.append(Filled(letter.id, letter.title, send, self._body(letter, story, today)))
        return filled

    def cited(self, letter: str, story: Story) -> list[Rule]:
        return [rule for rule in self.rules if rule.applies(letter, story)]

    def checklist_text(self, story: Story) -> str:
        lines = [self.checklist.title]
        have = [self.evidence[item] for item in EVIDENCE if item in story.evidence and item != "none"]
        if have:
            lines.append(self.checklist.have.replace("{items}", self._join(have)))
        else:
            lines.append(self.checklist.start)
        collect = self.checklist.collect
        lines.extend(f"- {collect[c]}" for c in CONDUCT if c in story.conduct and c in collect)
        lines.extend(f"- {line}" for line in self.checklist.keep)
        return "\n".join(lines)

    def next_text(self) -> str:
        return "\n".join(self.next)

    # --- filling one letter

    def _body(self, letter: Letter, story: Story, today: dt.date) -> str:
        values = {
            "lender": [story.lender_name or self.blank],
            "date": [self._date(today)],
            "facts": self._numbered([self.facts[c] for c in CONDUCT if c in story.conduct] or [self.facts["none"]]),
            "timing": self._timing(story),
            "details": [story.details] if story.details else [],
            "rules": self._numbered([self._cite(rule) for rule in self.cited(letter.id, story)]),
            "evidence": [self._join([self.evidence[e] for e in EVIDENCE if e in story.evidence and e != "none"])]
            if story.evidence - {"none"}
            else [],
            "wants": self._numbered([self.wants[w] for w in WANTS if w in story.wants] or [self.wants["default"]]),
        }
        lines: list[str] = []
        for line in letter.body.splitlines():
            names = _PLACEHOLDER.findall(line)
            if not names:
                lines.append(line)
                continue
            name = names[0]  # one placeholder a line (lint checks): a list placeholder becomes several lines
            found = [value for value in values.get(name, []) if value]
            if not found:
                continue  # nothing to say there: the line goes, so no empty "证据：" is left in the letter
            prefix, _, suffix = line.partition("{" + name + "}")
            if len(found) == 1:
                lines.append(prefix + found[0] + suffix)
            else:
                if prefix.strip():
                    lines.append(prefix.rstrip())
                lines.extend(found)
                if suffix.strip():
                    lines.append(suffix.strip())
        return "\n".join(lines).strip()

    def _timing(self, story: Story) -> list[str]:
        parts = [
            story.since_text or (self.since.get(story.since) if story.since else None),
            story.often_text or (self.often.get(story.often) if story.often else None),
        ]
        found = [part for part in parts if part]
        return [("; " if self.locale == "en" else "；").join(found)] if found else []

    def _numbered(self, items: list[str]) -> list[str]:
        return [f"{number}. {item}" for number, item in enumerate(items, 1)]

    def _join(self, items: list[str]) -> str:
        return (", " if self.locale == "en" else "、").join(items)

    def _cite(self, rule: Rule) -> str:
        return f"{rule.text} ({rule.source})" if self.locale == "en" else f"{rule.text}（{rule.source}）"

    def _date(self, today: dt.date) -> str:
        if self.locale == "en":
            return f"{today.day} {today:%B %Y}"
        return f"{today.year}年{today.month}月{today.day}日"

    def converted_to(self, locale: Locale) -> LetterSet:
        """This set in the other Chinese script, by OpenCC."""
        convert: Callable[[str], str] = to_traditional if locale == "zh-Hant" else to_simplified

        def each(values: Mapping[str, str]) -> Mapping[str, str]:
            return MappingProxyType({key: convert(value) for key, value in values.items()})

        return replace(
            self,
            locale=locale,
            blank=convert(self.blank),
            letters=tuple(
                replace(letter, title=convert(letter.title), send=each(letter.send), body=convert(letter.body))
                for letter in self.letters
            ),
            facts=each(self.facts),
            rules=tuple(replace(rule, text=convert(rule.text), source=convert(rule.source)) for rule in self.rules),
            since=each(self.since),
            often=each(self.often),
            evidence=each(self.evidence),
            wants=each(self.wants),
            checklist=Checklist(
                convert(self.checklist.title),
                convert(self.checklist.have),
                convert(self.checklist.start),
                each(self.checklist.collect),
                tuple(convert(line) for line in self.checklist.keep),
            ),
            next=tuple(convert(line) for line in self.next),
            converted=True,
        )


@dataclass(frozen=True)
class Letters:
    """Every letter set, by region and locale; the other Chinese script is converted when not written."""

    sets: Mapping[tuple[Region, Locale], LetterSet] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, region: Region, locale: Locale) -> LetterSet | None:
        return self.sets.get((region, locale))

    def regions(self) -> tuple[Region, ...]:
        return tuple(region for region in LETTER_REGIONS if any(key[0] == region for key in self.sets))

    def written(self) -> list[LetterSet]:
        return sorted((s for s in self.sets.values() if not s.converted), key=lambda s: (str(s.path), s.line))


# --- loading and checking --------------------------------------------------------------------------------


class _Reader:
    """Reads one letters file, reporting each problem once at its line."""

    def __init__(self, path: Path, errors: list[KnowledgeError]) -> None:
        self.path = path
        self.errors = errors

    def problem(self, node: yaml.Node | int, message: str) -> None:
        line = node if isinstance(node, int) else line_of(node)
        self.errors.append(KnowledgeError(self.path, line, message))

    def text(self, fields: Mapping[str, yaml.Node], key: str, where: yaml.Node) -> str | None:
        if key not in fields:
            self.problem(where, f"`{key}` is missing")
            return None
        return text_of(fields[key], self.path, key, self.errors)

    def ids(self, node: yaml.Node, key: str, known: Iterable[str]) -> frozenset[str] | None:
        allowed = tuple(known)
        found: set[str] = set()
        for value, line in texts_of(node, self.path, key, self.errors):
            if value not in allowed:
                self.problem(line, f"unknown id `{value}` in `{key}`; known: {', '.join(allowed)}")
                continue
            found.add(value)
        return frozenset(found) if found else None

    def table(self, node: yaml.Node, key: str, required: Iterable[str]) -> Mapping[str, str]:
        """A `key: {id: text}` table that must say something for every id in `required`."""
        needed = tuple(required)
        fields = mapping(node, self.path, frozenset(needed), key, self.errors)
        if fields is None:
            return MappingProxyType({})
        found = {name: text_of(fields[name], self.path, name, self.errors) for name in needed if name in fields}
        values = {name: value for name, value in found.items() if value}
        missing = [name for name in needed if name not in fields]
        if missing:
            self.problem(node, f"`{key}` needs a line for each of: {', '.join(missing)}")
        return MappingProxyType(values)

    def table_optional(self, node: yaml.Node, key: str, allowed: Iterable[str]) -> Mapping[str, str]:
        """A `key: {id: text}` table whose ids are all optional."""
        fields = mapping(node, self.path, frozenset(allowed), key, self.errors)
        if fields is None:
            return MappingProxyType({})
        found = {name: text_of(item, self.path, name, self.errors) for name, item in fields.items()}
        return MappingProxyType({name: value for name, value in found.items() if value})

    def checks(self, text: str, region: Region, line: int, *, body: bool = False) -> None:
        """The content checks answers get (bot.knowledge), on one text of a letter set."""
        allowed = BODY_PLACEHOLDERS if body else TEXT_PLACEHOLDERS
        for name in sorted(set(_PLACEHOLDER.findall(text))):
            if name not in allowed:
                known = ", ".join(f"{{{p}}}" for p in sorted(allowed))
                self.problem(line, f"unknown placeholder `{{{name}}}`; known here: {known}")
        if NUMBER_110.search(text):
            if region == "mainland":
                self.problem(line, "write {emergency} instead of 110, so the number fits where the user is")
            elif region == "hk":
                self.problem(line, "Hong Kong's emergency number is 999, never 110")
        if any(NOT_LAW.search(clause) for clause in LAW_CLAUSE.findall(text)):
            self.problem(
                line,
                "GB/T 45251—2025 is a recommended standard and the association documents are self-regulation: "
                "not law. Write them as rules of `kind: standard` or `kind: self_regulation`",
            )
        for where, pattern, message in WRONG_CLAIMS:
            if (where is None or where == region) and pattern.search(text):
                self.problem(line, message)


def _letter(reader: _Reader, node: yaml.Node, region: Region) -> Letter | None:
    fields = mapping(node, reader.path, LETTER_KEYS, "letter", reader.errors)
    if fields is None:
        return None
    ident = reader.text(fields, "id", node)
    if ident is None:
        return None
    if ident not in LETTERS:
        reader.problem(fields["id"], f"unknown letter `{ident}`; known: {', '.join(LETTERS)}")
        return None
    title = reader.text(fields, "title", node)
    body = reader.text(fields, "body", node)
    send: Mapping[str, str] = MappingProxyType({})
    if "send" not in fields:
        reader.problem(node, "`send` is missing: say where and how to send this letter")
    else:
        send = reader.table_optional(fields["send"], "send", ("default", *LENDERS[region]))
        if "default" not in send:
            reader.problem(fields["send"], "`send` needs a `default:` line (for any lender)")
    when = reader.ids(fields["when"], "when", CONDUCT) if "when" in fields else None
    lenders = reader.ids(fields["lenders"], "lenders", LENDERS[region]) if "lenders" in fields else None
    if title is None or body is None or "default" not in send:
        return None
    for line_number, line in enumerate(body.splitlines(), line_of(fields["body"]) + 1):
        if len(set(_PLACEHOLDER.findall(line))) > 1:
            reader.problem(line_number, "one placeholder a line: a line whose value is empty is left out")
    reader.checks(body, region, line_of(fields["body"]), body=True)
    for text in send.values():
        reader.checks(text, region, line_of(fields["send"]))
    return Letter(ident, title, send, body, when, lenders)


def _rule(reader: _Reader, node: yaml.Node, region: Region) -> Rule | None:
    fields = mapping(node, reader.path, RULE_KEYS, "rule", reader.errors)
    if fields is None:
        return None
    ident = reader.text(fields, "id", node)
    kind = reader.text(fields, "kind", node)
    text = reader.text(fields, "text", node)
    source = reader.text(fields, "source", node)
    if "when" not in fields:
        reader.problem(node, "`when` is missing: list what happened that this rule answers (ids from `facts`)")
        return None
    when = reader.ids(fields["when"], "when", CONDUCT)
    letters = reader.ids(fields["letters"], "letters", LETTERS) if "letters" in fields else frozenset(LETTERS)
    lenders = reader.ids(fields["lenders"], "lenders", LENDERS[region]) if "lenders" in fields else None
    if None in (ident, kind, text, source, when, letters):
        return None
    assert ident and kind and text and source and when and letters
    if kind not in RULE_KINDS:
        reader.problem(fields["kind"], f"unknown kind `{kind}`; use one of: {', '.join(RULE_KINDS)}")
        return None
    framing = _FRAMING.get(kind)
    if framing is not None and not framing.search(text + " " + source):
        what = "国家推荐性标准要求… / The recommended national standard says…"
        if kind == "self_regulation":
            what = "行业自律… / …self-regulation…"
        reader.problem(
            fields["text"], f"a {kind.replace('_', ' ')} must say what it is, so no one takes it for law: {what}"
        )
    if kind in ("law", "regulation") and NOT_LAW.search(text + " " + source):
        reader.problem(
            fields["kind"],
            f"this rule names a standard or an association but says `kind: {kind}`; use `kind: standard` or "
            "`kind: self_regulation`",
        )
    reader.checks(text + "\n" + source, region, line_of(node))
    return Rule(ident, kind, when, letters, lenders, text, source)


def _letter_set(path: Path, errors: list[KnowledgeError]) -> LetterSet | None:
    root = read_yaml(path, errors)
    if root is None:
        return None
    reader = _Reader(path, errors)
    fields = mapping(root, path, FILE_KEYS, "letters file", errors)
    if fields is None:
        return None
    raw_region = reader.text(fields, "region", root)
    raw_locale = reader.text(fields, "locale", root)
    region = next((r for r in LETTER_REGIONS if r == raw_region), None)
    locale = next((loc for loc in LOCALES if loc == raw_locale), None)
    if raw_region is not None and region is None:
        reader.problem(fields["region"], f"unknown region `{raw_region}`; use mainland, hk or tw")
    if raw_locale is not None and locale is None:
        reader.problem(fields["locale"], f"unknown locale `{raw_locale}`; use zh-Hans, zh-Hant or en")
    if region is None or locale is None:
        return None
    reviewed = date_of(fields["reviewed"], path, "reviewed", errors) if "reviewed" in fields else None
    if "reviewed" not in fields:
        reader.problem(root, "`reviewed` is missing: the date a volunteer last checked these letters")
    valid_until = date_of(fields["valid_until"], path, "valid_until", errors) if "valid_until" in fields else None
    blank = reader.text(fields, "blank", root) or "________"

    letters: list[Letter] = []
    if "letters" in fields and isinstance(fields["letters"], yaml.SequenceNode):
        seen: set[str] = set()
        for item in fields["letters"].value:
            letter = _letter(reader, item, region)
            if letter is None:
                continue
            if letter.id in seen:
                reader.problem(item, f"letter `{letter.id}` appears twice")
                continue
            seen.add(letter.id)
            letters.append(letter)
    else:
        reader.problem(fields.get("letters", root), "`letters` must be a list of letters (lines starting with -)")

    rules: list[Rule] = []
    if "rules" in fields and isinstance(fields["rules"], yaml.SequenceNode):
        ids: set[str] = set()
        for item in fields["rules"].value:
            rule = _rule(reader, item, region)
            if rule is None:
                continue
            if rule.id in ids:
                reader.problem(item, f"rule `{rule.id}` appears twice")
                continue
            ids.add(rule.id)
            rules.append(rule)
    else:
        reader.problem(fields.get("rules", root), "`rules` must be a list of rules (lines starting with -)")

    tables: dict[str, Mapping[str, str]] = {}
    required_tables: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("facts", (*CONDUCT, "none")),
        ("since", SINCE),
        ("often", OFTEN),
        ("evidence", EVIDENCE),
        ("wants", (*WANTS, "default")),
    )
    for key, required in required_tables:
        if key not in fields:
            reader.problem(root, f"`{key}` is missing")
            return None
        tables[key] = reader.table(fields[key], key, required)
        for value in tables[key].values():
            reader.checks(value, region, line_of(fields[key]))

    checklist = _checklist(reader, fields.get("checklist"), root, region)
    next_lines: tuple[str, ...] = ()
    if "next" in fields:
        next_lines = tuple(value for value, _ in texts_of(fields["next"], path, "next", errors))
        for value in next_lines:
            reader.checks(value, region, line_of(fields["next"]))
    else:
        reader.problem(root, "`next` is missing: what happens after sending, and what to do without an answer")
    if checklist is None or not letters:
        return None
    if any(name not in tables[key] for key, required in required_tables for name in required):
        return None  # reported above; filling in a letter would need the missing line
    return LetterSet(
        region=region,
        locale=locale,
        blank=blank,
        letters=tuple(letters),
        facts=tables["facts"],
        rules=tuple(rules),
        since=tables["since"],
        often=tables["often"],
        evidence=tables["evidence"],
        wants=tables["wants"],
        checklist=checklist,
        next=next_lines,
        reviewed=reviewed,
        valid_until=valid_until,
        path=path,
        line=1,
    )


def _checklist(reader: _Reader, node: yaml.Node | None, root: yaml.Node, region: Region) -> Checklist | None:
    if node is None:
        reader.problem(root, "`checklist` is missing: the evidence to attach and how to keep it")
        return None
    fields = mapping(node, reader.path, CHECKLIST_KEYS, "checklist", reader.errors)
    if fields is None:
        return None
    title = reader.text(fields, "title", node)
    have = reader.text(fields, "have", node)
    start = reader.text(fields, "start", node)
    if have is not None and "{items}" not in have:
        reader.problem(fields["have"], "`have` must contain {items}: where the evidence the user has is listed")
    collect = reader.table_optional(fields["collect"], "collect", CONDUCT) if "collect" in fields else {}
    keep: tuple[str, ...] = ()
    if "keep" in fields:
        keep = tuple(value for value, _ in texts_of(fields["keep"], reader.path, "keep", reader.errors))
    else:
        reader.problem(node, "`keep` is missing: how to keep evidence safe")
    for value in (*collect.values(), *keep, start or ""):
        reader.checks(value, region, line_of(node))
    if title is None or have is None or start is None:
        return None
    return Checklist(title, have, start, MappingProxyType(dict(collect)), keep)


def load_letters(folder: Path, errors: list[KnowledgeError]) -> Letters:
    """Every letter set in `folder` (none when it does not exist); never raises on bad content."""
    sets: dict[tuple[Region, Locale], LetterSet] = {}
    for path in yaml_files(folder, errors):
        found = _letter_set(path, errors)
        if found is None:
            continue
        key = (found.region, found.locale)
        if key in sets:
            first = sets[key]
            errors.append(
                KnowledgeError(path, 1, f"a second {found.region} letter set in {found.locale} (first: {first.path})")
            )
            continue
        sets[key] = found
    for region in LETTER_REGIONS:
        chinese = [sets[(region, loc)] for loc in ("zh-Hans", "zh-Hant") if (region, loc) in sets]
        english = sets.get((region, "en"))
        if chinese and english is None:
            errors.append(
                KnowledgeError(chinese[0].path or folder, 1, f"{region} letters have no English version (locale: en)")
            )
        if english is not None and not chinese:
            errors.append(KnowledgeError(english.path or folder, 1, f"{region} letters have no Chinese version"))
        if len(chinese) == 1:
            other: Locale = "zh-Hant" if chinese[0].locale == "zh-Hans" else "zh-Hans"
            sets[(region, other)] = chinese[0].converted_to(other)
    return Letters(MappingProxyType(sets))

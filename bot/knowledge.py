"""The knowledge base: intents (how people ask) joined with answers (what the bot says), loaded from YAML.

    KnowledgeError          one problem in one file, as `path:line: message` for volunteers
    load_knowledge(root)    → Loaded(knowledge, errors): everything valid, plus every problem found
    KnowledgeSource         holds the current KnowledgeBase; a file with problems serves its last good version

An answer is written for mainland China unless it carries `region: hk` or `region: tw`; `KnowledgeBase.answer`
picks the user's region first and falls back to the mainland answer (see docs/content-format.md).

Loading never raises on bad content: a broken entry is left out and reported, so one volunteer's typo
cannot take the bot down, and `lint` can show every problem at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import difflib
import functools
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from .care import CareContent, load_care
from .claims import LAW_CLAUSE as _LAW_CLAUSE
from .claims import NOT_LAW as _NOT_LAW
from .claims import NUMBER_110 as _NUMBER_110
from .claims import WRONG_CLAIMS as _WRONG_CLAIMS
from .content import (
    KnowledgeError,
    display_path,
    parse_yaml,
    read_content,
    read_yaml,
    reading,
    text_digest,
)
from .content import (
    date_of as _date,
)
from .content import (
    entries as _entries,
)
from .content import (
    entries_of as _entries_of,
)
from .content import (
    line_of as _line,
)
from .content import (
    mapping as _mapping,
)
from .content import (
    text_of as _text,
)
from .content import (
    texts_of as _texts,
)
from .content import (
    yaml_files as _yaml_files,
)
from .flows.letters import Letters, load_letters
from .kept import code_digest, write_text
from .lexicon import load_lexicon
from .matcher import CRISIS_INTENT, Matcher
from .matcher_cache import build_matcher
from .models import LOCALES, Locale, Match
from .patterns import lazy
from .region import Region
from .safety import Assessment, SafetyRules, lean, load_safety
from .text import has_cjk, normalise, to_simplified, to_traditional
from .understanding import after_courtesy, role

log = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
OUT_OF_SCOPE_GROUP = "oos"
# Groups whose answers make legal claims and so must name their sources.
SOURCED_GROUPS = ("legal", "rights", "report")
REQUIRED_LOCALES: tuple[Locale, ...] = ("zh-Hans", "en")
TITLE_LOCALES: tuple[Locale, ...] = ("zh-Hans", "en")
MAX_ANSWER_CHARS = 700  # what fits a phone screen; longer text belongs under `more`
# A title is a button label: what fits one line of a phone screen (a Chinese character is twice as wide).
MAX_TITLE_CHARS: Mapping[str, int] = MappingProxyType({"zh-Hans": 16, "zh-Hant": 16, "en": 40})
MAX_MATCH_CHARS = 500  # questions are short; a pasted essay is matched on its start
MAX_SAFETY_CHARS = 4000
STRESS_INTENT = "wellbeing.stress"  # but a crisis signal anywhere in a long message must still be seen

INTENT_KEYS = frozenset({"id", "title", "examples", "tests", "keywords", "related"})
ANSWER_KEYS = frozenset({"intent", "region", "answer", "more", "sources", "reviewed", "valid_until"})
SOURCE_KEYS = frozenset({"full", "short"})
# Regions an answer may be written for; an answer without `region` is for mainland China.
ANSWER_REGIONS: tuple[Region, ...] = ("hk", "tw")
CHINESE_LOCALES: tuple[Locale, ...] = ("zh-Hans", "zh-Hant")
# The compact sources line under an answer, in display columns (a Chinese character counts two): at most
# five lines on a phone, usually two. Longer sources need a `short:` form.
MAX_SOURCES_COLUMNS = 200
# Words an answer may contain in braces; the bot fills them in for the user's region (see `bot.answers`).
PLACEHOLDERS = frozenset({"emergency"})
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Intent:
    id: str
    titles: Mapping[str, str]
    examples: tuple[str, ...]
    tests: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    related: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def out_of_scope(self) -> bool:
        return self.group == OUT_OF_SCOPE_GROUP


@dataclass(frozen=True)
class Source:
    """One source of an answer: the full title (YAML, `anxin show`, docs) and the short form under the answer."""

    full: str
    short: str


@dataclass(frozen=True)
class Answer:
    intent: str
    locale: Locale
    text: str
    more: str | None = None
    sources: tuple[Source, ...] = ()
    reviewed: dt.date | None = None
    valid_until: dt.date | None = None  # a time-bound fact in it (a deadline, the LPR cap) needs checking by then
    region: Region | None = None  # None: written for mainland China
    path: Path | None = None  # where a volunteer wrote it
    line: int = 0
    converted: bool = False  # made from the other Chinese script by OpenCC, not written by anyone


@dataclass(frozen=True)
class KnowledgeBase:
    """Immutable: reload builds a new one and swaps the reference."""

    intents: Mapping[str, Intent]
    answers: Mapping[tuple[str, Locale], Answer]  # the mainland China answers, in every script
    safety: SafetyRules
    care: CareContent
    matcher: Matcher
    root: Path = field(default=Path("."))
    regional: Mapping[tuple[str, Locale, Region], Answer] = field(default_factory=lambda: MappingProxyType({}))
    rules: ContentRules = field(default_factory=lambda: ContentRules())
    letters: Letters = field(default_factory=Letters)  # the /complain letters (`letters/`), none when absent

    def answer(self, intent: str, locale: Locale, region: Region | None = None) -> Answer | None:
        """The answer for a user in `region`: one written for that region (in either Chinese script, converted
        when needed), else the mainland answer; `Answer.region` says which it is."""
        if region is not None:
            found = self.regional.get((intent, locale, region))
            if found is not None:
                return found
        return self.answers.get((intent, locale)) or self.answers.get((intent, "zh-Hans"))

    def written(self) -> list[Answer]:
        """Every answer a volunteer wrote (not the script conversions), in file order."""
        every = [*self.answers.values(), *self.regional.values()]
        return sorted((a for a in every if not a.converted), key=lambda a: (str(a.path), a.line))

    def title(self, intent: str, locale: Locale) -> str:
        found = self.intents.get(intent)
        if found is None:
            return intent
        return found.titles.get(locale) or found.titles.get("zh-Hans") or intent

    def decide(self, text: str) -> Match:
        """The decision for one message: the safety check first, then the matcher; a check-in rather than a menu
        when the matcher understood no topic and the safety net leaned towards a risk (`safety.lean`)."""
        assessment = self.assess(text)
        if assessment.at_risk:
            return Match(assessment.level, CRISIS_INTENT, 100.0, ())  # type: ignore[arg-type]
        decision = self.match(text)
        return Match("concern", CRISIS_INTENT, 100.0, ()) if lean(assessment, decision).at_risk else decision

    def _without_crisis(self, decision: Match) -> Match:
        """Whether to check in is the safety layer's decision alone: when it saw no risk, a message that
        merely resembles the self-harm intent's examples gets the answer on stress (which names a
        hotline), measured to be far more often right than a check-in (docs/content-format.md)."""
        if decision.kind != "crisis":
            return decision
        if STRESS_INTENT in self.intents:
            return Match("answer", STRESS_INTENT, decision.score, decision.candidates)
        return Match("fallback", None, decision.score, decision.candidates)

    def match(self, text: str) -> Match:
        """The matcher's decision, without the safety check (the dialog runs that first itself).

        Who is writing is read first: a collector, a lender or someone owed money gets the out-of-scope reply
        for their side of the debt (bot/understanding.py), however close their words are to a borrower's."""
        text = text[:MAX_MATCH_CHARS]
        side = role(text, self.matcher.lexicon)
        if side is not None and side in self.intents:
            why = f"written from the collecting side ({side}): not a borrower's question"
            return Match("fallback", None, 0.0, (), topic=side, reason=why)
        decision = self._without_crisis(self.matcher.match(text))
        rest = after_courtesy(text) if _courtesy(decision) or decision.kind == "fallback" else None
        if rest is not None:
            # A greeting or thanks in front of a question: the question decides, when it is a debt question of
            # its own and at least as sure ("谢谢你，我知道了" and "多謝晒，幫到我好多" stay thanks, "hello, how are
            # you" a greeting).
            behind = self._without_crisis(self.matcher.match(rest))
            sure = behind.kind in ("answer", "overview") or (behind.kind == "clarify" and decision.kind != "answer")
            if sure and not _top(behind).startswith("meta."):
                return behind
            # After a greeting (not thanks: "thanks, that really helped" stays thanks), what follows decides when it
            # asks what Anxin can do ("你好，请问你都能帮我解答哪些问题？") or is out of scope ("你好我想问一下明天去
            # 广州坐高铁还是开车快"; not "how are you", chitchat, which stays a greeting). On dev-13 three were greeted
            # back; on all tuning sets five fixed, none broken.
            if _top(decision) == GREETING_INTENT and (
                (sure and _top(behind) == HELP_INTENT)
                or (behind.kind == "fallback" and behind.topic in self.intents and behind.topic != CHITCHAT_INTENT)
            ):
                return behind
        return decision

    def assess(self, text: str) -> Assessment:
        """The safety layer's view of one message (a crisis signal anywhere in a long message counts)."""
        return self.safety.assess(text[:MAX_SAFETY_CHARS])

    def answerable(self) -> list[Intent]:
        return [intent for intent in self.intents.values() if not intent.out_of_scope]


GREETING_INTENT, HELP_INTENT = "meta.greeting", "meta.help"
CHITCHAT_INTENT = "oos.chitchat"
COURTESY_INTENTS = frozenset({GREETING_INTENT, "meta.thanks"})


def _top(decision: Match) -> str:
    """The intent a decision leads with: its answer, or the first option it offers."""
    if decision.intent is not None:
        return decision.intent
    return decision.candidates[0].intent if decision.candidates else ""


def _courtesy(decision: Match) -> bool:
    """Whether a greeting or thanks leads the decision, or is one of the options of a question back."""
    if decision.kind in ("clarify", "overview"):
        return any(candidate.intent in COURTESY_INTENTS for candidate in decision.candidates)
    return _top(decision) in COURTESY_INTENTS


RULES_FILE = "content-rules.yaml"


@dataclass(frozen=True)
class ContentRules:
    """How much every answerable intent needs, from `content-rules.yaml` at the content root (lint and CI)."""

    min_examples: int = 15
    min_tests: int = 4


def _load_rules(root: Path, errors: list[KnowledgeError]) -> ContentRules:
    path = root / RULES_FILE
    if not path.is_file():
        return ContentRules()
    node = read_yaml(path, errors)
    if node is None:
        return ContentRules()
    fields = _mapping(node, path, frozenset({"min_examples", "min_tests"}), "content rules", errors) or {}
    values: dict[str, int] = {}
    for key, value in fields.items():
        raw = value.value if isinstance(value, yaml.ScalarNode) else None
        if not (isinstance(raw, str) and raw.isdigit()):
            errors.append(KnowledgeError(path, _line(value), f"`{key}` must be a whole number, like 15"))
            continue
        values[key] = int(raw)
    return ContentRules(**values)


def _check_amounts(drafts: Iterable[_IntentDraft], rules: ContentRules, errors: list[KnowledgeError]) -> None:
    for draft in drafts:
        intent = draft.intent
        if intent.out_of_scope or intent.id == CRISIS_INTENT:
            continue
        for what, have, need in (
            ("examples", draft.written.get("examples", 0), rules.min_examples),
            ("tests", draft.written.get("tests", 0), rules.min_tests),
        ):
            if have < need:
                errors.append(
                    KnowledgeError(
                        draft.path,
                        draft.line,
                        f"`{intent.id}` has {have} {what if have != 1 else what[:-1]}; every intent needs at least "
                        f"{need} ({RULES_FILE}): "
                        + (
                            "add the ways people really ask"
                            if what == "examples"
                            else "add new phrasings that are not examples, to check the matcher"
                        ),
                    )
                )


@dataclass(frozen=True)
class Loaded:
    knowledge: KnowledgeBase
    errors: tuple[KnowledgeError, ...]


# --- Intents -----------------------------------------------------------------------------------------


@dataclass
class _IntentDraft:
    intent: Intent
    path: Path
    line: int
    related_lines: dict[str, int]
    written: Mapping[str, int] = field(default_factory=dict)  # items as written under examples/tests
    # each example and test → its normalised form, worked out once for the checks and the matcher
    normalised: Mapping[str, str] = field(default_factory=dict)

    def form(self, text: str) -> str:
        """An example's or test's normalised form, as worked out when the file was read."""
        found = self.normalised.get(text)
        return found if found is not None else normalise(text)


def _load_intent(node: yaml.Node, path: Path, errors: list[KnowledgeError]) -> _IntentDraft | None:
    fields = _mapping(node, path, INTENT_KEYS, "intent", errors)
    if fields is None:
        return None
    if "id" not in fields:
        errors.append(KnowledgeError(path, _line(node), "this intent has no `id`"))
        return None
    intent_id = _text(fields["id"], path, "id", errors)
    if intent_id is None:
        return None
    if not ID_PATTERN.match(intent_id):
        errors.append(
            KnowledgeError(path, _line(fields["id"]), f"id `{intent_id}` must look like group.name in lower case")
        )
        return None
    titles: dict[str, str] = {}
    title_node = fields.get("title")
    out_of_scope = intent_id.startswith(OUT_OF_SCOPE_GROUP + ".")
    if title_node is None:
        if not out_of_scope:
            errors.append(KnowledgeError(path, _line(node), f"`{intent_id}` has no `title` (zh-Hans and en)"))
    else:
        title_fields = _mapping(title_node, path, frozenset(LOCALES), "title", errors) or {}
        for locale, value_node in title_fields.items():
            title = _text(value_node, path, f"title.{locale}", errors)
            if title is None:
                continue
            limit = MAX_TITLE_CHARS[locale]
            if len(title) > limit:
                errors.append(
                    KnowledgeError(
                        path,
                        _line(value_node),
                        f"the {locale} title is {len(title)} characters; a button shows at most {limit}",
                    )
                )
            titles[locale] = title
        for locale in TITLE_LOCALES:
            if locale not in titles and not out_of_scope:
                errors.append(KnowledgeError(path, _line(title_node), f"`title` has no `{locale}` line"))
    seen_lines: dict[str, tuple[int, str]] = {}  # normalised text → (line, examples|tests) within the intent
    normalised: dict[str, str] = {}
    examples = _distinct(fields.get("examples"), path, "examples", seen_lines, errors, normalised)
    if not examples:
        errors.append(KnowledgeError(path, _line(node), f"`{intent_id}` has no `examples`"))
        return None
    tests = _distinct(fields.get("tests"), path, "tests", seen_lines, errors, normalised)
    keywords = (
        tuple(text for text, _ in _texts(fields["keywords"], path, "keywords", errors)) if "keywords" in fields else ()
    )
    related_lines: dict[str, int] = {}
    if "related" in fields:
        for related, line in _texts(fields["related"], path, "related", errors):
            related_lines.setdefault(related, line)
    if "zh-Hant" not in titles and "zh-Hans" in titles:
        titles["zh-Hant"] = to_traditional(titles["zh-Hans"])
    intent = Intent(
        id=intent_id,
        titles=MappingProxyType(titles),
        examples=examples,
        tests=tests,
        keywords=keywords,
        related=tuple(related_lines),
    )
    # A repeated or broken item is reported where it is; counting what was written keeps the minimums quiet.
    written = {
        key: len(fields[key].value) if isinstance(fields.get(key), yaml.SequenceNode) else 0
        for key in ("examples", "tests")
    }
    return _IntentDraft(intent, path, _line(node), related_lines, written, normalised)


def _distinct(
    node: yaml.Node | None,
    path: Path,
    key: str,
    seen: dict[str, tuple[int, str]],
    errors: list[KnowledgeError],
    forms: dict[str, str],
) -> tuple[str, ...]:
    """The texts of an `examples` or `tests` list; one repeated within the same intent is reported and dropped.
    `forms` receives each text's normalised form."""
    if node is None:
        return ()
    found: list[str] = []
    for text, line in _texts(node, path, key, errors):
        normalised = forms[text] = normalise(text)
        if normalised and normalised in seen:
            first, kind = seen[normalised]
            message = (
                f"test {text!r} is also an example (line {first}); tests must be new phrasings"
                if kind != key
                else f"{text!r} repeats line {first} of the same intent; remove one"
            )
            errors.append(KnowledgeError(path, line, message))
            continue
        if normalised:
            seen[normalised] = (line, key)
        found.append(text)
    return tuple(found)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' — did you mean `x`?' for the closest known id, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f"; did you mean `{close[0]}`?" if close else ""


def _check_examples(drafts: list[_IntentDraft], errors: list[KnowledgeError]) -> None:
    """Report an example used by two intents, and a held-out test that is really an example."""
    owner: dict[str, str] = {}
    for draft in drafts:
        for example in draft.intent.examples:
            key = draft.form(example)
            if not key:
                errors.append(
                    KnowledgeError(draft.path, draft.line, f"example {example!r} of `{draft.intent.id}` has no words")
                )
                continue
            other = owner.setdefault(key, draft.intent.id)
            if other != draft.intent.id:
                errors.append(
                    KnowledgeError(
                        draft.path,
                        draft.line,
                        f"example {example!r} of `{draft.intent.id}` is also an example of `{other}`; "
                        "keep it under one intent",
                    )
                )
    for draft in drafts:
        for test in draft.intent.tests:
            if draft.form(test) in owner:
                errors.append(
                    KnowledgeError(
                        draft.path,
                        draft.line,
                        f"test {test!r} of `{draft.intent.id}` is also an example; tests must be new phrasings",
                    )
                )


# --- Answers -----------------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Display columns: a Chinese character (or full-width mark) takes two."""
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)


def short_form(full: str) -> str:
    """A source's short form when it has no `short:`: the text without book-title marks (《民法典》第1033条 →
    民法典第1033条)."""
    return full.replace("《", "").replace("》", "").strip()


def _sources(node: yaml.Node, path: Path, errors: list[KnowledgeError]) -> tuple[Source, ...]:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        errors.append(KnowledgeError(path, _line(node), "`sources` is empty; give a list of lines starting with -"))
        return ()
    if not isinstance(node, yaml.SequenceNode):
        errors.append(KnowledgeError(path, _line(node), "`sources` must be a list (lines starting with -)"))
        return ()
    found: list[Source] = []
    for item in node.value:
        if isinstance(item, yaml.MappingNode):
            fields = _mapping(item, path, SOURCE_KEYS, "source", errors)
            if fields is None:
                continue
            if "full" not in fields or "short" not in fields:
                errors.append(
                    KnowledgeError(path, _line(item), "a source written as a set needs both `full:` and `short:`")
                )
                continue
            full = _text(fields["full"], path, "full", errors)
            short = _text(fields["short"], path, "short", errors)
            if full and short:
                found.append(Source(full, short))
            continue
        if not isinstance(item, yaml.ScalarNode) or item.tag == "tag:yaml.org,2002:null":
            errors.append(KnowledgeError(path, _line(item), "an item of `sources` is empty or not text"))
            continue
        text = str(item.value).strip()
        if not text:
            errors.append(KnowledgeError(path, _line(item), "an item of `sources` is empty"))
            continue
        found.append(Source(text, short_form(text)))
    return tuple(found)


def _content_checks(answer: Answer, node: yaml.Node, path: Path, errors: list[KnowledgeError]) -> None:
    """Mistakes a reviewer found once and a volunteer could make again: each reported at the answer's line."""
    line = _line(node)
    text = answer.text + "\n" + (answer.more or "")
    for name in sorted(set(_PLACEHOLDER.findall(text))):
        if name not in PLACEHOLDERS:
            known = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
            errors.append(KnowledgeError(path, line, f"unknown placeholder `{{{name}}}`; known: {known}"))
    if _NUMBER_110.search(text) and answer.intent != CRISIS_INTENT:
        if answer.region is None:
            errors.append(
                KnowledgeError(
                    path,
                    line,
                    f"`{answer.intent}` says 110: write {{emergency}} instead, so that a user in Hong Kong "
                    "reads 999 and one elsewhere their local emergency number",
                )
            )
        elif answer.region == "hk":
            errors.append(KnowledgeError(path, line, "Hong Kong's emergency number is 999, never 110"))
    if any(_NOT_LAW.search(clause) for clause in _LAW_CLAUSE.findall(text)):
        errors.append(
            KnowledgeError(
                path,
                line,
                "GB/T 45251—2025 is a recommended standard and the association documents are "
                "self-regulation: not law. Write 国家推荐性标准要求… / 行业规范要求… outside 法律上",
            )
        )
    for where, pattern, message in _WRONG_CLAIMS:
        if (where is None or answer.region is None) and pattern.search(text):
            errors.append(KnowledgeError(path, line, message))
    if answer.sources:
        columns = _width("；".join(source.short for source in answer.sources))
        if columns > MAX_SOURCES_COLUMNS:
            errors.append(
                KnowledgeError(
                    path,
                    line,
                    f"the sources line under `{answer.intent}` is too long for a phone ({columns} columns, "
                    f"at most {MAX_SOURCES_COLUMNS}); give long sources a `short:` form",
                )
            )


def _load_answer(
    node: yaml.Node, path: Path, locale: Locale, errors: list[KnowledgeError]
) -> tuple[Answer, int] | None:
    fields = _mapping(node, path, ANSWER_KEYS, "answer", errors)
    if fields is None:
        return None
    if "intent" not in fields:
        errors.append(KnowledgeError(path, _line(node), "this answer has no `intent` (the id it answers)"))
        return None
    intent = _text(fields["intent"], path, "intent", errors)
    if intent is None:
        return None
    region: Region | None = None
    if "region" in fields:
        raw_region = _text(fields["region"], path, "region", errors)
        if raw_region is None:
            return None
        region = next((r for r in ANSWER_REGIONS if r == raw_region), None)
        if region is None:
            errors.append(
                KnowledgeError(
                    path,
                    _line(fields["region"]),
                    f"unknown region `{raw_region}`; use hk or tw (leave `region` out for mainland China)",
                )
            )
            return None
    if "answer" not in fields:
        errors.append(KnowledgeError(path, _line(node), f"`{intent}` has no `answer` text"))
        return None
    text = _text(fields["answer"], path, "answer", errors)
    if text is None:
        return None
    for key in ("answer", "more"):
        if key in fields:
            _check_block(fields[key], path, key, errors)
    if len(text) > MAX_ANSWER_CHARS:
        errors.append(
            KnowledgeError(
                path,
                _line(fields["answer"]),
                f"answer is {len(text)} characters; keep it under {MAX_ANSWER_CHARS} and move details to `more`",
            )
        )
    more = _text(fields["more"], path, "more", errors) if "more" in fields else None
    sources = _sources(fields["sources"], path, errors) if "sources" in fields else ()
    if not sources and intent.split(".", 1)[0] in SOURCED_GROUPS:
        errors.append(
            KnowledgeError(path, _line(node), f"`{intent}` makes legal claims but has no `sources` (law and article)")
        )
    reviewed: dt.date | None = None
    if "reviewed" in fields:
        reviewed = _date(fields["reviewed"], path, "reviewed", errors)
    else:
        errors.append(KnowledgeError(path, _line(node), f"`{intent}` has no `reviewed` date"))
    valid_until = _date(fields["valid_until"], path, "valid_until", errors) if "valid_until" in fields else None
    if reviewed and valid_until and valid_until < reviewed:
        errors.append(
            KnowledgeError(path, _line(fields["valid_until"]), "`valid_until` is before `reviewed`; check both dates")
        )
    answer = Answer(intent, locale, text, more, sources, reviewed, valid_until, region, path, _line(node))
    _content_checks(answer, node, path, errors)
    return answer, _line(node)


_FOLDED_STEP = lazy(r"\s(?:\d{1,2}[.、)]|[-•])\s")


def _check_block(node: yaml.Node, path: Path, key: str, errors: list[KnowledgeError]) -> None:
    """Text over several lines must be a `|` block: without it YAML joins the lines into one paragraph.

    English prose wrapped over lines is fine (YAML joins it with spaces, as intended); Chinese text or
    numbered steps over several lines without `|` are always a mistake.
    """
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        return
    value = str(node.value)
    if node.end_mark.line > node.start_mark.line and (has_cjk(value) or _FOLDED_STEP.search(value)):
        errors.append(
            KnowledgeError(
                path,
                _line(node),
                f"`{key}` runs over several lines without `|`, so its lines would be joined into one paragraph; "
                f"write `{key}: |` and put the text on the lines below it",
            )
        )


# --- Putting it together ---------------------------------------------------------------------------


def load_knowledge(root: Path, previous: KnowledgeBase | None = None, cache_dir: Path | None = None) -> Loaded:
    """Read `root/intents`, `root/faq`, `root/safety`, `root/lexicon` and `root/letters`; never raises on bad
    content. `previous`: the knowledge base this one replaces (a reload), whose work the matcher may reuse.

    Three steps: read (each file and entry on its own), validate (across files: duplicates, missing answers,
    related ids; nothing reported that only follows from a file that could not be read), build (conversions,
    the matcher, the safety net, the letters).
    """
    errors: list[KnowledgeError] = []
    read = _read(root, errors, cache_dir)
    valid = _validate(read, errors)
    knowledge = _build(root, read, valid, errors, previous, cache_dir)
    errors.sort(key=lambda e: (str(e.path), e.line))
    return Loaded(knowledge, tuple(errors))


@dataclass
class _Files:
    """What the content files hold, each entry checked on its own, and which files could not be read at all."""

    intents: list[_IntentDraft] = field(default_factory=list)
    answers: list[tuple[Answer, int]] = field(default_factory=list)  # (answer, its line), in file order
    rules: ContentRules = field(default_factory=ContentRules)
    unreadable_intents: bool = False  # an intents file: answers pointing into it are not news
    unreadable_locales: set[Locale] = field(default_factory=set)  # an answers file: a missing answer is not news


def _read(root: Path, errors: list[KnowledgeError], cache_dir: Path | None = None) -> _Files:
    found = _Files(rules=_load_rules(root, errors))
    intents_dir = root / "intents"
    if not intents_dir.is_dir():
        errors.append(KnowledgeError(intents_dir, 1, "the intents folder is missing"))
    used: set[str] = set()
    for path in _yaml_files(intents_dir, errors):
        drafts, unreadable = _intents_file(path, errors, cache_dir, used)
        found.unreadable_intents = found.unreadable_intents or unreadable
        found.intents.extend(drafts)
    if cache_dir is not None:
        _forget_other_intents(cache_dir, used)

    faq_dir = root / "faq"
    if not faq_dir.is_dir():
        errors.append(KnowledgeError(faq_dir, 1, "the faq folder is missing"))
        return found
    for folder in sorted(p for p in faq_dir.iterdir() if p.is_dir()):
        if folder.name not in LOCALES:
            errors.append(
                KnowledgeError(folder, 1, f"unknown locale folder `{folder.name}`; use one of {', '.join(LOCALES)}")
            )
            continue
        locale: Locale = next(loc for loc in LOCALES if loc == folder.name)
        for path in _yaml_files(folder, errors):
            before = len(errors)
            nodes = _entries(path, errors)
            if not nodes and len(errors) > before:
                found.unreadable_locales.add(locale)
            found.answers.extend(
                loaded for node in nodes if (loaded := _load_answer(node, path, locale, errors)) is not None
            )
    return found


# --- Intents kept between starts ------------------------------------------------------------------------
# Reading an intents file is parsing its YAML into nodes and checking every entry (each example normalised for
# the duplicate check and the matcher): 1.3 s of a 2 s start at 30,000 examples, the same work every start
# while the file is unchanged. So, as the matcher keeps its arrays (`bot.matcher_cache`), what one file gave
# (its intents, their lines and normalised examples, and every problem found in it, to be reported again) is
# kept in `cache/` under a digest of the file's text and of the code that reads it. Only content is kept,
# never anything a user wrote. A missing, stale or damaged file means a fresh read, never a crash; a file no
# intents file gives any more is removed.

INTENTS_CACHE_PREFIX = "intents-"
INTENTS_FORMAT = 1  # what the file holds and how: a new layout must not read an old file


@functools.cache
def _intents_code() -> str:
    from . import content as _content_module
    from . import text as _text_module

    digest = code_digest(__file__, _content_module.__file__, _text_module.__file__)
    digest.update(f"{INTENTS_FORMAT} yaml {yaml.__version__} opencc {_opencc_version()}".encode())
    return digest.hexdigest()


def _opencc_version() -> str:
    # The module's own attribute: `importlib.metadata` (and the email parser it brings) was 20-30 ms of a start.
    import opencc

    return str(getattr(opencc, "__version__", "?"))


def _intents_file(
    path: Path, errors: list[KnowledgeError], cache_dir: Path | None, used: set[str]
) -> tuple[list[_IntentDraft], bool]:
    """One intents file's drafts, and whether the file could not be read at all."""
    before = len(errors)
    text = read_content(path, errors)
    if text is None:
        return [], True
    key = text_digest(_intents_code() + text) if cache_dir is not None else ""
    if cache_dir is not None:
        used.add(key)
        kept = _kept_intents(cache_dir / f"{INTENTS_CACHE_PREFIX}{key}.json", path)
        if kept is not None:
            drafts, problems, unreadable = kept
            errors.extend(KnowledgeError(path, line, message) for line, message in problems)
            return drafts, unreadable
    nodes = _entries_of(parse_yaml(path, text, errors), path, errors)
    unreadable = not nodes and len(errors) > before
    drafts = [draft for node in nodes if (draft := _load_intent(node, path, errors)) is not None]
    if cache_dir is not None:
        problems = [(error.line, error.message) for error in errors[before:]]
        _keep_intents(cache_dir, key, drafts, problems, unreadable)
    return drafts, unreadable


def _kept_intents(file: Path, path: Path) -> tuple[list[_IntentDraft], list[tuple[int, str]], bool] | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("kept intents %s cannot be read (%s); reading %s afresh", file.name, exc, display_path(path))
        return None
    try:
        drafts = [
            _IntentDraft(
                Intent(
                    id=str(entry["id"]),
                    titles=MappingProxyType({str(k): str(v) for k, v in entry["titles"].items()}),
                    examples=tuple(map(str, entry["examples"])),
                    tests=tuple(map(str, entry["tests"])),
                    keywords=tuple(map(str, entry["keywords"])),
                    related=tuple(map(str, entry["related"])),
                ),
                path,
                int(entry["line"]),
                {str(k): int(v) for k, v in entry["related_lines"].items()},
                {str(k): int(v) for k, v in entry["written"].items()},
                {str(k): str(v) for k, v in entry["normalised"].items()},
            )
            for entry in data["drafts"]
        ]
        problems = [(int(line), str(message)) for line, message in data["problems"]]
        return drafts, problems, bool(data["unreadable"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("kept intents %s are damaged (%s); reading %s afresh", file.name, exc, display_path(path))
        return None


def _keep_intents(
    cache_dir: Path, key: str, drafts: list[_IntentDraft], problems: list[tuple[int, str]], unreadable: bool
) -> None:
    data = {
        "drafts": [
            {
                "id": draft.intent.id,
                "titles": dict(draft.intent.titles),
                "examples": draft.intent.examples,
                "tests": draft.intent.tests,
                "keywords": draft.intent.keywords,
                "related": draft.intent.related,
                "line": draft.line,
                "related_lines": draft.related_lines,
                "written": dict(draft.written),
                "normalised": dict(draft.normalised),
            }
            for draft in drafts
        ],
        "problems": problems,
        "unreadable": unreadable,
    }
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        write_text(cache_dir / f"{INTENTS_CACHE_PREFIX}{key}.json", text)
    except OSError as exc:
        log.warning("cannot keep the read intents in %s (%s); the next start reads them again", cache_dir, exc)


def _forget_other_intents(cache_dir: Path, used: set[str]) -> None:
    """Remove the kept intents of texts this read did not see (older versions of the files)."""
    with contextlib.suppress(OSError):
        for file in cache_dir.glob(f"{INTENTS_CACHE_PREFIX}*.json"):
            if file.name[len(INTENTS_CACHE_PREFIX) : -len(".json")] not in used:
                with contextlib.suppress(OSError):
                    file.unlink()


@dataclass
class _Valid:
    """What survives the checks across files."""

    drafts: list[_IntentDraft]  # one per id
    known: set[str]  # every id defined, usable or not
    answers: dict[tuple[str, Locale], Answer]
    regional: dict[tuple[str, Locale, Region], Answer]
    usable: dict[str, Intent]  # intents with at least a zh-Hans answer (or out of scope)


def _validate(files: _Files, errors: list[KnowledgeError]) -> _Valid:
    drafts: list[_IntentDraft] = []
    first_of: dict[str, _IntentDraft] = {}
    for draft in files.intents:
        first = first_of.get(draft.intent.id)
        if first is not None:
            where = f"{display_path(first.path)}:{first.line}"
            errors.append(
                KnowledgeError(draft.path, draft.line, f"duplicate id `{draft.intent.id}` (first at {where})")
            )
            continue
        first_of[draft.intent.id] = draft
        drafts.append(draft)
    _check_examples(drafts, errors)
    _check_amounts(drafts, files.rules, errors)

    answers: dict[tuple[str, Locale], Answer] = {}
    regional: dict[tuple[str, Locale, Region], Answer] = {}
    first_line: dict[tuple[str, Locale, Region | None], tuple[Path, int]] = {}
    for answer, line in files.answers:
        path = answer.path or Path("faq")
        if answer.intent not in first_of:
            if not files.unreadable_intents:
                hint = did_you_mean(answer.intent, first_of)
                errors.append(KnowledgeError(path, line, f"answer for unknown intent `{answer.intent}`{hint}"))
            continue
        key = (answer.intent, answer.locale, answer.region)
        if key in first_line:
            other_path, other_line = first_line[key]
            where = f" for {answer.region}" if answer.region else ""
            errors.append(
                KnowledgeError(
                    path,
                    line,
                    f"second answer for `{answer.intent}` in {answer.locale}{where} "
                    f"(first at {display_path(other_path)}:{other_line})",
                )
            )
            continue
        first_line[key] = (path, line)
        if answer.region is None:
            answers[(answer.intent, answer.locale)] = answer
        else:
            regional[(answer.intent, answer.locale, answer.region)] = answer
    # A regional answer's counterpart may be in a file that cannot be read: that file's error is the news.
    _pair_regional(regional, errors if not files.unreadable_locales else [])

    usable: dict[str, Intent] = {}
    for draft in drafts:
        intent = draft.intent
        if intent.out_of_scope:
            usable[intent.id] = intent
            continue
        missing = [locale for locale in REQUIRED_LOCALES if (intent.id, locale) not in answers]
        for locale in missing:
            if locale not in files.unreadable_locales:
                errors.append(KnowledgeError(draft.path, draft.line, f"`{intent.id}` has no answer in faq/{locale}/"))
        if "zh-Hans" not in missing:  # else nothing to say: leave the intent out rather than match it
            usable[intent.id] = intent

    for draft in drafts:
        for related, line in draft.related_lines.items():
            if related not in first_of:
                if not files.unreadable_intents:
                    hint = did_you_mean(related, first_of)
                    errors.append(KnowledgeError(draft.path, line, f"related id `{related}` does not exist{hint}"))
            elif related == draft.intent.id:
                errors.append(KnowledgeError(draft.path, line, f"`{related}` lists itself as related"))
    return _Valid(drafts, set(first_of), answers, regional, usable)


def _build(
    root: Path,
    files: _Files,
    valid: _Valid,
    errors: list[KnowledgeError],
    previous: KnowledgeBase | None = None,
    cache_dir: Path | None = None,
) -> KnowledgeBase:
    final: dict[str, Intent] = {}
    for intent in valid.usable.values():
        kept = tuple(r for r in intent.related if r in valid.usable and r != intent.id)
        final[intent.id] = intent if kept == intent.related else _replace_related(intent, kept)

    answers = dict(valid.answers)
    for intent_id in final:
        hans = answers.get((intent_id, "zh-Hans"))
        if hans is not None and (intent_id, "zh-Hant") not in answers:
            answers[(intent_id, "zh-Hant")] = _converted(hans, "zh-Hant")
    answers = {key: value for key, value in answers.items() if key[0] in final}
    regional = {key: value for key, value in valid.regional.items() if key[0] in final}

    ordinary = [
        example for draft in valid.drafts if draft.intent.id != CRISIS_INTENT for example in draft.intent.examples
    ]
    safety = load_safety(root / "safety", errors, ordinary, cache_dir)
    care = load_care(root / "safety", None, errors)
    lexicon = load_lexicon(sorted((root / "lexicon").glob("*.yaml")), errors)
    letters = load_letters(root / "letters", errors)
    return KnowledgeBase(
        intents=MappingProxyType(final),
        answers=MappingProxyType(answers),
        safety=safety,
        care=care,
        # A reload reuses what the knowledge base it replaces already worked out (`Matcher.build`), a start the
        # arrays kept in the data folder (`bot.matcher_cache`).
        matcher=build_matcher(
            list(final.values()),
            lexicon=lexicon,
            previous=previous.matcher if previous else None,
            normalised={text: form for draft in valid.drafts for text, form in draft.normalised.items()},
            cache_dir=cache_dir,
        ),
        root=root,
        regional=MappingProxyType(regional),
        rules=files.rules,
        letters=letters,
    )


def _converted(answer: Answer, locale: Locale) -> Answer:
    """`answer` in the other Chinese script, by OpenCC: Simplified → Traditional or back."""
    convert = to_traditional if locale == "zh-Hant" else to_simplified
    return dataclasses.replace(
        answer,
        locale=locale,
        text=convert(answer.text),
        more=convert(answer.more) if answer.more else None,
        sources=tuple(Source(convert(s.full), convert(s.short)) for s in answer.sources),
        converted=True,
    )


def _pair_regional(regional: dict[tuple[str, Locale, Region], Answer], errors: list[KnowledgeError]) -> None:
    """A regional answer is written in Chinese and in English; the other Chinese script is converted."""
    written = list(regional.values())
    for answer in written:
        key = (answer.intent, answer.region)
        has = {a.locale for a in written if (a.intent, a.region) == key}
        if answer.locale != "en" and "en" not in has and answer.locale == min(has & set(CHINESE_LOCALES)):
            errors.append(
                KnowledgeError(
                    answer.path or Path("faq"),
                    answer.line,
                    f"`{answer.intent}` has a {answer.region} answer in {answer.locale} but none in English; "
                    f"add one to faq/en/ with `region: {answer.region}`",
                )
            )
        if answer.locale == "en" and not has & set(CHINESE_LOCALES):
            errors.append(
                KnowledgeError(
                    answer.path or Path("faq"),
                    answer.line,
                    f"`{answer.intent}` has a {answer.region} answer in English but none in Chinese; "
                    f"add one to faq/zh-Hant/ with `region: {answer.region}`",
                )
            )
    for answer in written:
        if answer.locale == "en" or answer.region is None:
            continue
        other: Locale = "zh-Hans" if answer.locale == "zh-Hant" else "zh-Hant"
        if (answer.intent, other, answer.region) not in regional:
            regional[(answer.intent, other, answer.region)] = _converted(answer, other)


def _replace_related(intent: Intent, related: tuple[str, ...]) -> Intent:
    return Intent(intent.id, intent.titles, intent.examples, intent.tests, intent.keywords, related)


LAST_GOOD_FILE = "content-last-good.json"
LAST_GOOD_DIGESTS = "content-last-good.digests.json"  # a digest of each text in LAST_GOOD_FILE, read at start
CACHE_DIR = "cache"  # in the data folder: what is slow to build from content and can be rebuilt any time


class KnowledgeSource:
    """The knowledge base currently served, rebuilt by `reload()` one file at a time.

    Every file that loads without a problem is taken as it is and remembered as that file's last good
    version (in `keep_dir`, when given, so a restart remembers it too). A file with a problem is served
    from its last good version instead, so one volunteer's slip hides nothing that worked before; the
    problems are still reported, and `stood_in` names the files being served from the past.

    With `keep_dir`, the last good texts stay on disk and only their digests in memory: they are read back
    when a file needs its stand-in or the kept versions are written again (the texts were some 13 MB of a
    running bot). Without it (a command that only reads content), they are kept in memory.
    """

    def __init__(self, root: Path, keep_dir: Path | None = None, cache_dir: Path | None = None) -> None:
        self.root = root
        self._keep = keep_dir / LAST_GOOD_FILE if keep_dir is not None else None
        # the safety net's trained weights and the matcher's arrays (`cache_dir` alone: a command that only
        # reads content, without remembering last good files)
        if cache_dir is None and keep_dir is not None:
            cache_dir = keep_dir / CACHE_DIR
        self._cache = cache_dir
        self._in_memory: dict[Path, str] = {}  # the last good texts, when there is no `keep_dir`
        self._index_wanted = False
        self._good: dict[Path, str] = self._read_digests()
        self.stood_in: tuple[Path, ...] = ()
        # SIGHUP, the file watcher and an admin's /reload may overlap; one reload at a time, so an
        # older read of the files can never replace a newer one. Readers never take this lock.
        self._reloading = threading.Lock()
        knowledge, errors = self._load()
        for error in errors:
            log.error("content problem: %s", error)
        self._current = knowledge

    @property
    def current(self) -> KnowledgeBase:
        return self._current

    def reload(self) -> tuple[KnowledgeError, ...]:
        """Re-read the files; a file with problems keeps serving its last good version. Returns the problems.

        Blocking (file reading, matcher building): call it in a thread from async code.
        """
        with self._reloading:
            knowledge, errors = self._load()
            self._current = knowledge
        for error in errors:
            log.error("content problem: %s", error)
        if self.stood_in:
            kept = ", ".join(display_path(path) for path in self.stood_in)
            log.warning("reload: %d problem(s); last good version kept for %s", len(errors), kept)
        log.info("knowledge reloaded: %d intents", len(knowledge.intents))
        return errors

    def _load(self) -> tuple[KnowledgeBase, tuple[KnowledgeError, ...]]:
        previous = getattr(self, "_current", None)  # None at start; the knowledge base a reload replaces
        with reading(known=self._good) as fresh:
            loaded = load_knowledge(self.root, previous, self._cache)
        troubled = {error.path for error in loaded.errors}
        good = {path: digest for path, digest in self._good.items() if path.exists() or path in fresh.digests}
        changed = {path: text for path, text in fresh.texts.items() if path not in troubled}
        good.update((path, fresh.digests[path]) for path in changed)
        if good != self._good or self._index_wanted:
            self._good = self._write_kept(good, changed)
            self._index_wanted = False
        stale = {path for path in troubled if path in self._good and fresh.digests.get(path) != self._good[path]}
        stand_ins = self._kept_texts(stale) if stale else {}
        if not stand_ins:
            self.stood_in = ()
            return loaded.knowledge, loaded.errors
        with reading(stand_ins) as past:
            patched = load_knowledge(self.root, previous, self._cache)
        self.stood_in = tuple(sorted(past.stood_in))
        return patched.knowledge, loaded.errors

    def _read_kept(self) -> dict[Path, str]:
        if self._keep is None:
            return dict(self._in_memory)
        try:
            raw = json.loads(self._keep.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("last good content versions unreadable (%s); starting without them", exc)
            return {}
        if not isinstance(raw, dict):
            return {}
        return {self.root / key: text for key, text in raw.items() if isinstance(text, str)}

    def _read_digests(self) -> dict[Path, str]:
        """The digests of the last good texts, from the small file written beside them; from the texts themselves
        when it is missing or unreadable (a data folder from before it, a write cut short)."""
        if self._keep is not None:
            index = self._keep.with_name(LAST_GOOD_DIGESTS)
            with contextlib.suppress(OSError, ValueError):
                # written after the texts: an older one does not describe them
                if index.stat().st_mtime_ns >= self._keep.stat().st_mtime_ns:
                    raw = json.loads(index.read_text(encoding="utf-8"))
                    if isinstance(raw, dict) and all(isinstance(digest, str) for digest in raw.values()):
                        return {self.root / key: digest for key, digest in raw.items()}
        self._index_wanted = self._keep is not None  # written with the next load's kept versions
        return {path: text_digest(text) for path, text in self._read_kept().items()}

    def _kept_texts(self, paths: set[Path]) -> dict[Path, str]:
        """The last good texts of `paths`, each only if it is still the version whose digest is remembered."""
        kept = self._read_kept()
        return {path: kept[path] for path in paths if path in kept and text_digest(kept[path]) == self._good[path]}

    def _write_kept(self, good: dict[Path, str], changed: Mapping[Path, str]) -> dict[Path, str]:
        """Keep the texts of `good` (their digests): `changed` as given, the others as kept before. Returns the
        digests of what is kept now (a text kept before that is no longer there, or no longer the one remembered,
        is left out: it cannot stand in)."""
        before = self._read_kept()
        texts = {
            path: changed[path] if path in changed else before[path]
            for path, digest in good.items()
            if path in changed or (path in before and text_digest(before[path]) == digest)
        }
        kept = {path: digest for path, digest in good.items() if path in texts}
        if self._keep is None:
            self._in_memory = texts
            return kept
        payload = {str(path.relative_to(self.root)): text for path, text in sorted(texts.items())}
        try:
            write_text(self._keep, json.dumps(payload, ensure_ascii=False, indent=0))
        except OSError as exc:
            log.warning("cannot keep the last good content versions in %s (%s)", self._keep, exc)
            # Nothing new is on disk: what stands in is what was kept before.
            return {path: text_digest(text) for path, text in before.items() if path in good}
        # Then their digests, which a start reads instead of the texts. One written before the texts is not read.
        index = {str(path.relative_to(self.root)): digest for path, digest in sorted(kept.items())}
        try:
            write_text(self._keep.with_name(LAST_GOOD_DIGESTS), json.dumps(index, indent=0))
        except OSError as exc:
            log.warning("cannot keep the digests of the last good content versions (%s)", exc)
        return kept

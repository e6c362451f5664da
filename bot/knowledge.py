"""The knowledge base: intents (how people ask) joined with answers (what the bot says), loaded from YAML.

    KnowledgeError          one problem in one file, as `path:line: message` for volunteers
    load_knowledge(root)    → Loaded(knowledge, errors): everything valid, plus every problem found
    KnowledgeSource         holds the current KnowledgeBase; `reload()` swaps it only when the files are clean

Loading never raises on bad content: a broken entry is left out and reported, so one volunteer's typo
cannot take the bot down, and `lint` can show every problem at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from .care import CareContent, load_care
from .lexicon import load_lexicon
from .matcher import CRISIS_INTENT, Matcher
from .models import LOCALES, Locale, Match
from .safety import Assessment, SafetyRules, load_safety
from .text import normalise, to_traditional

log = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
OUT_OF_SCOPE_GROUP = "oos"
# Groups whose answers make legal claims and so must name their sources.
SOURCED_GROUPS = ("legal", "rights", "report")
REQUIRED_LOCALES: tuple[Locale, ...] = ("zh-Hans", "en")
TITLE_LOCALES: tuple[Locale, ...] = ("zh-Hans", "en")
MAX_ANSWER_CHARS = 700  # what fits a phone screen; longer text belongs under `more`
MAX_TITLE_CHARS = 40
MAX_MATCH_CHARS = 500  # questions are short; a pasted essay is matched on its start
MAX_SAFETY_CHARS = 4000
STRESS_INTENT = "wellbeing.stress"  # but a crisis signal anywhere in a long message must still be seen

INTENT_KEYS = frozenset({"id", "title", "examples", "tests", "keywords", "related"})
ANSWER_KEYS = frozenset({"intent", "answer", "more", "sources", "reviewed"})


class KnowledgeError(Exception):
    """One problem in one content file, located for the volunteer who has to fix it."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{_display(path)}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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
class Answer:
    intent: str
    locale: Locale
    text: str
    more: str | None = None
    sources: tuple[str, ...] = ()
    reviewed: dt.date | None = None


@dataclass(frozen=True)
class KnowledgeBase:
    """Immutable: reload builds a new one and swaps the reference."""

    intents: Mapping[str, Intent]
    answers: Mapping[tuple[str, Locale], Answer]
    safety: SafetyRules
    care: CareContent
    matcher: Matcher
    root: Path = field(default=Path("."))

    def answer(self, intent: str, locale: Locale) -> Answer | None:
        return self.answers.get((intent, locale)) or self.answers.get((intent, "zh-Hans"))

    def title(self, intent: str, locale: Locale) -> str:
        found = self.intents.get(intent)
        if found is None:
            return intent
        return found.titles.get(locale) or found.titles.get("zh-Hans") or intent

    def decide(self, text: str) -> Match:
        """The decision for one message: the safety check first, then the matcher."""
        assessment = self.assess(text)
        if assessment.at_risk:
            return Match(assessment.level, CRISIS_INTENT, 100.0, ())  # type: ignore[arg-type]
        return self._without_crisis(self.matcher.match(text[:MAX_MATCH_CHARS]))

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
        """The matcher's decision, without the safety check (the dialog runs that first itself)."""
        return self._without_crisis(self.matcher.match(text[:MAX_MATCH_CHARS]))

    def assess(self, text: str) -> Assessment:
        """The safety layer's view of one message (a crisis signal anywhere in a long message counts)."""
        return self.safety.assess(text[:MAX_SAFETY_CHARS])

    def answerable(self) -> list[Intent]:
        return [intent for intent in self.intents.values() if not intent.out_of_scope]


@dataclass(frozen=True)
class Loaded:
    knowledge: KnowledgeBase
    errors: tuple[KnowledgeError, ...]


# --- YAML reading with line numbers ------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _read_yaml(path: Path, errors: list[KnowledgeError]) -> yaml.Node | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        errors.append(KnowledgeError(path, 1, "the file is not UTF-8 text; save it as UTF-8"))
        return None
    except OSError as exc:
        errors.append(KnowledgeError(path, 1, f"cannot read the file ({exc.strerror})"))
        return None
    tabbed = [n for n, line in enumerate(text.splitlines(), 1) if "\t" in line[: len(line) - len(line.lstrip())]]
    for number in tabbed:
        errors.append(KnowledgeError(path, number, "a tab is used for indentation; indent with spaces"))
    if tabbed:
        return None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or "invalid YAML"
        errors.append(
            KnowledgeError(path, line, f"YAML syntax error: {problem} (check indentation, colons and quotes)")
        )
    except yaml.YAMLError as exc:
        errors.append(KnowledgeError(path, 1, f"YAML syntax error: {exc}"))
    return None


def _mapping(
    node: yaml.Node, path: Path, allowed: frozenset[str], what: str, errors: list[KnowledgeError]
) -> dict[str, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        errors.append(KnowledgeError(path, _line(node), f"each {what} must be a set of `key: value` lines"))
        return None
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in fields:
            errors.append(KnowledgeError(path, _line(key_node), f"`{key}` appears twice in this {what}"))
            continue
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            errors.append(KnowledgeError(path, _line(key_node), f"unknown key `{key}`; known keys: {known}"))
            continue
        fields[key] = value_node
    return fields


def _text(node: yaml.Node, path: Path, key: str, errors: list[KnowledgeError]) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        errors.append(KnowledgeError(path, _line(node), f"`{key}` must be text"))
        return None
    value = str(node.value).strip()
    if not value:
        errors.append(KnowledgeError(path, _line(node), f"`{key}` is empty"))
        return None
    return value


def _texts(node: yaml.Node, path: Path, key: str, errors: list[KnowledgeError]) -> Iterator[tuple[str, int]]:
    """Items of a list of texts, with their lines; empty or non-text items are reported and skipped."""
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        errors.append(KnowledgeError(path, _line(node), f"`{key}` is empty; give a list of lines starting with -"))
        return
    if not isinstance(node, yaml.SequenceNode):
        errors.append(KnowledgeError(path, _line(node), f"`{key}` must be a list (lines starting with -)"))
        return
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or item.tag == "tag:yaml.org,2002:null":
            errors.append(KnowledgeError(path, _line(item), f"an item of `{key}` is empty or not text"))
            continue
        value = str(item.value).strip()
        if not value:
            errors.append(KnowledgeError(path, _line(item), f"an item of `{key}` is empty"))
            continue
        yield value, _line(item)


def _entries(path: Path, errors: list[KnowledgeError]) -> list[yaml.Node]:
    root = _read_yaml(path, errors)
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        if isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null":
            return []  # an empty file is allowed: a volunteer may be starting one
        errors.append(KnowledgeError(path, _line(root), "the file must be a list of entries starting with -"))
        return []
    return list(root.value)


def _yaml_files(folder: Path, errors: list[KnowledgeError]) -> list[Path]:
    if not folder.is_dir():
        return []
    for stray in sorted(folder.glob("*.yml")):
        errors.append(KnowledgeError(stray, 1, "rename this file to end in .yaml, or it is ignored"))
    return sorted(folder.glob("*.yaml"))


# --- Intents -----------------------------------------------------------------------------------------


@dataclass
class _IntentDraft:
    intent: Intent
    path: Path
    line: int
    related_lines: dict[str, int]


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
            if len(title) > MAX_TITLE_CHARS:
                errors.append(
                    KnowledgeError(path, _line(value_node), f"title is {len(title)} characters; keep it under 40")
                )
            titles[locale] = title
        for locale in TITLE_LOCALES:
            if locale not in titles and not out_of_scope:
                errors.append(KnowledgeError(path, _line(title_node), f"`title` has no `{locale}` line"))
    examples = (
        tuple(text for text, _ in _texts(fields["examples"], path, "examples", errors)) if "examples" in fields else ()
    )
    if not examples:
        errors.append(KnowledgeError(path, _line(node), f"`{intent_id}` has no `examples`"))
        return None
    tests = tuple(text for text, _ in _texts(fields["tests"], path, "tests", errors)) if "tests" in fields else ()
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
    return _IntentDraft(intent, path, _line(node), related_lines)


def _check_examples(drafts: list[_IntentDraft], errors: list[KnowledgeError]) -> None:
    """Report an example used by two intents, and a held-out test that is really an example."""
    owner: dict[str, str] = {}
    for draft in drafts:
        for example in draft.intent.examples:
            key = normalise(example)
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
            if normalise(test) in owner:
                errors.append(
                    KnowledgeError(
                        draft.path,
                        draft.line,
                        f"test {test!r} of `{draft.intent.id}` is also an example; tests must be new phrasings",
                    )
                )


# --- Answers -----------------------------------------------------------------------------------------


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
    if "answer" not in fields:
        errors.append(KnowledgeError(path, _line(node), f"`{intent}` has no `answer` text"))
        return None
    text = _text(fields["answer"], path, "answer", errors)
    if text is None:
        return None
    if len(text) > MAX_ANSWER_CHARS:
        errors.append(
            KnowledgeError(
                path,
                _line(fields["answer"]),
                f"answer is {len(text)} characters; keep it under {MAX_ANSWER_CHARS} and move details to `more`",
            )
        )
    more = _text(fields["more"], path, "more", errors) if "more" in fields else None
    sources = (
        tuple(text for text, _ in _texts(fields["sources"], path, "sources", errors)) if "sources" in fields else ()
    )
    if not sources and intent.split(".", 1)[0] in SOURCED_GROUPS:
        errors.append(
            KnowledgeError(path, _line(node), f"`{intent}` makes legal claims but has no `sources` (law and article)")
        )
    reviewed: dt.date | None = None
    if "reviewed" in fields:
        raw = _text(fields["reviewed"], path, "reviewed", errors)
        try:
            reviewed = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            errors.append(KnowledgeError(path, _line(fields["reviewed"]), "`reviewed` must be a date like 2026-11-29"))
    else:
        errors.append(KnowledgeError(path, _line(node), f"`{intent}` has no `reviewed` date"))
    return Answer(intent, locale, text, more, sources, reviewed), _line(node)


# --- Putting it together ---------------------------------------------------------------------------


def load_knowledge(root: Path) -> Loaded:
    """Read `root/intents`, `root/faq` and `root/safety`; never raises on bad content."""
    errors: list[KnowledgeError] = []
    unreadable_intents = False
    intents_dir = root / "intents"
    if not intents_dir.is_dir():
        errors.append(KnowledgeError(intents_dir, 1, "the intents folder is missing"))

    drafts: list[_IntentDraft] = []
    seen: dict[str, _IntentDraft] = {}
    for path in _yaml_files(intents_dir, errors):
        before = len(errors)
        nodes = _entries(path, errors)
        # When an intents file cannot be read at all, answers pointing into it are not news.
        unreadable_intents = unreadable_intents or (not nodes and len(errors) > before)
        for node in nodes:
            draft = _load_intent(node, path, errors)
            if draft is None:
                continue
            first = seen.get(draft.intent.id)
            if first is not None:
                errors.append(
                    KnowledgeError(
                        path,
                        draft.line,
                        f"duplicate id `{draft.intent.id}` (first at {_display(first.path)}:{first.line})",
                    )
                )
                continue
            seen[draft.intent.id] = draft
            drafts.append(draft)
    _check_examples(drafts, errors)

    answers: dict[tuple[str, Locale], Answer] = {}
    faq_dir = root / "faq"
    if faq_dir.is_dir():
        for folder in sorted(p for p in faq_dir.iterdir() if p.is_dir()):
            if folder.name not in LOCALES:
                errors.append(
                    KnowledgeError(folder, 1, f"unknown locale folder `{folder.name}`; use one of {', '.join(LOCALES)}")
                )
                continue
            locale: Locale = next(loc for loc in LOCALES if loc == folder.name)
            first_line: dict[str, tuple[Path, int]] = {}
            for path in _yaml_files(folder, errors):
                for node in _entries(path, errors):
                    loaded = _load_answer(node, path, locale, errors)
                    if loaded is None:
                        continue
                    answer, line = loaded
                    if answer.intent not in seen:
                        if unreadable_intents:
                            continue
                        errors.append(KnowledgeError(path, line, f"answer for unknown intent `{answer.intent}`"))
                        continue
                    if answer.intent in first_line:
                        other_path, other_line = first_line[answer.intent]
                        errors.append(
                            KnowledgeError(
                                path,
                                line,
                                f"second answer for `{answer.intent}` in {locale} "
                                f"(first at {_display(other_path)}:{other_line})",
                            )
                        )
                        continue
                    first_line[answer.intent] = (path, line)
                    answers[(answer.intent, locale)] = answer
    else:
        errors.append(KnowledgeError(faq_dir, 1, "the faq folder is missing"))

    usable: dict[str, Intent] = {}
    for draft in drafts:
        intent = draft.intent
        if intent.out_of_scope:
            usable[intent.id] = intent
            continue
        missing = [locale for locale in REQUIRED_LOCALES if (intent.id, locale) not in answers]
        for locale in missing:
            errors.append(KnowledgeError(draft.path, draft.line, f"`{intent.id}` has no answer in faq/{locale}/"))
        if "zh-Hans" in missing:
            continue  # nothing to say: leave the intent out rather than match it
        usable[intent.id] = intent

    for draft in drafts:
        for related, line in draft.related_lines.items():
            if related not in seen:
                errors.append(KnowledgeError(draft.path, line, f"related id `{related}` does not exist"))
            elif related == draft.intent.id:
                errors.append(KnowledgeError(draft.path, line, f"`{related}` lists itself as related"))

    final: dict[str, Intent] = {}
    for intent in usable.values():
        kept = tuple(r for r in intent.related if r in usable and r != intent.id)
        final[intent.id] = intent if kept == intent.related else _replace_related(intent, kept)

    for intent_id in list(final):
        hans = answers.get((intent_id, "zh-Hans"))
        if hans is not None and (intent_id, "zh-Hant") not in answers:
            answers[(intent_id, "zh-Hant")] = Answer(
                intent_id,
                "zh-Hant",
                to_traditional(hans.text),
                to_traditional(hans.more) if hans.more else None,
                tuple(to_traditional(source) for source in hans.sources),
                hans.reviewed,
            )
    answers = {key: value for key, value in answers.items() if key[0] in final}

    ordinary = [example for draft in drafts if draft.intent.id != CRISIS_INTENT for example in draft.intent.examples]
    safety = load_safety(root / "safety", errors, ordinary)
    care = load_care(root / "safety", None, errors)
    lexicon = load_lexicon(sorted((root / "lexicon").glob("*.yaml")), errors)
    knowledge = KnowledgeBase(
        intents=MappingProxyType(final),
        answers=MappingProxyType(answers),
        safety=safety,
        care=care,
        matcher=Matcher.build(list(final.values()), lexicon=lexicon),
        root=root,
    )
    errors.sort(key=lambda e: (str(e.path), e.line))
    return Loaded(knowledge, tuple(errors))


def _replace_related(intent: Intent, related: tuple[str, ...]) -> Intent:
    return Intent(intent.id, intent.titles, intent.examples, intent.tests, intent.keywords, related)


class KnowledgeSource:
    """The knowledge base currently served. `reload()` swaps in a new one only when it loads cleanly."""

    def __init__(self, root: Path) -> None:
        self.root = root
        loaded = load_knowledge(root)
        for error in loaded.errors:
            log.error("content problem: %s", error)
        self._current = loaded.knowledge
        # SIGHUP, the file watcher and an admin's /reload may overlap; one reload at a time, so an
        # older read of the files can never replace a newer one. Readers never take this lock.
        self._reloading = threading.Lock()

    @property
    def current(self) -> KnowledgeBase:
        return self._current

    def reload(self) -> tuple[KnowledgeError, ...]:
        """Re-read the files; on any error keep serving the previous knowledge base.

        Blocking (file reading, matcher building): call it in a thread from async code.
        """
        with self._reloading:
            loaded = load_knowledge(self.root)
            if loaded.errors:
                for error in loaded.errors:
                    log.error("reload refused: %s", error)
                return loaded.errors
            self._current = loaded.knowledge
        log.info("knowledge reloaded: %d intents", len(loaded.knowledge.intents))
        return ()

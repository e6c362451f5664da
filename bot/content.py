"""Reading content files for volunteers: YAML with line numbers, and problems located as `path:line: message`.

    KnowledgeError      one problem in one content file
    read_yaml(path)     the file's node tree (every node knows its line), or None after reporting why not
    reading(stand_ins)  a block in which given files are read from stand-in texts, and every text read is noted

Every loader of volunteer-edited content (`intents/`, `faq/`, `safety/`, `lexicon/`) reads through here, so
a tab, a bad indent or a file that is not UTF-8 is reported the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# The C parser when PyYAML was built with it (about ten times faster at start-up); both keep line marks.
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NULL_TAG = "tag:yaml.org,2002:null"


class KnowledgeError(Exception):
    """One problem in one content file, located for the volunteer who has to fix it."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{display_path(path)}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


def display_path(path: Path) -> str:
    return _displayed(path, os.getcwd())


@functools.lru_cache(maxsize=1024)
def _displayed(path: Path, cwd: str) -> str:
    """Remembered: a content problem names one of a few files, and resolving a path reads every folder on it
    (a knowledge base with a thousand problems spent 0.1 s of its load here)."""
    try:
        return str(path.resolve().relative_to(Path(cwd).resolve()))
    except ValueError:
        return str(path)


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


@dataclass
class Reading:
    """What one load read: a digest of every file's text (`text_digest`), the text itself of each file whose digest
    is not the one `known` gives, and the files it was told to read from a stand-in."""

    stand_ins: Mapping[Path, str]
    known: Mapping[Path, str] = field(default_factory=dict)
    digests: dict[Path, str] = field(default_factory=dict)
    texts: dict[Path, str] = field(default_factory=dict)
    stood_in: set[Path] = field(default_factory=set)


_READING: ContextVar[Reading | None] = ContextVar("anxin_content_reading", default=None)


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@contextmanager
def reading(stand_ins: Mapping[Path, str] | None = None, known: Mapping[Path, str] | None = None) -> Iterator[Reading]:
    """Within the block, `read_yaml` reads `stand_ins[path]` instead of the file, and notes a digest of every text
    it read, and the text too unless its digest is `known[path]` (a file unchanged since it was last kept: the
    content is some 6 MB of text, held twice during a start that kept every text).

    `bot.knowledge` uses it to serve a broken file's last good version while every other file is read fresh.
    """
    current = Reading(dict(stand_ins or {}), dict(known or {}))
    token = _READING.set(current)
    try:
        yield current
    finally:
        _READING.reset(token)


def read_yaml(path: Path, errors: list[KnowledgeError]) -> yaml.Node | None:
    """The file's nodes, or None after one plain-words problem at the line to fix."""
    text = read_content(path, errors)
    return None if text is None else parse_yaml(path, text, errors)


def read_content(path: Path, errors: list[KnowledgeError]) -> str | None:
    """The file's text as `read_yaml` reads it (a stand-in within `reading`, noted there), or None after saying
    why it cannot be read."""
    current = _READING.get()
    if current is not None and path in current.stand_ins:
        text = current.stand_ins[path]
        current.stood_in.add(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            errors.append(KnowledgeError(path, 1, "the file is not UTF-8 text; save it as UTF-8"))
            return None
        except OSError as exc:
            errors.append(KnowledgeError(path, 1, f"cannot read the file ({exc.strerror})"))
            return None
        if current is not None:
            digest = current.digests[path] = text_digest(text)
            if current.known.get(path) != digest:
                current.texts[path] = text
    return text


def parse_yaml(path: Path, text: str, errors: list[KnowledgeError]) -> yaml.Node | None:
    """The nodes of `text`, read from `path`, or None after one plain-words problem at the line to fix."""
    lines = text.splitlines()
    tabbed = [n for n, line in enumerate(lines, 1) if "\t" in line[: len(line) - len(line.lstrip())]]
    for number in tabbed:
        errors.append(KnowledgeError(path, number, "a tab is used for indentation; indent with spaces"))
    if tabbed:
        return None
    merged = _merged_item(lines)
    try:
        root = yaml.compose(text, Loader=YAML_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        found = mark.line + 1 if mark else 1
        slip = merged or _indentation_slip(lines, found)
        if slip is not None:
            errors.append(KnowledgeError(path, *slip))
        else:
            errors.append(KnowledgeError(path, found, _plain(exc.problem or "")))
        return None
    except yaml.YAMLError as exc:
        errors.append(KnowledgeError(path, 1, f"the file cannot be read as YAML ({exc})"))
        return None
    if merged is not None:
        # YAML reads it without complaint (as one item containing " - "): the volunteer still needs to know.
        errors.append(KnowledgeError(path, *merged))
    return root


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


_BLOCK_START = re.compile(r":\s*[|>][-+]?\s*(#.*)?$")  # `key: |`: the lines below are its text


def _significant(lines: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line that is not blank, not a comment, not inside a `|` block."""
    block: int | None = None  # the indentation of a key whose `|` text is running
    for number, line in enumerate(lines, 1):
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        if block is not None:
            if _indent(line) > block:
                continue
            block = None
        if ":" in body and _BLOCK_START.search(body):
            block = _indent(line)
        yield number, line


def _merged_item(lines: Sequence[str]) -> tuple[int, str] | None:
    """A `- ` line indented further than the `- text` line above it: YAML joins the two into one item."""
    previous: str | None = None
    for number, line in _significant(lines):
        body = line.strip()
        if (
            previous is not None
            and body.startswith("- ")
            and previous.strip().startswith("- ")
            and _indent(line) > _indent(previous)
            and not re.search(r":(\s|$)", previous.strip()[2:])
        ):
            return number, (
                "this `-` line is indented further than the one above it, so the two are read as ONE item; "
                "line up its `-` with the `-` above"
            )
        previous = line
    return None


def _indentation_slip(lines: Sequence[str], up_to: int) -> tuple[int, str] | None:
    """The first line (up to where the parser gave up) whose indentation matches nothing above it."""
    seen: set[int] = {0}
    previous: str | None = None
    for number, line in _significant(lines):
        if number > up_to:
            break
        depth = _indent(line)
        opens = previous is not None and re.search(r":\s*([|>][-+]?)?\s*(#.*)?$", previous.strip()) is not None
        child = previous is not None and depth > _indent(previous) and (opens or previous.strip().startswith("- "))
        if depth not in seen and not child:
            above = _indent(previous) if previous is not None else 0
            return number, (
                f"this line is indented {depth} spaces, which lines up with nothing above it (the line above has "
                f"{above}): the keys of one entry line up with each other, and so do the `-` items of one list"
            )
        seen.add(depth)
        previous = line
    return None


_PLAIN: tuple[tuple[str, str], ...] = (
    (
        "mapping values are not allowed",
        "a `: ` inside a text makes YAML read it as `key: value`; put the text in quotes, or write `answer: |` "
        "and the text on the lines below",
    ),
    ("could not find expected ':'", "a line is missing its `:`, or a quote opened on it is never closed"),
    ("found unexpected end of stream", "a quote or a bracket is opened and never closed"),
    ("did not find expected key", "a line here does not fit the entry above it: check its indentation"),
    ("did not find expected '-' indicator", "a line here does not fit the list above it: check its indentation"),
    (
        "did not find expected ',' or ']'",
        "a list in [brackets] is not closed with ], or its items are not separated by commas",
    ),
    ("found undefined alias", "`*` at the start of a text means something to YAML; put the text in quotes"),
    (
        "found character that cannot start any token",
        "a line starts with a character YAML reserves; put the text in quotes",
    ),
)


def _plain(problem: str) -> str:
    for jargon, plain in _PLAIN:
        if jargon in problem:
            return plain
    return f"the file cannot be read as YAML here ({problem or 'invalid YAML'}); check indentation, colons and quotes"


def mapping(
    node: yaml.Node, path: Path, allowed: frozenset[str], what: str, errors: list[KnowledgeError]
) -> dict[str, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        errors.append(KnowledgeError(path, line_of(node), f"each {what} must be a set of `key: value` lines"))
        return None
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in fields:
            errors.append(KnowledgeError(path, line_of(key_node), f"`{key}` appears twice in this {what}"))
            continue
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            errors.append(KnowledgeError(path, line_of(key_node), f"unknown key `{key}`; known keys: {known}"))
            continue
        fields[key] = value_node
    return fields


def text_of(node: yaml.Node, path: Path, key: str, errors: list[KnowledgeError]) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag == NULL_TAG:
        errors.append(KnowledgeError(path, line_of(node), _colon_hint(node) or f"`{key}` must be text"))
        return None
    value = str(node.value).strip()
    if not value:
        errors.append(KnowledgeError(path, line_of(node), f"`{key}` is empty"))
        return None
    return value


def _colon_hint(node: yaml.Node) -> str | None:
    """A text with `: ` in it that YAML read as `key: value`: what to do about it."""
    if isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        key, value = node.value[0]
        if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode):
            return (
                f"the `: ` after `{key.value}` makes YAML read this text as `key: value`; "
                "put the whole text in quotes, or use a full-width colon `：`"
            )
    return None


def texts_of(node: yaml.Node, path: Path, key: str, errors: list[KnowledgeError]) -> Iterator[tuple[str, int]]:
    """Items of a list of texts, with their lines; empty or non-text items are reported and skipped."""
    if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
        errors.append(KnowledgeError(path, line_of(node), f"`{key}` is empty; give a list of lines starting with -"))
        return
    if not isinstance(node, yaml.SequenceNode):
        errors.append(KnowledgeError(path, line_of(node), f"`{key}` must be a list (lines starting with -)"))
        return
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or item.tag == NULL_TAG:
            message = _colon_hint(item) or f"an item of `{key}` is empty or not text"
            errors.append(KnowledgeError(path, line_of(item), message))
            continue
        value = str(item.value).strip()
        if not value:
            errors.append(KnowledgeError(path, line_of(item), f"an item of `{key}` is empty"))
            continue
        yield value, line_of(item)


def entries(path: Path, errors: list[KnowledgeError]) -> list[yaml.Node]:
    return entries_of(read_yaml(path, errors), path, errors)


def entries_of(root: yaml.Node | None, path: Path, errors: list[KnowledgeError]) -> list[yaml.Node]:
    """The entries of a file's node tree (`read_yaml`, `parse_yaml`); [] after saying why there are none."""
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        if isinstance(root, yaml.ScalarNode) and root.tag == NULL_TAG:
            return []  # an empty file is allowed: a volunteer may be starting one
        errors.append(KnowledgeError(path, line_of(root), "the file must be a list of entries starting with -"))
        return []
    return list(root.value)


def yaml_files(folder: Path, errors: list[KnowledgeError]) -> list[Path]:
    if not folder.is_dir():
        return []
    for stray in sorted(folder.glob("*.yml")):
        errors.append(KnowledgeError(stray, 1, "rename this file to end in .yaml, or it is ignored"))
    return sorted(folder.glob("*.yaml"))


def date_of(node: yaml.Node, path: Path, key: str, errors: list[KnowledgeError]) -> dt.date | None:
    raw = text_of(node, path, key, errors)
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        errors.append(KnowledgeError(path, line_of(node), f"`{key}` must be a date like 2026-11-29"))
        return None

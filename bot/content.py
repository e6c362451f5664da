"""Reading content files for volunteers: YAML with line numbers, and problems located as `path:line: message`.

    KnowledgeError      one problem in one content file
    read_yaml(path)     the file's node tree (every node knows its line), or None after reporting why not

Every loader of volunteer-edited content (`intents/`, `faq/`, `safety/`, `lexicon/`) reads through here, so
a tab, a bad indent or a file that is not UTF-8 is reported the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import yaml

# The C parser when PyYAML was built with it (about ten times faster at start-up); both keep line marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NULL_TAG = "tag:yaml.org,2002:null"


class KnowledgeError(Exception):
    """One problem in one content file, located for the volunteer who has to fix it."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{display_path(path)}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def read_yaml(path: Path, errors: list[KnowledgeError]) -> yaml.Node | None:
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
        return yaml.compose(text, Loader=_LOADER)
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
        errors.append(KnowledgeError(path, line_of(node), f"`{key}` must be text"))
        return None
    value = str(node.value).strip()
    if not value:
        errors.append(KnowledgeError(path, line_of(node), f"`{key}` is empty"))
        return None
    return value


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
            errors.append(KnowledgeError(path, line_of(item), f"an item of `{key}` is empty or not text"))
            continue
        value = str(item.value).strip()
        if not value:
            errors.append(KnowledgeError(path, line_of(item), f"an item of `{key}` is empty"))
            continue
        yield value, line_of(item)


def entries(path: Path, errors: list[KnowledgeError]) -> list[yaml.Node]:
    root = read_yaml(path, errors)
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

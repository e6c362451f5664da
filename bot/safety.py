"""The safety layer: recognise self-harm signals before any matching, in any conversation state.

Signals are regular expressions in `safety/crisis.yaml`, matched against normalised text (Simplified,
lower case, no punctuation). `not_crisis` patterns describe other people's threats ("催收说要弄死我"):
the text they cover is removed before the signals are looked for, so "说要弄死我" is a threat while
"他说要弄死我,我也不想活了" is still a crisis. If the file is broken, a small built-in list keeps working:
this check must never be switched off by a typo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from .knowledge import KnowledgeError

# Used only when safety/crisis.yaml cannot be read; kept deliberately small and unambiguous.
BUILT_IN_SIGNALS = (
    r"自杀",
    r"轻生",
    r"想死",
    r"不想活",
    r"活不下去",
    r"结束(自己的)?生命",
    r"suicid",
    r"kill my ?self",
    r"end (my|it) (life|all)",
)


@dataclass(frozen=True)
class SafetyRules:
    signals: tuple[re.Pattern[str], ...]
    exclusions: tuple[re.Pattern[str], ...] = ()

    def is_crisis(self, normalised: str) -> bool:
        text = normalised
        for pattern in self.exclusions:
            text = pattern.sub(" ", text)
        return any(pattern.search(text) for pattern in self.signals)


def built_in_rules() -> SafetyRules:
    return SafetyRules(tuple(re.compile(p) for p in BUILT_IN_SIGNALS))


def _patterns(node: yaml.Node | None, key: str, path: Path, errors: list[KnowledgeError]) -> list[re.Pattern[str]]:
    from .knowledge import KnowledgeError

    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        errors.append(KnowledgeError(path, node.start_mark.line + 1, f"`{key}` must be a list of patterns"))
        return []
    compiled: list[re.Pattern[str]] = []
    for item in node.value:
        line = item.start_mark.line + 1
        value = str(item.value).strip() if isinstance(item, yaml.ScalarNode) else ""
        if not value:
            errors.append(KnowledgeError(path, line, f"an item of `{key}` is empty"))
            continue
        try:
            compiled.append(re.compile(value))
        except re.error as exc:
            errors.append(KnowledgeError(path, line, f"pattern {value!r} is not a valid regular expression: {exc}"))
    return compiled


def load_safety(path: Path, errors: list[KnowledgeError]) -> SafetyRules:
    from .knowledge import KnowledgeError, _read_yaml

    if not path.is_file():
        errors.append(KnowledgeError(path, 1, "the crisis signals file is missing; using the built-in list"))
        return built_in_rules()
    root = _read_yaml(path, errors)
    if root is None:
        return built_in_rules()
    if not isinstance(root, yaml.MappingNode):
        errors.append(KnowledgeError(path, 1, "the file must have `crisis:` and `not_crisis:` lists"))
        return built_in_rules()
    nodes: dict[str, yaml.Node] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        if key not in ("crisis", "not_crisis"):
            errors.append(
                KnowledgeError(path, key_node.start_mark.line + 1, f"unknown key `{key}`; use crisis or not_crisis")
            )
            continue
        nodes[key] = value_node
    signals = _patterns(nodes.get("crisis"), "crisis", path, errors)
    if not signals:
        errors.append(KnowledgeError(path, 1, "no crisis patterns; using the built-in list"))
        return built_in_rules()
    return SafetyRules(tuple(signals), tuple(_patterns(nodes.get("not_crisis"), "not_crisis", path, errors)))


"""安心 Anxin: an advice chatbot for borrowers facing abusive debt collection.

The names below are imported when first used, not with the package: a process that needs one module (the safety
net's trainer, `python -m bot.net_training`) does not load the dialog, the store and the channels (12 MB).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .content import KnowledgeError
    from .dialog import Dialog
    from .knowledge import KnowledgeBase, KnowledgeSource, load_knowledge
    from .models import Button, Candidate, Incoming, Match, Reply
    from .state import MemoryStore, Session, Store, UsageEvent

_WHERE = {
    "KnowledgeError": "content",
    "Dialog": "dialog",
    "KnowledgeBase": "knowledge",
    "KnowledgeSource": "knowledge",
    "load_knowledge": "knowledge",
    "Button": "models",
    "Candidate": "models",
    "Incoming": "models",
    "Match": "models",
    "Reply": "models",
    "MemoryStore": "state",
    "Session": "state",
    "Store": "state",
    "UsageEvent": "state",
}

__all__ = [
    "Button",
    "Candidate",
    "Dialog",
    "Incoming",
    "KnowledgeBase",
    "KnowledgeError",
    "KnowledgeSource",
    "Match",
    "MemoryStore",
    "Reply",
    "Session",
    "Store",
    "UsageEvent",
    "load_knowledge",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next use finds it without this function
    return value

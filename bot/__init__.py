"""安心 Anxin: an advice chatbot for borrowers facing abusive debt collection."""

from .content import KnowledgeError
from .dialog import Dialog
from .knowledge import KnowledgeBase, KnowledgeSource, load_knowledge
from .models import Button, Candidate, Incoming, Match, Reply
from .state import MemoryStore, Session, Store, UsageEvent

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

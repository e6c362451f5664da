"""Plain data that flows between channels and the dialog engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# The longest message a channel passes on: Telegram's own limit. Nobody types more into a chat box, and a
# forged or broken update must not make the dialog match (or redact) a megabyte.
MAX_TEXT_CHARS = 4096
MAX_BUTTON_CHARS = 256  # Telegram allows 64 bytes of callback data; payloads are built from intent ids

Locale = Literal["zh-Hans", "zh-Hant", "en"]
LOCALES: tuple[Locale, ...] = ("zh-Hans", "zh-Hant", "en")
Role = Literal["user", "admin"]
DecisionKind = Literal["answer", "clarify", "fallback", "crisis", "concern", "overview"]


@dataclass(frozen=True)
class Incoming:
    """One thing a user did, already stripped of everything platform-specific.

    `user` is the pseudonymous key (see `bot.privacy.pseudonym`), never a raw platform id.
    Exactly one of `text`, `button` or `media` carries the content.
    """

    channel: str
    user: str
    text: str = ""
    button: str | None = None
    media: str | None = None  # "sticker", "photo", "voice", … when the user sent no text
    role: Role = "user"  # "admin" when the channel's own configuration says so; never stored
    language: Locale | None = None  # the language the person's app is set to, when the channel knows it
    # The most UTF-8 bytes one turn's reply may take on this channel (WeChat's passive replies: 2048), or None
    # for no limit. A guided flow's long output (complaint letters) is then served in parts, one per turn.
    reply_bytes: int | None = None


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` cut to `limit` characters: what every channel does to what it receives, before anything else."""
    return text if len(text) <= limit else text[:limit]


@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # short and ASCII: Telegram allows 64 bytes of callback data


@dataclass(frozen=True)
class Feedback:
    """"Was this answer helpful?" after an answer: `buttons` (👍, 👎) where a channel has buttons (Telegram, the
    web), `typed` ("有帮助吗？回复 好 / 不好") where options are numbered (WeChat, the console): words, not
    numbers, so they never clash with the numbered options."""

    question: str
    typed: str
    buttons: tuple[Button, Button]


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    attachment: Attachment | None = None  # a file for channels that can send one (the stats page)
    # Text meant to be copied exactly as it is (a complaint letter), shown after `text`: Telegram puts it in a
    # code block (tap to copy), WeChat and the console as plain text, a web chat with a copy button.
    copy: str = ""
    feedback: Feedback | None = None  # after an answer: was it helpful?


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Candidate:
    intent: str
    score: float


@dataclass(frozen=True)
class Match:
    """The matcher's decision for one message."""

    kind: DecisionKind
    intent: str | None
    score: float
    candidates: tuple[Candidate, ...] = field(default=())
    sure: bool = True  # False: answered as the only plausible intent, with a "not what you meant?" button
    topic: str | None = None  # for a fallback: the out-of-scope intent that made it one, if any
    reason: str = ""  # why this decision, in words, for `anxin match --explain`

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "intent": self.intent,
            "score": round(self.score, 1),
            "candidates": [{"intent": c.intent, "score": round(c.score, 1)} for c in self.candidates],
        }

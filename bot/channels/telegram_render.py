"""Telegram's formats: what a message is (text, media, the app's language) and how `Reply` objects render as
HTML messages with inline keyboards, within Telegram's limits.

Pure functions (no network), so `anxin show --channel telegram` and the tests use exactly what the bot sends.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.ext import filters

from ..models import Button, Locale, Reply

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096  # Telegram's limit, counted in UTF-16 code units after entity parsing
MAX_COPY_CHARS = 4000  # a letter's part in one <pre> block, with room to spare under the limit
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message: HTML text and an optional inline keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Chunks under `limit`, cut at paragraph breaks, else at line breaks, else anywhere."""
    if _units(text) <= limit:
        return [text]
    for separator in ("\n\n", "\n"):
        parts = text.split(separator)
        if len(parts) > 1:
            chunks: list[str] = []
            current = ""
            for part in parts:
                candidate = f"{current}{separator}{part}" if current else part
                if _units(candidate) <= limit:
                    current = candidate
                    continue
                if current:
                    chunks.append(current)
                current = part
            if current:
                chunks.append(current)
            return [piece for chunk in chunks for piece in split_text(chunk, limit)]
    pieces: list[str] = []
    current = ""
    for char in text:
        if _units(current + char) > limit:
            pieces.append(current)
            current = ""
        current += char
    pieces.append(current)
    return pieces


def keyboard(buttons: Sequence[Button], feedback: Sequence[Button] = ()) -> InlineKeyboardMarkup | None:
    """One button a row, so long Chinese titles stay readable on a phone; 👍 and 👎 share the last row."""
    rows: list[list[InlineKeyboardButton]] = []
    for row in [[button] for button in buttons] + ([list(feedback)] if feedback else []):
        kept = []
        for button in row:
            if len(button.payload.encode()) > MAX_CALLBACK_BYTES:
                # Payloads are built from intent ids, never from user text, so naming it is safe.
                log.warning("button %r dropped: callback data over %d bytes", button.payload, MAX_CALLBACK_BYTES)
                continue
            kept.append(InlineKeyboardButton(button.label, callback_data=button.payload))
        if kept:
            rows.append(kept)
    return InlineKeyboardMarkup(rows) if rows else None


def render_telegram(replies: Sequence[Reply]) -> list[Outgoing]:
    """Escaped HTML chunks; a reply's buttons go with its last chunk. A letter to copy (`Reply.copy`) goes in a
    <pre> block, which Telegram copies with one tap; a long one is cut at paragraphs into several blocks."""
    messages: list[Outgoing] = []
    for reply in replies:
        chunks = [html.escape(chunk, quote=False) for chunk in split_text(reply.text.strip()) if chunk.strip()]
        copy = reply.copy.strip()
        if copy:
            blocks = [f"<pre>{html.escape(part, quote=False)}</pre>" for part in split_text(copy, MAX_COPY_CHARS)]
            if chunks and _units(reply.text.strip()) + _units(copy) + 2 <= MAX_MESSAGE_CHARS and len(blocks) == 1:
                chunks[-1] = f"{chunks[-1]}\n\n{blocks[0]}"  # a short letter stays with its heading
            else:
                chunks.extend(blocks)
        if not chunks:
            if not reply.buttons:
                continue
            chunks = ["…"]  # Telegram refuses a message without text, even one that only carries buttons
        for chunk in chunks[:-1]:
            messages.append(Outgoing(chunk))
        feedback = reply.feedback.buttons if reply.feedback is not None else ()
        messages.append(Outgoing(chunks[-1], keyboard(reply.buttons, feedback)))
    return messages


# --- reading ----------------------------------------------------------------------------------------------

MEDIA_FILTER = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.AUDIO
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
)


def media_kind(message: Message) -> str | None:
    """What the user sent instead of text; None for a text message."""
    # Animations also carry a `document`, so they are checked first.
    for kind in ("sticker", "animation", "photo", "video_note", "video", "voice", "audio", "document"):
        if getattr(message, kind):
            return kind
    if message.venue or message.location:
        return "location"
    if message.contact:
        return "contact"
    return None


def locale_of(language_code: str | None) -> Locale:
    """The app's language as one of ours: zh-TW / zh-HK / zh-Hant read Traditional, other Chinese Simplified."""
    code = (language_code or "zh").lower()
    if code.startswith("zh"):
        return "zh-Hant" if any(tag in code for tag in ("hant", "tw", "hk", "mo")) else "zh-Hans"
    return "en"

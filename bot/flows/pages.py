"""Long flow output in parts, for channels that allow one short message a turn (WeChat: 2048 bytes).

    paginate(replies, budget, locale) → pages: each page is the replies of one turn, within `budget` bytes

A letter (a reply with `copy`) ends its page, so that copying the message copies little besides the letter;
a letter longer than a page is cut at line breaks into parts marked "(1/2)", "(2/2)". Short replies share a
page. The caller adds the "next part" button between pages and keeps the pages in flow memory until
the last one is sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import Locale, Reply

# Bytes a text channel adds around a reply: blank lines between replies, a number and ". " before each
# button's label, "回复 1 / 2" under them, and the "next part" button itself.
BUTTON_OVERHEAD = 8
TURN_OVERHEAD = 96
NEXT_BUTTON_BYTES = 64


def size(reply: Reply) -> int:
    """About how many bytes `reply` takes once a text channel has rendered it."""
    text = len(reply.text.encode("utf-8")) + (len(reply.copy.encode("utf-8")) + 2 if reply.copy else 0)
    return text + 2 + sum(len(button.label.encode("utf-8")) + BUTTON_OVERHEAD for button in reply.buttons)


def _parts(reply: Reply, budget: int, locale: Locale) -> list[Reply]:
    """A letter too long for one page, as several replies marked (1/n)…, cut between lines."""
    marker = 16  # "（12/12）" in UTF-8 bytes
    room = budget - size(Reply(reply.text)) - marker - 2
    chunks: list[str] = []
    current = ""
    for line in reply.copy.split("\n"):
        while len(line.encode("utf-8")) > room:  # one very long line: cut between characters
            head = line.encode("utf-8")[:room].decode("utf-8", "ignore")
            if current:
                chunks.append(current)
                current = ""
            chunks.append(head)
            line = line[len(head) :]
        candidate = f"{current}\n{line}" if current else line
        if current and len(candidate.encode("utf-8")) > room:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    count = len(chunks)
    if count <= 1:
        return [reply]
    mark = " ({}/{})" if locale == "en" else "（{}/{}）"
    title = reply.text.split("\n", 1)[0]  # later parts repeat only the first line of the heading
    return [
        Reply(
            (reply.text if number == 1 else title) + mark.format(number, count),
            copy=chunk,
            buttons=reply.buttons if number == count else (),
        )
        for number, chunk in enumerate(chunks, 1)
    ]


def paginate(replies: Sequence[Reply], budget: int, locale: Locale) -> list[list[Reply]]:
    """The replies in pages of at most `budget` bytes each (as text channels render them)."""
    room = budget - TURN_OVERHEAD - NEXT_BUTTON_BYTES
    pages: list[list[Reply]] = []
    current: list[Reply] = []
    used = 0
    for reply in replies:
        pieces = _parts(reply, room, locale) if reply.copy and size(reply) > room else [reply]
        for piece in pieces:
            # One letter a page, so that copying the message copies little besides it; short replies share.
            letter_there = any(r.copy for r in current)
            if current and (letter_there or used + size(piece) > room):
                pages.append(current)
                current, used = [], 0
            current.append(piece)
            used += size(piece)
    if current:
        pages.append(current)
    return pages

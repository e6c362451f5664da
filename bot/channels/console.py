"""Console chat on stdin/stdout: interactive in a terminal, or one message a line from a pipe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TextIO

from ..actions import numbered
from ..models import Incoming, Reply, clip
from ..privacy import pseudonym

CHANNEL = "console"
COPY_RULE = "-" * 40
Handle = Callable[[Incoming], Awaitable[list[Reply]]]


def render_console(replies: list[Reply]) -> str:
    """Text with numbered options, numbered across the whole turn as on WeChat (`bot.actions.numbered`)."""
    numbers = {id(button): number for number, button in numbered(replies)}
    blocks: list[str] = []
    for reply in replies:
        lines = [reply.text]
        if reply.copy:  # a letter: between rules, so it is plain where to start and stop copying
            lines.extend([COPY_RULE, reply.copy, COPY_RULE])
        lines.extend(f"  [{numbers[id(button)]}] {button.label}" for button in reply.buttons)
        if reply.feedback is not None:  # in words, so it never takes a number from the options
            lines.append(reply.feedback.typed)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


async def chat(handle: Handle, secret: bytes, stdin: TextIO, stdout: TextIO, *, interactive: bool) -> None:
    """The console chat; `handle` is `Conversation.handle` (the channel needs nothing else of the bot)."""
    user = pseudonym(secret, CHANNEL, "local")

    def show(replies: list[Reply]) -> None:
        stdout.write(render_console(replies) + "\n\n")
        stdout.flush()

    if interactive:
        show(await handle(Incoming(CHANNEL, user, "/start", role="admin")))
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:  # EOF: Ctrl-D or the end of piped input
            break
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        if interactive and text.strip() in ("/quit", "/exit"):
            break
        # Whoever types at the console runs the bot: the admin commands (/stats, /reload) are theirs.
        show(await handle(Incoming(CHANNEL, user, clip(text), role="admin")))

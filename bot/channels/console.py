"""Console chat on stdin/stdout: interactive in a terminal, or one message a line from a pipe."""

from __future__ import annotations

import asyncio
from typing import TextIO

from ..dialog import Dialog
from ..models import Incoming, Reply, clip
from ..privacy import pseudonym

CHANNEL = "console"


def render_console(replies: list[Reply]) -> str:
    """Text with numbered options: the user answers with the number, as on WeChat."""
    blocks: list[str] = []
    for reply in replies:
        lines = [reply.text]
        lines.extend(f"  [{number}] {button.label}" for number, button in enumerate(reply.buttons, 1))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


async def chat(dialog: Dialog, secret: bytes, stdin: TextIO, stdout: TextIO, *, interactive: bool) -> None:
    user = pseudonym(secret, CHANNEL, "local")

    def show(replies: list[Reply]) -> None:
        stdout.write(render_console(replies) + "\n\n")
        stdout.flush()

    if interactive:
        show(await dialog.handle(Incoming(CHANNEL, user, "/start")))
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
        show(await dialog.handle(Incoming(CHANNEL, user, clip(text))))

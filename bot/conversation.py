"""The one entry point every channel calls: `async with conversation.exchange(incoming) as exchange:`, deliver
`exchange.replies`, set `exchange.delivered`.

It owns the rules that hold on every channel, so adapters only translate:

- per-user order: one person's messages are handled one at a time, in arrival order, while other people's
  run concurrently ("a question and /forget sent together" can never leave rows behind after the reply
  said everything was deleted). Keyed by pseudonym; an entry lives only while that person has a message
  in flight, so memory stays bounded by the messages in flight;
- the error boundary: whatever fails inside, the person gets a short apology in their language and the
  failure is logged without their text;
- commands, admin rights, typed actions and the safety layer, by way of `bot.dialog.Dialog`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .coordination import Coordination
from .dialog import Dialog, Turn
from .messages import say
from .models import Incoming, Locale, Reply
from .text import detect_locale

log = logging.getLogger(__name__)


class _UserLock:
    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


class UserOrder:
    """Runs one person's turns one at a time, first come first served (asyncio.Lock wakes waiters in order)."""

    def __init__(self) -> None:
        self._users: dict[str, _UserLock] = {}

    def __len__(self) -> int:
        """People with a message in flight right now."""
        return len(self._users)

    @contextlib.asynccontextmanager
    async def turn(self, user: str) -> AsyncIterator[None]:
        entry = self._users.setdefault(user, _UserLock())
        entry.waiting += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.waiting -= 1
            if entry.waiting == 0:
                del self._users[user]


@dataclass
class Exchange:
    """One message's replies while its channel delivers them; the channel sets `delivered` once they arrived."""

    replies: list[Reply]
    delivered: bool = False
    locale: Locale | None = None  # the language the replies are in, when the dialog knows it (for renderers)


class Conversation:
    def __init__(self, dialog: Dialog) -> None:
        self.dialog = dialog
        self.order = UserOrder()
        # What channels share with other processes on the same database: replies to retries, update ids.
        self.coordination: Coordination = dialog.store.coordination()

    @contextlib.asynccontextmanager
    async def exchange(self, incoming: Incoming) -> AsyncIterator[Exchange]:
        """The replies to one message, for the channel to deliver inside the block; counted on the way out.

        The person's next message waits until this block is done: their replies go out in order, and a
        /forget right after a question deletes the question's rows too, because they are written by then.
        """
        # In this process, then across processes sharing a database (`Store.turn`; a no-op for SQLite).
        async with self.order.turn(incoming.user), self.dialog.store.turn(incoming.user):
            turn = await self._respond(incoming)
            exchange = Exchange(turn.replies, locale=turn.event.locale if turn.event is not None else None)
            try:
                yield exchange
            finally:
                await self.dialog.record(turn, delivered=exchange.delivered)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Respond and count the message as delivered: for channels that cannot tell (the console)."""
        async with self.exchange(incoming) as exchange:
            exchange.delivered = True
            return exchange.replies

    async def _respond(self, incoming: Incoming) -> Turn:
        try:
            return await self.dialog.respond(incoming)
        except Exception:
            # The message text may be personal: log where it failed, never what was said.
            log.exception("a %s message could not be handled; the user got an apology", incoming.channel)
            locale = incoming.language or detect_locale(incoming.text or "") or "zh-Hans"
            return Turn([Reply(say("apology", locale))], None)

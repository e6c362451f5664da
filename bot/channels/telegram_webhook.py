"""Telegram's webhook: updates POSTed to `/telegram`, acknowledged only once they are handled.

The request that carries an update waits until the update was handled (its reply sent, or sending failed
for good), then gets 200. Until then Telegram keeps the update and delivers it again if the bot dies, so a
kill -9 loses nothing; Telegram's `max_connections` is the queue. While shutting down, or with too many
updates in progress, the answer is 503 and Telegram tries again later. Update ids seen lately are remembered
(in memory, nothing else of the update) so a redelivery is not answered twice. With several processes on one
PostgreSQL database the update id (and whether it was handled) is also kept there for a day, so a redelivery
to another process is not answered twice either (`bot.coordination`); nothing else of the update is written.

Telegram accepts one Bot API call as the body of the webhook's answer. In a single process, the last message
of an update's reply travels that way (`WebhookReply`, filled by the channel): one HTTP request less per
update. It waits for the rate limiter like any other message, and a redelivery of the update (the first
answer never reached Telegram) gets the same body again, so the reply is not lost with the answer.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from telegram import Bot, Update

from ..coordination import Coordination
from ..web import read_body

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A message holds at most 4096 characters; with its entities and a quoted reply an update stays far below.
MAX_UPDATE_BYTES = 256 * 1024
MAX_PENDING_UPDATES = 100  # more in progress than that: 503, and Telegram delivers them again later
RECENT_UPDATES = 10_000  # update ids remembered to recognise a redelivery


class WebhookReply:
    """The one Bot API call that may go back in the answer to the webhook request of the update being handled."""

    __slots__ = ("call",)

    def __init__(self) -> None:
        self.call: dict[str, Any] | None = None


_REPLY: ContextVar[WebhookReply | None] = ContextVar("anxin_telegram_webhook_reply", default=None)


def webhook_reply() -> WebhookReply | None:
    """Where the update being handled may put its last message, or None (polling, or several processes)."""
    return _REPLY.get()


class RecentUpdates:
    """Update ids seen lately, each with whether its first delivery was handled, so that a redelivered update
    is acknowledged without being answered twice. Bounded and in memory; nothing else of the update is kept.
    """

    def __init__(self, size: int = RECENT_UPDATES) -> None:
        self.size = size
        self._seen: OrderedDict[int, asyncio.Future[bool]] = OrderedDict()
        self._bodies: dict[int, bytes] = {}  # the answer an update got, when it carried a reply

    def __len__(self) -> int:
        return len(self._seen)

    def earlier(self, update_id: int) -> asyncio.Future[bool] | None:
        """The outcome of an earlier delivery of `update_id` (it may still be in progress), or None."""
        return self._seen.get(update_id)

    def begin(self, update_id: int) -> None:
        self._seen[update_id] = asyncio.get_running_loop().create_future()
        while len(self._seen) > self.size:
            gone, _ = self._seen.popitem(last=False)
            self._bodies.pop(gone, None)

    def body(self, update_id: int) -> bytes:
        """What the first delivery of `update_id` answered with (b"" when it carried no reply)."""
        return self._bodies.get(update_id, b"")

    def end(self, update_id: int, handled: bool, body: bytes = b"") -> None:
        """Handled: later deliveries are acknowledged as they are, with the same body. Not handled (cancelled at
        shutdown): the id is forgotten, so the delivery Telegram makes again is handled as new."""
        if handled and body and update_id in self._seen:
            self._bodies[update_id] = body
        outcome = self._seen.get(update_id) if handled else self._seen.pop(update_id, None)
        if outcome is not None and not outcome.done():
            outcome.set_result(handled)


def _unavailable(retry_after: int) -> Response:
    return Response(status_code=503, headers={"Retry-After": str(retry_after)})


def _acknowledged(body: bytes) -> Response:
    return Response(body, status_code=200, media_type="application/json") if body else Response(status_code=200)


class Webhook:
    """The `/telegram` route: checks the secret token, reads one update and waits until `process` handled it."""

    def __init__(
        self,
        bot: Bot,
        secret_token: str,
        process: Callable[[Update], Awaitable[None]],
        stopping: asyncio.Event,
        coordination: Coordination,
    ) -> None:
        self.bot = bot
        self.secret_token = secret_token
        self.process = process
        self.stopping = stopping
        self.coordination = coordination
        self.recent = RecentUpdates()
        self.max_pending = MAX_PENDING_UPDATES
        self._pending = 0
        # Only one process: a redelivery that reached another process could not repeat this one's answer.
        self.replies_in_answer = not coordination.shared

    async def receive(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, self.secret_token.encode()):
            log.warning("telegram webhook: request without the right secret token refused")
            return Response(status_code=403)
        if self.stopping.is_set():
            return _unavailable(retry_after=5)  # shutting down: Telegram keeps the update for the next start
        body = await read_body(request, MAX_UPDATE_BYTES)
        if body is None:
            log.warning("telegram webhook: update over %d bytes refused", MAX_UPDATE_BYTES)
            return Response(status_code=413)
        update = self._parse(body)
        if update is None:
            return Response(status_code=400)
        earlier = self.recent.earlier(update.update_id)
        if earlier is not None:  # delivered again: acknowledge once the first delivery is handled
            if await asyncio.shield(earlier):
                return _acknowledged(self.recent.body(update.update_id))
            return _unavailable(retry_after=1)
        if self._pending >= self.max_pending:
            log.warning("telegram webhook: %d updates in progress; asked Telegram to deliver later", self._pending)
            return _unavailable(retry_after=1)
        self.recent.begin(update.update_id)
        # Another process on the same database may have it already.
        claim = await self.coordination.claim_update(update.update_id)
        if claim != "new":
            self.recent.end(update.update_id, handled=claim == "done")
            return Response(status_code=200) if claim == "done" else _unavailable(retry_after=1)
        self._pending += 1
        handled = False
        slot = WebhookReply() if self.replies_in_answer else None
        token = _REPLY.set(slot)
        body = b""
        try:
            await self.process(update)
            handled = True
            if slot is not None and slot.call is not None:
                body = json.dumps(slot.call, ensure_ascii=False, separators=(",", ":")).encode()
        finally:
            _REPLY.reset(token)
            self._pending -= 1
            self.recent.end(update.update_id, handled, body)
            await self.coordination.finish_update(update.update_id, handled)
        return _acknowledged(body)

    def _parse(self, body: bytes) -> Update | None:
        try:
            data: Any = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            update_id = data.get("update_id")
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                raise ValueError("no update_id")
            return Update.de_json(data, self.bot)
        # What JSON and PTB raise on a wrong shape, a nesting too deep or a number too big for a date.
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError) as exc:
            # The body may hold user text: log only what kind of problem it was.
            log.warning("telegram webhook: malformed update dropped (%s)", type(exc).__name__)
            return None

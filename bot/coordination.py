"""What processes that share one store agree on: answers to redelivered messages, and who polls Telegram.

One bot process needs nothing of this: its channels remember recent WeChat MsgIds and Telegram update ids in
memory, and it is the only Telegram poller. Several processes on one PostgreSQL database must share that
memory, or a retry that reaches another process is answered (and counted) twice. Every store hands out a
`Coordination` (`Store.coordination()`): `LocalCoordination` for the in-memory and SQLite stores, one kept
in the database for PostgreSQL (`bot.store_pg`).

Per-user order across processes is the store's `turn()` (see `bot.state`); retention purges take their own
database lock inside `purge()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

REPLY_SECONDS = 600.0  # how long a WeChat reply is kept for retries (WeChat retries within about 15 s)
UPDATE_SECONDS = 86400.0  # how long a Telegram update id is remembered (Telegram gives up on an update after a day)

UpdateClaim = Literal["new", "done", "busy"]


class Lease(Protocol):
    """A role only one process may hold at a time (the Telegram poller), held until `release()`."""

    async def lost(self) -> None:
        """Returns once the holder no longer holds the role (the database restarted and another process took
        it meanwhile); never while it holds it."""

    async def release(self) -> None: ...


class Coordination(Protocol):
    @property
    def shared(self) -> bool:
        """True when other processes may share this state (and the channels must ask before answering)."""

    async def reply_once(
        self, user: str, key: str, produce: Callable[[], Awaitable[str | None]], wait_until: float
    ) -> str | None:
        """The reply to message `key` of `user`: produced once by `produce()` in whichever process got the
        message first, and handed to any process that gets a retry within `REPLY_SECONDS`. A retry that arrives
        while the first answer is still being written waits for it until `wait_until` (event-loop time).

        `produce()` returns the reply text ("" when there is nothing to say), or None when the message was not
        read (too busy): then nothing is kept and a retry is answered afresh. None is also returned to a retry
        whose first answer is not ready by `wait_until`.
        """

    async def claim_update(self, update_id: int) -> UpdateClaim:
        """Whether to handle a Telegram update: "new" (this process handles it, then `finish_update`), "done"
        (already handled: acknowledge it) or "busy" (another process is handling it right now)."""

    async def finish_update(self, update_id: int, handled: bool) -> None:
        """Handled: later deliveries are acknowledged. Not handled: the update is forgotten and handled anew."""

    async def exclusive(self, role: str) -> Lease | None:
        """The lease on `role`, or None when another process holds it."""


class _LocalLease:
    def __init__(self) -> None:
        self._never = asyncio.Event()

    async def lost(self) -> None:
        await self._never.wait()  # one process: nobody can take the role away

    async def release(self) -> None:
        return None


class LocalCoordination:
    """One process: nothing to share. The channels' own in-memory caches already cover their retries."""

    shared = False

    async def reply_once(
        self, user: str, key: str, produce: Callable[[], Awaitable[str | None]], wait_until: float
    ) -> str | None:
        return await produce()

    async def claim_update(self, update_id: int) -> UpdateClaim:
        return "new"

    async def finish_update(self, update_id: int, handled: bool) -> None:
        return None

    async def exclusive(self, role: str) -> Lease | None:
        return _LocalLease()


class HeldRole:
    """A role this process takes for as long as it runs (the Telegram poller), watched while held."""

    def __init__(self, coordination: Coordination, role: str) -> None:
        self.coordination = coordination
        self.role = role
        self._lease: Lease | None = None
        self._watch: asyncio.Task[None] | None = None

    async def take(self, on_lost: Callable[[], None]) -> bool:
        """True once held, False when another process holds it; `on_lost` runs if it is ever taken away.
        A store that cannot be asked raises its `StoreError`."""
        lease = await self.coordination.exclusive(self.role)
        if lease is None:
            return False
        self._lease = lease

        async def watch() -> None:
            await lease.lost()
            on_lost()

        self._watch = asyncio.create_task(watch(), name=f"{self.role}-watch")
        return True

    async def release(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self._lease is not None:
            await self._lease.release()
            self._lease = None

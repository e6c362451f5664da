"""Where a guided flow keeps what the user told it: this process's memory only, never the store or the log.

What someone writes into a complaint (the lender, what happened, a collector's number) or into a loan
question (the figures) is the story the project promises not to keep. So a flow's state lives in a plain dict
keyed by the pseudonymous user key, and goes away:

- `FLOW_SECONDS` (2 hours) after the flow started, whatever happens;
- when the flow ends: the letters are produced and delivered, the rate is computed, `/cancel`, `/forget`;
- when the process stops: a restart forgets every flow (the next message says so and offers to start again).

Expired flows are swept out at most once a minute, on any use of the memory, so the story of someone who never
comes back does not outlive its two hours. Bounded: at most `max_users` flows are held; starting one more
forgets the least recently used.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

FLOW_SECONDS = 2 * 60 * 60
MAX_USERS = 10_000
SWEEP_SECONDS = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class Held(Generic[T]):
    state: T
    started: float


class FlowMemory(Generic[T]):
    """Per-process flow states by user key, each forgotten `seconds` after its flow started."""

    def __init__(
        self, *, seconds: float = FLOW_SECONDS, max_users: int = MAX_USERS, clock: Callable[[], float] = time.time
    ) -> None:
        self.seconds = seconds
        self.max_users = max_users
        self.clock = clock
        self._held: dict[str, Held[T]] = {}
        self._swept = clock()

    def __len__(self) -> int:
        return len(self._held)

    def get(self, user: str) -> T | None:
        self._sweep()
        held = self._held.get(user)
        if held is None:
            return None
        if self.clock() - held.started >= self.seconds:
            del self._held[user]
            return None
        return held.state

    def started(self, user: str) -> float | None:
        held = self._held.get(user)
        return held.started if held is not None else None

    def put(self, user: str, state: T, *, new: bool = False) -> None:
        """Keep `state` for `user`. The two hours count from when the flow started: a `new` flow starts now,
        a later step of the same flow keeps its start time."""
        self._sweep()
        held = self._held.get(user)
        started = held.started if held is not None and not new else self.clock()
        self._held.pop(user, None)  # re-inserted last: the dict's order is the order of last use
        self._held[user] = Held(state, started)
        self._prune()

    def drop(self, user: str) -> bool:
        """Forget `user`'s flow; True when there was one."""
        return self._held.pop(user, None) is not None

    def purge(self) -> int:
        """Forget every expired flow now; how many."""
        now = self.clock()
        self._swept = now
        expired = [user for user, held in self._held.items() if now - held.started >= self.seconds]
        for user in expired:
            del self._held[user]
        return len(expired)

    def _sweep(self) -> None:
        if self.clock() - self._swept >= SWEEP_SECONDS:
            self.purge()

    def _prune(self) -> None:
        if len(self._held) <= self.max_users:
            return
        self.purge()
        while len(self._held) > self.max_users:
            del self._held[next(iter(self._held))]  # the least recently used

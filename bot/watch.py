"""Live reload of content while the bot runs: SIGHUP and, with `BOT_WATCH=1`, a polling file watcher.

The watcher polls file sizes and modification times (standard library only, no inotify) because it
must work the same on a laptop, in a container and on a network share. Both paths end in
`KnowledgeSource.reload()`, which serves a file with problems from its last good version.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path

from .content import KnowledgeError
from .knowledge import KnowledgeSource

log = logging.getLogger(__name__)

WATCHED = ("intents/*.yaml", "faq/*/*.yaml", "safety/*.yaml", "lexicon/*.yaml", "letters/*.yaml", "content-rules.yaml")
POLL_SECONDS = 1.0
# Editors save in steps (write a temp file, rename, touch); reload once the files hold still.
SETTLE_SECONDS = 0.3

Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """Size and modification time of every content file, by path; a file that vanishes mid-scan is skipped."""
    found: Snapshot = {}
    for pattern in WATCHED:
        for path in root.glob(pattern):
            try:
                stat = path.stat()
            except OSError:
                continue
            found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


async def reload_knowledge(source: KnowledgeSource, reason: str) -> tuple[KnowledgeError, ...]:
    """Reload off the event loop; never raises, so a signal handler or the watcher cannot die of it."""
    log.info("reloading content (%s)", reason)
    try:
        errors = await asyncio.to_thread(source.reload)
    except Exception:
        log.exception("reload (%s) failed; the previous content keeps serving", reason)
        return ()
    if errors:
        log.error("reload (%s): %d content problem(s); `anxin lint` lists them", reason, len(errors))
    return errors


async def watch(
    source: KnowledgeSource, *, poll_seconds: float = POLL_SECONDS, settle_seconds: float = SETTLE_SECONDS
) -> None:
    """Reload whenever a content file is added, removed or changed; runs until cancelled."""
    root = source.root
    seen = await asyncio.to_thread(snapshot, root)
    log.info("watching %s for content changes", root)
    while True:
        await asyncio.sleep(poll_seconds)
        now = await asyncio.to_thread(snapshot, root)
        if now == seen:
            continue
        while True:  # debounce: wait until two scans in a row agree
            await asyncio.sleep(settle_seconds)
            again = await asyncio.to_thread(snapshot, root)
            if again == now:
                break
            now = again
        seen = now
        # A reload with problems is not retried until the files change again: the volunteer is still editing.
        await reload_knowledge(source, "content changed")


class LiveReload:
    """SIGHUP (where the platform has it) and the optional watcher, for as long as the bot runs."""

    def __init__(self, source: KnowledgeSource, *, watch_files: bool) -> None:
        self.source = source
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[object]] = set()
        self._signal: int | None = None
        hangup: int | None = getattr(signal, "SIGHUP", None)
        if hangup is not None:
            try:
                self._loop.add_signal_handler(hangup, self._on_hangup)
                self._signal = hangup
            except (NotImplementedError, RuntimeError, ValueError):  # Windows loops; not the main thread
                log.info("SIGHUP reload is not available here")
        if watch_files:
            self._spawn(watch(source))

    def _spawn(self, coroutine: Coroutine[object, object, object]) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    def _on_hangup(self) -> None:
        self._spawn(reload_knowledge(self.source, "SIGHUP"))

    async def stop(self) -> None:
        if self._signal is not None:
            self._loop.remove_signal_handler(self._signal)
            self._signal = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        # A reload already running in its thread finishes there; its result is simply not awaited.
        await asyncio.gather(*tasks, return_exceptions=True)


def start_live_reload(source: KnowledgeSource, *, watch_files: bool) -> LiveReload:
    """Call from the running event loop; `await .stop()` when the bot stops."""
    return LiveReload(source, watch_files=watch_files)

"""The database goes away mid-stream: a throw-away PostgreSQL cluster that this test starts, kills and restarts.

The cluster is made with the machine's own `initdb` and `pg_ctl` in a temp dir, on a free port (as the
`postgres` user when the tests run as root, since PostgreSQL refuses to run as root). The server is stopped
with `pg_ctl stop -m immediate`, which is what a crash looks like: no checkpoint, recovery from the WAL at the
next start. Without the binaries the test is skipped (under CI=true it fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import httpx
import pytest
from conftest import postgres_unavailable, wechat_channel
from test_wechat import OPENID, QUESTION, TOKEN, message_xml, signed

from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.privacy import pseudonym
from bot.runner import Services
from bot.settings import Secret, Settings
from bot.state import Session, Unanswered, UsageEvent
from bot.store_pg import PostgresStore
from bot.web import build_app

SECRET = b"fault-test-secret-of-the-bot-process"
MAX_MESSAGES = 5000
STOP_AT = 40  # the server dies when this many messages have been answered
DOWN_SECONDS = 2.0
AFTER_SECONDS = 2.0
PACE = 0.02  # seconds between one person's messages
CONCURRENT = 8  # people writing at the same time


class Cluster:
    """A PostgreSQL cluster of its own in `root`, run as `user` (None: as whoever runs the tests)."""

    def __init__(self, bindir: Path, root: Path, port: int, user: str | None) -> None:
        self.bindir, self.root, self.port, self.user = bindir, root, port, user
        self.data = root / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on"
        self.run("pg_ctl", "start", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.root / "log"), "-o", options)

    def crash(self) -> None:
        self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not found and shutil.which("initdb"):
        found = [str(shutil.which("initdb"))]
    for initdb in found:
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").exists() and (bindir / "postgres").exists():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = _binaries()
    if bindir is None:
        postgres_unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found on this machine")
        raise AssertionError("unreachable")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            postgres_unavailable("running as root and there is no 'postgres' user to run a throw-away cluster as")
        if shutil.which("runuser") is None:
            postgres_unavailable("running as root and runuser is missing")
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="anxin-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    made = Cluster(bindir, root, _free_port(), user)
    made.init()
    made.start()
    try:
        yield made
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            made.crash()
        shutil.rmtree(root, ignore_errors=True)


class WitnessStore(PostgresStore):
    """The real store, noting each usage event the database acknowledged (its insert returned)."""

    acknowledged: list[str]

    async def save_turn(
        self, session: Session | None, event: UsageEvent | None, unanswered: Sequence[Unanswered] = ()
    ) -> None:
        await super().save_turn(session, event, unanswered)
        if event is not None:
            self.acknowledged.append(event.user)


async def test_the_bot_keeps_answering_through_a_database_crash_and_loses_no_acknowledged_message(
    cluster: Cluster, knowledge: KnowledgeSource
) -> None:
    store = await WitnessStore.open(cluster.url)
    store.acknowledged = []
    settings = Settings(content_dir=knowledge.root, secret=Secret(SECRET.decode()), wechat_token=Secret(TOKEN))
    channel = wechat_channel(Services(settings, knowledge, store, Dialog(knowledge, store), SECRET))
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    answered: dict[int, str] = {}  # the reply each message got: WeChat shows it to the person
    started: dict[int, float] = {}
    problem_seen = False
    outage: list[float] = []  # when the server was killed, when it was back
    numbers = iter(range(MAX_MESSAGES))

    def more() -> bool:
        """Messages keep coming until two seconds after the server is back (bounded in count all the same)."""
        return len(outage) < 2 or time.monotonic() < outage[1] + AFTER_SECONDS

    async def person(client: httpx.AsyncClient) -> None:
        nonlocal problem_seen
        while more():
            n = next(numbers, None)
            if n is None:
                return
            # One person per message, so each event in the database can be matched to its message.
            body = message_xml(Content=QUESTION, msg_id=str(90_000 + n)).replace(OPENID, f"oFault-{n:04d}")
            started[n] = time.monotonic()
            response = await client.post("/wechat", params=signed(), content=body.encode())
            assert response.status_code == 200
            answered[n] = response.text.split("<Content><![CDATA[", 1)[1].split("]]>", 1)[0]
            problem_seen = problem_seen or store.problem() is not None
            await asyncio.sleep(PACE)

    async def operator() -> None:
        while len(answered) < STOP_AT:  # noqa: ASYNC110 (watching another task's progress)
            await asyncio.sleep(0.01)
        await asyncio.to_thread(cluster.crash)  # with messages in flight
        outage.append(time.monotonic())
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(cluster.start)
        outage.append(time.monotonic())

    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test", timeout=30) as client:
        await asyncio.gather(operator(), *(person(client) for _ in range(CONCURRENT)))
    await channel.stop()

    assert len(outage) == 2 and max(started.values()) > outage[1], "the stream ended before the server was back"
    # Kept answering: every message got the real answer, during the outage too (it needs no stored state).
    sent = len(started)
    assert sorted(answered) == list(range(sent))
    assert all(text.startswith("不合法。") for text in answered.values())
    assert problem_seen  # /healthz said the database was away while it was
    users = [pseudonym(SECRET, "wechat", f"oFault-{n:04d}") for n in range(sent)]
    conn = await asyncpg.connect(cluster.url)
    try:
        stored = {row["user_key"] for row in await conn.fetch("SELECT user_key FROM events")}
    finally:
        await conn.close()
    acknowledged = set(store.acknowledged)
    lost = acknowledged - stored
    during = [n for n in range(sent) if outage[0] <= started[n] < outage[1]]
    # Messages that arrive a second after the restart are saved again (the pool reconnects by itself).
    after_restart = {users[n] for n in range(sent) if started[n] > outage[1] + 1.0}
    assert after_restart
    print(  # noqa: T201 (the figures the issue asks for, shown with -s)
        f"\nfault test: {sent} sent, {len(answered)} answered, {len(acknowledged)} acknowledged by the store,"
        f" {len(stored & set(users))} stored after the restart, {len(lost)} acknowledged but lost;"
        f" {len(during)} arrived while the server was down ({outage[1] - outage[0]:.1f} s)"
    )
    assert lost == set()
    assert after_restart <= acknowledged  # once the server is back, the bot saves again by itself
    assert len(acknowledged) < sent  # the outage was real: some messages could not be saved
    assert store.problem() is None
    await store.close()

"""Starting up: the pseudonym key, a rejected bot token, a data dir that cannot be written, a damaged database.

Whatever keeps the bot from starting ends it with one line on stderr and exit code 2, never a traceback and
never a secret; what it can work around (a damaged database) it works around and says so once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures.thread  # noqa: F401  (loaded now: as `nobody` the standard library may be unreadable)
import contextlib
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import fake_bot_api as fake
import pytest
from bot_process import REPO, bot_environment, running_bot
from conftest import FIXTURES, anxin
from fake_bot_api import FakeBotApi

import bot.runner  # noqa: F401  (likewise: everything `anxin run` imports before it touches the data dir)
from bot import cli
from bot.privacy import MIN_SECRET_CHARS, SECRET_FILE, SecretError, load_or_create_secret
from bot.store import DB_FILE

KB = FIXTURES / "kb"


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- the pseudonym key -------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\n", b"0123456789"], ids=["empty", "blank", "short"])
def test_an_empty_or_short_key_file_is_refused_with_one_line(kb_dir: Path, data_dir: Path, content: bytes) -> None:
    (data_dir / SECRET_FILE).write_bytes(content)
    result = anxin("chat", kb_dir=kb_dir, data_dir=data_dir, stdin="你好\n")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert SECRET_FILE in line and str(MIN_SECRET_CHARS) in line
    assert result.stdout == ""  # nobody was answered with a guessable pseudonym
    assert not (data_dir / DB_FILE).exists()
    assert (data_dir / SECRET_FILE).read_bytes() == content  # never replaced: it may be the only copy


def test_a_short_bot_secret_is_refused_with_one_line(kb_dir: Path, data_dir: Path) -> None:
    env = bot_environment(BOT_CONTENT_DIR=str(kb_dir), BOT_DATA_DIR=str(data_dir), BOT_SECRET="short")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="你好\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert "BOT_SECRET" in one_line(result.stderr)
    assert "short" not in result.stderr.replace("too short", "")  # the value itself is not repeated


def _full_disk() -> None:
    """In the child: no file may grow at all, as on a full disk (EFBIG instead of a kill by SIGXFSZ)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_first_start_on_a_full_disk_says_so_in_one_line_and_leaves_no_empty_key(kb_dir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**bot_environment(BOT_CONTENT_DIR=str(kb_dir), BOT_DATA_DIR=str(data_dir)), "PYTHONDONTWRITEBYTECODE": "1"}
    full = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="你好\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        preexec_fn=_full_disk,
    )
    assert full.returncode == 2
    assert "cannot create the pseudonym key" in one_line(full.stderr)
    assert not (data_dir / SECRET_FILE).exists()
    assert not list(data_dir.glob(f".{SECRET_FILE}*"))  # no temporary file left behind either

    # With space again the next start creates a whole key and answers.
    again = anxin("chat", kb_dir=kb_dir, data_dir=data_dir, stdin="你好\n")
    assert again.returncode == 0, again.stderr
    assert len((data_dir / SECRET_FILE).read_bytes().strip()) == 64


def test_processes_starting_at_once_all_use_the_same_whole_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    go = tmp_path / "go"
    racer = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from bot.privacy import load_or_create_secret\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        f"try:\n    sys.stdout.write(load_or_create_secret(Path({str(data_dir)!r})).decode())\n"
        "except Exception as exc:\n    sys.stdout.write('ERROR ' + type(exc).__name__)\n"
    )
    racers = [
        subprocess.Popen([sys.executable, "-c", racer], cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in range(12)
    ]
    go.touch()
    keys = {racer.communicate(timeout=60)[0] for racer in racers}
    assert len(keys) == 1, keys
    [key] = keys
    assert len(key) == 64
    assert (data_dir / SECRET_FILE).read_text().strip() == key


def test_the_key_file_is_created_owner_only_and_read_back_unchanged(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "data")
    assert (tmp_path / "data" / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(tmp_path / "data") == first
    (tmp_path / "data" / SECRET_FILE).write_bytes(b"x" * (MIN_SECRET_CHARS - 1))
    with pytest.raises(SecretError):
        load_or_create_secret(tmp_path / "data")


# --- a data dir the bot cannot write -------------------------------------------------------------------------


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """File permissions do not bind root: when tests run as root, act as `nobody` for the block."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_read_only_data_dir_at_first_start_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    base = Path(tempfile.mkdtemp(prefix="anxin-readonly-"))  # not under pytest's owner-only temp dir
    try:
        base.chmod(0o755)
        data_dir = base / "data"
        data_dir.mkdir(mode=0o555)
        for name in [name for name in os.environ if name.startswith(("TELEGRAM_", "WECHAT_", "BOT_"))]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("BOT_DATA_DIR", str(data_dir))
        monkeypatch.setenv("BOT_CONTENT_DIR", str(KB))
        with unprivileged():
            code = cli.main(["run"])
        assert code == 2
        line = one_line(capsys.readouterr().err)
        assert line.startswith("anxin: cannot create the pseudonym key") and str(data_dir) in line
        assert list(data_dir.iterdir()) == []
    finally:
        (base / "data").chmod(0o755)
        shutil.rmtree(base)


# --- a token the Bot API rejects -----------------------------------------------------------------------------


async def test_a_rejected_bot_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    api = FakeBotApi()  # it knows only fake.TOKEN and answers 401 to every other one
    wrong = "987654:AAH-secret-part_of-a-wrong-token"
    async with api.running():
        env = bot_environment(
            TELEGRAM_BOT_TOKEN=wrong,
            TELEGRAM_API_URL=api.url,
            BOT_CONTENT_DIR=str(KB),
            BOT_DATA_DIR=str(tmp_path / "data"),
            BOT_LOG_LEVEL="DEBUG",
        )
        async with running_bot(env, tmp_path / "bot.log") as bot:
            # A guard against a bot that never exits, not a timing: it exits in about 3 s alone, and took over 30 s once
            # in a fresh-clone CI run while the other test worker loaded both cores.
            code = await asyncio.wait_for(bot.process.wait(), 120)
            log = bot.log_text()
    assert code == 2
    assert "AAH-secret-part_of-a-wrong-token" not in log and wrong not in log
    assert "rejected TELEGRAM_BOT_TOKEN" in log
    assert "Traceback" not in log


async def test_the_token_and_webhook_secret_never_reach_the_log_even_at_debug_level(tmp_path: Path) -> None:
    api = FakeBotApi()
    async with api.running():
        env = bot_environment(
            TELEGRAM_BOT_TOKEN=fake.TOKEN,
            TELEGRAM_API_URL=api.url,
            TELEGRAM_WEBHOOK_URL="https://anxin.example/telegram",
            BOT_CONTENT_DIR=str(KB),
            BOT_DATA_DIR=str(tmp_path / "data"),
            BOT_LOG_LEVEL="DEBUG",
        )
        async with running_bot(env, tmp_path / "bot.log") as bot:
            await bot.wait_healthy()
            [registered] = api.called("setWebhook")
            code, _ = await bot.stop()
            log = bot.log_text()
    assert code == 0
    secret_token = registered.params["secret_token"]
    for secret in (fake.TOKEN, fake.TOKEN.split(":", 1)[1], secret_token):
        assert secret not in log


# --- a damaged database --------------------------------------------------------------------------------------


def damage(path: Path) -> None:
    """A real database with one of its table pages overwritten: it opens, but the integrity check fails."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
        conn.executemany("INSERT INTO filler (text) VALUES (?)", [("x" * 500,) for _ in range(200)])
        conn.commit()
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'filler'").fetchone()[0]
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * 64)  # the b-tree page header: garbage


@pytest.mark.parametrize("kind", ["not a database", "damaged page"])
async def test_a_damaged_database_is_moved_aside_and_health_says_ok_with_a_fresh_one(tmp_path: Path, kind: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / DB_FILE
    if kind == "not a database":
        path.write_bytes(b"garbage" * 1000)
    else:
        damage(path)
    original = path.read_bytes()
    env = bot_environment(WECHAT_TOKEN="startup-token", BOT_CONTENT_DIR=str(KB), BOT_DATA_DIR=str(data_dir))
    async with running_bot(env, tmp_path / "bot.log") as bot:
        health = await bot.wait_healthy(status=None)
        await bot.stop()
        log = bot.log_text()
    assert (health.status_code, health.text) == (200, "ok")
    [moved] = data_dir.glob(DB_FILE + ".corrupt-*")
    assert moved.read_bytes() == original
    assert [line for line in log.splitlines() if "is damaged" in line and moved.name in line]
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_health_reports_a_store_that_keeps_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / DB_FILE).mkdir(parents=True)  # cannot be opened, cannot be moved aside as a damaged file
    env = bot_environment(
        WECHAT_TOKEN="startup-token",
        BOT_CONTENT_DIR=str(KB),
        BOT_DATA_DIR=str(data_dir),
        BOT_SECRET="a-long-enough-pseudonym-key",
    )
    async with running_bot(env, tmp_path / "bot.log") as bot:
        health = await bot.wait_healthy(status=None)
        await bot.stop()
    assert health.status_code == 503
    assert health.text.startswith("degraded: store")

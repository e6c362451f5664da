"""Shared fixtures: a small fixture knowledge base, a temp data dir, a dialog over an in-memory store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from bot.dialog import Dialog
from bot.knowledge import KnowledgeBase, KnowledgeSource
from bot.state import MemoryStore

# Property tests: the same examples on every machine and every run, bounded in number and with no
# example database; Hypothesis's caches go to the temp dir, not into the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "anxin-hypothesis")
settings.register_profile("anxin", derandomize=True, database=None, deadline=None, max_examples=150)
settings.load_profile("anxin")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A private copy of the fixture knowledge base that a test may edit or break."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURES / "kb", target)
    return target


@pytest.fixture
def knowledge(kb_dir: Path) -> KnowledgeSource:
    return KnowledgeSource(kb_dir)


@pytest.fixture
def kb(knowledge: KnowledgeSource) -> KnowledgeBase:
    return knowledge.current


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def dialog(knowledge: KnowledgeSource, memory_store: MemoryStore) -> Dialog:
    return Dialog(knowledge, memory_store)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def anxin(
    *args: str, kb_dir: Path, data_dir: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot …` as a user would, on a given content folder and data dir, without messengers."""
    environment = {**os.environ, "BOT_CONTENT_DIR": str(kb_dir), "BOT_DATA_DIR": str(data_dir), **(env or {})}
    for name in ("TELEGRAM_BOT_TOKEN", "WECHAT_TOKEN", "BOT_SECRET"):
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        timeout=60,
    )


@pytest.fixture(scope="session")
def repo_knowledge() -> KnowledgeSource:
    """The bundled content (intents, answers, safety, letters), loaded once: guided flows need all of it.

    Read-only for tests: never reload or edit it (use `kb_dir` for that)."""
    return KnowledgeSource(REPO)

"""Shared fixtures: a small fixture knowledge base, a temp data dir, a dialog over an in-memory store."""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from bot.dialog import Dialog
from bot.kept import write_text
from bot.knowledge import CACHE_DIR, KnowledgeBase, KnowledgeSource, load_knowledge
from bot.settings import Settings, SettingsError
from bot.state import MemoryStore

# Property tests: the same examples on every machine and every run, bounded in number and with no
# example database; Hypothesis's caches go to the temp dir, not into the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "anxin-hypothesis")
settings.register_profile("anxin", derandomize=True, database=None, deadline=None, max_examples=150)
settings.load_profile("anxin")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


def copy_content(tmp_path: Path) -> Path:
    """A copy of the bundled content (intents, answers, safety, lexicon, letters) that a test may change."""
    root = tmp_path / "content"
    for part in ("intents", "faq", "safety", "lexicon", "letters"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "content-rules.yaml", root / "content-rules.yaml")
    return root


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


@functools.cache
def _bundled() -> tuple[KnowledgeBase, Path]:
    """The bundled content loaded once per test process, as a bot's start loads it, and a cache folder with what
    that start keeps. The folder begins as a copy of the bot's data folder's cache (BOT_DATA_DIR, or data/), which
    `make test` fills first with `anxin lint`: its net weights are read instead
    of training the net again in every test process, about a minute each. They are the same to the bit as
    training here (tests/test_safety_net_apart.py), and kept under a digest of everything they depend on, so a
    stale copy is simply not used: the net is trained here and kept in the folder, as on a first start."""
    folder = Path(tempfile.mkdtemp(prefix="anxin-bundled-cache-"))
    atexit.register(shutil.rmtree, folder, True)
    try:
        kept = Settings.from_env().data_dir / CACHE_DIR  # where `anxin lint` kept them (bot.cli._cache)
    except SettingsError:
        kept = None  # a setting this run does not need is malformed: train here, as without a data folder
    for path in kept.glob("*.npz") if kept is not None and kept.is_dir() else ():
        shutil.copy(path, folder / path.name)
    loaded = load_knowledge(REPO, cache_dir=folder)
    assert [str(e) for e in loaded.errors] == []
    return loaded.knowledge, folder


def _bundled_cache() -> Path:
    return _bundled()[1]


@pytest.fixture(scope="session")
def bundled_knowledge() -> KnowledgeBase:
    """The bundled content (`load_knowledge(REPO)`, no errors), loaded once per test process: training its safety
    net takes about a minute, and a dozen test modules read it. Read-only, like every `KnowledgeBase`."""
    return _bundled()[0]


# Parsed evaluation sets, kept as JSON under a digest of the file's bytes: libyaml still takes 8.6 s to build the
# 78,000 items of the safety tuning set (its constructor is Python), JSON 0.1 s; each test process read it again.
EVAL_PARSED = Path(tempfile.gettempdir()) / f"anxin-eval-parsed-{os.getuid()}"


@functools.cache
def _eval_items(name: str) -> tuple[Any, ...]:
    source = (REPO / "eval" / name).read_bytes()
    kept = EVAL_PARSED / f"{Path(name).stem}-{hashlib.sha256(source).hexdigest()[:32]}.json"
    with contextlib.suppress(OSError, ValueError):
        return tuple(json.loads(kept.read_text(encoding="utf-8")))
    data = yaml.load(source.decode("utf-8"), Loader=yaml.CSafeLoader) or []
    text = json.dumps(data, ensure_ascii=False)
    if json.loads(text) == data:  # only plain lists, mappings, strings, numbers and booleans: the same items back
        with contextlib.suppress(OSError):
            write_text(kept, text)
            same_file = re.compile(rf"{re.escape(Path(name).stem)}-[0-9a-f]{{32}}\.json")  # not realistic-dev-1*
            for older in EVAL_PARSED.glob(f"{Path(name).stem}-*.json"):  # the file as it was before an edit
                if older != kept and same_file.fullmatch(older.name):
                    older.unlink(missing_ok=True)
    return tuple(data)


@functools.cache
def script(name: str) -> ModuleType:
    """scripts/`name`.py as a module, loaded once per test process (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up while it is made
    spec.loader.exec_module(module)
    return module


def eval_items(name: str) -> list[Any]:
    """The items of eval/`name`, parsed once per test run: the tuning set alone is 4 MB, which the pure-Python
    `yaml.safe_load` took eight seconds to read, and many tests read it. libyaml's loader gives the same items
    (checked on every set when this was written), and a later process reads them back from JSON (`EVAL_PARSED`).
    The list is new each call; the items are shared: read-only."""
    return list(_eval_items(name))


@functools.cache
def _safety_examples() -> dict[str, tuple[str, ...]]:
    data = yaml.load((REPO / "safety" / "examples.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return {
        name: tuple(map(str, data.get(name) or ())) for name in ("act", "crisis", "concern", "safe", "someone_else")
    }


def safety_examples() -> dict[str, list[str]]:
    """The lists of the bundled `safety/examples.yaml`, parsed once per test process with libyaml's loader (the
    pure-Python one took about fifteen seconds on the 4 MB file); new lists on every call."""
    return {name: list(texts) for name, texts in _safety_examples().items()}


def seed_bundled_cache(data_dir: Path) -> None:
    """Give a new data dir the bundled content's safety-net weights and matcher arrays, as a bot's first start
    leaves them, so a process started on it does not train the net again (about ten seconds a process). They
    are built once per test run; tests of the training itself and of the kept files use their own folders."""
    if not (data_dir / CACHE_DIR).exists():
        shutil.copytree(_bundled_cache(), data_dir / CACHE_DIR)


def anxin(
    *args: str, kb_dir: Path, data_dir: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot …` as a user would, on a given content folder and data dir, without messengers."""
    if kb_dir == REPO:
        seed_bundled_cache(data_dir)
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


def telegram_channel(services: Any) -> Any:
    """A Telegram channel built as `runner.configured_channels` builds it, from a test's `Services`."""
    from bot.channels.telegram import TelegramChannel
    from bot.channels.telegram_app import TelegramConfig

    config = TelegramConfig.from_settings(services.settings)
    return TelegramChannel(config, services.conversation, services.secret, services.stop)


def wechat_channel(services: Any, **options: Any) -> Any:
    """A WeChat channel built as `runner.configured_channels` builds it, from a test's `Services`."""
    from bot.channels.wechat import WeChatChannel, WeChatConfig

    return WeChatChannel(
        WeChatConfig.from_settings(services.settings), services.conversation, services.secret, **options
    )


# --- PostgreSQL -------------------------------------------------------------------------------------------------
# Tests that need a server use BOT_TEST_DATABASE_URL (default: the local server every development and CI
# machine runs). Without one they are skipped, with the reason in the summary, except under CI=true, where an
# unreachable server fails them: CI must not pass by skipping.

TEST_DATABASE_URL = os.environ.get("BOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_unavailable(reason: str) -> None:
    """Skip, or under CI=true fail, a test that needs something PostgreSQL-related this machine lacks."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


def _probe(url: str) -> str | None:
    import asyncio
    import threading

    import asyncpg

    async def connect() -> None:
        conn = await asyncpg.connect(url, timeout=3)
        await conn.close()

    failure: list[BaseException] = []

    def attempt() -> None:  # in a thread of its own: the caller may be inside a running event loop
        try:
            asyncio.run(connect())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    try:
        if failure:
            raise failure[0]
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's address, once it has answered; skips (fails under CI) when it does not."""
    problem = _probe(TEST_DATABASE_URL)
    if problem is not None:
        postgres_unavailable(f"PostgreSQL not reachable at {TEST_DATABASE_URL} ({problem}); set BOT_TEST_DATABASE_URL")
    return TEST_DATABASE_URL


def with_schema(url: str, schema: str) -> str:
    """`url` with every connection's search_path set to `schema` (asyncpg passes query parameters to the server)."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@contextlib.asynccontextmanager
async def fresh_schema(server_url: str) -> AsyncIterator[str]:
    """The address of a new, empty schema on the server, dropped afterwards: tests never see each other."""
    import secrets as random

    import asyncpg

    schema = f"anxin_test_{random.token_hex(6)}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    try:
        yield with_schema(server_url, schema)
    finally:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


@pytest.fixture
async def pg_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh schema on the test server for one test."""
    async with fresh_schema(postgres_url) as url:
        yield url
@pytest.fixture(scope="session")
def repo_knowledge() -> KnowledgeSource:
    """The bundled content (intents, answers, safety, letters), loaded once: guided flows need all of it.

    Read-only for tests: never reload or edit it (use `kb_dir` for that)."""
    return KnowledgeSource(REPO)


# Acts under way in the tuning set that alone cannot be told from a meal, a chore, the weather or a tired evening
# ("I've taken it", "so cold, my hands shake", "the screen is all double"): the rules do not give them the crisis
# reply on their own; in care mode, right after a check-in, they put the emergency number first. tests/test_safety.py
# holds the tuning set to exactly this list, tests/test_care.py holds care mode to each.
BARE_ACTS = (
    "cant read the screen its blurry", "chi le yao / hao kun", "done it", "done la / 手震到打唔到字",
    "numb all over / its ok now", "so cold cant feel my hands", "water's warm. finally quiet",
    "water's warm. it's fine", "割了", "吃下去了", "吃了", "吃了 好困", "头运 看不亲字了", "好冷", "好冷 手斗",
    "好冷喔 手一直抖", "好凍 手腳冇晒感覺", "好眼瞓 眼都擘唔開", "字都看不清了 手机好重", "屏幕全是重影",
    "已经吃了", "我已经吃了", "水好凉", "水是温的，挺舒服的", "耳朵一直嗡嗡嗡", "身上麻了 动不了了",
    "頭好暈 字都在飄", "頭好暈 睇唔清個mon", "食咗",
)

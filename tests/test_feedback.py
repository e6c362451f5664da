""" "Was this helpful?" after an answer: 👍/👎 buttons or the words 好 / 不好, counted as an event with the intent
and the verdict only (never text), on every store; the numbered options keep their numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import fresh_schema

from bot.channels.console import render_console
from bot.channels.telegram_render import render_telegram
from bot.channels.wechat import render_wechat
from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.messages import say
from bot.models import Incoming, Reply
from bot.state import MemoryStore, Store
from bot.store import SqliteStore
from bot.store_pg import PostgresStore

QUESTION = "催收打电话给我妈妈合法吗"
INTENT = "legal.contact_contacts"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = await SqliteStore.open(tmp_path / "anxin.sqlite3")
    else:
        async with fresh_schema(request.getfixturevalue("postgres_url")) as url:
            opened = await PostgresStore.open(url)
            yield opened
            await opened.close()
        return
    yield opened
    await opened.close()


async def counted(store: Store) -> dict[tuple[str, str | None], int]:
    snapshot = await store.usage("2000-01-01")
    out: dict[tuple[str, str | None], int] = {}
    for row in snapshot.events:
        if row.kind in ("helpful", "unhelpful", "button"):
            out[(row.kind, row.intent)] = out.get((row.kind, row.intent), 0) + row.messages
    return out


async def test_thumbs_are_counted_once_per_answer_with_the_intent_on_every_store(
    knowledge: KnowledgeSource, store: Store
) -> None:
    dialog = Dialog(knowledge, store)
    answer = await dialog.handle(Incoming("telegram", "u1", QUESTION))
    asked = answer[-1].feedback
    assert asked is not None and asked.question == "有帮助吗？"
    up, down = asked.buttons
    thanks = await dialog.handle(Incoming("telegram", "u1", button=up.payload))
    assert thanks[0].text == say("feedback_thanks", "zh-Hans")
    await dialog.handle(Incoming("telegram", "u1", button=up.payload))  # pressed again: thanked, not counted
    await dialog.handle(Incoming("telegram", "u2", QUESTION))
    sorry = await dialog.handle(Incoming("telegram", "u2", button=down.payload))
    assert sorry[0].buttons  # the topics, to try again
    assert await counted(store) == {("helpful", INTENT): 1, ("button", INTENT): 1, ("unhelpful", INTENT): 1}


async def test_typed_words_rate_the_answer_and_numbers_still_pick_the_options(knowledge: KnowledgeSource) -> None:
    store = MemoryStore()
    dialog = Dialog(knowledge, store)
    answer = await dialog.handle(Incoming("wechat", "u1", QUESTION))
    options = [button for reply in answer for button in reply.buttons]
    # One more than the options is out of range, not a vote.
    beyond = await dialog.handle(Incoming("wechat", "u1", str(len(options) + 1)))
    assert beyond[0].text == say("out_of_range", "zh-Hans").format(count=len(options))
    await dialog.handle(Incoming("wechat", "u1", QUESTION))
    first = await dialog.handle(Incoming("wechat", "u1", "1"))
    assert first[0].text and first[0].text != answer[0].text  # the details: option 1, as before
    await dialog.handle(Incoming("wechat", "u1", QUESTION))
    await dialog.handle(Incoming("wechat", "u1", "不好"))
    await dialog.handle(Incoming("wechat", "u1", QUESTION))
    await dialog.handle(Incoming("wechat", "u1", "好"))
    kinds = [(event.kind, event.intent) for event in store.events]
    assert ("unhelpful", INTENT) in kinds and ("helpful", INTENT) in kinds
    assert [kind for kind, _ in kinds].count("helpful") == 1


async def test_好_is_an_ordinary_message_when_no_answer_asked_for_a_rating(knowledge: KnowledgeSource) -> None:
    store = MemoryStore()
    dialog = Dialog(knowledge, store)
    await dialog.handle(Incoming("wechat", "u1", "/start"))
    await dialog.handle(Incoming("wechat", "u1", "好"))
    assert not [event for event in store.events if event.kind in ("helpful", "unhelpful")]


async def test_no_rating_is_asked_in_care_mode_or_after_a_crisis_reply(knowledge: KnowledgeSource) -> None:
    dialog = Dialog(knowledge, MemoryStore())
    crisis = await dialog.handle(Incoming("web", "u1", "我想自杀"))
    after = await dialog.handle(Incoming("web", "u1", QUESTION))
    assert all(reply.feedback is None for reply in [*crisis, *after])


async def test_each_channel_shows_the_question_its_own_way(knowledge: KnowledgeSource) -> None:
    replies: list[Reply] = await Dialog(knowledge, MemoryStore()).handle(Incoming("telegram", "u1", QUESTION))
    last = render_telegram(replies)[-1]
    assert last.keyboard is not None
    thumbs = last.keyboard.inline_keyboard[-1]
    assert [button.text for button in thumbs] == ["👍 有帮助", "👎 没帮助"]  # one row, after the options
    assert all(len(row) == 1 for row in last.keyboard.inline_keyboard[:-1])
    wechat = render_wechat(replies)
    assert wechat.endswith("\n\n有帮助吗？回复 好 / 不好")
    assert "👍" not in wechat
    assert render_console(replies).endswith("有帮助吗？回复 好 / 不好")

"""The conversation core: one person's messages in order, other people's side by side, and no failure
reaching the person as anything but a short apology."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.conversation import Conversation
from bot.dialog import Dialog, Turn
from bot.knowledge import KnowledgeSource
from bot.models import Incoming, Reply
from bot.state import MemoryStore, Session


class SlowStore(MemoryStore):
    """A store whose session reads take a while, so turns overlap as they do under load."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.order: list[str] = []

    async def get_session(self, user: str) -> Session | None:
        await asyncio.sleep(self.delay)
        return await super().get_session(user)

    async def put_session(self, session: Session) -> None:
        self.order.append(session.user)
        await super().put_session(session)


async def test_a_question_and_forget_sent_together_leave_nothing_behind(knowledge: KnowledgeSource) -> None:
    store = SlowStore(0.01)
    conversation = Conversation(Dialog(knowledge, store))
    question = asyncio.create_task(conversation.handle(Incoming("wechat", "u1", "催收打电话给我妈妈合法吗")))
    forget = asyncio.create_task(conversation.handle(Incoming("wechat", "u1", "/forget")))
    await asyncio.gather(question, forget)
    assert store.sessions == {} and store.events == [] and store.unanswered == []


async def test_other_peoples_messages_are_not_held_up_by_one_persons(knowledge: KnowledgeSource) -> None:
    store = SlowStore(0.05)
    conversation = Conversation(Dialog(knowledge, store))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(conversation.handle(Incoming("test", f"user{n}", "你好")) for n in range(20)))
    assert loop.time() - started < 0.05 * 5  # 20 people side by side, not 20 × the delay


async def test_one_persons_messages_are_answered_in_the_order_they_came(knowledge: KnowledgeSource) -> None:
    store = SlowStore(0.005)
    conversation = Conversation(Dialog(knowledge, store))
    texts = ["你好", "爆通讯录了怎么办", "2", "/help", "今天天气怎么样"]
    await asyncio.gather(*(conversation.handle(Incoming("test", "u1", text)) for text in texts))
    assert [event.kind for event in store.events] == ["answer", "answer", "answer", "command", "fallback"]
    assert len(conversation.order) == 0  # nobody in flight: no memory kept per user


class BrokenDialog(Dialog):
    async def respond(self, incoming: Incoming) -> Turn:
        raise RuntimeError("something inside broke")


async def test_a_failure_inside_becomes_a_short_apology_and_a_log_line_without_the_text(
    knowledge: KnowledgeSource, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = Conversation(BrokenDialog(knowledge, MemoryStore()))
    with caplog.at_level(logging.ERROR):
        replies = await conversation.handle(Incoming("wechat", "u1", "my secret question about my debts"))
    assert replies == [Reply("Sorry, something went wrong. Please send that again in a moment.")]
    assert "secret question" not in caplog.text and "could not be handled" in caplog.text

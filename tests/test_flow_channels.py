"""Guided flows on every channel: Telegram through the real PTB stack and a fake Bot API on 127.0.0.1, WeChat
through real HTTP requests to its route, the console as `anxin chat` with piped input."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import fake_bot_api as fake
import pytest
from conftest import REPO, anxin
from fake_bot_api import FakeBotApi
from test_telegram import USER, buttons_of, started_channel, text_of
from test_wechat import Client, http_client, make_channel, message_xml, post_plain, reply_content

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_render import MAX_MESSAGE_CHARS, render_telegram
from bot.channels.wechat import MAX_REPLY_BYTES, render_wechat
from bot.knowledge import KnowledgeSource
from bot.models import Button, Reply
from bot.state import MemoryStore

_ids = itertools.count(500_000)


# --- rendering (pure) -----------------------------------------------------------------------------------------


def test_telegram_puts_a_letter_in_a_copyable_block_under_its_heading() -> None:
    letter = "致<花呗>客户服务：\n1. 夜间催收 & 辱骂"
    [out] = render_telegram([Reply("第一封\n怎么发：95188", (Button("下一步", "f:next.x"),), copy=letter)])
    assert out.html == "第一封\n怎么发：95188\n\n<pre>致&lt;花呗&gt;客户服务：\n1. 夜间催收 &amp; 辱骂</pre>"
    assert out.keyboard is not None


def test_telegram_splits_a_very_long_letter_into_blocks_that_each_fit() -> None:
    letter = "\n\n".join(["催收人员在夜间打电话。" * 120] * 6)
    out = render_telegram([Reply("第一封", copy=letter)])
    assert len(out) > 2 and out[0].html == "第一封"
    assert all(chunk.html.startswith("<pre>") and chunk.html.endswith("</pre>") for chunk in out[1:])
    assert all(len(html.unescape(re.sub("</?pre>", "", chunk.html))) <= MAX_MESSAGE_CHARS for chunk in out)


def test_wechat_shows_a_letter_after_its_heading() -> None:
    rendered = render_wechat([Reply("第一封", (Button("下一部分（2/5）", "f:page"),), copy="致花呗：")])
    assert rendered == "第一封\n\n致花呗：\n\n1. 下一部分（2/5）\n回复 1"


# --- Telegram ----------------------------------------------------------------------------------------------------


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    async with api.running():
        yield api


@pytest.fixture
async def telegram(
    bot_api: FakeBotApi, repo_knowledge: KnowledgeSource, memory_store: MemoryStore
) -> AsyncIterator[TelegramChannel]:
    async with started_channel(bot_api, repo_knowledge, memory_store) as channel:
        yield channel


async def tap(bot_api: FakeBotApi, payload: str, count: int = 1) -> list[fake.Call]:
    bot_api.push(fake.button_press(USER, payload))
    return await bot_api.replies(USER, count=count)


async def type_(bot_api: FakeBotApi, text: str, count: int = 1) -> list[fake.Call]:
    bot_api.push(fake.message(USER, text))
    return await bot_api.replies(USER, count=count)


async def test_telegram_complaint_with_buttons_skip_back_and_the_letters_in_code_blocks(
    bot_api: FakeBotApi, telegram: TelegramChannel, memory_store: MemoryStore
) -> None:
    [first] = await type_(bot_api, "/complain")
    assert [payload for _, payload in buttons_of(first)][:3] == [
        "f:c.region.mainland",
        "f:c.region.hk",
        "f:c.region.tw",
    ]
    await tap(bot_api, "f:c.region.mainland")
    await tap(bot_api, "f:c.lender.huabei")
    [chosen] = await tap(bot_api, "f:c.conduct.expose")
    assert ("✓ 把我的信息发到网上或群里", "f:c.conduct.expose") in buttons_of(chosen)
    await tap(bot_api, "f:c.conduct.night")
    await tap(bot_api, "f:next.conduct")
    [back] = await tap(bot_api, "f:back.since")
    assert "（3/8）他们做了什么" in text_of(back)
    await tap(bot_api, "f:next.conduct")
    for step in ("since", "often", "details", "evidence", "wants"):
        await tap(bot_api, f"f:skip.{step}", count=1 if step != "wants" else 6)
    final = bot_api.sent_to(USER)[-6:]
    assert text_of(final[0]).startswith("写好了：3封信")
    blocks = [text_of(call) for call in final if "<pre>" in text_of(call)]
    assert len(blocks) == 3 and all(call.params["parse_mode"] == "HTML" for call in final)
    lender = html.unescape(blocks[0].split("<pre>", 1)[1].removesuffix("</pre>"))
    assert lender.startswith("致花呗客户服务") and "个人信息保护法第10条" in lender
    assert "国家推荐性标准要求，除非借款人同意，22:00至次日8:00不得催收（GB/T 45251—2025）" in lender
    assert [payload for _, payload in buttons_of(final[-1])] == ["a:report.no_response", "f:complain"]
    # Counted once sent, and only as the kinds of letter written.
    await bot_api.wait_for(lambda: any(event.kind == "letter" for event in memory_store.events))
    assert [event.intent for event in memory_store.events if event.kind == "letter"] == [
        "letters:lender+regulator+police"
    ]


async def test_telegram_crisis_in_the_middle_then_carry_on(
    bot_api: FakeBotApi, telegram: TelegramChannel, memory_store: MemoryStore
) -> None:
    await type_(bot_api, "/complain")
    await tap(bot_api, "f:c.region.mainland")
    [crisis] = await type_(bot_api, "我不想活了")
    assert "12356" in text_of(crisis)
    assert not any(payload.startswith("f:") for _, payload in buttons_of(crisis))
    _, offer = await tap(bot_api, "k:safe_now", count=2)
    assert [payload for _, payload in buttons_of(offer)] == ["f:resume", "f:cancel"]
    [resumed] = await tap(bot_api, "f:resume")
    assert "（2/8）是哪个平台" in text_of(resumed)
    [cancelled] = await type_(bot_api, "/cancel")
    assert "回答已经删除" in text_of(cancelled)


async def test_telegram_one_tap_each_way_says_whose_life_is_at_risk(
    bot_api: FakeBotApi, telegram: TelegramChannel
) -> None:
    [crisis] = await type_(bot_api, "我不想活了")
    assert buttons_of(crisis)[-1] == ("是别人有危险", "k:someone_else")
    [helping] = await tap(bot_api, "k:someone_else")
    assert text_of(helping).startswith("TA 现在可能有危险")
    assert buttons_of(helping) == [
        ("我该怎么陪着 TA", "k:other_help"),
        ("电话没人接", "k:no_answer"),
        ("其实是我自己有危险", "k:its_me"),
    ]
    [mine] = await tap(bot_api, "k:its_me")  # the writer's crisis reply again, in the words not yet used
    assert text_of(mine).startswith("我还在这里") and "12356" in text_of(mine) and "TA" not in text_of(mine)
    assert buttons_of(mine)[-1] == ("是别人有危险", "k:someone_else")


async def test_telegram_rate_question_then_the_figure(bot_api: FakeBotApi, telegram: TelegramChannel) -> None:
    [question] = await type_(bot_api, "借了1万 到手8500 分12期 这利息合法吗")
    assert text_of(question).startswith("每期还多少钱")
    [answer] = await type_(bot_api, "1000")
    assert "年化约69%" in text_of(answer) and "按月复利约96%" in text_of(answer)
    assert [payload for _, payload in buttons_of(answer)] == [
        "a:rights.debt_statement",
        "f:complain.fees",
        "a:rights.negotiate",
    ]


# --- WeChat ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def wechat(repo_knowledge: KnowledgeSource, memory_store: MemoryStore) -> AsyncIterator[Client]:
    async with http_client(make_channel(repo_knowledge, memory_store)) as http:
        yield http


async def say(client: Client, text: str) -> str:
    return reply_content(await post_plain(client, message_xml(Content=text, msg_id=str(next(_ids)))))


async def test_wechat_complaint_by_numbers_with_letters_in_parts_within_2048_bytes(
    wechat: Client, memory_store: MemoryStore
) -> None:
    first = await say(wechat, "/complain")
    assert "1. 中国大陆" in first and first.endswith("回复 1 / 2 / 3 / 4 / 5")
    await say(wechat, "1")  # mainland
    await say(wechat, "1")  # 花呗
    conduct = await say(wechat, "1 4 5 7 8")  # several at once, then on
    assert "（4/8）大概从什么时候开始" in conduct
    await say(wechat, "跳过")
    back = await say(wechat, "返回")
    assert "（4/8）" in back
    await say(wechat, "3")
    await say(wechat, "1")
    await say(wechat, "13812345678 自称张经理")
    await say(wechat, "1 3")
    parts = [await say(wechat, "1 5")]
    while parts[-1].rstrip().endswith("回复 1") and "下一部分" in parts[-1]:
        parts.append(await say(wechat, "1"))
    assert len(parts) >= 5  # three letters and the checklist do not fit one WeChat message
    assert all(len(part.encode()) <= MAX_REPLY_BYTES and "\n…" not in part for part in parts)
    whole = "\n".join(parts)
    assert "致花呗客户服务" in whole and "对方使用的号码、自称或工号：13812345678 自称张经理" in whole
    assert "刑法第253条之一" in whole and "（1/2）" in whole  # a letter too long for one message comes in parts
    assert "接下来怎么做" in parts[-1] and "下一部分" not in parts[-1]
    kinds = [event.kind for event in memory_store.events]
    assert kinds.count("letter") == 1 and kinds[-1] == "flow"


async def test_wechat_restart_in_the_middle_says_the_answers_are_gone(
    repo_knowledge: KnowledgeSource, memory_store: MemoryStore
) -> None:
    async with http_client(make_channel(repo_knowledge, memory_store)) as before:
        await say(before, "/complain")
        await say(before, "1")
        await say(before, "拍拍贷")
    async with http_client(make_channel(repo_knowledge, memory_store)) as after:  # a new process, the same store
        reply = await say(after, "1")
        assert "中断" in reply and reply.endswith("1. 重新写投诉信\n回复 1")
        assert "（1/7）" in await say(after, "1")  # the region chosen before is kept, like /region


async def test_wechat_answers_by_number_say_whose_life_is_at_risk(wechat: Client) -> None:
    crisis = await say(wechat, "我真的不想活了")
    assert crisis.endswith("3. 我现在安全了\n4. 是别人有危险\n回复 1 / 2 / 3 / 4")
    helping = await say(wechat, "4")
    assert helping.startswith("TA 现在可能有危险") and "110" in helping
    assert helping.endswith("1. 我该怎么陪着 TA\n2. 电话没人接\n3. 其实是我自己有危险\n回复 1 / 2 / 3")
    mine = await say(wechat, "3")
    assert mine.startswith("我还在这里") and "12356" in mine and "TA" not in mine
    assert all(len(reply.encode()) <= MAX_REPLY_BYTES for reply in (crisis, helping, mine))


async def test_wechat_rate_answer_fits_one_message(wechat: Client) -> None:
    reply = await say(wechat, "借了10000 到手8500 分12期 每期还1000 年化多少")
    assert "年化约69%" in reply and len(reply.encode()) <= MAX_REPLY_BYTES and "\n…" not in reply
    assert reply.endswith("1. 要一份费用明细\n2. 帮我写投诉信\n3. 怎么协商还款\n回复 1 / 2 / 3")


# --- console -----------------------------------------------------------------------------------------------------


def test_console_walks_the_complaint_and_prints_the_letter_between_rules(data_dir: Path) -> None:
    typed = "\n".join(["/complain", "1", "2", "6", "下一步", "跳过", "跳过", "跳过", "7", "下一步", "跳过", ""])
    result = anxin("chat", kb_dir=REPO, data_dir=data_dir, stdin=typed)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "写好了：2封信" in out and "致借呗客户服务" in out
    assert "中国互联网金融协会的自律公约要求" in out
    assert re.search(r"-{40}\n致借呗客户服务.*?\n-{40}", out, re.DOTALL)
    assert "还没有证据也没关系" in out

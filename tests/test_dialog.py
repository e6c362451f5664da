"""The dialog engine end to end over the fixture knowledge base and an in-memory store."""

from __future__ import annotations

import logging

import pytest

from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.models import Incoming, Reply
from bot.state import MemoryStore, Session, UsageEvent

USER = "u" * 64


async def say(dialog: Dialog, text: str = "", *, button: str | None = None, media: str | None = None) -> Reply:
    replies = await dialog.handle(Incoming("test", USER, text, button=button, media=media))
    assert len(replies) == 1
    return replies[0]


def payloads(reply: Reply) -> list[str]:
    return [button.payload for button in reply.buttons]


async def test_question_gets_answer_with_sources_and_follow_up_buttons(dialog: Dialog) -> None:
    reply = await say(dialog, "催收打电话给我妈妈合法吗")
    assert reply.text.startswith("不合法。")
    # The sources as one line of short names, then the month the answer was last checked.
    assert reply.text.endswith("\n\n依据：民法典第1033条；GB/T 45251—2025（推荐性国家标准）\n核对于 2026-11")
    # Details, related questions, then the guided complaint about what this answer is about.
    assert payloads(reply) == [
        "m:legal.contact_contacts",
        "a:rights.family_liability",
        "a:report.regulator",
        "f:complain.contacts",
    ]


async def test_traditional_question_gets_traditional_answer(dialog: Dialog) -> None:
    reply = await say(dialog, "催收打電話給我媽媽合法嗎")
    assert reply.text.startswith("不合法。催收只能找借款人本人。")
    assert "依據" in reply.text
    assert reply.buttons[1].label == "家人要替我還錢嗎"


async def test_english_question_gets_english_answer(dialog: Dialog) -> None:
    reply = await say(dialog, "my collector is calling everyone in my contacts")
    assert reply.text.startswith("No. Collectors may only contact you.")
    assert "Sources:" in reply.text


async def test_pressing_a_follow_up_button_answers_it(dialog: Dialog) -> None:
    await say(dialog, "爆通讯录了怎么办")
    reply = await say(dialog, button="a:rights.family_liability")
    assert reply.text.startswith("家人没有替你还钱的义务。")


async def test_more_button_shows_details(dialog: Dialog) -> None:
    reply = await say(dialog, button="m:legal.contact_contacts")
    assert reply.text == "保留通话录音和截图。"


async def test_typing_a_number_picks_the_option_offered(dialog: Dialog) -> None:
    await say(dialog, "爆通讯录了怎么办")
    reply = await say(dialog, "2")
    assert reply.text.startswith("家人没有替你还钱的义务。")


async def test_clarification_offers_candidates_and_a_way_out(dialog: Dialog) -> None:
    reply = await say(dialog, "电话")
    assert reply.text.startswith("我不太确定")
    assert payloads(reply)[-1] == "n:"
    assert all(p.startswith("a:legal.") for p in payloads(reply)[:-1])
    chosen = await say(dialog, "1")
    assert chosen.text.startswith(("晚上十点", "频繁电话"))


async def test_crisis_inside_a_clarification_still_gets_the_crisis_reply(dialog: Dialog) -> None:
    await say(dialog, "电话")
    reply = await say(dialog, "我真的不想活了")
    assert "12356" in reply.text


async def test_crisis_comes_before_commands_of_state(dialog: Dialog, memory_store: MemoryStore) -> None:
    reply = await say(dialog, "欠了好多钱,我想死")
    assert "12356" in reply.text
    assert memory_store.events[-1].kind == "crisis"


async def test_fallback_offers_the_topic_menu(dialog: Dialog, memory_store: MemoryStore) -> None:
    reply = await say(dialog, "今天天气怎么样")
    assert reply.text.startswith("抱歉")
    assert payloads(reply) == ["t:legal", "t:report", "t:rights", "t:wellbeing"]
    assert memory_store.unanswered[-1][3] == "今天天气怎么样"


async def test_unanswered_question_is_kept_only_after_redaction(dialog: Dialog, memory_store: MemoryStore) -> None:
    await say(dialog, "我电话是13812345678 明天天气")
    assert memory_store.unanswered[-1][3] == "我电话是[手机号] 明天天气"


async def test_unanswered_questions_can_be_turned_off(knowledge: KnowledgeSource, memory_store: MemoryStore) -> None:
    dialog = Dialog(knowledge, memory_store, keep_unanswered=False)
    await say(dialog, "今天天气怎么样")
    assert memory_store.unanswered == []


async def test_topic_button_lists_that_topics_questions(dialog: Dialog) -> None:
    reply = await say(dialog, button="t:legal")
    assert payloads(reply) == ["a:legal.contact_contacts", "a:legal.call_frequency", "a:legal.call_hours", "c:"]


@pytest.mark.parametrize("payload", ["a:legal.gone", "zzz", "", "t:nope", "m:meta.greeting", "l:fr", "a:" + "x" * 300])
async def test_stale_or_forged_buttons_get_the_menu(dialog: Dialog, payload: str) -> None:
    reply = await say(dialog, button=payload)
    assert reply.text.startswith("这个选项已经失效了")
    assert payloads(reply)[0] == "t:legal"


async def test_start_welcomes_with_the_menu(dialog: Dialog) -> None:
    reply = await say(dialog, "/start")
    assert reply.text == "你好,我是安心。"
    assert payloads(reply)[0] == "t:legal"


async def test_help_command_with_bot_name_suffix(dialog: Dialog) -> None:
    reply = await say(dialog, "/help@anxin_bot")
    assert payloads(reply)[0] == "t:legal"


async def test_lang_command_pins_the_language(dialog: Dialog) -> None:
    choose = await say(dialog, "/lang")
    assert payloads(choose) == ["l:zh-Hans", "l:zh-Hant", "l:en"]
    assert (await say(dialog, "/lang en")).text.startswith("OK, I'll answer in English")
    reply = await say(dialog, "爆通讯录了怎么办")  # written in Chinese, answered in the chosen language
    assert reply.text.startswith("No. Collectors may only contact you.")


async def test_lang_button_pins_traditional(dialog: Dialog) -> None:
    await say(dialog, button="l:zh-Hant")
    reply = await say(dialog, "爆通讯录了怎么办")
    assert "依據" in reply.text


async def test_privacy_command(dialog: Dialog) -> None:
    reply = await say(dialog, "/privacy")
    assert "/forget" in reply.text


async def test_unknown_command(dialog: Dialog) -> None:
    reply = await say(dialog, "/stats")
    assert reply.text.startswith("没有这个命令")


async def test_forget_removes_everything_and_writes_nothing_back(dialog: Dialog, memory_store: MemoryStore) -> None:
    await say(dialog, "爆通讯录了怎么办")
    assert memory_store.sessions and memory_store.events
    reply = await say(dialog, "/forget")
    assert reply.text.startswith("已删除")
    assert USER not in memory_store.sessions
    assert all(event.user != USER for event in memory_store.events)


@pytest.mark.parametrize(("text", "media"), [("", "sticker"), ("", "voice"), ("   ", None), ("", None)])
async def test_stickers_voice_and_empty_messages_get_a_gentle_prompt(
    dialog: Dialog, text: str, media: str | None
) -> None:
    reply = await say(dialog, text, media=media)
    assert "打出来" in reply.text


async def test_events_carry_no_text(dialog: Dialog, memory_store: MemoryStore) -> None:
    await say(dialog, "爆通讯录了怎么办")
    event = memory_store.events[-1]
    assert (event.kind, event.intent, event.channel, event.locale) == (
        "answer",
        "legal.contact_contacts",
        "test",
        "zh-Hans",
    )
    assert "通讯录" not in repr(event)


class BrokenStore(MemoryStore):
    """A store whose disk has gone away."""

    async def get_session(self, user: str) -> Session | None:
        raise OSError("disk I/O error")

    async def put_session(self, session: Session) -> None:
        raise OSError("disk I/O error")

    async def record_event(self, event: UsageEvent) -> None:
        raise OSError("disk I/O error")


async def test_a_failing_store_degrades_without_silence(
    knowledge: KnowledgeSource, caplog: pytest.LogCaptureFixture
) -> None:
    dialog = Dialog(knowledge, BrokenStore())
    with caplog.at_level(logging.ERROR, logger="bot.dialog"):
        for _ in range(5):
            reply = await say(dialog, "爆通讯录了怎么办")
            assert reply.text.startswith("不合法。")
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


# --- typed choices, overviews, follow-ups, fallbacks (issue: understanding real messages) -------------------


@pytest.mark.parametrize("typed", ["2", "第二个", "选2", "2号", "the second one", "option two", "家人要替我還錢嗎"])
async def test_a_choice_can_be_typed_as_a_number_an_ordinal_or_the_option_text(dialog: Dialog, typed: str) -> None:
    await say(dialog, "爆通讯录了怎么办")  # offers [more, 家人要替我还钱吗, 怎么向监管部门投诉]
    reply = await say(dialog, typed)
    assert "1064" in reply.text  # the family-liability answer, in the script the choice was typed in


async def test_a_number_beyond_the_options_says_how_many_there_are_and_shows_them_again(dialog: Dialog) -> None:
    first = await say(dialog, "爆通讯录了怎么办")
    reply = await say(dialog, "7")
    assert "4" in reply.text and "选项" in reply.text
    assert payloads(reply) == payloads(first)


async def test_an_ordinal_inside_a_sentence_is_a_question_not_a_choice(dialog: Dialog) -> None:
    await say(dialog, "爆通讯录了怎么办")
    reply = await say(dialog, "第二个月他们还在打我妈电话")
    assert not reply.text.startswith("家人没有替你还钱的义务。")


async def test_several_problems_in_one_message_get_an_overview_not_a_choice(dialog: Dialog) -> None:
    reply = await say(dialog, "催收一天打几十个电话。半夜打电话催收。他们还打给紧急联系人")
    assert reply.text.startswith("你提到了几件事")
    assert set(payloads(reply)) >= {"a:legal.call_frequency", "a:legal.call_hours"}


async def test_several_things_done_in_one_sentence_and_asked_about_together_get_an_overview(dialog: Dialog) -> None:
    reply = await say(dialog, "催收不停地打，还专挑半夜打，这合法吗")
    assert reply.text.startswith("你提到了几件事")
    assert payloads(reply) == ["a:legal.call_frequency", "a:legal.call_hours"]  # one button each, in the order told
    assert len(reply.text.split("\n\n")) == 3  # the heading, then one line on each


async def test_asking_the_same_thing_again_gets_the_details_not_a_repeat(dialog: Dialog) -> None:
    first = await say(dialog, "催收打电话给我妈妈合法吗")
    again = await say(dialog, "那催收联系我的家人我还能怎么办")
    assert again.text != first.text
    assert again.text == "保留通话录音和截图。"  # the answer's `more`


async def test_upset_message_that_matches_nothing_gets_a_warm_reply_with_a_line(dialog: Dialog) -> None:
    reply = await say(dialog, "😭😭😭")
    assert reply.text.startswith("听起来你现在很难受") and "12356" in reply.text
    assert "t:legal" in payloads(reply)


async def test_plain_unmatched_question_still_gets_the_fallback_menu(dialog: Dialog) -> None:
    reply = await say(dialog, "今天天气怎么样")
    assert reply.text.startswith("抱歉")

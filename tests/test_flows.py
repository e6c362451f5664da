"""Guided flows through the dialog: the loan-cost exchange (issue 20) and the /complain letters (issue 18).

The bundled content is used (letters/, faq/, intents/), since the letters and the rules they cite are the
product. Every test talks to `Dialog.handle` as a channel would: text, button payloads, numbers.
"""

from __future__ import annotations

import re

import pytest

from bot.dialog import Dialog
from bot.flows.engine import Flows
from bot.flows.memory import FLOW_SECONDS
from bot.knowledge import KnowledgeSource
from bot.models import Incoming, Reply
from bot.state import MemoryStore, Session

USER = "f" * 64


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def dialog(repo_knowledge: KnowledgeSource, store: MemoryStore, clock: Clock) -> Dialog:
    return Dialog(repo_knowledge, store, clock=clock)


async def send(dialog: Dialog, text: str = "", *, button: str | None = None, channel: str = "test") -> list[Reply]:
    return await dialog.handle(Incoming(channel, USER, text, button=button))


def text_of(replies: list[Reply]) -> str:
    return "\n\n".join(part for reply in replies for part in (reply.text, reply.copy) if part)


def payloads(replies: list[Reply]) -> list[str]:
    return [button.payload for reply in replies for button in reply.buttons]


def letters_of(replies: list[Reply]) -> dict[str, str]:
    """The letters of the final turn by their heading's first words."""
    return {reply.text.split("\n", 1)[0]: reply.copy for reply in replies if reply.copy}


async def in_mainland(dialog: Dialog, store: MemoryStore) -> None:
    await store.put_session(Session(USER, locale="zh-Hans", region="mainland", region_pinned=True))


# --- the loan-cost exchange -----------------------------------------------------------------------------------


async def test_a_described_loan_gets_its_real_annual_rate_with_the_up_front_deduction_explained(
    dialog: Dialog, store: MemoryStore
) -> None:
    replies = await send(dialog, "借了10000 到手8500 分12期 每期还1000 年化多少")
    text = text_of(replies)
    assert "年化约69%" in text and "按月复利约96%" in text
    assert "砍头息" in text and "第670条" in text and "8,500元计算本金" in text
    assert "12%" in text and "不能据此说借款违法" in text  # the cap for private lending, framed as FACTS allows
    assert "中国人民银行公告〔2021〕第3号" in text
    assert payloads(replies) == ["a:rights.debt_statement", "f:complain.fees", "a:rights.negotiate"]
    assert [(event.kind, event.intent) for event in store.events] == [("rate", "legal.interest_fees")]
    assert store.unanswered == []


async def test_a_daily_rate_is_annualised(dialog: Dialog) -> None:
    text = text_of(await send(dialog, "日息万五"))
    assert "年化18.25%" in text and "按日复利约20%" in text


async def test_hong_kong_and_taiwan_get_their_own_rules_for_the_same_loan(dialog: Dialog, store: MemoryStore) -> None:
    hk = text_of(await send(dialog, "我喺香港，借咗10000 到手8500 分12期 每期還1000 年息幾多"))
    assert "放債人條例" in hk and "48%" in hk and "民法典" not in hk
    await store.forget(USER)
    tw = text_of(await send(dialog, "我在台灣 借了10000 到手8500 分12期 每期還1000 年利率多少"))
    assert "第205條" in tw and "16%" in tw and "民法典" not in tw


async def test_missing_figures_get_one_question_and_the_next_messages_complete_the_loan(
    dialog: Dialog, store: MemoryStore
) -> None:
    question = text_of(await send(dialog, "借了1万 到手8500 这利息合法吗"))
    assert question.startswith("每期还多少、还几期？")
    assert "/cancel" in question
    assert payloads(await send(dialog, "12")) == []  # a number answers the question, it picks no button
    answer = text_of(await send(dialog, "1000"))
    assert "年化约69%" in answer
    kinds = [event.kind for event in store.events]
    assert kinds == ["flow", "flow", "rate"]
    assert store.unanswered == []  # the figures were never kept, not even as an unanswered question


async def test_two_bare_numbers_answer_two_figures_in_the_order_asked(dialog: Dialog) -> None:
    await send(dialog, "借了一万，年化多少")
    assert "年化约35%" in text_of(await send(dialog, "1000 12"))


async def test_impossible_figures_get_a_clear_message_and_the_rules_not_a_crash(dialog: Dialog) -> None:
    replies = await send(dialog, "借了10000 到手12000 分12期 每期还1000 这利息合法吗")
    text = text_of(replies)
    assert "到手的钱比借款金额还多" in text
    assert "依据" in text  # then the ordinary answer on interest


async def test_cancel_ends_the_rate_question_and_a_number_after_it_is_not_an_answer(dialog: Dialog) -> None:
    await send(dialog, "借了1万 到手8500 年化多少")
    cancelled = text_of(await send(dialog, "/cancel"))
    assert "已取消" in cancelled
    assert "年化" not in text_of(await send(dialog, "12"))


async def test_a_new_question_instead_of_the_figure_is_answered_and_the_exchange_steps_aside(dialog: Dialog) -> None:
    await send(dialog, "借了1万 到手8500 年化多少")
    text = text_of(await send(dialog, "催收打电话给我妈妈合法吗"))
    assert "依据" in text and "每期还多少" not in text
    assert not dialog.flows.active(USER)


async def test_an_answer_on_interest_offers_to_work_out_the_rate(dialog: Dialog) -> None:
    replies = await send(dialog, "砍头息合法吗")
    assert "f:rate" in payloads(replies)
    question = text_of(await send(dialog, button="f:rate"))
    assert question.startswith("到手多少钱？每期还多少、还几期？")
    assert "年化约69%" in text_of(await send(dialog, "借1万 到手8500 分12期 每期还1000"))


# --- the complaint: starting it -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_text", ["帮我写投诉", "帮我写一封投诉信", "投诉信怎么写", "help me write a complaint"]
)
async def test_asking_for_a_complaint_starts_the_guided_flow(dialog: Dialog, request_text: str) -> None:
    replies = await send(dialog, request_text)
    assert "/cancel" in text_of(replies)
    assert any(payload.startswith("f:c.") for payload in payloads(replies))


async def test_complain_command_asks_where_the_user_is_when_it_is_not_known(dialog: Dialog) -> None:
    replies = await send(dialog, "/complain")
    assert "（1/8）你在哪里" in text_of(replies)
    assert payloads(replies)[:3] == ["f:c.region.mainland", "f:c.region.hk", "f:c.region.tw"]


async def test_a_legal_answer_has_a_complaint_button_that_starts_with_its_topic_chosen(
    dialog: Dialog, store: MemoryStore
) -> None:
    await in_mainland(dialog, store)
    answer = await send(dialog, "催收半夜打电话合法吗")
    assert payloads(answer)[-1] == "f:complain.night"
    await send(dialog, button="f:complain.night")
    conduct = text_of(await send(dialog, button="f:c.lender.jiebei"))
    assert "（2/7）他们做了什么" in conduct and "已选：深夜或清早打来" in conduct


async def test_every_report_answer_offers_the_complaint(dialog: Dialog) -> None:
    replies = await send(dialog, "怎么向12378投诉")
    assert payloads(replies)[-1] == "f:complain"


# --- the complaint: walking it ---------------------------------------------------------------------------------


async def walk_mainland(dialog: Dialog, store: MemoryStore, *, conduct: list[str]) -> list[Reply]:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, button="f:c.lender.huabei")
    for item in conduct:
        await send(dialog, button=f"f:c.conduct.{item}")
    await send(dialog, button="f:next.conduct")
    await send(dialog, button="f:c.since.quarter")
    await send(dialog, button="f:c.often.many")
    await send(dialog, button="f:skip.details")
    await send(dialog, button="f:c.evidence.recordings")
    await send(dialog, button="f:next.evidence")
    await send(dialog, button="f:c.wants.delete")
    return await send(dialog, button="f:next.wants")


async def test_posted_personal_data_is_answered_with_the_civil_code_and_the_pipl(
    dialog: Dialog, store: MemoryStore
) -> None:
    replies = await walk_mainland(dialog, store, conduct=["expose"])
    letters = letters_of(replies)
    lender = letters["第一封：给平台的投诉（先发这封）"]
    assert "致花呗客户服务" in lender
    assert "民法典第1033条、第1034条" in lender and "个人信息保护法第10条" in lender
    assert "GB/T" not in lender and "22:00" not in lender  # nothing about night calls was chosen
    police = letters["报警材料（有威胁、上门或曝光隐私时用）"]
    assert "刑法第253条之一" in police
    assert "已持续一到三个月；每天十次以上" in lender
    assert "证据：通话录音" in lender
    assert "立即删除发布的我的个人信息" in lender


async def test_night_calls_cite_the_recommended_standard_framed_as_a_standard_never_as_law(
    dialog: Dialog, store: MemoryStore
) -> None:
    replies = await walk_mainland(dialog, store, conduct=["night"])
    letters = letters_of(replies)
    assert set(letters) == {"第一封：给平台的投诉（先发这封）", "第二封：给金融监管部门的投诉（平台不处理时发）"}
    lender = letters["第一封：给平台的投诉（先发这封）"]
    cited = [line for line in lender.splitlines() if "GB/T 45251—2025" in line]
    assert cited == ["2. 国家推荐性标准要求，除非借款人同意，22:00至次日8:00不得催收（GB/T 45251—2025）"]
    assert "法律上" not in lender and "个人信息保护法" not in lender and "刑法" not in lender


async def test_the_final_turn_has_the_checklist_and_what_comes_next_and_counts_only_the_letter_kinds(
    dialog: Dialog, store: MemoryStore
) -> None:
    replies = await walk_mainland(dialog, store, conduct=["threats", "night"])
    text = text_of(replies)
    assert replies[0].text.startswith("写好了：3封信")
    assert "证据清单" in text and "你已经有：通话录音" in text and "民诉法解释第106条" in text
    assert "接下来怎么做" in text and "没有核实过的期限" in text
    assert "有危险马上打110" in text  # {emergency} filled for mainland China
    assert payloads(replies)[-2:] == ["a:report.no_response", "f:complain"]
    assert store.events[-1].kind == "letter"
    assert store.events[-1].intent == "letters:lender+regulator+police"
    assert not dialog.flows.active(USER)  # the answers were deleted when the letters were written


async def test_skipping_everything_still_writes_a_letter_with_blanks_to_fill(
    dialog: Dialog, store: MemoryStore
) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    for step in ("lender", "conduct", "since", "often", "details", "evidence", "wants"):
        replies = await send(dialog, button=f"f:skip.{step}")
    lender = letters_of(replies)["第一封：给平台的投诉（先发这封）"]
    assert "致________客户服务" in lender and "催收方式严重干扰了我的正常生活" in lender
    assert "时间和频率" not in lender and "证据：" not in lender  # skipped: the lines go, no empty labels
    assert "立即停止违规催收" in lender


async def test_back_returns_to_the_previous_question_with_its_answer_kept(dialog: Dialog, store: MemoryStore) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, button="f:c.lender.card")
    await send(dialog, button="f:c.conduct.threats")
    await send(dialog, button="f:next.conduct")
    back = text_of(await send(dialog, button="f:back.since"))
    assert "（2/7）他们做了什么" in back and "已选：威胁我或家人" in back
    again = text_of(await send(dialog, "返回"))
    assert "（1/7）是哪个平台" in again


async def test_typed_answers_numbers_and_words_work_as_on_wechat(dialog: Dialog, store: MemoryStore) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, "拍拍贷")  # a lender's name typed
    conduct = await send(dialog, "1 4")  # two choices at once, then on
    assert "（3/7）" in text_of(conduct)
    await send(dialog, "从今年3月开始")
    await send(dialog, "跳过")
    await send(dialog, "跳过")
    await send(dialog, "还没有")  # a choice's own text
    await send(dialog, "下一步")
    final = await send(dialog, "下一步")
    lender = letters_of(final)["第一封：给平台的投诉（先发这封）"]
    assert "致拍拍贷客户服务" in lender and "时间和频率：从今年3月开始" in lender
    assert "打电话、发信息给我的家人" in lender and "在夜间" in lender
    assert "现金贷" not in lender  # that rule is for fees, which were not chosen
    assert "还没有证据也没关系" in text_of(final)


async def test_an_old_button_from_an_earlier_question_is_not_taken_as_an_answer(
    dialog: Dialog, store: MemoryStore
) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, button="f:c.lender.huabei")
    stale = text_of(await send(dialog, button="f:c.lender.jiebei"))
    assert stale.startswith("那是前面一步的按钮") and "（2/7）" in stale


async def test_a_question_in_the_middle_is_answered_with_a_way_back_to_the_complaint(
    dialog: Dialog, store: MemoryStore
) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, button="f:c.lender.huabei")
    answer = await send(dialog, "家人要替我还钱吗")
    assert "依据" in text_of(answer) and payloads(answer)[-1] == "f:resume"
    resumed = text_of(await send(dialog, button="f:resume"))
    assert "（2/7）他们做了什么" in resumed


async def test_an_unclear_reply_gets_the_question_again(dialog: Dialog, store: MemoryStore) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, button="f:c.lender.huabei")
    again = text_of(await send(dialog, "嗯嗯"))
    assert again.startswith("没看懂这个回答") and "（2/7）" in again


@pytest.mark.parametrize("how", ["/cancel", "不写了", "button"])
async def test_cancel_deletes_the_answers(dialog: Dialog, store: MemoryStore, how: str) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, "拍拍贷")
    reply = await send(dialog, button="f:cancel") if how == "button" else await send(dialog, how)
    assert "回答已经删除" in text_of(reply)
    assert not dialog.flows.active(USER)
    assert "拍拍贷" not in repr(store.sessions) + repr(store.events)


async def test_forget_deletes_a_flow_under_way(dialog: Dialog, store: MemoryStore) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, "拍拍贷")
    await send(dialog, "/forget")
    assert not dialog.flows.active(USER)
    assert "中断" not in text_of(await send(dialog, "1"))  # a fresh start: no flow, and no options to expire
    assert not dialog.flows.active(USER)


async def test_the_answers_expire_two_hours_after_the_flow_started(
    dialog: Dialog, store: MemoryStore, clock: Clock
) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, "拍拍贷")
    clock.now += FLOW_SECONDS - 60
    await send(dialog, button="f:c.conduct.threats")  # still there, but answering does not extend it
    clock.now += 61
    expired = await send(dialog, button="f:next.conduct")
    assert "中断" in text_of(expired) and payloads(expired) == ["f:complain"]
    assert not dialog.flows.active(USER)


async def test_a_restart_in_the_middle_loses_the_answers_and_says_so(
    repo_knowledge: KnowledgeSource, store: MemoryStore, dialog: Dialog
) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, "拍拍贷")
    restarted = Dialog(repo_knowledge, store)  # the same store, a new process: its memory is empty
    typed = await restarted.handle(Incoming("test", USER, "1"))
    assert "中断" in text_of(typed) and "不在磁盘上保存" in text_of(typed)
    pressed = await restarted.handle(Incoming("test", USER, button="f:skip.since"))
    assert "中断" in text_of(pressed)
    fresh = await restarted.handle(Incoming("test", USER, button="f:complain"))
    assert "（1/7）" in text_of(fresh)


# --- a crisis in the middle ---------------------------------------------------------------------------------


async def test_a_crisis_in_the_middle_comes_first_and_the_complaint_is_offered_again_after(
    dialog: Dialog, store: MemoryStore
) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, button="f:c.lender.huabei")
    await send(dialog, button="f:c.conduct.threats")
    await send(dialog, button="f:next.conduct")
    crisis = await send(dialog, "我真的不想活了")
    assert "12356" in text_of(crisis)  # the safety layer first, whatever the flow was asking
    assert not any(payload.startswith("f:") for payload in payloads(crisis))
    assert store.events[-1].kind == "crisis"
    listening = text_of(await send(dialog, "一到三个月"))  # in care mode, words go to care, not to the letter
    assert "（3/7）" not in listening
    back = await send(dialog, button="k:safe_now")
    assert payloads(back)[-2:] == ["f:resume", "f:cancel"] and "回答还在" in text_of(back)
    resumed = text_of(await send(dialog, button="f:resume"))
    assert "（3/7）大概从什么时候开始" in resumed


async def test_declining_to_carry_on_after_a_crisis_deletes_the_answers(dialog: Dialog, store: MemoryStore) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "/complain")
    await send(dialog, "拍拍贷")
    await send(dialog, "我不想活了")
    await send(dialog, button="k:safe_now")
    await send(dialog, button="f:cancel")
    assert not dialog.flows.active(USER)


# --- regions and scripts ---------------------------------------------------------------------------------------


async def test_hong_kong_letters_cite_hong_kong_law_and_say_999_never_110(dialog: Dialog, store: MemoryStore) -> None:
    await send(dialog, "/complain")
    await send(dialog, "/lang zh-Hant")
    lender_step = await send(dialog, button="f:c.region.hk")
    assert [button.label for button in lender_step[0].buttons][:2] == ["銀行或信用卡", "財務公司（放債人）"]
    await send(dialog, button="f:c.lender.bank")
    for item in ("threats", "expose"):
        await send(dialog, button=f"f:c.conduct.{item}")
    await send(dialog, button="f:next.conduct")
    for step in ("since", "often", "details", "evidence", "wants"):
        replies = await send(dialog, button=f"f:skip.{step}")
    text = text_of(replies)
    assert "刑事罪行條例（第200章）第24條" in text and "第486章" in text and "金管局" in text
    assert "私隱專員公署" in text and "999" in text
    assert not re.search(r"(?<!\d)110(?!\d)", text) and "民法典" not in text and "12378" not in text
    assert (await store.get_session(USER)).region == "hk"  # chosen in the flow: kept, like /region


async def test_taiwan_letters_go_to_the_ombudsman_only_for_banks(dialog: Dialog, store: MemoryStore) -> None:
    await store.put_session(Session(USER, locale="zh-Hant", locale_pinned=True, region="tw", region_pinned=True))
    await send(dialog, "/complain")
    await send(dialog, button="f:c.lender.app")
    await send(dialog, button="f:c.conduct.fees")
    await send(dialog, button="f:next.conduct")
    for step in ("since", "often", "details", "evidence", "wants"):
        replies = await send(dialog, button=f"f:skip.{step}")
    text = text_of(replies)
    assert "民法第205條" in text and "評議中心" in text  # in "what next", not as a letter
    assert len(letters_of(replies)) == 1  # the lender's letter only: the Ombudsman letter is for banks


async def test_a_traditional_writer_in_mainland_china_gets_the_mainland_letter_in_traditional_script(
    dialog: Dialog, store: MemoryStore
) -> None:
    await store.put_session(Session(USER, locale="zh-Hant", locale_pinned=True, region="mainland", region_pinned=True))
    await send(dialog, "/complain")
    for step in ("lender", "conduct", "since", "often", "details", "evidence", "wants"):
        replies = await send(dialog, button=f"f:skip.{step}")
    assert "第一封：給平臺的投訴" in text_of(replies) or "第一封：給平台的投訴" in text_of(replies)
    assert "投訴人" in text_of(replies)


async def test_english_letters_for_an_english_writer(dialog: Dialog, store: MemoryStore) -> None:
    await store.put_session(Session(USER, locale="en", locale_pinned=True, region="mainland", region_pinned=True))
    await send(dialog, "/complain")
    await send(dialog, button="f:c.lender.app")
    await send(dialog, button="f:c.conduct.night")
    await send(dialog, button="f:c.conduct.expose")
    await send(dialog, button="f:next.conduct")
    for step in ("since", "often", "details", "evidence", "wants"):
        replies = await send(dialog, button=f"f:skip.{step}")
    lender = letters_of(replies)["Letter 1: to the lender (send this first)"]
    assert "The recommended national standard says no collection between 22:00 and 08:00" in lender
    assert "PIPL art. 10" in lender and "Civil Code arts. 1033, 1034" in lender


# --- the flows' own memory -------------------------------------------------------------------------------------


def test_flow_memory_is_bounded_and_forgets_the_least_recently_used() -> None:
    flows = Flows(max_users=2)
    for user in ("a", "b", "c"):
        flows.memory.put(user, object(), new=True)  # type: ignore[arg-type]
    assert len(flows.memory) == 2 and not flows.active("a") and flows.active("c")


async def test_what_the_request_already_says_starts_ticked(dialog: Dialog, store: MemoryStore) -> None:
    await in_mainland(dialog, store)
    await send(dialog, "催收天天半夜打电话，还打给我爸妈，帮我写投诉")
    conduct = await send(dialog, "6")  # another app, no name typed
    text = text_of(conduct)
    assert text.startswith("好的。信里的平台名称先空着")
    assert "已选：打给家人朋友、通讯录、深夜或清早打来" in text
    assert [b.label for b in conduct[0].buttons if b.label.startswith("✓")] == [
        "✓ 打给家人朋友、通讯录",
        "✓ 深夜或清早打来（22点后、8点前）",
    ]


def test_a_flow_nobody_comes_back_to_is_swept_out_after_two_hours(clock: Clock) -> None:
    flows = Flows(clock=clock)
    flows.memory.put("gone", object(), new=True)  # type: ignore[arg-type]
    clock.now += FLOW_SECONDS + 61
    flows.memory.put("someone else", object(), new=True)  # any use of the memory sweeps it
    assert len(flows.memory) == 1 and not flows.active("gone")

"""Care mode through the dialog, on the bundled content: staying with a person after a crisis or concern."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import pytest
from conftest import BARE_ACTS

from bot.care import CARE_SECONDS, CHOICES, built_in_care, compose, load_care
from bot.channels.console import render_console
from bot.channels.telegram_render import render_telegram
from bot.channels.wechat import render_wechat
from bot.content import KnowledgeError
from bot.dialog import Dialog
from bot.knowledge import KnowledgeBase, KnowledgeSource
from bot.models import Incoming, Reply
from bot.state import CareState, MemoryStore
from bot.store import SqliteStore

REPO = Path(__file__).parent.parent
USER = "c" * 64
MAINLAND_LINES = ("12356", "400-161-9995", "010-82951332")
HK_LINES = ("18111", "2389 2222", "2896 0000", "2382 0000")
TW_LINES = ("1925", "1995", "1980")


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def knowledge(bundled_knowledge: KnowledgeBase) -> KnowledgeSource:
    return KnowledgeSource(REPO)  # after this process's first load (conftest): its safety net, not trained again


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def dialog(knowledge: KnowledgeSource, store: MemoryStore, clock: Clock) -> Dialog:
    return Dialog(knowledge, store, clock=clock)


async def say(dialog: Dialog, text: str = "", *, button: str | None = None) -> list[Reply]:
    return await dialog.handle(Incoming("test", USER, text, button=button))


def text_of(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


def payloads(replies: list[Reply]) -> list[str]:
    return [button.payload for reply in replies for button in reply.buttons]


def shows_a_line(text: str, lines: tuple[str, ...]) -> bool:
    return any(number in text for number in lines)


async def test_crisis_reply_lists_the_lines_and_offers_next_steps(dialog: Dialog) -> None:
    replies = await say(dialog, "债这辈子都还不完了，我不想活了")
    assert all(number in text_of(replies) for number in MAINLAND_LINES)
    assert "110" in text_of(replies)
    assert payloads(replies) == ["k:no_answer", "k:no_phone", "k:safe_now", "k:someone_else"]


async def test_the_line_did_not_answer_offers_another_line_never_a_clarification(dialog: Dialog) -> None:
    await say(dialog, "我不想活了")
    first = text_of(await say(dialog, "电话没人接"))
    second = text_of(await say(dialog, "还是打不通"))
    assert "400-161-9995" in first
    assert "010-82951332" in second
    assert first != second
    for text in (first, second):
        assert "是下面这些吗" not in text and "出了点问题" not in text


async def test_an_act_under_way_puts_the_emergency_number_first_even_mid_conversation(dialog: Dialog) -> None:
    await say(dialog, "活着太累了")  # concern first
    reply = text_of(await say(dialog, "我现在就站在楼顶"))
    assert reply.startswith("请现在就拨打 110")
    later = text_of(await say(dialog, "我不知道"))
    assert later.startswith("有危险请马上拨打 110"), later
    assert shows_a_line(later, MAINLAND_LINES)


async def test_follow_ups_move_forward_and_every_reply_keeps_a_line_in_view(dialog: Dialog) -> None:
    seen: list[str] = []
    for text in ("我不想活了", "嗯", "我也不知道该说什么", "谢谢你", "没人可以说", "我不想打电话"):
        reply = text_of(await say(dialog, text))
        assert shows_a_line(reply, MAINLAND_LINES), reply
        assert reply not in seen, f"repeated word for word: {reply}"
        seen.append(reply)


async def test_concern_checks_in_and_going_back_answers_the_question_asked_meanwhile(dialog: Dialog) -> None:
    replies = await say(dialog, "如果我死了，网贷是不是就不用还了")
    assert "你现在安全吗" in text_of(replies)
    assert payloads(replies) == ["k:danger", "k:unsafe", "k:ok"]
    check = await say(dialog, "催收天天打电话给我爸妈，合法吗")
    assert "这个问题我可以回答你" in text_of(check) and "k:ok" in payloads(check)
    back = await say(dialog, button="k:ok")
    assert "放心" in back[0].text and shows_a_line(back[0].text, MAINLAND_LINES)
    assert "法律上" in text_of(back[1:]) or "依据" in text_of(back[1:])
    after = await say(dialog, "催收半夜打电话合法吗")  # care mode is over: a normal answer
    assert "依据" in text_of(after) and "你现在安全吗" not in text_of(after)


async def test_a_bare_no_to_are_you_safe_means_not_safe(dialog: Dialog) -> None:
    # "No" answers the question just asked: after "are you safe right now?" the person is not safe and gets the
    # steps for the next hours (the "not safe, not in danger" reply), never "tell me more".
    for no in ("no", "不", "唔係", "Nope.", "没有"):
        dialog = Dialog(dialog.knowledge, MemoryStore(), clock=dialog.clock)
        await say(dialog, "如果我死了，网贷是不是就不用还了")
        unsafe = await say(dialog, no)
        assert payloads(unsafe) == ["k:no_answer", "k:no_phone", "k:ok"], (no, text_of(unsafe))
        assert shows_a_line(text_of(unsafe), MAINLAND_LINES + HK_LINES), no


async def test_a_bare_no_is_the_answer_even_when_only_the_net_sees_a_risk_in_it(
    knowledge: KnowledgeSource, clock: Clock
) -> None:
    # With the first net's threshold at zero, every message no rule flags is the net's check-in, "没有" included (a
    # retrained net once put it at 0.70): the answer to "are you safe right now?" must still win, the not-safe steps,
    # not a fresh "tell me more".
    kb = knowledge.current
    assert kb.safety.net is not None
    eager_net = dataclasses.replace(kb.safety.net, threshold=0.0)
    eager = dataclasses.replace(kb, safety=dataclasses.replace(kb.safety, net=eager_net))
    for no in ("没有", "no", "唔係"):
        assert eager.assess(no).net_only, no
        dialog = Dialog(Served(eager), MemoryStore(), clock=clock)  # type: ignore[arg-type]
        await say(dialog, "如果我死了，网贷是不是就不用还了")
        unsafe = await say(dialog, no)
        assert payloads(unsafe) == ["k:no_answer", "k:no_phone", "k:ok"], (no, text_of(unsafe))
        assert shows_a_line(text_of(unsafe), MAINLAND_LINES + HK_LINES), no


async def test_saying_you_are_not_safe_in_words_is_not_read_as_safe(dialog: Dialog) -> None:
    await say(dialog, "活着好累 家里人没有我会过得更好")
    unsafe = await say(dialog, "我现在不安全")
    assert payloads(unsafe) == ["k:no_answer", "k:no_phone", "k:ok"], text_of(unsafe)


async def test_a_bare_no_after_a_reply_that_asked_nothing_is_just_talk(dialog: Dialog) -> None:
    await say(dialog, "债这辈子都还不完了，我不想活了")  # the crisis reply asks nothing
    replies = await say(dialog, "不")
    assert "k:unsafe" not in payloads(replies) and "k:no_phone" not in payloads(replies), text_of(replies)
    assert shows_a_line(text_of(replies), MAINLAND_LINES)


def test_no_after_is_anyone_with_you_means_alone(knowledge: KnowledgeSource) -> None:
    content = knowledge.current.care
    asks = [
        (kind, index) for kind, reply in content.replies.items() for index, v in enumerate(reply.variants) if v.if_no
    ]
    assert ("concern", 0) in asks and ("check", 0) in asks
    alone = next(f"{kind}:{index}" for kind, index in asks if content.replies[kind].variants[index].if_no == "alone")
    assert content.meaning_of_no(CareState("concern", 0.0, used=("concern:0", alone))) == "alone"
    # the last reply given decides, wherever its variant first appeared
    assert content.meaning_of_no(CareState("concern", 0.0, used=(alone, "listen:0"))) is None
    assert content.meaning_of_no(CareState("concern", 0.0, used=("listen:0", "concern:0"))) == "unsafe"
    moved = compose(content, "concern", CareState("concern", 0.0, used=("concern:0", "listen:0")), "en", None)
    assert moved.state.used == ("listen:0", "concern:0")


async def test_in_danger_now_button_gives_the_emergency_first(dialog: Dialog) -> None:
    await say(dialog, "我是全家的拖累")
    reply = text_of(await say(dialog, button="k:danger"))
    assert reply.startswith("请现在就拨打 110")


async def test_words_that_only_make_sense_in_care_mode_put_the_emergency_number_first(dialog: Dialog) -> None:
    alone = await say(dialog, "我已经吃了")  # on its own: "I've already eaten"
    assert "110" not in text_of(alone)
    await say(dialog, "活着太累了，什么都没意义")  # a check-in first
    reply = text_of(await say(dialog, "我已经吃了"))
    assert reply.startswith("请现在就拨打 110"), reply
    reply = text_of(await say(dialog, "吃完了"))  # "finished them": also a meal on its own
    assert reply.index("110") < reply.index("12356"), reply  # the act reply again, in other words


@pytest.mark.parametrize(
    "text",
    [
        "已经吃了",
        "割了",
        "食咗",
        "吃了",
        "done it",
        "吃下去了",
        "水好凉",
        "字都看不清了 手机好重",
        "water's warm. it's fine",
        "water's warm. finally quiet",
        "水是温的，挺舒服的",
        "好冷 手斗",
        "好冷",
    ],
)
async def test_a_bare_act_word_right_after_a_check_in_puts_the_emergency_number_first(
    dialog: Dialog, text: str
) -> None:
    # "already ate", "cut", "ate (Cantonese)", "ate", "done it", "can't read the words, the phone is heavy": nothing on
    # their own, an act after a check-in ("吞了" and "眼睛睁不开了" now get the crisis reply on their own: the net's
    # check-in with an act word, `act_hint`)
    assert dialog.knowledge.current.assess(text).level != "crisis"
    await say(dialog, "好累 活着没意思")
    reply = text_of(await say(dialog, text))
    assert reply.index("110") < reply.index("12356"), reply


@pytest.mark.parametrize(
    ("check_in", "text", "emergency", "line"),
    [
        # "dizzy, can't read the screen" in Cantonese
        ("好累 活着没意思", "頭好暈 睇唔清個mon", "999", "18111"),
        # "so cold, can't feel my hands and feet" in Cantonese: a winter night on its own
        ("好攰 唔想再撐", "好凍 手腳冇晒感覺", "999", "18111"),
        # "so cold at the MRT station, my hands keep shaking": a winter commute on its own, in Taiwan wording
        ("好累 不想再撐了", "捷運站好冷喔 手一直抖", "119", "1925"),
    ],
)
async def test_a_fragment_after_a_check_in_puts_the_emergency_number_of_the_writers_region_first(
    dialog: Dialog, check_in: str, text: str, emergency: str, line: str
) -> None:
    # nothing on its own, an act after a check-in, answered for Hong Kong or Taiwan
    assert dialog.knowledge.current.assess(text).level != "crisis"
    await say(dialog, check_in)
    reply = text_of(await say(dialog, text))
    assert reply.index(emergency) < reply.index(line), reply


EMERGENCY = ("110", "120", "999", "119")
LINES = ("12356", "400-161-9995", "18111", "2389 2222", "1925", "1995")


def _first(reply: str, numbers: tuple[str, ...]) -> int:
    return min((reply.index(number) for number in numbers if number in reply), default=len(reply))


@pytest.mark.parametrize("text", BARE_ACTS)
async def test_every_bare_act_of_the_tuning_set_after_a_check_in_puts_an_emergency_number_first(
    dialog: Dialog, text: str
) -> None:
    # each bare fragment the rules leave alone (tests/test_safety.py): after a check-in it is an act under way
    await say(dialog, "好累 活着没意思")
    reply = text_of(await say(dialog, text))
    assert _first(reply, EMERGENCY) < _first(reply, LINES), reply


async def test_a_longer_question_in_care_mode_that_names_a_symptom_word_is_not_read_as_an_act(dialog: Dialog) -> None:
    # the bare fragments above are short; "I can't read the complaint site's captcha" is a question, not an act
    await say(dialog, "好累 活着没意思")
    reply = text_of(await say(dialog, "我看不清楚那个投诉网站上的验证码，换了三次还是不行，怎么办"))
    assert _first(reply, LINES) < _first(reply, EMERGENCY), reply


async def test_a_number_picks_a_care_choice_as_on_wechat(dialog: Dialog) -> None:
    await say(dialog, "我不想活了")
    reply = text_of(await say(dialog, "1"))  # [1] the line didn't answer
    assert "400-161-9995" in reply


async def test_saying_you_are_safe_leaves_care_mode_and_a_debt_question_gets_a_normal_answer(dialog: Dialog) -> None:
    await say(dialog, "我不想活了")
    bye = await say(dialog, "我现在没事了，放心吧")
    assert "放心" in bye[0].text
    answer = text_of(await say(dialog, "催收半夜打电话合法吗"))
    assert "依据" in answer and "如果又难受了" not in answer


async def test_care_mode_ends_after_thirty_minutes_without_a_signal(dialog: Dialog, clock: Clock) -> None:
    await say(dialog, "我不想活了")
    clock.now += CARE_SECONDS + 1
    answer = text_of(await say(dialog, "催收半夜打电话合法吗"))
    assert "依据" in answer and "我在听" not in answer


async def test_a_debt_question_in_care_mode_is_answered_with_a_line_under_it_after_the_check(dialog: Dialog) -> None:
    await say(dialog, "活着没意思")
    await say(dialog, "催收打给我领导合法吗")  # the one gentle check
    await say(dialog, button="k:unsafe")
    answer = text_of(await say(dialog, "那催收半夜打电话合法吗"))
    assert "依据" in answer and "如果又难受了" in answer and shows_a_line(answer, MAINLAND_LINES)


async def test_someone_writing_about_another_person_is_helped_to_help_them(dialog: Dialog) -> None:
    replies = await say(dialog, "我老公说今晚要去跳河，现在电话打不通")
    assert "TA" in text_of(replies) and "110" in text_of(replies)
    assert payloads(replies) == ["k:other_help", "k:no_answer", "k:its_me"]


# --- whose life is at risk: the safety layer guesses, the person's word settles it ---------------------------------


async def care_of(store: MemoryStore) -> CareState:
    session = await store.get_session(USER)
    assert session is not None and session.care is not None
    return session.care


async def test_a_writer_taken_for_someone_asking_about_another_person_gets_their_own_crisis_reply(
    dialog: Dialog, store: MemoryStore
) -> None:
    # the safety layer reads this farewell as someone else's ("other": a mother is named, and 关机 after a goodbye is
    # how a relative's goes): the reply is about helping "TA"
    helping = await say(dialog, "跟我妈说了对不起 然后就关机了")
    assert "TA" in text_of(helping) and payloads(helping)[-1] == "k:its_me"
    assert (await care_of(store)).other
    mine = await say(dialog, "其实是我自己")
    assert text_of(mine).startswith("听到你这样说，我很担心你"), text_of(mine)
    assert "TA" not in text_of(mine) and all(number in text_of(mine) for number in MAINLAND_LINES)
    assert payloads(mine) == ["k:no_answer", "k:no_phone", "k:safe_now", "k:someone_else"]
    state = await care_of(store)
    assert not state.other and state.level == "crisis"


async def test_a_goodbye_that_names_nobody_else_is_the_writers_own(dialog: Dialog, store: MemoryStore) -> None:
    # an `other` rule fired on this once ("then the phone goes off" after a goodbye); nobody else is named in it
    replies = await say(dialog, "这是我最后一次跟人说话了 说完我就关机了")
    assert text_of(replies).startswith("听到你这样说，我很担心你") and "TA" not in text_of(replies)
    assert not (await care_of(store)).other


async def test_someone_elses_act_under_way_gets_the_reply_that_helps_the_writer_help_them(
    dialog: Dialog, store: MemoryStore
) -> None:
    # an act and someone else at once: not "tell them what you have taken" to the roommate who found her
    replies = await say(dialog, "my roommate took a bunch of pills and wont wake up")
    text = text_of(replies)
    assert text.startswith("They may be in danger") and "yourself" not in text.split("You need support")[0], text
    assert _first(text, EMERGENCY) < _first(text, LINES), text
    state = await care_of(store)
    assert state.other and state.act


async def test_a_conversation_about_someone_else_stays_about_them_until_the_writer_speaks_of_themself(
    dialog: Dialog, store: MemoryStore
) -> None:
    first = text_of(await say(dialog, "我室友刚才吞了一整瓶安眠药"))
    assert first.startswith("TA 现在可能有危险") and "别再伤害自己" not in first
    # what follows is about her too, flagged or not: the next reply about helping her, never "are you safe?"
    for follow_up in ("她现在叫不醒 怎么办", "她已经吃了"):
        text = text_of(await say(dialog, follow_up))
        assert "TA" in text and "你现在安全吗" not in text and "别再伤害自己" not in text, (follow_up, text)
        assert any(number in text for number in ("110", "120")), text
        assert (await care_of(store)).other
    # a message about the writer alone ("我也不想活了") is theirs: their own crisis reply
    mine = text_of(await say(dialog, "我也不想活了"))
    assert "TA" not in mine and shows_a_line(mine, MAINLAND_LINES), mine
    assert not (await care_of(store)).other


async def test_its_me_while_an_act_is_under_way_puts_the_emergency_number_first(
    dialog: Dialog, store: MemoryStore
) -> None:
    await say(dialog, "我老公现在在楼顶 说网贷还不上了要跳 我该怎么办")  # read as the writer's own act
    helping = await say(dialog, button="k:someone_else")
    assert "TA" in text_of(helping) and "别再伤害自己" not in text_of(helping)
    state = await care_of(store)
    assert state.other and state.act and state.level == "crisis"  # the act is still someone's, under way
    mine = text_of(await say(dialog, "其实是我"))
    assert "TA" not in mine and _first(mine, EMERGENCY) < _first(mine, LINES), mine
    assert not (await care_of(store)).other


async def test_its_me_tapped_after_care_mode_ended_starts_it_again_as_a_crisis(
    dialog: Dialog, store: MemoryStore, clock: Clock
) -> None:
    await say(dialog, "我朋友最近总说活着没意思")
    clock.now += CARE_SECONDS + 1  # the button stays under the old message
    mine = text_of(await say(dialog, button="k:its_me"))
    assert mine.startswith("听到你这样说，我很担心你") and shows_a_line(mine, MAINLAND_LINES)
    state = await care_of(store)
    assert state.level == "crisis" and not state.other


@pytest.mark.parametrize(
    "text",
    ["是我老公在楼顶", "不是我，是我老公", "我没事，是我老公", "唔係我，係我老公", "是別人有危險", "不是我"],
)
async def test_a_writer_in_crisis_who_says_it_is_someone_else_is_helped_to_help_them(
    dialog: Dialog, store: MemoryStore, text: str
) -> None:
    await say(dialog, "债这辈子都还不完了，我不想活了")
    helping = await say(dialog, text)  # "I'm fine, it's my husband" must not end care mode as "I'm safe"
    assert text_of(helping).startswith(("TA 现在可能有危险", "TA 現在可能有危險")), text_of(helping)
    assert payloads(helping) == ["k:other_help", "k:no_answer", "k:its_me"]
    assert (await care_of(store)).other


async def test_the_someone_else_button_under_the_crisis_reply_gives_the_reply_about_helping_them(
    dialog: Dialog, store: MemoryStore
) -> None:
    await say(dialog, "I want to end my life")
    helping = text_of(await say(dialog, button="k:someone_else"))
    assert helping.startswith("They may be in danger") and "12356" in helping
    assert (await care_of(store)).other


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("其实是我自己", "its_me"),
        ("是我自己", "its_me"),
        ("其實係我自己", "its_me"),
        ("不是別人，是我自己", "its_me"),
        ("It's me who's in danger", "its_me"),
        ("actually it's me", "its_me"),
        ("是我老公在楼顶", "someone_else"),
        ("不是我 是我朋友", "someone_else"),
        ("我没事，是我朋友想不开", "someone_else"),
        ("Someone else is in danger", "someone_else"),
        ("not me, it's my friend", "someone_else"),
        ("it's my husband", "someone_else"),
        # existing follow-ups keep their meaning
        ("不是我不想打", "no_phone"),
        ("我没事", "safe"),
        ("我现在没事了，放心吧", "safe"),
        ("不是", "no"),
        ("电话没人接", "no_answer"),
        # about the writer, or about money: never "someone else", which would tell a person at risk to help another
        ("是我妈逼的", None),
        ("是我老公借的网贷", None),
        ("it's my friend's money", None),
        ("我自己想办法", None),
    ],
)
def test_who_is_at_risk_in_words_is_read_narrowly(knowledge: KnowledgeSource, text: str, expected: str | None) -> None:
    kb = knowledge.current
    assert kb.care.classify(kb.safety.canonical(text)) == expected


async def test_words_about_the_writer_never_get_the_reply_about_helping_someone_else(dialog: Dialog) -> None:
    await say(dialog, "债这辈子都还不完了，我不想活了")
    for text in ("是我妈逼的", "不是我不想打"):
        reply = text_of(await say(dialog, text))
        assert "TA" not in reply and shows_a_line(reply, MAINLAND_LINES), (text, reply)


@pytest.mark.parametrize(
    ("crisis", "other", "someone_else", "its_me"),
    [
        ("我真的不想活了，已經撐不下去", "我老公說今晚要去跳河，現在電話打不通", "是別人有危險", "其實是我自己有危險"),
        (
            "I want to end my life",
            "my husband says he is going to jump off the bridge tonight and I can't reach him",
            "Someone else is in danger",
            "It's me who's in danger",
        ),
    ],
)
async def test_the_new_choices_are_labelled_in_traditional_chinese_and_english(
    dialog: Dialog, crisis: str, other: str, someone_else: str, its_me: str
) -> None:
    assert (await say(dialog, crisis))[-1].buttons[-1].label == someone_else
    assert (await say(dialog, other))[-1].buttons[-1].label == its_me


def test_every_choice_has_a_built_in_label_for_when_the_care_file_is_broken() -> None:
    labels = built_in_care().labels
    assert set(labels) == set(CHOICES)
    assert all({"zh-Hans", "en"} <= texts.keys() for texts in labels.values())


# --- regions ----------------------------------------------------------------------------------------------


async def test_hong_kong_user_in_danger_gets_999_and_never_110(dialog: Dialog) -> None:
    first = text_of(await say(dialog, "我喺香港，財務公司日日打嚟，我諗住今晚喺屋企燒炭"))
    later = text_of(await say(dialog, "打唔通"))
    for text in (first, later):
        assert "999" in text and "110" not in text and "12356" not in text
        assert shows_a_line(text, HK_LINES)


async def test_taiwan_user_gets_110_or_119_and_taiwan_lines(dialog: Dialog) -> None:
    text = text_of(await say(dialog, "我在台北，卡債還不完，真的不想活了"))
    assert "110" in text and "119" in text and "1925" in text and "12356" not in text


async def test_unknown_region_lists_mainland_first_then_hong_kong_and_taiwan(dialog: Dialog) -> None:
    text = text_of(await say(dialog, "我真的不想活了，已經撐不下去"))  # Traditional, no place named
    assert text.index("12356") < text.index("18111") < text.index("1925")
    assert "999" in text


async def test_english_writer_gets_english_care(dialog: Dialog) -> None:
    text = text_of(await say(dialog, "I want to end my life"))
    assert text.startswith("I'm really worried about you") and "12356" in text


# --- state survives a restart; nothing of the text is kept ---------------------------------------------


async def test_care_mode_survives_a_restart_in_the_middle(knowledge: KnowledgeSource, tmp_path: Path) -> None:
    path = tmp_path / "anxin.sqlite3"
    store = await SqliteStore.open(path)
    try:
        await Dialog(knowledge, store).handle(Incoming("telegram", USER, "我不想活了"))
    finally:
        await store.close()
    reopened = await SqliteStore.open(path)  # a new process
    try:
        replies = await Dialog(knowledge, reopened).handle(Incoming("telegram", USER, "电话没人接"))
    finally:
        await reopened.close()
    assert "400-161-9995" in text_of(replies)


async def test_crisis_and_concern_messages_are_never_stored_as_text(knowledge: KnowledgeSource, tmp_path: Path) -> None:
    path = tmp_path / "anxin.sqlite3"
    store = await SqliteStore.open(path)
    messages = ["我不想活了绳子准备好了", "我今天去了江边坐了很久", "我家猫不知道以后谁来喂", "今天天气怎么样"]
    try:
        dialog = Dialog(knowledge, store)
        for text in messages:
            await dialog.handle(Incoming("telegram", USER, text))
    finally:
        await store.close()
    data = await asyncio.to_thread(lambda: b"".join(f.read_bytes() for f in tmp_path.glob("anxin.sqlite3*")))
    for text in messages:
        assert text.encode() not in data
    with_events = await SqliteStore.open(path)
    try:
        stats = await with_events.usage("2000-01-01")
    finally:
        await with_events.close()
    assert {e.kind for e in stats.events} >= {"crisis"} and stats.unanswered == ()


# --- channels render care replies like any other -------------------------------------------------------------


async def test_care_choices_render_as_buttons_numbers_and_numbered_lines(dialog: Dialog) -> None:
    replies = await say(dialog, "我不想活了")
    telegram = render_telegram(replies)
    assert [b.callback_data for row in telegram[-1].keyboard.inline_keyboard for b in row] == [  # type: ignore[union-attr]
        "k:no_answer",
        "k:no_phone",
        "k:safe_now",
        "k:someone_else",
    ]
    wechat = render_wechat(replies)
    assert re.search(
        r"1\. 电话没人接\n2\. 我不想打电话\n3\. 我现在安全了\n4\. 是别人有危险\n回复 1 / 2 / 3 / 4$", wechat
    )
    assert "12356" in wechat and len(wechat.encode()) <= 2048
    console = render_console(replies)
    assert "[1] 电话没人接" in console and "[4] 是别人有危险" in console


# --- broken care content falls back, and lint says where ----------------------------------------------------


@pytest.fixture
def care_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "safety"
    folder.mkdir()
    for name in ("care.yaml", "lines.yaml"):
        (folder / name).write_text((REPO / "safety" / name).read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def test_a_reply_without_a_line_is_reported_at_its_line(care_dir: Path) -> None:
    path = care_dir / "care.yaml"
    listening = "我在听。你愿意多说一点现在的情况吗？{line} 也一直都在。"
    text = path.read_text(encoding="utf-8").replace(listening, "我在听。")
    path.write_text(text, encoding="utf-8")
    errors: list[KnowledgeError] = []
    load_care(care_dir, None, errors)
    assert len(errors) == 1 and "must show a line" in errors[0].message
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.strip() == "- zh-Hans: 我在听。")
    assert errors[0].line == line


def test_a_wrong_if_no_is_reported_at_its_line_and_the_variant_kept(care_dir: Path) -> None:
    path = care_dir / "care.yaml"
    text = path.read_text(encoding="utf-8").replace("if_no: alone", "if_no: maybe", 1)
    path.write_text(text, encoding="utf-8")
    errors: list[KnowledgeError] = []
    content = load_care(care_dir, None, errors)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.strip() == "if_no: maybe")
    assert [(e.line, "`if_no` must be" in e.message) for e in errors] == [(line, True)]
    assert len(content.replies["concern_again"].variants) == 2
    assert [v.if_no for v in content.replies["concern_again"].variants] == ["unsafe", None]


def test_a_misspelt_choice_under_a_reply_is_reported_at_its_line_and_the_others_kept(care_dir: Path) -> None:
    path = care_dir / "care.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "[called, no_answer, someone_else]", "[called, no_answer, somebody]"
    )
    path.write_text(text, encoding="utf-8")
    errors: list[KnowledgeError] = []
    content = load_care(care_dir, None, errors)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "somebody]" in row)
    assert [(e.line, e.message) for e in errors] == [(line, "unknown button `somebody`")]
    assert content.replies["act"].buttons == ("called", "no_answer")
    assert content.replies["other"].buttons == ("other_help", "no_answer", "its_me")


def test_an_unverifiable_number_shape_is_refused(care_dir: Path) -> None:
    path = care_dir / "lines.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('number: "1995"', "number: call me"), encoding="utf-8")
    errors: list[KnowledgeError] = []
    content = load_care(care_dir, None, errors)
    assert any("`number`" in e.message for e in errors)
    assert [line.number for line in content.regions["tw"].lines] == ["1925", "1980"]


def test_broken_care_files_fall_back_to_built_in_replies_with_verified_lines(tmp_path: Path) -> None:
    folder = tmp_path / "safety"
    folder.mkdir()
    (folder / "care.yaml").write_text("replies: [\n", encoding="utf-8")
    errors: list[KnowledgeError] = []
    content = load_care(folder, None, errors)
    assert content.built_in and errors
    assert content.regions["hk"].lines[0].number == "18111"
    assert built_in_care().replies["crisis"].variants


class Served:
    """One knowledge base, served as `KnowledgeSource.current` is (all the dialog reads of it for a message)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.current = kb


async def test_a_message_the_net_leans_towards_gets_a_check_in_instead_of_a_menu(
    bundled_knowledge: KnowledgeBase, clock: Clock
) -> None:
    # The net's threshold raised to 0.99 in a copy: a message it scores 0.89 with no rule only leans towards a risk.
    assert bundled_knowledge.safety.net is not None
    net = dataclasses.replace(bundled_knowledge.safety.net, threshold=0.99)
    kb = dataclasses.replace(bundled_knowledge, safety=dataclasses.replace(bundled_knowledge.safety, net=net))
    store = MemoryStore()
    dialog = Dialog(Served(kb), store, clock=clock)  # type: ignore[arg-type]
    replies = await say(dialog, "水是温的 挺舒服的 慢慢就不冷了")
    assert "你现在安全吗" in text_of(replies) and shows_a_line(text_of(replies), MAINLAND_LINES)
    assert payloads(replies) == ["k:danger", "k:unsafe", "k:ok"]
    assert store.unanswered == []  # a check-in's message is never kept as text
    back = await say(dialog, button="k:ok")  # "I'm OK, back to my question": the menu it would have got
    assert shows_a_line(back[0].text, MAINLAND_LINES) and len(payloads(back)) >= 3
    # a debt question the matcher understands gets its answer, leaning or not
    answered = await say(dialog, "花呗逾期三个月了会怎么样")
    assert "你现在安全吗" not in text_of(answered) and "依据" in text_of(answered)

"""The /complain flow: a few short questions, then complaint letters, an evidence checklist and what comes next.

    steps_for(region, ask_region)     the steps of one run (the lender's choices depend on the region)
    catalogue(region)                 every step by id, for labels and stale buttons
    story(progress, locale)           the answers as a `letters.Story` (flow memory only)
    finish(...)                       the replies: an intro, each letter ready to copy, the checklist, next steps

Which letters are written, and which rules each cites, is content (`letters/*.yaml`, see `bot.flows.letters`).
The questions are the frame around it, so they live here, in Simplified Chinese and English (Traditional is
converted), like `bot.messages`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..actions import Action
from ..answers import fill
from ..models import Button, Locale, Reply
from ..patterns import LazyPattern, lazy
from ..region import Region
from ..text import normalise
from .letters import LETTER_REGIONS, Story
from .steps import Choice, Progress, Step, clean_typed, localised

if TYPE_CHECKING:
    from ..knowledge import KnowledgeBase

FLOW = "complaint"
NO_RESPONSE_INTENT = "report.no_response"
# Which of "what happened" a legal.* answer is about: its complaint button starts with that one chosen.
PRESETS: Mapping[str, str] = MappingProxyType(
    {
        "legal.contact_contacts": "contacts",
        "legal.contact_employer": "employer",
        "legal.call_frequency": "frequency",
        "legal.call_hours": "night",
        "legal.threats": "threats",
        "legal.insults": "insults",
        "legal.expose_info": "expose",
        "legal.home_visit": "visit",
        "legal.impersonation": "fake_legal",
        "legal.interest_fees": "fees",
    }
)

_REGION = Step(
    "region",
    "你在哪里？不同地方的法律和投诉渠道不一样。",
    "Where are you? Laws and complaint channels differ.",
    (
        Choice("mainland", "中国大陆", "Mainland China"),
        Choice("hk", "香港", "Hong Kong"),
        Choice("tw", "台湾", "Taiwan"),
    ),
)
_LENDERS: Mapping[Region, tuple[Choice, ...]] = MappingProxyType(
    {
        "mainland": (
            Choice("huabei", "花呗", "Huabei (花呗)"),
            Choice("jiebei", "借呗", "Jiebei (借呗)"),
            Choice("baitiao", "京东白条", "JD Baitiao (白条)"),
            Choice("jintiao", "京东金条", "JD Jintiao (金条)"),
            Choice("card", "银行信用卡", "A bank credit card"),
            Choice("app", "其他网贷App（可以直接打名字）", "Another loan app (you can type its name)"),
        ),
        "hk": (
            Choice("bank", "银行或信用卡", "A bank or credit card"),
            Choice("money_lender", "财务公司（放债人）", "A finance company (money lender)"),
            Choice("app", "网上借贷App（可以直接打名字）", "A lending app (you can type its name)"),
        ),
        "tw": (
            Choice("bank", "银行或信用卡", "A bank or credit card"),
            Choice("app", "其他贷款公司或App（可以直接打名字）", "Another lender or app (you can type its name)"),
        ),
    }
)
# What a lender's name typed in words says about its kind (rules for credit cards apply to banks only, …).
_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("huabei", ("花呗",)),
    ("jiebei", ("借呗",)),
    ("baitiao", ("白条",)),
    ("jintiao", ("金条",)),
    ("card", ("银行", "信用卡", "bank", "credit card")),
    ("money_lender", ("财务公司", "放债", "money lender", "finance company")),
)


def _conduct(region: Region) -> Step:
    night = ("深夜或清早打来（22点后、8点前）", "Calls at night (after 22:00, before 08:00)")
    fees = ("利息费用太高、砍头息", "Interest and fees too high, money deducted up front")
    if region != "mainland":
        night = ("深夜或清早打来", "Calls late at night or early in the morning")
        fees = ("利息费用太高", "Interest and fees too high")
    return Step(
        "conduct",
        "他们做了什么？",
        "What have they done?",
        (
            Choice("contacts", "打给家人朋友、通讯录", "Called or messaged family, friends, contacts"),
            Choice("employer", "打到单位、同事", "Contacted my employer or colleagues"),
            Choice("frequency", "电话太多、一直打", "Too many calls and messages"),
            Choice("night", *night),
            Choice("threats", "威胁我或家人", "Threats to me or my family"),
            Choice("insults", "辱骂、侮辱", "Insults and abuse"),
            Choice("expose", "把我的信息发到网上或群里", "Posted my details online or in groups"),
            Choice("visit", "上门（家里或单位）", "Came to my home or work"),
            Choice("fake_legal", "冒充法院、律师、警察", "Pretended to be a court, lawyer or police"),
            Choice("fees", *fees),
        ),
        multi=True,
    )


_SINCE = Step(
    "since",
    "大概从什么时候开始的？",
    "Since when, roughly?",
    (
        Choice("week", "最近一周", "This week"),
        Choice("month", "几周到一个月", "A few weeks to a month"),
        Choice("quarter", "一到三个月", "One to three months"),
        Choice("longer", "三个月以上", "Over three months"),
    ),
    typed=True,
)
_OFTEN = Step(
    "often",
    "多频繁？",
    "How often?",
    (
        Choice("many", "每天十次以上", "More than 10 times a day"),
        Choice("daily", "每天都有", "Every day"),
        Choice("weekly", "每周几次", "A few times a week"),
        Choice("sometimes", "不定期", "Now and then"),
    ),
    typed=True,
)
_DETAILS = Step(
    "details",
    "对方用过的电话号码、自称的名字或工号，有的话打出来，会写进信里（我不保存）。没有就点“跳过”。",
    "The numbers they called from, or names and staff ids they gave, if you have them: they go into the letter "
    "(I keep nothing). Otherwise tap Skip.",
    typed=True,
)
_EVIDENCE = Step(
    "evidence",
    "你现在有哪些证据？",
    "What evidence do you have?",
    (
        Choice("recordings", "通话录音", "Call recordings"),
        Choice("screenshots", "短信、聊天截图", "Screenshots of texts and chats"),
        Choice("call_log", "通话记录截图", "Call-log screenshots"),
        Choice("others", "家人同事收到的截图", "Screenshots from family or colleagues"),
        Choice("posts", "网上帖子截图、链接", "Screenshots and links of posts"),
        Choice("contract", "借款合同、还款记录", "Loan contract and repayment records"),
        Choice("none", "还没有", "None yet", exclusive=True),
    ),
    multi=True,
)
_WANTS = Step(
    "wants",
    "你希望对方怎么做？",
    "What do you want them to do?",
    (
        Choice("stop_third", "别再联系我的家人、同事", "Stop contacting my family and colleagues"),
        Choice("stop_harass", "停止骚扰、辱骂", "Stop the harassment and abuse"),
        Choice("statement", "给我完整的欠款明细", "Give me a full statement of what I owe"),
        Choice("plan", "协商分期还款", "Agree an instalment plan"),
        Choice("delete", "删除发出去的我的信息", "Delete the posts with my details"),
    ),
    multi=True,
)


def catalogue(region: Region) -> Mapping[str, Step]:
    lenders = Step(
        "lender",
        "是哪个平台或App？",
        "Which lender or app is it?",
        _LENDERS.get(region, _LENDERS["mainland"]),
        typed=True,
    )
    steps = (_REGION, lenders, _conduct(region), _SINCE, _OFTEN, _DETAILS, _EVIDENCE, _WANTS)
    return MappingProxyType({step.id: step for step in steps})


def steps_for(ask_region: bool) -> tuple[str, ...]:
    order = ("lender", "conduct", "since", "often", "details", "evidence", "wants")
    return ("region", *order) if ask_region else order


def letter_region(known: Region | None) -> Region | None:
    """The region whose letters fit a user, or None when the flow must ask (unknown, or somewhere else)."""
    return known if known in LETTER_REGIONS else None


def region_of(progress: Progress) -> Region:
    chosen = next(iter(progress.chosen("region")), "mainland")
    return next((r for r in LETTER_REGIONS if r == chosen), "mainland")


# What a request like "催收天天半夜打电话，还打给我爸妈，帮我写投诉" already says happened: those choices start
# ticked (the user sees them and can untick them). Matched on normalised text (Simplified, lower case).
_TOLD: tuple[tuple[str, LazyPattern], ...] = (
    ("contacts", lazy(r"爸|妈|父母|家人|家里人|亲戚|朋友|通讯录|紧急联系人|family|parents|contacts|friends")),
    ("employer", lazy(r"单位|公司|同事|领导|老板|employer|colleague|boss|workplace")),
    ("frequency", lazy(r"一直打|天天打|不停|轰炸|几十个|上百个|too many calls|nonstop|every day")),
    ("night", lazy(r"半夜|深夜|凌晨|夜里|晚上十|晚上11|晚上12|at night|midnight")),
    ("threats", lazy(r"威胁|恐吓|弄死|要你好看|threat")),
    ("insults", lazy(r"骂|侮辱|羞辱|insult|abus")),
    ("expose", lazy(r"曝光|发到网上|发朋友圈|群里|p图|通缉|posted (my|it)|group chat")),
    ("visit", lazy(r"上门|堵门|到我家|来我家|到单位|came to my|home visit")),
    ("fake_legal", lazy(r"律师函|立案|传票|冒充|假装.{0,4}(法院|警察|律师)|lawyer.s letter|court")),
    ("fees", lazy(r"利息|砍头息|费用|高利贷|服务费|interest|fees")),
)


def told(text: str) -> frozenset[str]:
    """What happened, as far as a request to write a complaint already says."""
    folded = normalise(text)
    return frozenset(conduct for conduct, pattern in _TOLD if pattern.search(folded))


def start(region: Region | None, preset: str | None, already: frozenset[str] = frozenset()) -> Progress:
    known = letter_region(region)
    progress = Progress(FLOW, steps_for(known is None))
    if known is not None:
        progress = progress.with_picked("region", frozenset({known}))
    chosen = already | ({preset} if preset is not None else set())
    if chosen:
        progress = progress.with_picked("conduct", frozenset(chosen))
    return progress


def lender_kind(name: str, region: Region) -> str:
    """The kind of a lender named in words, among the choices of `region` (a bank's card, a money lender…)."""
    folded = normalise(name)
    offered = {choice.id for choice in _LENDERS.get(region, ())}
    for kind, words in _KIND_WORDS:
        bank_kind = "bank" if kind == "card" and region != "mainland" else kind
        if bank_kind in offered and any(word in folded for word in words):
            return bank_kind
    return "app"


def story(progress: Progress, locale: Locale) -> Story:
    region = region_of(progress)
    steps = catalogue(region)
    lender = next(iter(progress.chosen("lender")), None)
    typed_name = progress.typed.get("lender")
    name = typed_name
    if typed_name:
        lender = lender_kind(typed_name, region)
    elif lender is not None and lender != "app":
        choice = steps["lender"].choice(lender)
        name = choice.label(locale) if choice is not None else None
    return Story(
        region=region,
        lender=lender,
        lender_name=name,
        conduct=progress.chosen("conduct"),
        since=next(iter(progress.chosen("since")), None),
        since_text=progress.typed.get("since"),
        often=next(iter(progress.chosen("often")), None),
        often_text=progress.typed.get("often"),
        details=progress.typed.get("details"),
        evidence=progress.chosen("evidence"),
        wants=progress.chosen("wants"),
    )


def answer_typed(progress: Progress, step: Step, text: str) -> Progress:
    """A typed answer to a step that takes one: it replaces any choice made there."""
    cleaned = clean_typed(text)
    return progress.with_picked(step.id, frozenset()).with_typed(step.id, cleaned).forward()


_WORDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "intro": (
            "我来帮你一步步写投诉信：{count}个小问题，每一步都可以跳过、返回，随时发 /cancel 取消。"
            "你的回答只用来写这几封信，不会保存：信写好、取消或2小时后就删除。",
            "I'll help you write the complaint step by step: {count} short questions; you can skip or go back at "
            "each one, and /cancel at any time. Your answers are used only for these letters and are never "
            "stored: they are deleted once the letters are written, on /cancel, or after 2 hours.",
        ),
        "ready": (
            "写好了：{count}封信，下面还有证据清单和接下来怎么做。每封信都可以直接复制，"
            "把“________”换成你的信息再发。你刚才的回答已经删除。",
            "Done: {count} letter(s), then an evidence checklist and what to do next. Copy each letter as it is "
            'and replace "________" with your details before sending. Your answers have been deleted.',
        ),
        "ready_one": (
            "写好了：下面是信，还有证据清单和接下来怎么做。复制后把“________”换成你的信息再发。你刚才的回答已经删除。",
            'Done: the letter is below, then an evidence checklist and what to do next. Replace "________" with '
            "your details before sending. Your answers have been deleted.",
        ),
        "how": ("怎么发：", "How to send it: "),
        "unnamed": (
            "好的。信里的平台名称先空着（“________”），复制后自己填上。",
            'OK. The lender\'s name stays blank in the letter ("________"); fill it in after copying.',
        ),
        "next": ("接下来怎么做：", "What next:"),
        "again": ("再写一封", "Write another"),
        "unavailable": (
            "抱歉，投诉信的模板现在用不了。可以先参考下面的写法：",
            "Sorry, the letter templates are unavailable right now. Here is how to write one yourself:",
        ),
        "other_region": (
            "我的信按中国大陆的规定写；如果你在别的地方，这些规定不一定适用。",
            "These letters follow mainland China's rules, which may not apply where you are.",
        ),
    }
)


def say(key: str, locale: Locale) -> str:
    hans, english = _WORDS[key]
    return localised(hans, english, locale)


def intro(progress: Progress, locale: Locale) -> str:
    return say("intro", locale).format(count=len(progress.steps))


def finish(
    kb: KnowledgeBase, progress: Progress, locale: Locale, today: dt.date
) -> tuple[list[Reply], tuple[str, ...]]:
    """The letters for what the user answered, and the ids of the letters written (for the usage event)."""
    region = region_of(progress)
    letters = kb.letters.get(region, locale)
    if letters is None:
        return [Reply(say("unavailable", locale))], ()
    told = story(progress, locale)
    filled = letters.fill(told, today)
    head = say("ready_one", locale) if len(filled) == 1 else say("ready", locale).format(count=len(filled))
    replies = [Reply(head)]
    for letter in filled:
        how = fill(letter.send, locale, region)
        replies.append(Reply(f"{letter.title}\n{say('how', locale)}{how}", copy=letter.body))
    replies.append(Reply(fill(letters.checklist_text(told), locale, region)))
    buttons: list[Button] = []
    if NO_RESPONSE_INTENT in kb.intents:
        buttons.append(Action("answer", NO_RESPONSE_INTENT).button(kb.title(NO_RESPONSE_INTENT, locale)))
    buttons.append(Action("flow", "complain").button(say("again", locale)))
    next_text = say("next", locale) + "\n" + fill(letters.next_text(), locale, region)
    replies.append(Reply(next_text, tuple(buttons)))
    return replies, tuple(letter.id for letter in filled)

"""The bot's own words (menus, prompts, confirmations), in Simplified Chinese and English.

Traditional Chinese is produced from the Simplified text with OpenCC. Answers to questions are content
and live in faq/; what is here is the frame around them.
"""

from __future__ import annotations

from functools import cache

from .models import Button, Locale
from .region import Region
from .text import to_traditional

_TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "zh-Hans": "你好，我是安心。被催收骚扰不是你的错，你也不是一个人。\n"
        "我可以告诉你：催收这样做合法吗、怎么投诉举报、你有哪些权利。\n"
        "直接打字提问，或选一个话题。我不保存你的名字、电话或账号。",
        "en": "Hi, I'm Anxin. Being harassed by debt collectors is not your fault, and you are not alone.\n"
        "I can tell you whether what they do is legal, how to report it, and what your rights are.\n"
        "Type your question or pick a topic. I don't store your name, number or account.",
    },
    "menu": {
        "zh-Hans": "直接打字提问，或选一个话题：",
        "en": "Type your question, or pick a topic:",
    },
    "topic": {
        "zh-Hans": "这个话题下常见的问题：",
        "en": "Common questions on this topic:",
    },
    "clarify": {
        "zh-Hans": "我不太确定你问的是哪个。是下面这些吗？",
        "en": "I'm not sure which of these you mean. Is it one of these?",
    },
    "fallback": {
        "zh-Hans": "抱歉，这个问题我还回答不了。我能回答的是：催收这样做合法吗、怎么投诉举报、你有哪些权利。"
        "请换个说法，或选一个话题：",
        "en": "Sorry, I can't answer that one yet. I can help with: is what the collector does legal, "
        "how to report it, and what your rights are. Try other words, or pick a topic:",
    },
    "media": {
        "zh-Hans": "我只能读文字。请把你的问题打出来，比如：“催收打电话给我家人合法吗？”",
        "en": "I can only read text. Please type your question, for example: "
        '"Is it legal for collectors to call my family?"',
    },
    "empty": {
        "zh-Hans": "请把你的问题打出来，比如：“催收天天打电话怎么办？”",
        "en": 'Please type your question, for example: "Collectors call me all day, what can I do?"',
    },
    "stale": {
        "zh-Hans": "这个选项已经失效了。请重新提问，或选一个话题：",
        "en": "That option is no longer available. Ask again, or pick a topic:",
    },
    "forgotten": {
        "zh-Hans": "已删除与你有关的全部记录。之后的对话会重新开始。",
        "en": "Done: everything linked to you has been deleted. The conversation starts afresh.",
    },
    "forget_failed": {
        "zh-Hans": "抱歉，现在无法删除记录，请稍后再发一次 /forget。",
        "en": "Sorry, I could not delete your records right now. Please send /forget again later.",
    },
    "lang_choose": {
        "zh-Hans": "请选择语言：",
        "en": "Choose a language:",
    },
    "lang_set": {
        "zh-Hans": "好的，之后用简体中文回复。",
        "en": "OK, I'll answer in English from now on.",
    },
    "unknown_command": {
        "zh-Hans": "没有这个命令。可用命令：/help 话题菜单，/lang 语言，/privacy 隐私，/forget 删除记录。",
        "en": "Unknown command. Try /help (topics), /lang (language), /privacy, /forget (delete my data).",
    },
    "privacy": {
        "zh-Hans": "我不保存你的聊天账号，也不保存聊天软件里的名字和电话；对话进度只用一个由密钥算出的代号记住。"
        "没能回答的问题会先自动去掉能认出的电话、证件号、银行卡号、邮箱、QQ和微信号、地址和姓名，再保留30天，"
        "帮助志愿者补充内容；自动去除不能保证万无一失，所以提问时不必写这些信息。"
        "发送 /forget 可立即删除与你有关的全部记录。",
        "en": "I don't store your messenger account, or the name and number it shows; a code computed with a "
        "secret key keeps track of the conversation. Questions I could not answer are kept for 30 days after "
        "phone, ID and card numbers, e-mail addresses, QQ and WeChat ids, addresses and names are removed "
        "automatically, so volunteers can add answers; that removal cannot catch everything, so there is no need "
        "to write such details. Send /forget to delete everything linked to you at once.",
    },
    "crisis": {
        # Used only if the crisis answer is missing from faq/: verified national lines from FACTS.md.
        "zh-Hans": "听到你这样说，我很担心你。你现在不是一个人。\n"
        "请马上拨打全国心理援助热线 12356,或希望24热线 400-161-9995(24小时)。\n"
        "如果你有危险，请立刻拨打 110 或 120,并找一个人陪着你。债务可以慢慢解决，你的生命更重要。",
        "en": "I'm worried about you, and you are not alone.\n"
        "Please call the national psychological assistance line 12356, or the Hope 24 line 400-161-9995 (24 h).\n"
        "If you are in danger, call 110 or 120 now and ask someone to stay with you. "
        "Debts can be dealt with; your life matters more.",
    },
    "region_choose": {
        "zh-Hans": "你现在在哪里？不同地方的法律、热线和报警电话不一样，我会按你的选择回答。",
        "en": "Where are you? Laws, hotlines and emergency numbers differ, so I'll answer for where you are.",
    },
    "region_set.mainland": {
        "zh-Hans": "好的，之后按中国大陆的规定回答。直接打字提问，或选一个话题：",
        "en": "OK, I'll answer for mainland China. Type your question, or pick a topic:",
    },
    "region_set.hk": {
        "zh-Hans": "好的，你在香港。我会尽量给香港的规定和求助渠道；只有大陆资料的地方会说明。紧急情况请拨打 999。",
        "en": "OK, you're in Hong Kong. I'll give Hong Kong rules and help where I have them, and say so when "
        "I only have mainland information. In an emergency call 999.",
    },
    "region_set.tw": {
        "zh-Hans": "好的，你在台湾。我会尽量给台湾的规定和求助渠道；只有大陆资料的地方会说明。"
        "紧急情况请拨打 110 或 119。",
        "en": "OK, you're in Taiwan. I'll give Taiwan rules and help where I have them, and say so when I only "
        "have mainland information. In an emergency call 110 or 119.",
    },
    "region_set.other": {
        "zh-Hans": "好的。我的资料主要是中国大陆的规定，不一定适用于你所在的地方；紧急情况请拨打当地的报警电话。",
        "en": "OK. My information is mainly about mainland China and may not apply where you are; in an "
        "emergency call your local emergency number.",
    },
    "sources": {"zh-Hans": "依据：", "en": "Sources:"},
    "more": {"zh-Hans": "详细说明", "en": "More details"},
    "none_of_these": {"zh-Hans": "都不是", "en": "None of these"},
    "topics": {"zh-Hans": "话题菜单", "en": "Topics"},
    "topic.legal": {"zh-Hans": "催收这样做合法吗？", "en": "Is this legal?"},
    "topic.report": {"zh-Hans": "怎么投诉举报？", "en": "How do I report it?"},
    "topic.rights": {"zh-Hans": "我有哪些权利？", "en": "What are my rights?"},
    "topic.consequence": {"zh-Hans": "逾期会怎样？", "en": "What happens if I'm overdue?"},
    "topic.scam": {"zh-Hans": "当心这些骗局", "en": "Scams to watch for"},
    "topic.platform": {"zh-Hans": "花呗、白条与平台", "en": "Huabei, Baitiao, lenders"},
    "topic.wellbeing": {"zh-Hans": "压力大、想找人说", "en": "Stress and family"},
}

REGION_NAMES: dict[Region, dict[str, str]] = {
    "mainland": {"zh-Hans": "中国大陆", "zh-Hant": "中國大陸", "en": "Mainland China"},
    "hk": {"zh-Hans": "香港", "zh-Hant": "香港", "en": "Hong Kong"},
    "tw": {"zh-Hans": "台湾", "zh-Hant": "台灣", "en": "Taiwan"},
    "other": {"zh-Hans": "其他地方", "zh-Hant": "其他地方", "en": "Somewhere else"},
}
# What people type after /region.
REGION_WORDS: dict[str, Region] = {
    "cn": "mainland",
    "mainland": "mainland",
    "china": "mainland",
    "大陆": "mainland",
    "大陸": "mainland",
    "内地": "mainland",
    "內地": "mainland",
    "hk": "hk",
    "hongkong": "hk",
    "hong kong": "hk",
    "香港": "hk",
    "tw": "tw",
    "taiwan": "tw",
    "台湾": "tw",
    "台灣": "tw",
    "臺灣": "tw",
    "other": "other",
    "其他": "other",
}


def region_buttons(locale: Locale) -> tuple[Button, ...]:
    return tuple(Button(names[locale], f"r:{region}") for region, names in REGION_NAMES.items())


TOPICS: tuple[str, ...] = ("legal", "report", "rights", "consequence", "scam", "platform", "wellbeing")
LANGUAGE_NAMES: dict[Locale, str] = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}


@cache
def say(key: str, locale: Locale) -> str:
    texts = _TEXTS[key]
    if locale == "zh-Hant":
        return to_traditional(texts["zh-Hans"])
    return texts.get(locale) or texts["zh-Hans"]


def lang_set(locale: Locale) -> str:
    if locale == "zh-Hant":
        return "好的，之後用繁體中文回覆。"
    return say("lang_set", locale)

"""The bot's own words (menus, prompts, confirmations), in Simplified Chinese and English.

Traditional Chinese is produced from the Simplified text with OpenCC. Answers to questions are content
and live in faq/; what is here is the frame around them.
"""

from __future__ import annotations

from functools import cache

from .actions import Action
from .models import Button, Locale
from .region import Region
from .text import to_traditional

_TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "zh-Hans": "你好，我是安心。被催收骚扰不是你的错，你也不是一个人。\n"
        "我可以告诉你：催收这样做合法吗、怎么投诉举报、你有哪些权利。\n"
        "直接打字提问，或选一个话题。我不保存你的聊天账号；提问时不必写名字、电话或证件号。",
        "en": "Hi, I'm Anxin. Being harassed by debt collectors is not your fault, and you are not alone.\n"
        "I can tell you whether what they do is legal, how to report it, and what your rights are.\n"
        "Type your question or pick a topic. I don't store your messenger account, and you need not give your "
        "name, number or ID.",
    },
    "menu": {
        "zh-Hans": "直接打字提问，或选一个话题：",
        "en": "Type your question, or pick a topic:",
    },
    "more_questions": {"zh-Hans": "更多问题", "en": "More questions"},
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
    "unknown_command": {"zh-Hans": "没有这个命令。可用的命令：", "en": "Unknown command. These are the commands:"},
    "nothing_to_cancel": {
        "zh-Hans": "现在没有进行中的步骤。直接打字提问，或选一个话题：",
        "en": "Nothing to cancel. Type your question, or pick a topic:",
    },
    "cancelled": {
        "zh-Hans": "好的，已取消，你刚才的回答已经删除。直接打字提问，或选一个话题：",
        "en": "OK, cancelled; your answers have been deleted. Type your question, or pick a topic:",
    },
    "complain_button": {"zh-Hans": "帮我写投诉信", "en": "Help me write a complaint"},
    "rate_button": {"zh-Hans": "算一算我这笔的真实年化", "en": "Work out my loan's real rate"},
    "stats_usage": {
        "zh-Hans": "用法：/stats 或 /stats 天数（1–{most}），例如 /stats 7",
        "en": "Usage: /stats, or /stats DAYS (1–{most}), e.g. /stats 7",
    },
    "stats_unavailable": {
        "zh-Hans": "统计暂时读不到（数据库忙或不可用），请稍后再试。",
        "en": "Statistics are unavailable right now (the database is busy or missing); try again later.",
    },
    "reloaded": {"zh-Hans": "已重新加载：{count} 个意图。", "en": "Reloaded: {count} intents."},
    "reload_kept": {
        "zh-Hans": "已重新加载，但内容有 {count} 处问题。这些文件继续使用上一个正确的版本：{files}",
        "en": "Reloaded, but the content has {count} problem(s). These files keep serving their last good "
        "version: {files}",
    },
    "reload_left_out": {
        "zh-Hans": "已重新加载，但内容有 {count} 处问题；有问题的条目在修好之前不会上线：",
        "en": "Reloaded, but the content has {count} problem(s); entries with problems stay offline until fixed:",
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
        # Used only if the crisis answer is missing from faq/: verified national lines (docs/sources.md).
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
    "region_ask": {
        "zh-Hans": "以上是中国大陆的规定。你在哪里？香港、台湾的法律和报警电话不一样，选一下，我按你所在的地方回答：",
        "en": "That describes mainland China. Where are you? Laws and emergency numbers differ in Hong Kong and "
        "Taiwan; pick one and I'll answer for where you are:",
    },
    # One line above a mainland answer shown to a user elsewhere: what it is, and where local help is.
    "preface.hk": {
        "zh-Hans": "（以下是中国大陆的规定，香港不一定适用。在香港有危险请打999，也可以向香港警方求助。）",
        "en": "(This describes mainland China's rules, which may not apply in Hong Kong. In Hong Kong call 999 "
        "in an emergency, or go to the police.)",
    },
    "preface.tw": {
        "zh-Hans": "（以下是中国大陆的规定，台湾不一定适用。在台湾有危险请打110或119，遇到诈骗可打165。）",
        "en": "(This describes mainland China's rules, which may not apply in Taiwan. In Taiwan call 110 or 119 "
        "in an emergency, 165 about scams.)",
    },
    "preface.other": {
        "zh-Hans": "（以下是中国大陆的规定，你所在的地方不一定适用。有危险请打当地的紧急电话。）",
        "en": "(This describes mainland China's rules, which may not apply where you are. In an emergency call "
        "your local emergency number.)",
    },
    "local_emergency": {"zh-Hans": "当地的紧急电话", "en": "your local emergency number"},
    "apology": {
        "zh-Hans": "抱歉，出了点问题。请稍后再发一次。",
        "en": "Sorry, something went wrong. Please send that again in a moment.",
    },
    "sources": {"zh-Hans": "依据：", "en": "Sources: "},
    "checked": {"zh-Hans": "核对于", "en": "Checked"},
    "out_of_range": {
        "zh-Hans": "只有 {count} 个选项，请回复其中一个数字，或直接打字提问：",
        "en": "There are only {count} options: reply with one of their numbers, or type your question:",
    },
    "not_this": {"zh-Hans": "不是我想问的", "en": "Not what I meant"},
    "feedback_ask": {"zh-Hans": "有帮助吗？", "en": "Was this helpful?"},
    "feedback_typed": {"zh-Hans": "有帮助吗？回复 好 / 不好", "en": "Was this helpful? Reply yes / no"},
    "feedback_yes": {"zh-Hans": "👍 有帮助", "en": "👍 Helpful"},
    "feedback_no": {"zh-Hans": "👎 没帮助", "en": "👎 Not helpful"},
    "feedback_thanks": {"zh-Hans": "谢谢你告诉我。", "en": "Thank you for telling me."},
    "feedback_sorry": {
        "zh-Hans": "抱歉没能帮上忙，谢谢你告诉我，我们会改进。可以换个说法再问，或选一个话题：",
        "en": "Sorry that didn't help. Thank you for telling me; we will improve it. Try other words, or pick a topic:",
    },
    "next_question": {
        "zh-Hans": "这个问题刚才已经回答了。接下来想了解哪一个？",
        "en": "I've just answered that one. What would you like to know next?",
    },
    "overview": {
        "zh-Hans": "你提到了几件事，我分开说，点一个看完整的回答：",
        "en": "You mentioned several things. In short, and tap one for the full answer:",
    },
    "distress": {
        "zh-Hans": "听起来你现在很难受。这不是你的错，你也不是一个人。\n"
        "你可以慢慢说，我在这里；想找人说话，可以打 {line}。\n也可以从下面选一个话题：",
        "en": "It sounds like things are really hard right now. This is not your fault, and you're not alone.\n"
        "Take your time, I'm here; if you'd like to talk to someone, you can call {line}.\nOr pick a topic:",
    },
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
    return tuple(Action("region", region).button(names[locale]) for region, names in REGION_NAMES.items())


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

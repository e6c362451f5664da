"""Care mode: after a crisis or concern signal the bot stays with the person instead of returning to menus.

    CareContent   hotlines by region (`safety/lines.yaml`), replies and follow-up words (`safety/care.yaml`)
    start(…)      the first reply to a crisis or concern, and the care state to remember
    follow(…)     a reply to a message or button while in care mode, moving forward, never repeating
    active(…)     whether a stored care state still holds (30 minutes or 10 messages since the last signal)

Every care reply keeps at least one line of the user's region in view; while an act is under way the
emergency number comes first. Nothing here sees or keeps message text beyond classifying it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml

from .actions import Action
from .content import KnowledgeError, read_yaml
from .models import LOCALES, Button, Locale
from .region import REGIONS, Region
from .safety import Assessment
from .state import CareLevel, CareState
from .text import to_simplified, to_traditional

CARE_SECONDS = 30 * 60
CARE_MESSAGES = 10
LINES_FILE = "lines.yaml"
CARE_FILE = "care.yaml"
PLACEHOLDERS = frozenset({"lines", "line", "next_line", "emergency", "text_option"})
LINE_PLACEHOLDERS = frozenset({"lines", "line", "next_line"})
REQUIRED_REPLIES = (
    "crisis",
    "crisis_again",
    "act",
    "called",
    "other",
    "other_help",
    "concern",
    "concern_again",
    "unsafe",
    "no_answer",
    "no_phone",
    "alone",
    "thanks",
    "listen",
    "check",
    "safe",
    "footer",
    "emergency_first",
)
# Replies that need no "call the emergency number" line in front of them while an act is under way.
NO_EMERGENCY_LEAD = frozenset({"act", "called", "emergency_first", "safe", "footer"})
# Replies short enough to go without a crisis line of their own (they are shown with one).
LINELESS = frozenset({"emergency_first"})
CHOICES = (
    "danger",
    "unsafe",
    "ok",
    "safe_now",
    "no_answer",
    "no_phone",
    "called",
    "other_help",
    "its_me",
    "someone_else",
)
EXIT_CHOICES = frozenset({"ok", "safe_now", "safe"})
# The follow-ups a variant's `if_no` may name.
IF_NO = ("unsafe", "alone")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


# --- content ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    number: str
    names: Mapping[str, str]
    always_open: bool = False
    notes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class RegionLines:
    emergency: Mapping[str, str]
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Variant:
    texts: Mapping[str, str]  # locale → text; zh-Hant may be missing (converted)
    # What a bare "no" means right after this variant, when it asked a question: "are you safe right now?" ->
    # "unsafe", "is anyone with you?" -> "alone". None: a "no" is just talk.
    if_no: str | None = None


@dataclass(frozen=True)
class ReplyKind:
    variants: tuple[Variant, ...]
    buttons: tuple[str, ...]


@dataclass(frozen=True)
class CareContent:
    regions: Mapping[str, RegionLines]
    replies: Mapping[str, ReplyKind]
    followups: tuple[tuple[str, re.Pattern[str]], ...]
    labels: Mapping[str, Mapping[str, str]]
    built_in: bool = False
    distress: re.Pattern[str] | None = None  # messages that match nothing but sound upset

    def classify(self, canonical: str) -> str | None:
        """Which follow-up a message in care mode is ("no_answer", "safe", …), or None."""
        return next((name for name, pattern in self.followups if pattern.search(canonical)), None)

    def reading(self, canonical: str, state: CareState) -> str | None:
        """Which follow-up a message in care mode is, a bare "no" read as the answer to the question the last reply
        asked (`meaning_of_no`: "are you safe right now?" -> not safe; after any other reply it is just talk, None).
        The dialog reads it so both when the safety net alone sees a risk in the word and when nothing does: "没有"
        right after the check-in once got a fresh "tell me more" instead of the steps."""
        choice = self.classify(canonical)
        return self.meaning_of_no(state) if choice == "no" else choice

    def meaning_of_no(self, state: CareState) -> str | None:
        """What a bare "no" answers: the question the last care reply asked (its variant's `if_no`), or None."""
        if not state.used:
            return None
        kind, _, index = state.used[-1].partition(":")
        found = self.replies.get(kind)
        if found is None or not index.isdigit() or int(index) >= len(found.variants):
            return None
        return found.variants[int(index)].if_no

    def distressed(self, text: str) -> bool:
        """Whether a message that matched nothing sounds upset (words or emoji), for a warmer reply."""
        return self.distress is not None and self.distress.search(text.casefold()) is not None

    def buttons_label(self, name: str, locale: Locale) -> str:
        return _localised(self.labels[name], locale)

    def buttons(self, kind: str, locale: Locale) -> tuple[Button, ...]:
        found = self.replies.get(kind)
        if found is None:
            return ()
        return tuple(Action("care", name).button(_localised(self.labels[name], locale)) for name in found.buttons)


# Care texts are content written in one script and shown in the other on nearly every reply that names a line (each
# fallback to someone upset, each message in care mode): OpenCC ran about once a message on the same few strings.
# Each is converted once and kept; only the content's own texts come here, never what a user typed.
_to_simplified = lru_cache(maxsize=2048)(to_simplified)
_to_traditional = lru_cache(maxsize=2048)(to_traditional)


def _localised(texts: Mapping[str, str], locale: Locale) -> str:
    if locale in texts:
        return texts[locale]
    if locale == "zh-Hant" and "zh-Hans" in texts:
        return _to_traditional(texts["zh-Hans"])
    if locale == "zh-Hans" and "zh-Hant" in texts:
        return _to_simplified(texts["zh-Hant"])
    if locale == "en":
        return texts.get("en") or next(iter(texts.values()))
    return texts.get("zh-Hans") or texts.get("zh-Hant") or next(iter(texts.values()))


# Used only when safety/lines.yaml or safety/care.yaml cannot be read: the verified numbers (docs/sources.md)
# and one reply that fits every situation. Care mode must never depend on a volunteer's edit being valid.
BUILT_IN_REGIONS: Mapping[str, RegionLines] = MappingProxyType(
    {
        "mainland": RegionLines(
            MappingProxyType({"zh-Hans": "110（报警）或 120（急救）", "en": "110 (police) or 120 (ambulance)"}),
            (
                Line(
                    "12356",
                    MappingProxyType(
                        {"zh-Hans": "全国统一心理援助热线", "en": "national psychological assistance hotline"}
                    ),
                ),
                Line("400-161-9995", MappingProxyType({"zh-Hans": "希望24热线", "en": "Hope 24 hotline"}), True),
                Line(
                    "010-82951332",
                    MappingProxyType({"zh-Hans": "北京心理危机研究与干预中心", "en": "Beijing crisis line"}),
                    True,
                ),
            ),
        ),
        "hk": RegionLines(
            MappingProxyType({"zh-Hant": "999", "en": "999"}),
            (
                Line(
                    "18111", MappingProxyType({"zh-Hant": "情緒通", "en": "18111 Mental Health Support Hotline"}), True
                ),
                Line(
                    "2389 2222",
                    MappingProxyType({"zh-Hant": "香港撒瑪利亞防止自殺會", "en": "Samaritan Befrienders"}),
                    True,
                ),
                Line("2896 0000", MappingProxyType({"zh-Hant": "撒瑪利亞會", "en": "The Samaritans"}), True),
            ),
        ),
        "tw": RegionLines(
            MappingProxyType({"zh-Hant": "110（警察）或 119（救護）", "en": "110 (police) or 119 (ambulance)"}),
            (
                Line("1925", MappingProxyType({"zh-Hant": "安心專線", "en": "1925 hotline"}), True),
                Line("1995", MappingProxyType({"zh-Hant": "生命線", "en": "Lifeline"})),
                Line("1980", MappingProxyType({"zh-Hant": "張老師專線", "en": "Teacher Chang line"})),
            ),
        ),
    }
)
_BUILT_IN_VARIANT = Variant(
    MappingProxyType(
        {
            "zh-Hans": "我很担心你。请现在就打电话，会有人听你说：\n{lines}\n"
            "如果你有危险，请马上拨打 {emergency}。我在这里。",
            "en": "I'm worried about you. Please call someone now; they will listen:\n{lines}\n"
            "If you are in danger, call {emergency} right away. I'm here.",
        }
    )
)
_BUILT_IN_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "danger": {"zh-Hans": "我现在有危险", "en": "I'm in danger now"},
        "unsafe": {"zh-Hans": "我不安全，但没有马上的危险", "en": "I'm not safe, but not in danger right now"},
        "ok": {"zh-Hans": "我还好，回到我的问题", "en": "I'm OK, back to my question"},
        "safe_now": {"zh-Hans": "我现在安全了", "en": "I'm safe now"},
        "no_answer": {"zh-Hans": "电话没人接", "en": "The line didn't answer"},
        "no_phone": {"zh-Hans": "我不想打电话", "en": "I don't want to call"},
        "called": {"zh-Hans": "我已经打了电话", "en": "I've called"},
        "other_help": {"zh-Hans": "我该怎么陪着 TA", "en": "How do I stay with them?"},
        "its_me": {"zh-Hans": "其实是我自己有危险", "en": "It's me who's in danger"},
        "someone_else": {"zh-Hans": "是别人有危险", "en": "Someone else is in danger"},
    }
)


def built_in_care() -> CareContent:
    buttons = {"concern": ("danger", "unsafe", "ok"), "check": ("danger", "unsafe", "ok")}
    replies = {
        kind: ReplyKind((_BUILT_IN_VARIANT,), buttons.get(kind, ("no_answer", "safe_now"))) for kind in REQUIRED_REPLIES
    }
    return CareContent(BUILT_IN_REGIONS, MappingProxyType(replies), (), _BUILT_IN_LABELS, built_in=True)


# --- rendering --------------------------------------------------------------------------------------------


def _region_lines(content: CareContent, region: Region | None) -> RegionLines:
    key = region if region in ("hk", "tw") else "mainland"
    return content.regions.get(key) or BUILT_IN_REGIONS[key]


def _line_text(line: Line, locale: Locale) -> str:
    name = _localised(line.names, locale)
    if locale == "en":
        return f"{line.number} ({name})"
    return f"{line.number}（{name}）"


def _line_item(line: Line, locale: Locale) -> str:
    name = _localised(line.names, locale)
    if line.always_open:
        name += " (24 hours)" if locale == "en" else ("（24小時）" if locale == "zh-Hant" else "（24小时）")
    return f"· {line.number} {name}"


def _elsewhere(content: CareContent, locale: Locale) -> list[str]:
    """For a user whose region is not known: one line each for Hong Kong and Taiwan."""
    items = []
    places: tuple[tuple[Region, Mapping[str, str]], ...] = (
        ("hk", {"zh-Hans": "香港", "zh-Hant": "香港", "en": "Hong Kong"}),
        ("tw", {"zh-Hans": "台湾", "zh-Hant": "台灣", "en": "Taiwan"}),
    )
    for region, label in places:
        lines = _region_lines(content, region)
        first = lines.lines[0]
        emergency = _localised(lines.emergency, locale)
        name = _localised(first.names, locale)
        if locale == "en":
            items.append(f"· {label['en']}: {first.number} ({name}); emergency {emergency}")
        else:
            word = "紧急" if locale == "zh-Hans" else "緊急"
            items.append(f"· {label[locale]}：{first.number} {name}；{word} {emergency}")
    return items


def fill(content: CareContent, template: str, locale: Locale, region: Region | None, offered: int) -> str:
    """A reply with its placeholders filled for the user's region; empty placeholder lines are dropped."""
    lines = _region_lines(content, region)
    count = len(lines.lines)
    current = lines.lines[(offered - 1) % count]
    following = lines.lines[offered % count]
    emergency = _localised(lines.emergency, locale)
    listing = [_line_item(line, locale) for line in lines.lines]
    line = _line_text(current, locale)
    if region is None:
        listing += _elsewhere(content, locale)
        hk, tw = _region_lines(content, "hk"), _region_lines(content, "tw")
        if locale == "en":
            line += f" (Hong Kong {hk.lines[0].number}, Taiwan {tw.lines[0].number})"
            emergency += " (Hong Kong 999; Taiwan 110 or 119)"
        else:
            place = ("香港", "台湾") if locale == "zh-Hans" else ("香港", "台灣")
            line += f"（{place[0]} {hk.lines[0].number}，{place[1]} {tw.lines[0].number}）"
            emergency += f"（{place[0]} 999，{place[1]} 110 或 119）"
    elif region == "other":
        emergency = (
            "your local emergency number (in mainland China 110 / 120)"
            if locale == "en"
            else (
                "当地的紧急电话（在中国大陆：110 / 120）"
                if locale == "zh-Hans"
                else "當地的緊急電話（在中國大陸：110 / 120）"
            )
        )
    notes = [_localised(item.notes, locale) for item in lines.lines if item.notes]
    values = {
        "lines": "\n".join(listing),
        "line": line,
        "next_line": _line_text(following, locale),
        "emergency": emergency,
        "text_option": "\n".join(f"· {note}" for note in notes),
    }
    filled = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    return "\n".join(row for row in filled.splitlines() if row.strip()).strip()


@dataclass(frozen=True)
class CareReply:
    text: str
    buttons: tuple[Button, ...]
    state: CareState


def compose(content: CareContent, kind: str, state: CareState, locale: Locale, region: Region | None) -> CareReply:
    """The next variant of `kind` not yet used in this conversation, filled in, with its buttons."""
    found = content.replies.get(kind) or built_in_care().replies[kind]
    used_here = [key for key in state.used if key.startswith(kind + ":")]
    index = next(
        (i for i in range(len(found.variants)) if f"{kind}:{i}" not in state.used),
        len(used_here) % len(found.variants),
    )
    template = _localised(found.variants[index].texts, locale)
    text = fill(content, template, locale, region, state.lines_offered)
    if state.act and kind not in NO_EMERGENCY_LEAD and "{emergency}" not in template:
        first = content.replies.get("emergency_first") or built_in_care().replies["emergency_first"]
        lead = fill(content, _localised(first.variants[0].texts, locale), locale, region, state.lines_offered)
        text = lead + "\n" + text
    # Last is the reply just given (`CareContent.meaning_of_no` reads it); each variant is listed once.
    key = f"{kind}:{index}"
    used = (*(item for item in state.used if item != key), key)
    return CareReply(text, content.buttons(kind, locale), state.replace(used=used))


# --- the state machine ----------------------------------------------------------------------------------------


def active(state: CareState | None, now: float) -> CareState | None:
    """The care state if it still holds; None once 30 minutes or 10 messages passed without a new signal."""
    if state is None:
        return None
    if now - state.since > CARE_SECONDS or state.messages >= CARE_MESSAGES:
        return None
    return state


def start(
    content: CareContent,
    assessment: Assessment,
    state: CareState | None,
    locale: Locale,
    region: Region | None,
    now: float,
) -> CareReply:
    """The reply to a crisis or concern signal: the first one, or a stronger one while already in care."""
    level: CareLevel = (
        "crisis" if assessment.level == "crisis" or (state is not None and state.level == "crisis") else "concern"
    )
    act = assessment.act or (state is not None and state.act)
    # A conversation about someone else at risk stays about them ("她现在叫不醒" after "我室友吞了一整瓶安眠药") until a
    # message speaks only of the writer ("我也不想活了", `Assessment.mine`) or the writer says it is them (`its_me`).
    other = assessment.other or (state is not None and state.other and not assessment.mine)
    base = state or CareState(level, now)
    current = base.replace(level=level, act=act, other=other, since=now, messages=0)
    if other:
        # before an act: someone else's act under way gets the reply that helps the writer help them, which puts the
        # emergency number first itself ("my roommate took a bunch of pills and won't wake up")
        kind = "other"
    elif assessment.act:
        kind = "act"
    elif assessment.level == "crisis":
        kind = "crisis" if state is None or state.level != "crisis" else "crisis_again"
    else:
        kind = "concern" if state is None else "concern_again"
    return compose(content, kind, current, locale, region)


def follow(
    content: CareContent, choice: str, state: CareState, locale: Locale, region: Region | None
) -> CareReply | None:
    """The reply to a follow-up (a button, or words that `CareContent.classify` recognised).

    None when the person chose to leave care mode ("I'm OK", "I'm safe now"): the dialog then says so
    and answers the question they asked meanwhile.
    """
    current = state.replace(messages=state.messages + 1)
    if choice in EXIT_CHOICES:
        return None
    if choice == "danger":
        # "已经吃了" in a conversation about someone else is their act: the reply that helps the writer help them
        kind = "other" if state.other else "act"
        return compose(content, kind, current.replace(act=True, level="crisis"), locale, region)
    # The safety layer guesses whose life is at risk, and is wrong both ways; the person's word settles it.
    if choice == "its_me":
        writer = current.replace(other=False, level="crisis")
        told = any(key.startswith("crisis:") for key in current.used)
        kind = "act" if current.act else ("crisis_again" if told else "crisis")
        return compose(content, kind, writer, locale, region)
    if choice == "someone_else":
        # `act` and the level stay: the act under way is still under way, only not the writer's; the emergency
        # number keeps its place in front of what follows.
        return compose(content, "other", current.replace(other=True), locale, region)
    if choice == "no_answer":
        reply = compose(content, "no_answer", current, locale, region)
        return CareReply(reply.text, reply.buttons, reply.state.replace(lines_offered=current.lines_offered + 1))
    kind = {"unsafe": "unsafe", "no_phone": "no_phone", "called": "called", "other_help": "other_help"}.get(
        choice, choice
    )
    if kind not in content.replies and kind not in REQUIRED_REPLIES:
        kind = "listen"
    return compose(content, kind, current, locale, region)


def goodbye(content: CareContent, state: CareState, locale: Locale, region: Region | None) -> str:
    """What the bot says when the person leaves care mode; a line stays in view."""
    return compose(content, "safe", state, locale, region).text


# --- loading ------------------------------------------------------------------------------------------------


def _names(node: yaml.Node, path: Path, what: str, errors: list[KnowledgeError]) -> dict[str, str]:

    found: dict[str, str] = {}
    if not isinstance(node, yaml.MappingNode):
        errors.append(KnowledgeError(path, node.start_mark.line + 1, f"{what} must be `locale: text` lines"))
        return found
    for key, value in node.value:
        locale = str(key.value)
        if locale not in LOCALES:
            errors.append(KnowledgeError(path, key.start_mark.line + 1, f"unknown locale `{locale}` in {what}"))
            continue
        text = str(value.value).strip() if isinstance(value, yaml.ScalarNode) else ""
        if not text:
            errors.append(KnowledgeError(path, value.start_mark.line + 1, f"{what} for {locale} is empty"))
            continue
        found[locale] = text
    return found


def load_lines(path: Path, errors: list[KnowledgeError]) -> Mapping[str, RegionLines]:

    if not path.is_file():
        errors.append(KnowledgeError(path, 1, "the crisis lines file is missing; using the built-in lines"))
        return BUILT_IN_REGIONS
    root = read_yaml(path, errors)
    if not isinstance(root, yaml.MappingNode):
        if root is not None:
            errors.append(KnowledgeError(path, 1, "the file must have `mainland:`, `hk:` and `tw:` sections"))
        return BUILT_IN_REGIONS
    regions: dict[str, RegionLines] = {}
    for key, value in root.value:
        name = str(key.value)
        line_no = key.start_mark.line + 1
        if name not in REGIONS or name == "other":
            errors.append(KnowledgeError(path, line_no, f"unknown region `{name}`; use mainland, hk or tw"))
            continue
        if not isinstance(value, yaml.MappingNode):
            errors.append(KnowledgeError(path, line_no, f"`{name}` needs `emergency:` and `lines:`"))
            continue
        fields = {str(k.value): v for k, v in value.value}
        emergency = _names(fields["emergency"], path, "`emergency`", errors) if "emergency" in fields else {}
        lines: list[Line] = []
        node = fields.get("lines")
        if not isinstance(node, yaml.SequenceNode):
            errors.append(KnowledgeError(path, line_no, f"`{name}` needs a `lines:` list"))
            continue
        for item in node.value:
            item_line = item.start_mark.line + 1
            entry = {str(k.value): v for k, v in item.value} if isinstance(item, yaml.MappingNode) else {}
            number = str(entry["number"].value).strip() if "number" in entry else ""
            if not re.fullmatch(r"[0-9][0-9 -]{1,14}[0-9]", number):
                errors.append(KnowledgeError(path, item_line, "each line needs a `number` of digits, spaces and -"))
                continue
            names = _names(entry["names"], path, f"the names of {number}", errors) if "names" in entry else {}
            if "en" not in names or not ({"zh-Hans", "zh-Hant"} & names.keys()):
                errors.append(KnowledgeError(path, item_line, f"{number} needs `names` in Chinese and en"))
                continue
            notes = _names(entry["note"], path, f"the note of {number}", errors) if "note" in entry else {}
            always = "always_open" in entry and str(entry["always_open"].value).lower() == "true"
            lines.append(Line(number, MappingProxyType(names), always, MappingProxyType(notes)))
        if not lines or "en" not in emergency:
            errors.append(KnowledgeError(path, line_no, f"`{name}` needs at least one line and `emergency` in en"))
            continue
        regions[name] = RegionLines(MappingProxyType(emergency), tuple(lines))
    for name in ("mainland", "hk", "tw"):
        if name not in regions:
            errors.append(KnowledgeError(path, 1, f"no usable `{name}` section; using the built-in lines for it"))
            regions[name] = BUILT_IN_REGIONS[name]
    return MappingProxyType(regions)


def load_care(folder: Path, canonical: re.Pattern[str] | None, errors: list[KnowledgeError]) -> CareContent:
    """Replies and follow-ups from `safety/care.yaml`, lines from `safety/lines.yaml`; built-ins on failure.

    `canonical` is unused for now: follow-up patterns are written in the canonical form of safety/signals.yaml.
    """

    regions = load_lines(folder / LINES_FILE, errors)
    path = folder / CARE_FILE
    fallback = built_in_care()
    if not path.is_file():
        errors.append(KnowledgeError(path, 1, "the care mode file is missing; using the built-in replies"))
        return CareContent(regions, fallback.replies, fallback.followups, fallback.labels, built_in=True)
    root = read_yaml(path, errors)
    if not isinstance(root, yaml.MappingNode):
        if root is not None:
            errors.append(KnowledgeError(path, 1, "the file must have `replies:`, `followups:` and `buttons:`"))
        return CareContent(regions, fallback.replies, fallback.followups, fallback.labels, built_in=True)
    sections = {str(k.value): (k, v) for k, v in root.value}
    for name, (key, _) in sections.items():
        if name not in ("replies", "followups", "buttons", "distress"):
            errors.append(KnowledgeError(path, key.start_mark.line + 1, f"unknown section `{name}`"))
    labels = dict(fallback.labels)
    if "buttons" in sections:
        node = sections["buttons"][1]
        for key, value in node.value if isinstance(node, yaml.MappingNode) else []:
            name = str(key.value)
            if name not in CHOICES:
                errors.append(KnowledgeError(path, key.start_mark.line + 1, f"unknown button `{name}`"))
                continue
            names = _names(value, path, f"button `{name}`", errors)
            if {"zh-Hans", "en"} <= names.keys():
                labels[name] = MappingProxyType(names)
            else:
                errors.append(KnowledgeError(path, key.start_mark.line + 1, f"button `{name}` needs zh-Hans and en"))
    replies = dict(fallback.replies)
    if "replies" in sections:
        node = sections["replies"][1]
        for key, value in node.value if isinstance(node, yaml.MappingNode) else []:
            read = _read_reply(key, value, path, errors)
            if read is not None:
                replies[str(key.value)] = read
    for name in REQUIRED_REPLIES:
        if replies[name] is fallback.replies[name]:
            errors.append(KnowledgeError(path, 1, f"no usable reply `{name}`; using the built-in one"))
    followups: list[tuple[str, re.Pattern[str]]] = []
    if "followups" in sections:
        node = sections["followups"][1]
        for key, value in node.value if isinstance(node, yaml.MappingNode) else []:
            name = str(key.value)
            text = str(value.value).strip() if isinstance(value, yaml.ScalarNode) else ""
            if name not in (*CHOICES, "safe", "alone", "thanks", "no") or not text:
                errors.append(KnowledgeError(path, key.start_mark.line + 1, f"`{name}`: unknown follow-up or empty"))
                continue
            try:
                followups.append((name, re.compile(text)))
            except re.error as exc:
                errors.append(KnowledgeError(path, value.start_mark.line + 1, f"not a valid regular expression: {exc}"))
    distress: re.Pattern[str] | None = None
    if "distress" in sections:
        key, value = sections["distress"]
        text = str(value.value).strip() if isinstance(value, yaml.ScalarNode) else ""
        try:
            distress = re.compile(text) if text else None
        except re.error as exc:
            errors.append(KnowledgeError(path, value.start_mark.line + 1, f"not a valid regular expression: {exc}"))
    return CareContent(
        regions, MappingProxyType(replies), tuple(followups), MappingProxyType(labels), distress=distress
    )


def _read_reply(key: yaml.Node, value: yaml.Node, path: Path, errors: list[KnowledgeError]) -> ReplyKind | None:

    name = str(key.value)
    line = key.start_mark.line + 1
    if name not in REQUIRED_REPLIES:
        errors.append(KnowledgeError(path, line, f"unknown reply `{name}`; known: {', '.join(REQUIRED_REPLIES)}"))
        return None
    fields = {str(k.value): v for k, v in value.value} if isinstance(value, yaml.MappingNode) else {}
    buttons: list[str] = []
    node = fields.get("buttons")
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            button = str(item.value)
            if button not in CHOICES:
                errors.append(KnowledgeError(path, item.start_mark.line + 1, f"unknown button `{button}`"))
                continue
            buttons.append(button)
    variants: list[Variant] = []
    node = fields.get("variants")
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        errors.append(KnowledgeError(path, line, f"reply `{name}` needs `variants:`, a list of zh-Hans/en texts"))
        return None
    for item in node.value:
        if_no = None
        if isinstance(item, yaml.MappingNode):
            rest = []
            for field, field_value in item.value:
                if str(field.value) != "if_no":
                    rest.append((field, field_value))
                elif str(field_value.value) in IF_NO:
                    if_no = str(field_value.value)
                else:
                    known = " or ".join(f"`{choice}`" for choice in IF_NO)
                    errors.append(KnowledgeError(path, field_value.start_mark.line + 1, f"`if_no` must be {known}"))
            item = yaml.MappingNode(item.tag, rest, item.start_mark, item.end_mark)
        texts = _names(item, path, f"a variant of `{name}`", errors)
        item_line = item.start_mark.line + 1
        if not {"zh-Hans", "en"} <= texts.keys():
            errors.append(KnowledgeError(path, item_line, f"a variant of `{name}` needs zh-Hans and en"))
            continue
        problem = None if name in LINELESS else _check_placeholders(name, texts)
        if problem:
            errors.append(KnowledgeError(path, item_line, problem))
            continue
        variants.append(Variant(MappingProxyType(texts), if_no))
    if not variants:
        return None
    return ReplyKind(tuple(variants), tuple(buttons))


def _check_placeholders(name: str, texts: Mapping[str, str]) -> str | None:
    for locale, text in texts.items():
        used = set(_PLACEHOLDER.findall(text))
        unknown = used - PLACEHOLDERS
        if unknown:
            return f"`{{{sorted(unknown)[0]}}}` in a {locale} variant of `{name}` is not a placeholder"
        if not used & LINE_PLACEHOLDERS:
            return f"a {locale} variant of `{name}` must show a line: use {{line}}, {{lines}} or {{next_line}}"
    return None


def variants_of(content: CareContent, kind: str) -> Sequence[Variant]:
    return content.replies[kind].variants

"""Redaction: generated personal data never survives, ordinary questions do, and a long text costs little."""

from __future__ import annotations

import hashlib
import re
import statistics
import time
from pathlib import Path

import pytest
import yaml
from conftest import eval_items
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.redaction import redact, strip_bidi

REPO = Path(__file__).parent.parent

# --- what people write ---------------------------------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
CHINESE = str.maketrans("0123456789", "零一二三四五六七八九")
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
SEPARATORS = [" ", "-", ".", "·", "—", "　"]

digits = st.integers(0, 9).map(str)


def mobile_numbers() -> st.SearchStrategy[str]:
    return st.builds(
        lambda second, rest: "1" + second + "".join(rest),
        st.sampled_from("3456789"),
        st.lists(digits, min_size=9, max_size=9),
    )


@st.composite
def written(draw: st.DrawFn, number: str) -> str:
    """A number as someone might type it: grouped, dotted, full-width, in Chinese numerals, split by
    invisible characters."""
    style = draw(st.sampled_from(["plain", "grouped", "spaced", "full-width", "chinese", "invisible", "mixed"]))
    if style == "grouped":
        separator = draw(st.sampled_from(SEPARATORS))
        return separator.join([number[:3], number[3:7], number[7:]])
    if style == "spaced":
        return " ".join(number)
    if style == "full-width":
        return number.translate(FULL_WIDTH)
    if style == "chinese":
        text = number.translate(CHINESE)
        return text.replace("一", draw(st.sampled_from(["一", "幺"])))
    if style == "invisible":
        mark = draw(st.sampled_from(INVISIBLE))
        return mark.join([number[:3], number[3:7], number[7:]])
    if style == "mixed":
        return "".join(
            draw(st.sampled_from([char, char.translate(FULL_WIDTH), char.translate(CHINESE)])) for char in number
        )
    return number


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(mobile_numbers())
    prefix = draw(st.sampled_from(["", "+86 ", "+86-", "86", "0086 "]))
    return prefix + draw(written(number)), number


@st.composite
def landlines(draw: st.DrawFn) -> tuple[str, str]:
    area = draw(st.sampled_from(["010", "021", "0755", "0571", "020"]))
    local = draw(st.sampled_from("2345678")) + "".join(draw(st.lists(digits, min_size=7, max_size=7)))
    return area + draw(st.sampled_from(["-", " ", "", "－"])) + local, local


@st.composite
def id_numbers(draw: st.DrawFn) -> tuple[str, str]:
    area = draw(st.sampled_from(["110101", "440305", "310104", "510107"]))
    year = draw(st.integers(1940, 2010))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    serial = "".join(draw(st.lists(digits, min_size=3, max_size=3)))
    if draw(st.booleans()):  # the old 15-digit number: two-digit year, no check character
        number = f"{area}{year % 100:02d}{month:02d}{day:02d}{serial}"
    else:
        number = f"{area}{year}{month:02d}{day:02d}{serial}{draw(st.sampled_from('0123456789X'))}"
    return draw(st.sampled_from(["", "身份证", "身份证号：", "ID "])) + number, number


@st.composite
def bank_cards(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(st.sampled_from(["6222", "6217", "4367", "6228"])) + "".join(
        draw(st.lists(digits, min_size=12, max_size=15))
    )
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return draw(st.sampled_from([number, grouped])), number


@st.composite
def qq_numbers(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(st.sampled_from("123456789")) + "".join(draw(st.lists(digits, min_size=4, max_size=10)))
    label = draw(st.sampled_from(["QQ", "qq", "QQ号", "QQ号：", "QQ 号码是", "扣扣", "企鹅号"]))
    return label + draw(st.sampled_from(["", " ", "："])) + number, number


@st.composite
def wechat_ids(draw: st.DrawFn) -> tuple[str, str]:
    if draw(st.booleans()):
        ident = "wxid_" + draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=14))
        return ident, ident
    # WeChat ids have 6 to 20 characters and start with a letter.
    ident = draw(st.sampled_from("abcdefghijkmnpqrstuvwxyz")) + draw(
        st.text("abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=10)
    )
    ident += draw(st.text("0123456789_-", min_size=1, max_size=4))
    label = draw(
        st.sampled_from(["微信", "微信号", "微信号：", "加我微信", "vx", "VX：", "v信", "wechat id: ", "威信"])
    )
    return label + draw(st.sampled_from(["", " "])) + ident, ident


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, str]:
    user = draw(
        st.text("abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=12).filter(lambda u: u[0] != ".")
    )
    domain = draw(st.sampled_from(["qq.com", "163.com", "gmail.com", "example.org", "mail.sina.com.cn"]))
    address = f"{user}@{domain}"
    return draw(st.sampled_from([address, address.replace("@", "＠")])), user + "@"


SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁任沈")
SURNAMES += ["欧阳", "司马", "诸葛", "上官", "張", "陳", "劉"]
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"


@st.composite
def chinese_names(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(SURNAMES)) + draw(st.text(GIVEN, min_size=1, max_size=2))
    strong = ["我叫", "我叫做", "我的名字是", "我名字叫", "名字叫", "本人姓名", "本人是", "姓名：", "姓名 "]
    # After 我是 and a bare 本人 a name is told from an ordinary word by what follows it: punctuation.
    weak = ["我是", "本人"]
    trigger = draw(st.sampled_from(strong + weak))
    after = draw(st.sampled_from(["，", "。", " ", "！"])) if trigger in weak else ""
    return trigger + name + after, name


@st.composite
def english_names(draw: st.DrawFn) -> tuple[str, str]:
    first = draw(st.sampled_from(["John", "Mary", "Wei", "Li", "zhang", "Xiaoming"]))
    last = draw(st.sampled_from(["", " Smith", " Wang", " Chen"]))
    name = first + last
    return draw(st.sampled_from(["my name is ", "My name is ", "my name's ", "Name: "])) + name, name


@st.composite
def addresses(draw: st.DrawFn) -> tuple[str, str]:
    city = draw(st.sampled_from(["北京市", "深圳市", "上海市", "广州市", "成都市", ""]))
    district = draw(st.sampled_from(["朝阳区", "南山区", "浦东新区", "天河区", ""]))
    road = draw(st.text("建国科技园人民中山解放新华长江滨海东西南北", min_size=1, max_size=4))
    kind = draw(st.sampled_from(["路", "街", "大道", "巷", "胡同"]))
    number = draw(st.integers(1, 999))
    house = f"{road}{kind}{number}号"
    extra = draw(st.sampled_from(["", f"{draw(st.integers(1, 30))}栋{draw(st.integers(1, 6))}单元", "院"]))
    room = draw(st.sampled_from(["", f"{draw(st.integers(101, 2505))}室"]))
    trigger = draw(st.sampled_from(["", "我住在", "家住", "地址：", "住址是", "催收要去我家"]))
    return trigger + city + district + house + extra + room, house


PII = st.one_of(
    phones(),
    landlines(),
    id_numbers(),
    bank_cards(),
    qq_numbers(),
    wechat_ids(),
    emails(),
    chinese_names(),
    english_names(),
    addresses(),
)
# Text around the personal data: questions as people ask them, with or without punctuation in between.
AROUND = st.sampled_from(
    [
        "",
        "催收天天打电话",
        "他们把我的信息发到群里了，",
        "网贷逾期三个月怎么办",
        "please help, collectors keep calling",
        "借了10000，利息3000元",
        "2024年3月5日到期",
    ]
)
GLUE = st.sampled_from(["", " ", "，", "。", ",", "\n", "：", "!"])


def _digits_only(text: str) -> str:
    return "".join(ch for ch in text.translate(FULL_WIDTH).translate(CHINESE) if ch.isdigit())


@given(pii=PII, before=AROUND, after=AROUND, glue_before=GLUE, glue_after=GLUE)
def test_generated_personal_data_never_survives(
    pii: tuple[str, str], before: str, after: str, glue_before: str, glue_after: str
) -> None:
    written_as, core = pii
    assume(core not in before + after)
    text = before + glue_before + written_as + glue_after + after
    result = redact(text)
    assert core not in result
    assert written_as not in result
    if core.isdigit() and len(core) >= 7 and not any(char.isdigit() for char in before + after):
        # No long piece of the number survives either, in whatever digits it was written.
        left = _digits_only(result)
        assert not any(core[i : i + 7] in left for i in range(len(core) - 6)), result
    # What was around it, when something separated the two, is still there.
    for part, glue in ((before, glue_before), (after, glue_after)):
        if part and glue.strip() and not any(char.isdigit() for char in part):
            assert part.strip("，") in result


# --- what must survive ---------------------------------------------------------------------------------------

ORDINARY = [
    # a time on the road, living at home, an old house in a military village: no address in any of them
    "truck driver, 18 months on the road paying this off",
    "回家住可以省房租",
    "我一個人住在眷村老房子",
    # staying with a relative or a friend for a while names no place ("去亲戚家住 同时怎么报警" was read as an address)
    "我要不要让她先去亲戚家住 同时怎么报警",
    "先去朋友家住几天 然后呢",
    # a Taiwan veteran (榮民) says what he is, not his name, though 榮 is a surname
    "我是榮民，退休俸扣一扣剩沒多少",
    # "my name is" followed by where the name is, not by a name
    "my name is on 9 loan apps and they all call my boss",
    "My name is all over the village group chat now",
    "借了10000，利息3000元，还了2500",
    "2024年3月5日到期，3月5号要还",
    "2024-03-05 和 2024.03.05 还款",
    "催收打了30次电话，一天打二十多个",
    "我是学生，借了网贷还不上",
    "我是花呗逾期了怎么办",
    "他们知道我住在哪里",
    "发到我家地址了怎么办",
    "怎么举报骚扰号码 12321",
    "打12378投诉有用吗？还有12363",
    "the lender's collector shared my photos on wechat moments",
    "对方给的收款人是个私人名字 是不是骗子",
    "一万二千块的网贷，借款期限12个月",
    "ask 12348 about court",
    # what someone is, not who: 单 and 应 are also surnames
    "我是单亲，两个孩子都还小",
    "我是应届生，刚上班三个月",
    "我是班主任，家长会上想讲讲怎么发现学生的压力",
    "我是房仲，討債的直接打到我們店裡找店長",  # a Taiwan estate agent: 房 is also a surname
    "我是保安，收数佬日日嚟大堂搵我",
    # a town, a district or "another city" names nobody; a road does ("住在幸福路" is redacted, see below)
    "我妈一个人住在嘉义 身体不好",
    "我们住在三重 怎么办",
    "她住在镇上，我在县城",
    "他住在我们公司宿舍，电话打不通",
    "她住在别的城市，我过不去",
    "他住在新竹的租屋处",
    # "the village" without its name is no address ("住在张家村" is, see below)
    "我爸妈住在村里，催收打到村委会",
    "阿嬤住在山裡 電話常常打不通",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_amounts_dates_hotlines_and_ordinary_questions_survive(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("text", ["我住在幸福路，欠了钱", "住在张家村 怎么办", "他住在阳光花园，催收去了"])
def test_a_road_a_village_or_an_estate_after_zhu_zai_is_still_an_address(text: str) -> None:
    # Only a town or district on its own is let through: a name ending in a road or estate word narrows it down.
    assert "[地址]" in redact(text)


# Eval messages whose writer did give a name of their own, and what is kept of them.
# A never-tuned holdout's messages are never printed, even by a failing test: those the redaction changes are named by
# their file and the sha256 of the text, with the sha256 of what redaction makes of it.
NAMED_HOLDOUT = {
    # an address: a district and a rented room, given while asking whether collectors may wait at the door
    (
        "realistic-holdout-10.yaml",
        "61edfe2d03194c9957188cc4f111d1aa19276929cdc28ffdaa5bfea4b1d6932e",
    ): "abf3bd3044be0a2b49fae4a2eaed91ad2321eb8f35858a2da599cdf897b61f48",
    # the same kind in the next holdout: an address given in a story about collectors at the door
    (
        "realistic-holdout-11.yaml",
        "2f945a4b091e2107d17b04bb64e400f97815d05b3e3997df19b4bb0ed7ead603",
    ): "36e01ccc2313bba0c5baff9d2340c917c3a6065990355156871196e71d8e2830",
}
NAMED = {
    # set DO: "the collector kept calling me by the wrong name, Zhang Wei; I'm Li Wei"
    "笑死 催收打电话叫错我名字 叫了半天张伟 我是李伟": "笑死 催收打电话叫错我名字 叫了半天张伟 我是[姓名]",
    # set EU: "the collector got my name wrong three times and called me Mr Wang; I'm a woman" (a name said to the
    # writer is taken out too: it may be someone's)
    "笑死 催收把我名字念错了三次 还管我叫王先生 我是女的": "笑死 催收把我名字念错了三次 还管我叫[姓名] 我是女的",
    # set IS (a holdout until the round after 1456adf, where only its digest was kept): the collector called the writer
    # by another name; the writer's own is taken out, the one the collector used is left as said
    "I'm dead 😂 collector called me Mr. Ahmed but my name is Amine": (
        "I'm dead 😂 collector called me Mr. Ahmed but my name is [姓名]"
    ),
    # set IU (a holdout until the round after 2a24438, where only its digest was kept): the collector misread the
    # writer's name; the name after 我叫 is taken out up to the length the rule reads, and a character is left
    "笑死 催收把我名字念错了 念成王大锤 我叫王大锤子": "笑死 催收把我名字念错了 念成王大锤 我叫[姓名]子",
}


def test_no_question_in_the_content_or_the_eval_sets_is_changed() -> None:
    """The questions volunteers wrote are real questions without personal data: redaction leaves them alone, but for
    the few eval messages that do carry a name of the writer's own (`NAMED`)."""
    texts: list[str] = []
    held_out: dict[tuple[str, str], str] = {}
    for path in sorted((REPO / "intents").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            for key in ("examples", "tests"):
                texts.extend(text for text in item.get(key) or [] if isinstance(text, str))
    for path in sorted((REPO / "eval").glob("*.yaml")):
        for item in eval_items(path.name):  # parsed once per run (conftest)
            # A person at risk is never stored as text, so never redacted: a safety set's people at risk may say
            # their name ("my name is …, I cannot go back down") as people do.
            if isinstance(item, dict) and isinstance(item.get("text"), str) and item.get("crisis") is not True:
                text = item["text"]
                if "holdout" not in path.name:
                    texts.append(text)
                elif redact(text) != text:
                    held_out[(path.name, _digest(text))] = _digest(redact(text))
    assert len(texts) > 1000
    changed = {text: redact(text) for text in texts if redact(text) != text}
    assert changed == NAMED
    assert held_out == NAMED_HOLDOUT  # digests only: a failure prints no holdout line


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_labels_say_what_was_removed() -> None:
    result = redact("电话13812345678，身份证110101199003071234，卡号6222 0212 3456 7890 123，邮箱a.b@qq.com")
    assert result == "电话[手机号]，身份证[身份证号]，卡号[卡号]，邮箱[邮箱]"


def test_a_limit_cuts_first_and_never_leaves_half_a_number_or_half_a_label() -> None:
    for shift in range(0, 20):
        text = "问" * (290 + shift) + "13812345678" + "还有别的" * 50
        result = redact(text, 300)
        assert len(result) <= 300
        assert not re.search(r"\d{3,}", result), result
        assert not re.search(r"\[[^\]]*$", result), result


def test_direction_overrides_are_removed() -> None:
    spoof = "\u202eexe.txt\u202c 我的问题\u2066x\u2069"
    assert "\u202e" not in redact(spoof) and "\u2066" not in redact(spoof)
    assert strip_bidi(spoof) == "exe.txt 我的问题x"


# --- cost ------------------------------------------------------------------------------------------------------

LONG_TEXTS = {
    "letters": "a" * 100_000,
    "han": "催" * 100_000,
    "digits": "1" * 100_000,
    "digits and spaces": "1 " * 50_000,
    "dots": "a." * 50_000,
    "at signs": "a@" * 50_000,
    "a question with data, repeated": ("我叫张三，电话13812345678，住在科技园路88号，邮箱a@qq.com。" * 3000)[:100_000],
    "names": "我叫张三" * 25_000,
    "roads": "路1号" * 33_334,
    "numerals": "一" * 100_000,
    "full-width": "１" * 100_000,
    "invisible": "1\u200b" * 50_000,
}


@pytest.mark.parametrize("name", list(LONG_TEXTS))
def test_redacting_100000_characters_takes_well_under_50_ms(name: str) -> None:
    text = LONG_TEXTS[name]
    assert len(text) >= 99_999
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        redact(text)
        runs.append(time.perf_counter() - started)
    assert statistics.median(runs) < 0.050, f"{name}: {statistics.median(runs) * 1000:.1f} ms"


def test_where_someone_is_from_is_not_a_name() -> None:
    # 农 is a surname, but "我是农村的" says where the writer is from
    assert redact("你好 我是农村的 儿子在外打工") == "你好 我是农村的 儿子在外打工"
    assert redact("我是农民 欠了钱") == "我是农民 欠了钱"
    assert redact("我是农小明 我欠了钱") == "我是[姓名] 我欠了钱"
    # 季 and 钟 are surnames, but a seasonal or hourly worker names a kind of work
    assert redact("我是季节工，冬天没活") == "我是季节工，冬天没活"
    assert redact("我是钟点工") == "我是钟点工"
    assert redact("我是季小明") == "我是[姓名]"


def test_being_called_by_another_name_is_not_a_name_of_ones_own() -> None:
    # "把我叫成…" is being called something (my father's name, a deadbeat); "我叫…" alone still introduces a name
    assert redact("催收居然把我叫成我爸的名字") == "催收居然把我叫成我爸的名字"
    assert redact("他们将我叫成老赖") == "他们将我叫成老赖"
    assert redact("我叫成龙 欠了钱") == "我叫[姓名] 欠了钱"


def test_a_floor_an_unnamed_estate_and_calling_an_ambulance_are_not_personal_data() -> None:
    # Messages from people at risk once lost the words that say where they stand or what they ask for.
    assert redact("几楼跳下去能保证一定死？我家住六楼够不够") == "几楼跳下去能保证一定死？我家住六楼够不够"
    assert redact("我现在在我们小区28楼天台上") == "我现在在我们小区28楼天台上"
    assert redact("他一个人住在城中村的出租屋") == "他一个人住在城中村的出租屋"
    assert redact("唔好叫我叫白車，我冇錢俾") == "唔好叫我叫白車，我冇錢俾"
    assert redact("我叫司機停一停，佢冇理我") == "我叫司機停一停，佢冇理我"
    # while a flat number, a named estate and a name still go
    assert redact("我家住3楼502室") == "我家住[地址]"
    assert redact("住在阳光小区5栋302") == "住在[地址]"
    assert redact("我叫王小明") == "我叫[姓名]"

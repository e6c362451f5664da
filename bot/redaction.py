"""Redaction: what is removed from a question before it is kept for volunteers.

`redact()` replaces, as far as they can be recognised:

- mobile and landline numbers, also written with spaces, dots or dashes, in full-width digits, in Chinese
  numerals (一三八…, 幺 for 1) or split by invisible characters; 15- and 18-digit ID numbers; bank cards;
  any other run of 11 or more digits; QQ numbers and other numbers after 电话/手机/号码/tel;
- e-mail addresses, links, @handles, WeChat ids (wxid_…, and the id after 微信/微信号/vx);
- a name after 我叫, 我是, 我的名字是, 本人, 姓名, "my name is" (a Chinese name needs a known surname after
  the weaker 我是 and 我叫);
- an address after 地址/住址/住在/家住/"I live at", and any street address with a house number
  (…路88号, …小区3栋2单元502室, 12 Main Street).

Amounts ("借了10000", "利息3000元") and dates ("2024年3月5日", "3月5号", "2024-03-05") stay.

It is linear in the length of the text: the patterns are matched on one or two same-length "views" of the
text built with `str.translate` (digits of every script and Chinese numerals as ASCII digits, full-width as
ASCII, invisible characters as one separator), every repetition is bounded or cannot overlap itself, and the
matched spans are cut out of the original. Bidirectional-override characters are removed from the result,
so a stored question cannot disguise itself in an admin's report.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .patterns import LazyPattern, lazy

SEP = "\x1f"  # what every invisible character becomes in the views: a separator inside a number
CUT_MARGIN = 64  # cut this far beyond the limit, so a number cut in half at the edge is seen whole
ADDRESS_NAME_CHARS = 16  # how far before "路"/"小区" an address may begin (city, district, road name)
MAX_SPANS = 500  # a text with more things to remove than this is machine-made: it is dropped whole
DROPPED = "[已删除]"

# --- the views -----------------------------------------------------------------------------------------

_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b"
    "\u206c\u206d\u206e\u206f\u3164\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b"
    "\ufe0c\ufe0d\ufe0e\ufe0f\ufeff\uffa0"
)
# Characters that can make text read in another direction than it is stored: never kept.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u30fc"
_DOTS = "\u00b7\u2022\u2027\u30fb\uff0e\uff65"
_CHINESE_DIGITS = {
    "0": "〇零○◯洞",
    "1": "一壹幺",
    "2": "二贰貳",
    "3": "三叁參叄",
    "4": "四肆",
    "5": "五伍",
    "6": "六陆陸",
    "7": "七柒拐",
    "8": "八捌",
    "9": "九玖勾",
}


def _width_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII
        table[code] = chr(code - 0xFEE0)
    table[0x3000] = " "  # ideographic space
    table[0xFF20] = "@"
    for char in _DASHES:
        table[ord(char)] = "-"
    for char in _DOTS:
        table[ord(char)] = "."
    for char in _INVISIBLE:
        table[ord(char)] = SEP
    # Decimal digits of every script (Arabic-Indic, Devanagari, mathematical bold…) read as ASCII digits.
    for code in (*range(0x0660, 0x1C60), *range(0xA620, 0xABFA), *range(0xFF10, 0xFF1A), *range(0x1D7CE, 0x1D800)):
        value = unicodedata.decimal(chr(code), None)
        if value is not None:
            table[code] = str(value)
    for code in range(0x2460, 0x2469):  # ①…⑨
        table[code] = str(code - 0x2460 + 1)
    return table


class _Table:
    """A one-character-for-one-character mapping, applied with numpy: `str.translate` looks every character
    up in a dict (about 40 ns each), which is most of the time spent on a long text."""

    def __init__(self, mapping: dict[int, str]) -> None:
        self.mapping = mapping
        self.lut = np.arange(0x10000, dtype=np.uint32)
        for code, char in mapping.items():
            if code < 0x10000:
                self.lut[code] = ord(char)
        self.high = sorted((code, ord(char)) for code, char in mapping.items() if code >= 0x10000)

    def apply(self, text: str) -> str:
        if text.isascii():  # no table maps an ASCII character
            return text
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        mapped = self.lut[np.minimum(codes, 0xFFFF)]
        above = codes > 0xFFFF
        if above.any():
            mapped = np.where(above, codes, mapped)
            if self.high:
                for code, char in self.high:  # a few dozen mathematical digits, only when such text appears
                    mapped[codes == code] = char
        result: str = mapped.tobytes().decode("utf-32-le", "surrogatepass")
        return result


_TEXT_VIEW = _width_table()
_DIGIT_VIEW = {**_TEXT_VIEW, **{ord(char): digit for digit, chars in _CHINESE_DIGITS.items() for char in chars}}
_TEXT_TABLE = _Table(_TEXT_VIEW)
_DIGIT_TABLE = _Table({code: char for code, char in _DIGIT_VIEW.items() if code not in _TEXT_VIEW})
_BIDI = lazy(f"[{_BIDI_CONTROLS}]")

# --- the patterns --------------------------------------------------------------------------------------

_S = rf"[ \t\-._/{SEP}]"  # a separator people put inside numbers
_GAP = rf"{_S}{{0,3}}"  # up to three of them between two digits ("138 - 1234")
_HAN = r"\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff"
# Filler between a label and its value: "微信号: ", "QQ是", "电话号码为 ", "wechat id is".
_FILL = r"(?:[\s:：=是为為]|号码|號碼|号|號|账号|帳號|id|ID|is|Is|IS){0,5}"
# A filler that says a value follows: a colon or 是, or 号/id/is.
_EXPLICIT = r"(?:[\s]{0,2}(?:号码|號碼|号|號|账号|帳號|id|is)[\s:：=是为為]{0,3}|[\s]{0,2}[:：=是为為][\s]{0,2})"

_SURNAMES_SINGLE = (
    "王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何高林罗羅郑鄭梁谢謝宋唐许許韩韓冯馮邓鄧曹彭曾肖蕭田董袁"
    "潘于於蒋蔣蔡余餘杜叶葉程苏蘇魏吕呂丁任沈姚卢盧姜崔钟鍾谭譚陆陸汪范金石廖贾賈夏韦韋付傅方白邹鄒孟熊秦邱江尹"
    "薛闫閆段雷侯龙龍史陶黎贺賀顾顧毛郝龚龔邵万萬钱錢严嚴覃武戴莫孔向汤湯常温溫康施文牛樊葛邢安齐齊易乔喬伍庞龐"
    "颜顏倪庄莊聂聶章鲁魯岳翟殷詹申欧歐耿关關兰蘭焦俞左柳甘祝包宁寧尚符舒阮柯纪紀梅童凌毕畢单單季裴霍涂塗成苗谷"
    "盛曲翁冉骆駱蓝藍路游辛靳管柴蒙鲍鮑华華喻祁蒲房滕屈饶饒解牟艾尤阳陽时時穆农農司卓古吉缪繆简簡车車项項连連芦蘆"
    "麦麥褚娄婁窦竇戚岑景党黨宫宮费費卜冷晏席卫衛米柏宗瞿桂全佟应應臧闵閔苟邬鄔边邊卞姬师師和仇栾欒隋商刁沙荣榮巫"
    "寇桑郎甄丛叢仲虞敖巩鞏明佘池查麻苑迟遲邝鄺官封谈談匡鞠惠荆荊乐樂冀郁胥南班储儲原栗燕楚鄢劳勞谌諶奚皮粟冼蔺藺"
    "楼樓盘盤满滿闻聞位厉厲伊仝区區郜海阚闞花权權强強帅帥屠豆朴扶夏侯"
)
_SURNAMES_DOUBLE = (
    "欧阳|歐陽|司马|司馬|上官|诸葛|諸葛|东方|東方|皇甫|尉迟|尉遲|公孙|公孫|慕容|令狐|长孙|長孫|宇文|司徒|夏侯|轩辕|軒轅"
    "|端木|独孤|獨孤|南宫|南宮|西门|西門|百里|呼延|澹台|澹臺|申屠|万俟|萬俟|闻人|聞人|赫连|赫連|钟离|鍾離|宗政|濮阳|濮陽"
)
_SURNAME = rf"(?:{_SURNAMES_DOUBLE}|[{_SURNAMES_SINGLE}])"
_NAME = rf"{_SURNAME}[{_HAN}]{{1,2}}"
_LATIN_NAME = r"[A-Za-z][A-Za-z'\-]{0,30}(?-i:(?:[ \t]+[A-Z][A-Za-z'\-]{0,30}){0,2})"
# English words that follow "my name is" when it is not a name ("my name is on every app", "... is mud now")
_NOT_A_NAME = (
    r"(?i:on|in|at|all|everywhere|out|up|being|now|listed|posted|shared|used|mud|dirt|ruined|known|there|here|the|a|an"
    r"|not|also|still|already|with|for|attached|written|printed|spread|blacklisted|gone|everything|nothing)"
)

# 屋苑 alone is "housing estate", not one estate's name ("我住嘅屋苑三十樓")
_ROAD = (
    r"(?:路|街|大道|大街|巷|弄|胡同|小区|小區|社区|社區|花园|花園|公寓|大厦|大廈|新村|村|屯|(?<!屋)苑|庄|莊|号院|號院)"
)
_NUMBER = r"(?:\d{1,5}|[一二三四五六七八九十百零〇两兩]{1,6})(?:[-‐]\d{1,5})?"
_UNIT = r"(?:号楼|號樓|号|號|栋|棟|幢|座|单元|單元|弄|巷|组|組|排|层|層|楼|樓|室|户|戶)"
# Where someone lives, said without saying where: "住在乡下", "住在出租屋里" name no address.
_NO_PLACE = (
    r"(?:(?:[\u4e00-\u9fff]{1,3})?(?:老|破|旧|舊)(?:小区|小區|楼|樓|房子|公房)|眷村|乡下|鄉下|农村|農村|村里|村裡|村子里|村子裡|山里|山裡|出租屋|出租房|宿舍|老家|城里|城裡|家里|家裡|朋友家|亲戚家|親戚家|学校|學校|公司|医院|醫院|"
    r"外地|国外|國外|附近|一起|隔壁|楼上|樓上|楼下|樓下|城中村|镇上|鎮上|县城|縣城|市区|市區|"
    r"(?:别的|別的|其他|另一个|另一個)城市|(?:我们|我們|他们|他們)(?:公司|学校|學校|厂里|廠裡)?宿舍|"
    # a town or district alone ("住在嘉义 身体不好", "住在新竹的租屋处", "住在河南农村老家") is no address: a place
    # that coarse names nobody
    r"(?:(?![路街巷弄村屯苑庄莊])[\u4e00-\u9fff]){2,3}"
    r"(?=[\s，。,.!?！？；;、]|$|的(?:租屋|出租|宿舍)|农村|農村|乡下|鄉下|老家|山区|山區|县城|縣城|镇上|鎮上)|"
    # a floor alone ("我家住六楼够不够") is no address; "3楼502" goes on to a flat number and is one
    r"[一二三四五六七八九十两兩\d]{1,3}(?:楼|樓|层|層)(?![\d一二三四五六七八九十零〇]))"
)
_PUNCT_STOP = r"[^\s，。,.!?！？；;:：、()（）\[\]【】<>《》\"'“”]"


@dataclass(frozen=True)
class _Rule:
    pattern: LazyPattern
    labels: dict[str, str]  # the label for each alternative (named group) of the pattern, or for "" (any)
    digits: bool  # matched on the digit view (Chinese numerals as digits) rather than the text view
    needles: tuple[str, ...]  # the rule can only match when one of these occurs (lower-cased text); () = digits
    priority: int  # when spans overlap, the label of the highest priority names the whole
    extend: bool  # an address anchored on its road: the span is extended back over the road's name
    within: LazyPattern | None  # the pattern is only tried inside what this finds (long runs of digits)


def _rule(
    label: str | dict[str, str],
    pattern: str,
    *,
    digits: bool,
    needles: tuple[str, ...],
    priority: int,
    flags: int = 0,
    extend: bool = False,
    within: str | None = None,
) -> _Rule:
    labels = label if isinstance(label, dict) else {"": label}
    needles = tuple(needle.lower() for needle in needles)
    found_in = lazy(within) if within is not None else None
    return _Rule(lazy(pattern, flags), labels, digits, needles, priority, extend, found_in)


_PHONE_WORDS = ("电话", "電話", "手机", "手機", "号码", "號碼", "联系方式", "聯繫方式", "座机", "座機", "tel", "phone")
_ROAD_WORDS: tuple[str, ...] = ("路", "街", "大道", "巷", "弄", "胡同", "小区", "小區", "社区", "社區", "花园", "花園")
_ROAD_WORDS += ("公寓", "大厦", "大廈", "村", "屯", "苑", "庄", "莊", "号院", "號院")

_RULES: tuple[_Rule, ...] = (
    _rule(
        # One pass over every run of digits; at each place the first alternative that fits names it, and a
        # run of 11 or more digits that is none of the others is still removed.
        {"id": "[身份证号]", "card": "[卡号]", "mobile": "[手机号]", "landline": "[电话]", "long": "[号码]"},
        r"(?P<id>[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
        r"|[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?!\d))"
        rf"|(?P<card>[3-9]\d{{3}}(?:{_S}?\d){{12,15}}(?!\d))"
        rf"|(?P<mobile>(?:(?:\+|00){_GAP})?(?:86{_GAP})?1{_GAP}[3-9](?:{_GAP}\d){{9}})"
        rf"|(?P<landline>0{_GAP}[1-9](?:{_GAP}\d){{1,2}}{_GAP}[2-9](?:{_GAP}\d){{6,7}})"
        rf"|(?P<long>\d(?:{_S}?\d){{10,}}+)",
        digits=True,
        needles=(),
        priority=50,
        # Every alternative needs ten digits or more: find such runs with a pattern that starts with a plain
        # character class (which the regex engine skips through quickly), then look closer only there.
        within=rf"[+\d](?:{_S}{{0,3}}[+\d]){{9,}}+[Xx]?",
    ),
    _rule(
        "[QQ号]",
        rf"(?:qq|扣扣|企鹅|企鵝){_FILL}(?P<v>[1-9](?:{_S}?\d){{4,10}})",
        digits=True,
        needles=("qq", "扣扣", "企鹅", "企鵝"),
        priority=45,
        flags=re.IGNORECASE,
    ),
    _rule(
        "[电话]",
        # Seven digits at least: a local number. Five-digit service lines (12321, 12378) must stay readable.
        rf"(?:{'|'.join(_PHONE_WORDS)}|mobile|whatsapp){_FILL}(?P<v>\+?\d(?:{_S}?\d){{6,}}+)",
        digits=True,
        needles=(*_PHONE_WORDS, "mobile", "whatsapp"),
        priority=45,
        flags=re.IGNORECASE,
    ),
    _rule(
        "[邮箱]",
        r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})++",
        digits=False,
        needles=("@",),
        priority=40,
    ),
    _rule(
        "[链接]",
        r"(?:https?://|www\.)[^\s<>\"'，。]++",
        digits=False,
        needles=("://", "www."),
        priority=40,
        flags=re.IGNORECASE,
    ),
    _rule("[微信号]", r"wxid_[A-Za-z0-9_\-]{2,40}+", digits=False, needles=("wxid",), priority=40, flags=re.IGNORECASE),
    _rule(
        "[微信号]",
        # After an explicit "微信号:", "wechat id is" any id; right after the word only an id with a digit, "_"
        # or "-" in it, so "wechat moments" stays.
        rf"(?:微信|weixin|wechat|vx|v信|威信|薇信|wx)(?:{_EXPLICIT}(?P<v>[A-Za-z][A-Za-z0-9_\-]{{5,19}}+)"
        rf"|[\s]{{0,2}}(?P<w>[A-Za-z](?=[A-Za-z]{{0,19}}[0-9_\-])[A-Za-z0-9_\-]{{5,19}}+))",
        digits=False,
        needles=("微信", "weixin", "wechat", "vx", "v信", "威信", "薇信", "wx"),
        priority=40,
        flags=re.IGNORECASE,
    ),
    _rule("[账号]", r"(?<![A-Za-z0-9._%+\-])@[A-Za-z][A-Za-z0-9_]{3,31}+", digits=False, needles=("@",), priority=30),
    _rule(
        "[姓名]",
        # 我叫 and 我的名字是 introduce a name; 我是 and 本人 as often introduce anything else ("我是学生"), so
        # there the name must also be followed by punctuation or the end of the text ("我是张三，…").
        rf"(?:(?<![叫让讓要喊把將将])我叫做?(?!司机|司機|师傅|師傅|老板|老闆|警察|医生|醫生|保安|服务员|服務員|救护车|救護車|白车|白車)|我的名字(?:是|叫)|我名字(?:是|叫)|名字(?:是|叫)|本人(?:姓名)?(?:是|叫)|本人姓名)[\s:：]{{0,2}}"
        rf"(?P<v>{_NAME})"
        # "说我是老赖", "医生说我是焦虑症": what someone calls you is not your name.
        # "我是农村的", "我是成都人": a word ending in 的 or 人 says where someone is from, not who they are; nor does
        # one ending in 族 ("我是蒙古族"), a people.
        rf"|(?<![说說叫骂罵当當])(?:我是|本人)[\s:：]{{0,2}}(?!农村|農村|农民|農民|单亲|單親|应届|應屆|全职|全職|宝妈|寶媽|班主任|班长|班長|班干部|班幹部|房东|房東|二房东|二房東|业主|業主|租客|房客|老板|老闆|家长|家長|老师|老師|护士|護士|律师|律師|社工|义工|義工|志愿者|志願者|记者|記者|司机|司機|学生|學生|员工|員工|房仲|房产中介|房產仲介|中介|仲介|保安|厨师|廚師|医生|醫生|工人|店长|店長|会计|會計|文员|文員|荣民|榮民|陆配|陸配|外配|新住民|季节工|季節工|临时工|臨時工|合同工|小时工|小時工|钟点工|鐘點工|散工)(?P<w>{_NAME})(?<![的人族])"
        rf"(?=[\s，。,.!?！？；;、:：)）]|$)"
        rf"|(?:姓名[\s]{{0,2}}[:：\s]|名字[\s]{{0,2}}[:：])[\s]{{0,2}}(?P<x>[{_HAN}]{{2,4}})",
        digits=False,
        needles=("我叫", "名字", "本人", "我是", "姓名"),
        priority=20,
    ),
    _rule(
        "[姓名]",
        # "my name is on 9 loan apps", "my name is all over the group": a place, not a name
        rf"(?:my name is|my name's|i am called|name:)[ \t]+(?!{_NOT_A_NAME}\b)(?P<v>[{_HAN}]{{2,4}}|{_LATIN_NAME})",
        digits=False,
        needles=("name",),
        priority=20,
        flags=re.IGNORECASE,
    ),
    _rule(
        "[地址]",
        # 住在/家住 introduce a place; 地址/住址 only with a colon or 是 ("发到我家地址了" is no address); "去亲戚家住",
        # "去朋友家住" is staying with them, no place named.
        rf"(?:(?:家庭住址|住址|地址|户籍地?|戶籍地?)[\s]{{0,2}}[:：是为為]|(?<![回在到搬戚友])家住在?|住在|现住在?|現住在?|居住在)"
        rf"[\s:：]{{0,2}}(?![哪那这這])(?!{_NO_PLACE})(?P<v>{_PUNCT_STOP}{{2,40}})",
        digits=False,
        needles=("住址", "地址", "户籍", "戶籍", "住"),
        priority=25,
    ),
    _rule(
        "[地址]",
        # Anchored on the road or estate and its number; the name before it is added by `_extend_address`.
        rf"{_ROAD}[\s{SEP}]{{0,2}}{_NUMBER}[\s]{{0,2}}{_UNIT}"
        rf"(?:[\s]{{0,2}}{_NUMBER}[\s]{{0,2}}(?:{_UNIT})?){{0,4}}",
        digits=False,
        needles=_ROAD_WORDS,
        priority=25,
        extend=True,
    ),
    _rule(
        "[地址]",
        # "12 Main Street", "8 long lane"; words that are also plain English ("court", "way") only capitalised.
        # ("18 months on the road" is a time, not a house: no unit of time, no article or preposition)
        r"\d{1,6}[ \t]+(?!(?:months?|years?|weeks?|days?|hours?|minutes?|times|miles?|km)\b)"
        r"(?:(?!(?:the|on|in|of|at|an?|my|your|his|her)\b)[A-Za-z]+[ \t]+){1,3}"
        r"(?:(?i:street|road|avenue|lane|boulevard)|St|Rd|Ave|Ln|Dr|Blvd|Ct|Pl|Court|Way|Place|Drive)\b\.?",
        digits=False,
        needles=("street", "road", "avenue", "lane", "boulevard", "st", "rd", "ave", "ln", "dr", "ct", "pl", "way"),
        priority=25,
    ),
)

_VALUE_GROUPS = ("v", "w", "x")  # when a rule has one of these groups, only the group is replaced, not the label
# Words that end the walk back from a road to the start of its address: "去我家|科技园路88号".
_BEFORE = frozenset("在到去是住于於家的往从從和与與说說叫我他她它你们們")
_ANY_DIGIT = lazy(r"\d")
_NUMERALS = lazy("[" + "".join(_CHINESE_DIGITS.values()) + "]")
_PARTIAL_LABEL = lazy(r"\[[^\[\]]{0,5}$")  # a label cut off at the limit: "[手机"


def _views(text: str) -> tuple[str, str]:
    """The text view and the digit view; the same string when translating would change nothing."""
    view = _TEXT_TABLE.apply(text)
    digits = _DIGIT_TABLE.apply(view) if _NUMERALS.search(view) else view
    return view, digits


def _spans(text: str) -> list[tuple[int, int, int, str]] | None:
    """Every span to replace, or None when there are more than `MAX_SPANS` (the text is then dropped whole)."""
    view, digit_view = _views(text)
    lower = view.lower()  # for the needles only
    found: list[tuple[int, int, int, str]] = []
    for rule in _RULES:
        target = digit_view if rule.digits else view
        if rule.needles:
            if not any(needle in lower for needle in rule.needles):
                continue
        elif not _ANY_DIGIT.search(target):
            continue
        default = rule.labels.get("", "")
        if rule.within is None:
            matches: Iterator[re.Match[str]] = rule.pattern.finditer(target)
        else:
            found_in = rule.within.finditer(target)
            matches = (match for run in found_in for match in rule.pattern.finditer(target, run.start(), run.end()))
        for match in matches:
            group = match.lastgroup
            if group in _VALUE_GROUPS:
                start, end = match.span(group)
            else:
                start, end = match.span()
            if rule.extend:
                named = _extend_address(view, start)
                if named == start:
                    continue  # "我们小区28楼": an estate or road with no name before it says nothing about where
                start = named
            found.append((start, end, rule.priority, rule.labels.get(group, default) if group else default))
            if len(found) > MAX_SPANS:
                return None
    return found


def _extend_address(view: str, start: int) -> int:
    """Where the address ending in the road or estate at `start` begins: the name before it (科技园路,
    阳光小区) and the district and city before that, up to `ADDRESS_NAME_CHARS` characters back."""
    stop = max(0, start - ADDRESS_NAME_CHARS)
    while start > stop and (view[start - 1].isalnum() or view[start - 1] == SEP) and view[start - 1] not in _BEFORE:
        start -= 1
    return start


def _merge(spans: list[tuple[int, int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans become one, named by the most specific label among them."""
    merged: list[tuple[int, int, str]] = []
    best = -1
    for start, end, priority, label in sorted(spans):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_label = merged[-1]
            if priority > best:
                last_label, best = label, priority
            merged[-1] = (last_start, max(last_end, end), last_label)
        else:
            merged.append((start, end, label))
            best = priority
    return merged


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, not ending inside a run of characters that could belong to a number or
    an id (up to `CUT_MARGIN` back), so no half of one escapes the patterns that would have caught it whole."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if not _joins(text[limit]):
        return head
    keep = limit
    while keep > 0 and limit - keep < CUT_MARGIN and _joins(head[keep - 1]):
        keep -= 1
    return head[:keep]


def _joins(char: str) -> bool:
    """Whether `char` can be inside a number, an id or an address: ASCII letters and digits, what separates
    them, and everything the views turn into one (full-width forms, other digits, Chinese numerals)."""
    return (char.isascii() and (char.isalnum() or char in "@.+-_ \t")) or ord(char) in _DIGIT_VIEW


def redact(text: str, limit: int | None = None) -> str:
    """`text` without what identifies people (see the module docstring), at most `limit` characters long.

    With a limit the text is cut first, with a margin, so a huge message costs no more than a short one.
    """
    if limit is not None:
        text = cut(text, limit + CUT_MARGIN)
    spans = _spans(text)
    if spans is None:
        return DROPPED
    pieces: list[str] = []
    position = 0
    for start, end, label in _merge(spans):
        pieces.append(text[position:start])
        pieces.append(label)
        position = end
    pieces.append(text[position:])
    result = _BIDI.sub("", "".join(pieces))
    if limit is not None and len(result) > limit:
        result = _PARTIAL_LABEL.sub("", result[:limit])
    return result


def strip_bidi(text: str) -> str:
    """`text` without the characters that change the direction text is shown in (U+202E and the like)."""
    return _BIDI.sub("", text)


__all__ = ["cut", "redact", "strip_bidi"]

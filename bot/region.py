"""Where the user is: mainland China, Hong Kong, Taiwan or elsewhere, guessed from what they write.

Laws, hotlines and emergency numbers differ by region: a Hong Kong user in danger must be told 999, never 110.
The guess uses, strongest first: a stated place ("我在香港", "I live in Taipei"), money and institutions that
exist in one region only (HK$, 財務公司, NT$, 金管會), written Cantonese, place names, and last the script
(Simplified → mainland; Traditional alone says nothing: Hong Kong, Taiwan and some mainland users write it).
`/region` (or a button) lets the user say it; a stated or chosen region is kept in the session.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Region = Literal["mainland", "hk", "tw", "other"]
REGIONS: tuple[Region, ...] = ("mainland", "hk", "tw", "other")
Strength = Literal["stated", "strong", "weak"]

# "I am in / live in / work in X": the user says where they are.
_HERE = (
    r"(?:(?:^|我|俺|本人|我哋|我们|我們|我家|我屋企)(?:现在|現在|而家|目前|一直|都|已经|已經|已)?"
    # "家人在台湾" is where the family is, not the writer
    r"(?:在|喺|住在|住喺|住|定居|居住在|返咗|回到|嚟咗|来了|來了)|(?<![家亲親友客工])(?:人在|人喺)|身在)"
)


def _any(words: str) -> str:
    r"""A regular-expression alternation of whitespace-separated words (write a space inside one as \s)."""
    return "|".join(words.split())


_PLACES: dict[Region, str] = {
    "hk": _any(
        r"""香港 hk hong\s?kong 九龍 九龙 新界 港島 港岛 旺角 觀塘 观塘 沙田 荃灣 荃湾 屯門 屯门 元朗
        將軍澳 将军澳 銅鑼灣 铜锣湾 深水埗"""
    ),
    "tw": _any(
        """台灣 台湾 臺灣 taiwan 台北 臺北 taipei 新北 桃園 桃园 台中 臺中 台南 臺南 高雄 kaohsiung taichung
        新竹 基隆 嘉義 嘉义 宜蘭 宜兰 花蓮 花莲"""
    ),
    "mainland": _any(
        """大陆 大陸 内地 內地 国内 國內 mainland 北京 上海 广州 廣州 深圳 成都 重庆 重慶 武汉 武漢 杭州 南京
        西安 天津 郑州 鄭州 长沙 長沙 东莞 東莞 佛山 苏州 蘇州 合肥 济南 濟南 沈阳 瀋陽 哈尔滨 哈爾濱 昆明
        南宁 南寧 福州 厦门 廈門 青岛 青島 石家庄 太原 南昌 贵阳 兰州"""
    ),
    "other": _any(
        r"""国外 國外 海外 abroad overseas 日本 韩国 韓國 新加坡 马来西亚 馬來西亞 美国 美國 英国 英國 加拿大
        澳洲 澳大利亚 澳大利亞 泰国 泰國 菲律宾 菲律賓 越南 柬埔寨 japan korea singapore malaysia usa
        america the\suk canada australia thailand philippines"""
    ),
}
# ("i m" is "I'm" as the matcher reads it, without the apostrophe)
_ENGLISH_HERE = (
    r"(?:i am|i'm|i m|im|i live|i work|living|based|staying|currently) (?:living |based |staying )?(?:in|at) "
)
_STATED: dict[Region, re.Pattern[str]] = {
    region: re.compile(f"{_HERE}(?:{places})|{_ENGLISH_HERE}(?:{places})") for region, places in _PLACES.items()
}
# "I'm in Hong Kong / Taiwan" as the matcher reads a message (Simplified, casefolded, no punctuation, "I'm" as "i m",
# dialect words already rewritten). The matcher leaves it out of what it scores: it picks the region's answer, not
# the topic ("我喺香港 財務公司話要上門淋紅油" asks what "財務公司話要上門淋紅油" asks). Being in the mainland is
# kept, since from Hong Kong or Taiwan it says something: Alipay and JD lend there ("在大陸用的花唄").
_HK_OR_TW = f"{_PLACES['hk']}|{_PLACES['tw']}"
STATED_PLACE = re.compile(rf"{_HERE}(?:{_HK_OR_TW})(?:这边|那边|这里|那里)?|{_ENGLISH_HERE}(?:{_HK_OR_TW})\b")
_STATED_NATIVE: dict[Region, re.Pattern[str]] = {
    "hk": re.compile(r"香港人|hongkonger|hong kong resident|港人"),
    "tw": re.compile(r"台灣人|台湾人|臺灣人|taiwanese"),
}

# Things that exist in one region only.
_STRONG: dict[Region, re.Pattern[str]] = {
    "hk": re.compile(
        _any(
            r"""hk\$ 港幣 港币 港紙 港纸 財務公司 财务公司 大耳窿 放數 放数 收數 收数 追數 追数 差館 差馆 警署
            私隱專員 私隐专员 個人資料私隱 pcpd money\s?lenders? 財仔 财仔 [0-9]\s?蚊
            [一二三四五六七八九十百千萬万两兩幾几]蚊 八達通 八达通 強積金 强积金 綜援 综援
            (?:打|call|dial|撥|拨)\s?999"""
        )
    ),
    "tw": re.compile(
        _any(
            r"""nt\$ 台幣 台币 臺幣 新台幣 新台币 卡債 卡债 金管會 金管会 銀行公會 银行公会 法扶 健保 勞保 劳保 捷運
            超商 (?:打|撥|call|dial)\s?165 債務清理 债务清理 前置協商 前置协商 清算程序 討債公司 讨债公司"""
        )
    ),
    "mainland": re.compile(
        _any(
            """花呗 借呗 白条 金条 支付宝 微信支付 人民币 12378 12363 12321 12348 征信 网贷 網貸 微粒贷 美团 拼多多
            抖音"""
        )
    ),
}
# Written Cantonese: words that Mandarin does not use. Two of them make a Hong Kong (or Macau) writer likely.
_CANTONESE = re.compile(
    _any(
        """佢哋 佢 係咪 唔係 唔 嘅 咗 冇 喺 嚟 嗰 啲 乜嘢 咩 點樣 点样 邊個 边个 屋企 攞 畀 俾 嘢 咁 噉 哋 嘥 攰 啱 睇
        諗 谂 揾 搵 而家 琴日 聽日 听日 坐監 坐监 搞掂 點算 点算 好鬼 黐線 黐线"""
    )
)


@dataclass(frozen=True)
class RegionGuess:
    region: Region
    strength: Strength


def infer_region(text: str) -> RegionGuess | None:
    """The region `text` points to, with how sure the guess is; None when it says nothing."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    for region, pattern in _STATED.items():
        if pattern.search(folded):
            return RegionGuess(region, "stated")
    for region, pattern in _STATED_NATIVE.items():
        if pattern.search(folded):
            return RegionGuess(region, "stated")
    strong = [region for region, pattern in _STRONG.items() if pattern.search(folded)]
    cantonese = len(set(_CANTONESE.findall(folded)))
    if cantonese >= 2 and "tw" not in strong:
        return RegionGuess("hk", "strong")
    for local in ("hk", "tw"):
        if local in strong:
            return RegionGuess("hk" if local == "hk" else "tw", "strong")
    if cantonese == 1:
        return RegionGuess("hk", "weak")
    if "mainland" in strong:
        return RegionGuess("mainland", "weak")
    return None


def update_region(
    current: Region | None, pinned: bool, text: str, simplified_script: bool
) -> tuple[Region | None, bool]:
    """The session's region after a message: (region, pinned). A stated place pins it; a user's own choice
    (`pinned`) is only changed by a newly stated place."""
    guess = infer_region(text)
    if guess is not None and guess.strength == "stated":
        return guess.region, True
    if pinned:
        return current, True
    if guess is not None and (guess.strength == "strong" or current is None):
        return guess.region, False
    if current is None and simplified_script:
        return "mainland", False
    return current, False

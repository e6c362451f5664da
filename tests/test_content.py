"""The bundled answers, rendered through the real dialog for users in every region and script: the right
emergency numbers, the mainland preface where it belongs, no expired wording, and everything fits WeChat."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.channels.wechat import render_wechat
from bot.dialog import Dialog
from bot.knowledge import KnowledgeBase, KnowledgeSource
from bot.matcher import CRISIS_INTENT
from bot.messages import TOPICS, say
from bot.models import Incoming, Locale, Reply
from bot.region import Region
from bot.state import MemoryStore

REPO = Path(__file__).parent.parent
LOCALES: tuple[Locale, ...] = ("zh-Hant", "zh-Hans", "en")
NUMBER_110 = re.compile(r"(?<![\d-])110(?![\d-])")
NUMBER_999 = re.compile(r"(?<![\d-])999(?![\d-])")  # not the end of 0800-013-999
USER = "c" * 64


@dataclass(frozen=True)
class Rendered:
    intent: str
    region: Region | None
    locale: Locale
    answer: Reply
    more: Reply | None

    @property
    def text(self) -> str:
        return self.answer.text + ("\n" + self.more.text if self.more else "")


@pytest.fixture(scope="module")
def bundled(bundled_knowledge: KnowledgeBase) -> KnowledgeSource:
    return KnowledgeSource(REPO)  # after this process's first load (conftest): its safety net, not trained again


async def render_all(bundled: KnowledgeSource, region: Region | None, locale: Locale) -> list[Rendered]:
    """Every answerable intent as a user in `region` (None: not known yet) writing `locale` sees it."""
    dialog = Dialog(bundled, MemoryStore())

    async def press(payload: str) -> Reply:
        [reply] = await dialog.handle(Incoming("test", USER, button=payload))
        return reply

    await dialog.handle(Incoming("test", USER, f"/lang {locale}"))
    if region is not None:
        await press(f"r:{region}")
    rendered = []
    for intent in bundled.current.answerable():
        if intent.id == CRISIS_INTENT:
            continue  # the crisis reply belongs to the safety layer
        answer = await press(f"a:{intent.id}")
        has_more = any(button.payload == f"m:{intent.id}" for button in answer.buttons)
        more = await press(f"m:{intent.id}") if has_more else None
        rendered.append(Rendered(intent.id, region, locale, answer, more))
    return rendered


def cases() -> Iterator[tuple[Region, Locale]]:
    for region in ("mainland", "hk", "tw", "other"):
        for locale in LOCALES:
            yield region, locale


@pytest.mark.parametrize("locale", LOCALES)
async def test_no_answer_tells_a_hong_kong_user_to_call_110(bundled: KnowledgeSource, locale: Locale) -> None:
    rendered = await render_all(bundled, "hk", locale)
    assert len(rendered) > 40
    told_110 = [r.intent for r in rendered if NUMBER_110.search(r.text)]
    assert told_110 == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "intent", ["legal.threats", "legal.home_visit", "report.police", "legal.contact_employer", "meta.human"]
)
async def test_a_hong_kong_user_in_danger_is_told_999(bundled: KnowledgeSource, locale: Locale, intent: str) -> None:
    [found] = [r for r in await render_all(bundled, "hk", locale) if r.intent == intent]
    assert NUMBER_999.search(found.answer.text)
    assert not found.answer.text.startswith(say("preface.hk", locale))  # written for Hong Kong


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_taiwan_user_is_told_110_and_119_in_danger_and_165_for_scams(
    bundled: KnowledgeSource, locale: Locale
) -> None:
    rendered = {r.intent: r for r in await render_all(bundled, "tw", locale)}
    for intent in ("legal.threats", "legal.home_visit", "report.police"):
        assert "110" in rendered[intent].answer.text and "119" in rendered[intent].answer.text, intent
    for intent in ("scam.fake_collector", "scam.debt_relief_agency", "scam.credit_repair", "scam.borrow_to_repay"):
        assert "165" in rendered[intent].answer.text, intent
    assert not any(NUMBER_999.search(r.text) for r in rendered.values())


@pytest.mark.parametrize(("region", "locale"), [*cases(), (None, "zh-Hant")])  # None: asked where they are
async def test_every_answer_is_filled_in_and_fits_one_wechat_message(
    bundled: KnowledgeSource, region: Region | None, locale: Locale
) -> None:
    for rendered in await render_all(bundled, region, locale):
        for reply in (rendered.answer, rendered.more):
            if reply is None:
                continue
            assert "{" not in reply.text, (rendered.intent, reply.text)
            whole = render_wechat([reply], limit=10**6)
            assert render_wechat([reply]) == whole, f"{rendered.intent} ({region}, {locale}) is cut on WeChat"


@pytest.mark.parametrize(("region", "locale"), [c for c in cases() if c[0] != "mainland"])
async def test_mainland_answers_shown_elsewhere_start_with_the_local_help_line(
    bundled: KnowledgeSource, region: Region, locale: Locale
) -> None:
    kb = bundled.current
    preface = say(f"preface.{region}", locale)
    for rendered in await render_all(bundled, region, locale):
        answer = kb.answer(rendered.intent, locale, region)
        assert answer is not None
        if answer.region == region or rendered.intent.startswith("meta."):
            assert preface not in rendered.answer.text, rendered.intent
        else:
            assert rendered.answer.text.startswith(preface + "\n"), rendered.intent
            assert rendered.answer.text.count(preface) == 1


@pytest.mark.parametrize("locale", LOCALES)
async def test_mainland_users_get_110_and_no_preface(bundled: KnowledgeSource, locale: Locale) -> None:
    rendered = {r.intent: r for r in await render_all(bundled, "mainland", locale)}
    assert "110" in rendered["legal.threats"].answer.text
    assert not any(r.answer.text.startswith("（") or r.answer.text.startswith("(This") for r in rendered.values())


@pytest.mark.parametrize("locale", LOCALES)
async def test_legal_answers_end_with_one_sources_line_and_the_month_checked(
    bundled: KnowledgeSource, locale: Locale
) -> None:
    header = {"zh-Hans": "依据：", "zh-Hant": "依據：", "en": "Sources: "}[locale]
    checked = {"zh-Hans": "核对于 ", "zh-Hant": "核對於 ", "en": "Checked "}[locale]
    for region in ("mainland", "hk"):
        for rendered in await render_all(bundled, region, locale):
            if rendered.intent.split(".")[0] not in ("legal", "report", "rights"):
                continue
            *_, sources, month = rendered.answer.text.split("\n")
            assert sources.startswith(header) and "·" not in sources, rendered.intent
            assert re.fullmatch(re.escape(checked) + r"20\d\d-\d\d", month), rendered.intent


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("intent", ["rights.credit_report", "scam.credit_repair"])
async def test_credit_repair_deadline_is_written_as_past(bundled: KnowledgeSource, locale: Locale, intent: str) -> None:
    [found] = [r for r in await render_all(bundled, "mainland", locale) if r.intent == intent]
    text = found.answer.text
    past = {"zh-Hans": "已经过了", "zh-Hant": "已經過了", "en": "has passed"}[locale]
    assert ("2026年3月31日" in text or "2026-03-31" in text) and past in text
    assert "一次性信用修复" in text or "一次性信用修復" in text or "one-time credit repair" in text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "intent", ["report.harassing_calls", "legal.call_frequency", "consequence.jail", "wellbeing.stress"]
)
async def test_answers_that_say_block_also_say_stay_reachable(
    bundled: KnowledgeSource, locale: Locale, intent: str
) -> None:
    # For credit cards, changing one's number to dodge collection is a listed sign of intent to defraud.
    [found] = [r for r in await render_all(bundled, "mainland", locale) if r.intent == intent]
    stay = {"zh-Hans": "换号", "zh-Hant": "換號", "en": "number"}[locale]
    assert stay in found.answer.text


async def test_browsing_the_topic_menu_reaches_every_answerable_intent(bundled: KnowledgeSource) -> None:
    """Someone who never types a question can still find every answer: topics, pages, buttons."""
    dialog = Dialog(bundled, MemoryStore())

    async def press(payload: str) -> Reply:
        [reply] = await dialog.handle(Incoming("test", USER, button=payload))
        return reply

    reached: set[str] = set()
    pending = [button.payload for button in (await press("c:")).buttons]
    visited: set[str] = set()
    while pending:
        payload = pending.pop()
        if payload in visited or not payload.startswith("t:"):
            continue
        visited.add(payload)
        reply = await press(payload)
        assert 0 < len(reply.buttons) <= 10, payload
        for button in reply.buttons:
            if button.payload.startswith("a:"):
                reached.add(button.payload[2:])
            pending.append(button.payload)
    expected = {intent.id for intent in bundled.current.answerable() if intent.group in TOPICS}
    expected.discard(CRISIS_INTENT)  # the safety layer's, not a menu entry
    assert expected <= reached, sorted(expected - reached)
    assert "legal.third_party_agency" in reached  # the 11th legal intent, once beyond the first page

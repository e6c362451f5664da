"""`anxin show complaint --sample`: a filled-in complaint, produced the way a user would produce it, for review.

    sample_turns(source, locale, region, channel) → the turns the final step produces on that channel (on
                                                   WeChat one per message part), and the story behind them

A made-up user presses the buttons of /complain through a real `Dialog` (in memory), so volunteers review exactly
what people get: the letters, which rules they cite for the chosen facts, the checklist and the next steps.
"""

from __future__ import annotations

from ..dialog import Dialog
from ..knowledge import KnowledgeSource
from ..models import Incoming, Locale, Reply
from ..region import Region
from ..state import MemoryStore, Session
from .letters import LETTER_REGIONS, Story

USER = "sample"
WECHAT_BYTES = 2048
DETAILS = "13800000000、13900000000，自称“王经理”"
CONDUCT = ("contacts", "night", "threats", "expose")
EVIDENCE = ("recordings", "call_log")
WANTS = ("stop_third", "delete")
LENDER = {"mainland": "huabei", "hk": "money_lender", "tw": "bank"}


def sample_story(region: Region) -> Story:
    """The answers the sample user gives (the flow fills in the lender's label for the letter)."""
    return Story(
        region=region,
        lender=LENDER.get(region, "app"),
        conduct=frozenset(CONDUCT),
        since="quarter",
        often="many",
        details=DETAILS,
        evidence=frozenset(EVIDENCE),
        wants=frozenset(WANTS),
    )


async def sample_turns(source: KnowledgeSource, locale: Locale, region: Region, channel: str) -> list[list[Reply]]:
    """The replies of the last step (and, on WeChat, of each "next part"), as that channel receives them."""
    letters_region = region if region in LETTER_REGIONS else "mainland"
    store = MemoryStore()
    await store.put_session(Session(USER, locale=locale, locale_pinned=True, region=letters_region, region_pinned=True))
    dialog = Dialog(source, store, keep_unanswered=False)
    limit = WECHAT_BYTES if channel == "wechat" else None

    async def press(payload: str = "", text: str = "") -> list[Reply]:
        return await dialog.handle(Incoming(channel, USER, text, button=payload or None, reply_bytes=limit))

    await press(text="/complain")
    await press(f"f:c.lender.{LENDER[letters_region]}")
    for item in CONDUCT:
        await press(f"f:c.conduct.{item}")
    await press("f:next.conduct")
    await press("f:c.since.quarter")
    await press("f:c.often.many")
    await press(text=DETAILS)
    for item in EVIDENCE:
        await press(f"f:c.evidence.{item}")
    await press("f:next.evidence")
    for item in WANTS:
        await press(f"f:c.wants.{item}")
    turns = [await press("f:next.wants")]
    while any(button.payload == "f:page" for reply in turns[-1] for button in reply.buttons):
        turns.append(await press("f:page"))
    return turns

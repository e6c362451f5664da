"""Claims content must frame correctly or never make: shared by the answers (`faq/`) and the letters (`letters/`).

    NUMBER_110      a bare 110: mainland content writes {emergency}, Hong Kong content never says 110
    LAW_CLAUSE      the clause after 法律上 / "The law:", where standards and association rules must not appear
    NOT_LAW         words naming a standard or a self-regulation document
    WRONG_CLAIMS    claims found wrong before (docs/sources.md, "Never repeat"), with what to write instead
"""

from __future__ import annotations

import re

NUMBER_110 = re.compile(r"(?<![\d-])110(?![\d-])")
# 法律上 / "The law:" up to the end of its clause (。；; or a full stop before a new sentence): standards and
# association rules must not appear there.
LAW_CLAUSE = re.compile(r"(?:法律上|The law|Legal basis)[:：]?((?:[^。；;\n.]|\.(?!\s+[A-Z]))*)", re.IGNORECASE)
NOT_LAW = re.compile(
    r"GB/T|国家标准|國家標準|推荐性|推薦性|协会|協會|公约|公約|指引|standard|association|convention|guideline",
    re.IGNORECASE,
)

# Each: where it is wrong (None: everywhere; "mainland": in content written for mainland China), the pattern,
# and what to write instead.
WRONG_CLAIMS: tuple[tuple[str | None, re.Pattern[str], str], ...] = (
    (
        None,
        re.compile(r"13\.8\s*%"),
        "13.8% is not the current cap: 4 × the one-year LPR is 12% for contracts since May 2025",
    ),
    (
        "mainland",
        re.compile(r"(?<![\d.])(?:24|36)\s*%"),
        "the 24%/36% rule of 2015 was replaced in 2020: courts cap interest at 4 × the one-year LPR",
    ),
    (
        None,
        re.compile(r"(?:债务清理|債務清理)条?條?例第\s*17\s*[条條]"),
        "Taiwan's 消債條例 art. 17 sets no collection hours: that claim is fabricated",
    ),
    (
        None,
        re.compile(r"最多(?:拨打|撥打|打)?\s*6\s*次|at most 6 (?:unanswered )?(?:call )?attempts"),
        "the banking association guideline says 每天不宜超过6次 (should not exceed): a soft limit, not a maximum",
    ),
)

#!/bin/sh
# Checks that the `anxin stats --html` page renders in a real browser (headless Chromium), offline.
# Not a pytest test: Chromium is a large optional install (Debian: `apt-get install -y chromium`).
#
# Usage: scripts/render_stats.sh [OUT_DIR]    (default: a temp dir; the page and screenshot are kept there)
# Exit 0 when the page rendered with one bar per day; the screenshot is OUT_DIR/stats.png.
set -eu

cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$CHROMIUM" ]; then
    echo "render_stats: no chromium found (Debian: apt-get install -y chromium)" >&2
    exit 2
fi

OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
DATA="$OUT/data"
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT
DAYS=14

# A little traffic through the real console chat, with the test knowledge base.
printf '我电话是13812345678,催收天天打\nasdkjqwe zzz\n催收打给我妈合法吗\n怎么投诉\n<b>bold?</b>\n' |
    BOT_DATA_DIR="$DATA" BOT_CONTENT_DIR=tests/fixtures/kb "$PY" -m bot chat >/dev/null
BOT_DATA_DIR="$DATA" "$PY" -m bot stats --days "$DAYS" --html "$OUT/stats.html" >/dev/null

set -- --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$PROFILE"
"$CHROMIUM" "$@" --window-size=1000,1400 --screenshot="$OUT/stats.png" "file://$OUT/stats.html" \
    >"$OUT/chromium.log" 2>&1
"$CHROMIUM" "$@" --dump-dom "file://$OUT/stats.html" >"$OUT/dom.html" 2>>"$OUT/chromium.log"

# The browser's DOM, not our own string: it parsed the inline SVG into one bar per day.
BARS=$(grep -o 'class="bar"' "$OUT/dom.html" | wc -l)
SIZE=$(wc -c <"$OUT/stats.png")
if [ "$BARS" -ne "$DAYS" ] || [ "$SIZE" -lt 5000 ]; then
    echo "render_stats: FAILED: $BARS bars for $DAYS days, screenshot $SIZE bytes (see $OUT)" >&2
    exit 1
fi
echo "render_stats: ok: $BARS bars, screenshot $OUT/stats.png ($SIZE bytes)"

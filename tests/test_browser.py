"""The web chat and the dashboard in a real browser: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver (never a downloaded browser or driver), against `python -m bot run` on 127.0.0.1.

Skipped, with the reason, when Chromium or chromedriver is missing; under CI=true a missing browser fails.
Screenshots go to the test's temp dir; with ANXIN_SCREENSHOTS=DIR also to DIR (docs/img for the README).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bot_process import REPO, bot_environment, free_port
from conftest import seed_bundled_cache

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TOKEN = "browser-test-admin-token-0123456789"
QUESTION = "催收打电话给我家人合法吗"
CRISIS = "我不想活了"
WAIT = 20.0

os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or a driver


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-dev.txt)"
    return None


@pytest.fixture(scope="module")
def browser_ready() -> None:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def bot(browser_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bot with no messenger (so the web chat is on) and an admin token, on the real content."""
    data = tmp_path_factory.mktemp("browser-bot")
    seed_bundled_cache(data / "data")  # the net's weights a first start keeps: this start reads them, no training
    port = free_port()
    env = bot_environment(
        BOT_DATA_DIR=str(data / "data"), BOT_ADMIN_TOKEN=TOKEN, BOT_HOST="127.0.0.1", BOT_PORT=str(port)
    )
    log = (data / "bot.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2, trust_env=False).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((data / "bot.log").read_text(errors="replace"))
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(20)
        log.close()


@pytest.fixture
def driver(browser_ready: None, tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=420,900",
        "--lang=zh-CN",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER))  # given: Selenium Manager does not run
    browser = webdriver.Chrome(service=service, options=options)
    browser.implicitly_wait(0)
    try:
        yield browser
    finally:
        browser.quit()


def screenshot(driver: object, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    assert path.stat().st_size > 1000
    extra = os.environ.get("ANXIN_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path


def wait_for(driver: object, condition: object, message: str) -> object:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition, message)  # type: ignore[arg-type]


def bot_messages(driver: object) -> list[object]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#log .msg.bot")  # type: ignore[attr-defined, no-any-return]


def send(driver: object, text: str) -> int:
    """Type `text` and press Enter; the number of bot messages before it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = len(bot_messages(driver))
    box = driver.find_element(By.ID, "message")  # type: ignore[attr-defined]
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    return before


def replied(driver: object, before: int, message: str) -> object:
    wait_for(driver, lambda d: len(bot_messages(d)) > before, message)
    return bot_messages(driver)[before]


def admin_status(driver: object) -> int:
    """The HTTP status of the last /admin page the browser loaded, from its network log."""
    found = 0
    for entry in driver.get_log("performance"):  # type: ignore[attr-defined]
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.responseReceived":
            response = message["params"]["response"]
            if response["url"].endswith("/admin"):
                found = int(response["status"])
    return found


def csp_errors(driver: object) -> list[str]:
    entries = driver.get_log("browser")  # type: ignore[attr-defined]
    return [entry["message"] for entry in entries if "Content Security Policy" in entry["message"]]


def test_chat_question_button_crisis_language_and_forget(bot: str, driver: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = driver
    d.get(f"{bot}/chat")  # type: ignore[attr-defined]
    replied(d, 0, "the welcome and the topics")
    assert d.find_element(By.CSS_SELECTOR, "label[for=message]").text == "你的问题"  # type: ignore[attr-defined]

    before = send(d, QUESTION)
    answer = replied(d, before, "an answer to the question")
    assert "催收" in answer.text  # type: ignore[attr-defined]
    mine = d.find_elements(By.CSS_SELECTOR, "#log .msg.me")  # type: ignore[attr-defined]
    assert QUESTION in mine[-1].text
    thumbs = answer.find_elements(By.CSS_SELECTOR, ".feedback button")  # type: ignore[attr-defined]
    assert [button.text for button in thumbs] == ["👍 有帮助", "👎 没帮助"]
    d.execute_script("arguments[0].scrollIntoView({block: 'start'})", mine[-1])  # type: ignore[attr-defined]
    screenshot(d, tmp_path, "webchat.png")

    # A button leads on, and the new reply takes the keyboard focus.
    before = len(bot_messages(d))
    first = answer.find_elements(By.CSS_SELECTOR, ".choices button")[0]  # type: ignore[attr-defined]
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", first)  # type: ignore[attr-defined]
    first.click()
    following = replied(d, before, "the reply to a button")
    assert d.switch_to.active_element == following  # type: ignore[attr-defined]

    # The crisis reply: its hotline numbers are tel: links.
    before = send(d, CRISIS)
    crisis = replied(d, before, "the crisis reply")
    links = crisis.find_elements(By.CSS_SELECTOR, "a[href^='tel:']")  # type: ignore[attr-defined]
    hrefs = [link.get_attribute("href") for link in links]
    assert "tel:12356" in hrefs and "tel:110" in hrefs
    for link in links:
        assert link.get_attribute("href") == "tel:" + "".join(ch for ch in link.text if ch.isdigit())
    screenshot(d, tmp_path, "webchat-crisis.png")

    # The language switch: the page's own words, and the bot's.
    before = len(bot_messages(d))
    Select(d.find_element(By.ID, "lang")).select_by_value("en")  # type: ignore[attr-defined]
    switched = replied(d, before, "the language confirmation")
    assert "English" in switched.text  # type: ignore[attr-defined]
    assert d.find_element(By.CSS_SELECTOR, "label[for=message]").text == "Your question"  # type: ignore[attr-defined]
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"  # type: ignore[attr-defined]

    # Forget me: the conversation goes, the confirmation stays, the next message has a new id.
    old_id = d.execute_script("return localStorage.getItem('anxin-chat-id')")  # type: ignore[attr-defined]
    d.find_element(By.ID, "forget").click()  # type: ignore[attr-defined]
    wait_for(d, lambda x: len(bot_messages(x)) == 1 and "deleted" in bot_messages(x)[0].text, "forgotten")
    assert d.execute_script("return localStorage.getItem('anxin-chat-id')") is None  # type: ignore[attr-defined]
    assert old_id
    assert not d.get_cookies()  # type: ignore[attr-defined]
    assert csp_errors(d) == []  # the strict policy lets the page do everything it needs


def test_markup_typed_into_the_chat_is_shown_as_text(bot: str, driver: object) -> None:
    from selenium.webdriver.common.by import By

    d = driver
    d.get(f"{bot}/chat")  # type: ignore[attr-defined]
    replied(d, 0, "the welcome")
    attack = "<img src=x onerror=\"document.title='owned'\"><b>bold</b>"
    before = send(d, attack)
    replied(d, before, "a reply")
    mine = d.find_elements(By.CSS_SELECTOR, "#log .msg.me")[-1]  # type: ignore[attr-defined]
    assert attack in mine.text
    assert not d.find_elements(By.CSS_SELECTOR, "#log img, #log b")  # type: ignore[attr-defined]
    assert d.title != "owned"  # type: ignore[attr-defined]


def test_keyboard_alone_reaches_every_control_in_order(bot: str, driver: object) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    d = driver
    d.get(f"{bot}/chat")  # type: ignore[attr-defined]
    replied(d, 0, "the welcome")
    seen = []
    for _ in range(4):
        ActionChains(d).send_keys(Keys.TAB).perform()  # type: ignore[arg-type]
        seen.append(d.switch_to.active_element.get_attribute("id") or "")  # type: ignore[attr-defined]
    assert seen[:2] == ["lang", "forget"]  # the header first, then the topics, then the message box


def test_the_page_reflows_at_320_css_pixels_as_at_400_percent_zoom(bot: str, driver: object) -> None:
    from selenium.webdriver.common.by import By

    d = driver
    d.set_window_size(320, 700)  # type: ignore[attr-defined]  # WCAG 1.4.10: 1280 px at 400% zoom
    d.get(f"{bot}/chat")  # type: ignore[attr-defined]
    replied(d, 0, "the welcome")
    before = send(d, QUESTION)
    replied(d, before, "an answer")
    width = d.execute_script("return document.documentElement.clientWidth")  # type: ignore[attr-defined]
    scroll = d.execute_script("return document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= 340, width  # the window really is that narrow
    assert scroll <= width, "the page scrolls sideways"
    for element in d.find_elements(By.CSS_SELECTOR, "#send, #forget, #lang, #message"):  # type: ignore[attr-defined]
        assert element.is_displayed() and element.rect["x"] + element.rect["width"] <= width + 1


_COLOURS = """
const out = [];
for (const node of document.querySelectorAll(arguments[0])) {
  let back = node, bg = "rgba(0, 0, 0, 0)";
  while (back && (bg === "rgba(0, 0, 0, 0)" || bg === "transparent")) {
    bg = getComputedStyle(back).backgroundColor; back = back.parentElement;
  }
  out.push([node.tagName + "." + node.className, getComputedStyle(node).color, bg]);
}
return out;
"""


def _luminance(colour: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"[0-9.]+", colour)[:3])

    def linear(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def test_text_has_at_least_aa_contrast(bot: str, driver: object) -> None:
    d = driver
    d.get(f"{bot}/chat")  # type: ignore[attr-defined]
    replied(d, 0, "the welcome")
    before = send(d, QUESTION)
    replied(d, before, "an answer")
    selector = "h1, label, .intro, .hint, .msg.bot, .msg.me, .choices button, .feedback span, #send, #forget, select"
    pairs = d.execute_script(_COLOURS, selector)  # type: ignore[attr-defined]
    assert len(pairs) >= 10
    for name, colour, background in pairs:
        light, dark = sorted((_luminance(colour), _luminance(background)), reverse=True)
        ratio = (light + 0.05) / (dark + 0.05)
        assert ratio >= 4.5, f"{name}: {colour} on {background} is {ratio:.2f}:1"


def test_dashboard_needs_the_token_and_shows_titles(bot: str, driver: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    d = driver
    # Some traffic to show: a question, a thumb, an unanswered one with a script in it.
    user = "browser-dashboard-user-0001"
    with httpx.Client(trust_env=False, timeout=20) as client:
        for text in (QUESTION, "好", "<script>alert(1)</script> 这是什么 qwxz"):
            assert client.post(f"{bot}/api/chat", json={"id": user, "text": text}).status_code == 200
    d.get(f"{bot}/admin")  # type: ignore[attr-defined]
    # Without the token the browser gets 401 (and would ask for the password): no statistics at all.
    assert not d.find_elements(By.TAG_NAME, "svg")  # type: ignore[attr-defined]
    assert admin_status(d) == 401
    d.execute_cdp_cmd("Network.enable", {})  # type: ignore[attr-defined]
    d.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {TOKEN}"}}
    )
    d.set_window_size(1100, 1400)  # type: ignore[attr-defined]
    d.get(f"{bot}/admin?lang=zh-Hans")  # type: ignore[attr-defined]
    body = d.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    assert "每天的消息和用户" in body and "各个话题" in body
    assert "<script>alert(1)</script> 这是什么 qwxz" in body  # shown as text
    assert not d.find_elements(By.CSS_SELECTOR, "body script")  # type: ignore[attr-defined]
    assert d.find_elements(By.CSS_SELECTOR, "svg rect.bar")  # type: ignore[attr-defined]
    assert csp_errors(d) == []
    screenshot(d, tmp_path, "dashboard.png")

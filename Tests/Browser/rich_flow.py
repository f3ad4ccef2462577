"""Rich messages between two people in headless Chromium: markdown as Discord renders it,
files (the attach button, an image preview, a download link), reactions (the picker, counts,
toggling one's own) and pins (pinning, the pinned list, unpinning), each seen live by the other.

Usage: python rich_flow.py EDGE_URL ARTIFACT_DIR. Prints "ok: <step>" per step; exits 0 when
every step passed. Screenshots go to ARTIFACT_DIR.
"""
import os
import struct
import sys
import tempfile
import time
import zlib

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from support import artifacts, browser, check, click, register, rest, suffix, text_of, unstale, wait


def png(width, height):
    """A real PNG of one colour, so the browser can draw the preview."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x4f\x6d\xf5" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def last_message(driver, text):
    """The newest message element whose text contains `text`, or None."""
    return driver.execute_script("""
        const all = [...document.querySelectorAll('#messages .msg')].filter(m => m.textContent.includes(arguments[0]));
        return all[all.length - 1] ?? null;""", text)


def js_click(driver, find, attempts=5):
    """Clicks what `find()` gives. The message list re-renders as events arrive (an embed, a
    reaction, a pin), so an element found a moment ago may be gone: find it again."""
    for attempt in range(attempts):
        try:
            driver.execute_script("arguments[0].click()", find())
            return
        except (StaleElementReferenceException, NoSuchElementException):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def react(driver, text, emoji, attempts=5):
    """Opens the message's picker and picks `emoji`; a re-render between the two closes the
    picker, so both steps are tried again."""
    for attempt in range(attempts):
        try:
            js_click(driver, lambda: last_message(driver, text).find_element(By.CSS_SELECTOR, "button[data-action='react']"), attempts=1)
            js_click(driver, lambda: last_message(driver, text).find_element(By.XPATH, f".//div[@class='picker']/button[text()='{emoji}']"),
                     attempts=1)
            return
        except (StaleElementReferenceException, NoSuchElementException):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def send(driver, text):
    box = driver.find_element(By.ID, "input")
    driver.execute_script("arguments[0].value = arguments[1]", box, text)
    box.send_keys(Keys.ENTER)


alice = browser(1280, 900)
bob = browser(1000, 800)
folder = tempfile.mkdtemp()
ok = False
try:
    alice_token = register(alice, f"alice{suffix}")
    bob_token = register(bob, f"bob{suffix}")
    guild = rest("POST", "/guilds", alice_token, {"name": "Rich " + suffix})
    channel = guild["system_channel_id"]
    invite = rest("POST", f"/channels/{channel}/invites", alice_token, {})
    rest("POST", f"/invites/{invite['code']}", bob_token)
    for driver in (alice, bob):
        wait(driver, lambda d: text_of(d, "channel-title") == "# general")

    # Markdown, built as elements: nothing of the markup is left as text, and nothing runs.
    send(alice, "**bold** *leaning* __under__ ~~gone~~ `x < y` ||the end|| <b>not bold</b>\n> quoted line\n```\nlet a = 1\n```")
    wait(bob, lambda d: last_message(d, "quoted line") is not None)
    shown = unstale(lambda: bob.execute_script("""
        const m = arguments[0], q = (s) => m.querySelector(s)?.textContent;
        return [q('strong'), q('em'), q('u'), q('s'), q('.content > code'), q('.spoiler'), q('blockquote'), q('pre code'),
                m.querySelectorAll('b').length, m.querySelector('.content').textContent.includes('**')];""", last_message(bob, "quoted line")))
    print("rendered:", shown, flush=True)
    check(shown == ["bold", "leaning", "under", "gone", "x < y", "the end", "quoted line", "let a = 1", 0, False],
          "markdown renders as Discord's (bold, italics, underline, strike, code, spoiler, quote, code block)")
    def reveal_spoiler():
        spoiler = last_message(bob, "quoted line").find_element(By.CSS_SELECTOR, ".spoiler")
        hidden = bob.execute_script("return getComputedStyle(arguments[0]).color", spoiler)
        spoiler.click()
        return hidden == "rgba(0, 0, 0, 0)" and "revealed" in spoiler.get_attribute("class")
    check(unstale(reveal_spoiler), "a spoiler is hidden until clicked")

    # A bot-style embed, as a message's embeds render.
    rest("POST", f"/channels/{channel}/messages", alice_token, {"embeds": [{
        "title": "Release notes", "url": "https://example.com/notes", "description": "**All** fixed", "color": 0x4F6DF5,
        "fields": [{"name": "Version", "value": "1.2", "inline": True}], "footer": {"text": "the team"}}]})
    wait(bob, lambda d: last_message(d, "Release notes") is not None)
    embed = unstale(lambda: bob.execute_script("""
        const e = arguments[0].querySelector('.embed');
        return [e.querySelector('.embed-title a')?.textContent, e.querySelector('.embed-description strong')?.textContent,
                e.querySelector('.embed-field-name')?.textContent, e.querySelector('.embed-footer')?.textContent,
                getComputedStyle(e).borderLeftColor];""", last_message(bob, "Release notes")))
    check(embed == ["Release notes", "All", "Version", "the team", "rgb(79, 109, 245)"],
          "an embed renders (linked title, description with markdown, fields, footer, colour)")

    # Files by the attach button: an image previews, a text file is a download link.
    image_path, notes_path = os.path.join(folder, "blue.png"), os.path.join(folder, "notes.txt")
    with open(image_path, "wb") as f:
        f.write(png(40, 30))
    with open(notes_path, "w") as f:
        f.write("plain notes\n")
    alice.find_element(By.ID, "file-input").send_keys(image_path + "\n" + notes_path)
    wait(alice, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#pending-files span")) == 2)
    send(alice, "two files")
    wait(bob, lambda d: last_message(d, "two files") is not None and bob.execute_script(
        "const i = arguments[0].querySelector('.attachments img'); return !!i && i.complete && i.naturalWidth === 40", last_message(d, "two files")))
    check(True, "an uploaded image shows as a preview")
    def download():
        link = last_message(bob, "two files").find_element(By.CSS_SELECTOR, ".attachments a.file")
        return link.text, bob.execute_script("return fetch(arguments[0]).then(r => r.text())", link.get_attribute("href"))
    name, body = unstale(download)
    check("notes.txt" in name and body == "plain notes\n", "a file is a download link that gives its bytes")
    check(alice.find_element(By.ID, "upload-progress").get_attribute("hidden") is not None
          and not alice.find_elements(By.CSS_SELECTOR, "#pending-files span"), "the upload finished and cleared the pending files")

    # Reactions: bob picks one, alice sees it and adds hers by clicking it, bob takes his back.
    react(bob, "two files", "👍")
    chip = "return [...(arguments[0]?.querySelectorAll('.reactions button') ?? [])].map(b => [b.textContent, b.classList.contains('mine')])"
    wait(alice, lambda d: d.execute_script(chip, last_message(d, "two files")) == [["👍 1", False]])
    check(True, "a reaction shows for the other person live")
    js_click(alice, lambda: last_message(alice, "two files").find_element(By.CSS_SELECTOR, ".reactions button"))
    wait(bob, lambda d: d.execute_script(chip, last_message(d, "two files")) == [["👍 2", True]])
    wait(alice, lambda d: d.execute_script(chip, last_message(d, "two files")) == [["👍 2", True]])
    check(True, "clicking a reaction adds one's own, and counts follow")
    js_click(bob, lambda: last_message(bob, "two files").find_element(By.CSS_SELECTOR, ".reactions button"))
    wait(alice, lambda d: d.execute_script(chip, last_message(d, "two files")) == [["👍 1", True]])
    check(True, "clicking one's own reaction takes it back")

    # Pins: alice (the owner) pins; bob sees the pin, the notice, and the pinned list.
    check(not unstale(lambda: bob.execute_script("return !!arguments[0].querySelector(\"button[data-action='pin']\")", last_message(bob, "two files"))),
          "a member who cannot manage messages is not offered Pin")
    js_click(alice, lambda: last_message(alice, "two files").find_element(By.CSS_SELECTOR, "button[data-action='pin']"))
    wait(bob, lambda d: last_message(d, "pinned a message") is not None)
    wait(bob, lambda d: d.execute_script("return !!arguments[0]?.querySelector('.pinned')", last_message(d, "two files")))
    click(bob, (By.ID, "show-pins"))
    wait(bob, lambda d: "two files" in text_of(d, "pins-list"))
    check(True, "a pin shows on the message, as a notice, and in the pinned list")
    bob.save_screenshot(os.path.join(artifacts, "rich-bob.png"))
    alice.save_screenshot(os.path.join(artifacts, "rich-alice.png"))
    js_click(alice, lambda: last_message(alice, "two files").find_element(By.CSS_SELECTOR, "button[data-action='unpin']"))
    wait(bob, lambda d: "Nothing is pinned" in text_of(d, "pins-list"))
    check(True, "unpinning empties the open pinned list")
    check(True, "screenshots saved")
    ok = True
except Exception as error:  # report and fail
    print("FAILED:", repr(error), flush=True)
finally:
    alice.quit()
    bob.quit()
sys.exit(0 if ok else 1)

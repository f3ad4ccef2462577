"""Two people chat through the web client in headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium).

Usage: python chat_flow.py EDGE_URL ARTIFACT_DIR. Prints "ok: <step>" per step; exits 0 when
every step passed. Screenshots of the chat view go to ARTIFACT_DIR.
"""
import os
import sys
import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from support import artifacts, browser, check, click, register, rest, suffix, text_of, wait


def send(driver, text):
    box = driver.find_element(By.ID, "input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def messages(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#messages .msg')].map(m => ({id: m.dataset.id,"
        " content: m.querySelector('.content')?.textContent, meta: m.querySelector('.meta').textContent,"
        " quote: m.querySelector('.quote')?.textContent ?? null}))")


def wait_message(driver, predicate, what, timeout=15):
    try:
        return wait(driver, lambda d: next((m for m in messages(d) if predicate(m)), None), timeout)
    except Exception:
        raise AssertionError(f"{what}; saw {messages(driver)[-5:]}")


alice = browser(1280, 860)
bob = browser(420, 860)  # a phone-sized window
ok = False
try:
    alice_token = register(alice, f"alice{suffix}")
    bob_token = register(bob, f"bob{suffix}")
    check(alice_token and bob_token, "both people registered and are in the app")
    bob.find_element(By.ID, "toggle-sidebar").click()  # the phone-sized window keeps the sidebar folded away
    click(bob, (By.ID, "logout"))
    wait(bob, EC.visibility_of_element_located((By.NAME, "username"))).send_keys(f"bob{suffix}")
    bob.find_element(By.NAME, "password").send_keys("a long password")
    bob.find_element(By.CSS_SELECTOR, 'button[value="login"]').click()
    wait(bob, EC.visibility_of_element_located((By.ID, "app")))
    bob_token = bob.execute_script("return sessionStorage.getItem('concord.token')")
    check(bob_token, "bob logged out and back in")

    alice.find_element(By.ID, "new-guild").click()
    field = alice.find_element(By.CSS_SELECTOR, "#new-guild-form input")
    field.send_keys("Team " + suffix, Keys.ENTER)
    wait(alice, lambda d: text_of(d, "channel-title") == "# general")
    check(True, "alice created a workspace and sees #general")

    alice.find_element(By.ID, "new-channel").click()
    alice.find_element(By.CSS_SELECTOR, "#new-channel-form input").send_keys("history", Keys.ENTER)
    wait(alice, lambda d: text_of(d, "channel-title") == "# history")
    history_id = alice.execute_script("return concord.store.channelId")
    click(alice, (By.XPATH, "//ul[@id='channels']//button[text()='# general']"))
    wait(alice, lambda d: text_of(d, "channel-title") == "# general")
    check(True, "alice created #history and went back to #general")

    alice.find_element(By.ID, "invite").click()
    link = wait(alice, lambda d: d.find_element(By.ID, "invite-link").get_attribute("value"))
    check("/app/#/invite/" in link, "alice made an invite link")

    bob.get(link)
    click(bob, (By.ID, "join-accept"))
    wait(bob, lambda d: text_of(d, "channel-title") == "# general")
    check(True, "bob joined through the invite link and sees #general")

    alice_id = alice.execute_script("return concord.store.me.id")
    bob_id = bob.execute_script("return concord.store.me.id")
    wait(alice, lambda d: d.find_elements(By.CSS_SELECTOR, f'#members li[data-user="{bob_id}"][data-status="online"]'))
    wait(bob, lambda d: d.find_elements(By.CSS_SELECTOR, f'#members li[data-user="{alice_id}"][data-status="online"]'))
    check(True, "each sees the other's online dot")

    send(alice, "hello bob")
    wait_message(bob, lambda m: m["content"] == "hello bob", "bob sees alice's message live")
    check(True, "bob sees alice's message live")

    greeting = next(m for m in messages(bob) if m["content"] == "hello bob")
    target = bob.find_element(By.CSS_SELECTOR, f'.msg[data-id="{greeting["id"]}"]')
    ActionChains(bob).move_to_element(target).perform()
    target.find_element(By.CSS_SELECTOR, 'button[data-action="reply"]').click()
    send(bob, "hi alice")
    reply = wait_message(alice, lambda m: m["content"] == "hi alice", "alice sees bob's reply")
    check(reply["quote"] is not None and "hello bob" in reply["quote"], "the reply shows the quoted original")

    alice.find_element(By.ID, "input").send_keys("thinking")
    wait(bob, lambda d: "is typing" in text_of(d, "typing"))
    check(f"alice{suffix}" in text_of(bob, "typing"), "bob sees that alice is typing")
    alice.find_element(By.ID, "input").clear()

    send(alice, "a message to edit")
    wait_message(alice, lambda m: m["content"] == "a message to edit", "alice sees her own message")
    alice.find_element(By.ID, "input").send_keys(Keys.ARROW_UP)
    box = wait(alice, lambda d: d.find_element(By.CSS_SELECTOR, "#messages .edit-box"))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("an edited message", Keys.ENTER)
    edited = wait_message(bob, lambda m: m["content"] == "an edited message", "bob sees the edit")
    check("(edited)" in edited["meta"], "Up edits the last own message and bob sees it edited")

    send(alice, "a message to delete")
    doomed = wait_message(bob, lambda m: m["content"] == "a message to delete", "bob sees the doomed message")
    node = alice.find_element(By.CSS_SELECTOR, f'.msg[data-id="{doomed["id"]}"]')
    ActionChains(alice).move_to_element(node).perform()
    node.find_element(By.CSS_SELECTOR, 'button[data-action="delete"]').click()
    wait(bob, lambda d: all(m["id"] != doomed["id"] for m in messages(d)))
    check(True, "alice deleted a message and it disappeared for bob")

    hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned=2"><b>bold?</b>'
    send(alice, hostile)
    shown = wait_message(bob, lambda m: m["content"] == hostile, "bob sees the hostile text as text")
    check(bob.execute_script("return window.pwned === undefined && !document.querySelector('#messages script, #messages img, #messages b')"),
          "a <script> message shows as text and runs nothing")

    send(alice, f"hey <@{bob_id}> see https://example.com/page")
    mention = wait_message(bob, lambda m: m["content"] and m["content"].startswith("hey @"), "the mention renders as a name")
    check(mention["content"] == f"hey @bob{suffix} see https://example.com/page", "mentions render as names")
    check(bob.execute_script("return [...document.querySelectorAll('#messages a')].some(a => a.href === 'https://example.com/page' && a.rel.includes('noopener'))"),
          "links are clickable")

    # A mention in another channel: bold channel and a badge, until bob reads it.
    rest("POST", f"/channels/{history_id}/messages", alice_token, {"content": f"ping <@{bob_id}>"})
    history_button = f'#channels button[data-id="channel-{history_id}"]'
    badge = wait(bob, lambda d: d.find_elements(By.CSS_SELECTOR, history_button + " .badge"))
    check(badge[0].get_attribute("textContent") == "1" and "unread" in bob.find_element(By.CSS_SELECTOR, history_button).get_attribute("class"),
          "an unread mention shows as a badge on the channel")

    # 300 messages of history, read by scrolling back from the newest.
    for i in range(300):
        rest("POST", f"/channels/{history_id}/messages", alice_token, {"content": f"history {i:03d}"})
    bob.find_element(By.ID, "toggle-sidebar").click()
    click(bob, (By.XPATH, "//ul[@id='channels']//button[text()='# history']"))
    wait(bob, lambda d: text_of(d, "channel-title") == "# history")
    wait_message(bob, lambda m: m["content"] == "history 299", "the newest history message")
    jumps = []
    for _ in range(40):
        if bob.execute_script("return !!document.querySelector('#messages .history-start')"):
            break
        # Scroll to the top and note where the oldest shown message is; once the older page has
        # been put above it, it must still be there (the reader keeps their place).
        top = bob.execute_script("document.getElementById('messages').scrollTop = 0;"
                                 " const m = document.querySelector('#messages .msg'); return [m.dataset.id, m.getBoundingClientRect().top]")
        time.sleep(0.5)
        after = bob.execute_script(f"return document.querySelector('.msg[data-id=\"{top[0]}\"]').getBoundingClientRect().top")
        jumps.append(abs(after - top[1]))
    seen = [m["content"] for m in messages(bob)]
    check(seen == [f"ping @bob{suffix}"] + [f"history {i:03d}" for i in range(300)], "scroll-back loads all 300 messages once, in order")
    check(not bob.find_elements(By.CSS_SELECTOR, history_button + " .badge")
          and "unread" not in bob.find_element(By.CSS_SELECTOR, history_button).get_attribute("class"),
          "reading the channel clears its badge")
    check(len(jumps) >= 5 and max(jumps) < 2, f"older pages load without jumps (largest shift {max(jumps, default=0):.0f}px)")

    bob.find_element(By.ID, "toggle-sidebar").click()
    click(bob, (By.XPATH, "//ul[@id='channels']//button[text()='# general']"))
    wait(bob, lambda d: text_of(d, "channel-title") == "# general")

    # Cut bob's network, post while he is away, bring it back.
    bob.execute_cdp_cmd("Network.enable", {})
    bob.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    bob.execute_script("concord.gateway.drop()")
    wait(bob, lambda d: d.find_element(By.ID, "banner").is_displayed())
    check(True, "bob sees the disconnected banner")
    send(alice, "posted while bob was offline")
    wait_message(alice, lambda m: m["content"] == "posted while bob was offline", "alice's own copy")
    time.sleep(1)
    bob.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    wait(bob, lambda d: not d.find_element(By.ID, "banner").is_displayed(), timeout=30)
    wait_message(bob, lambda m: m["content"] == "posted while bob was offline", "bob gets the missed message after reconnecting", timeout=20)
    time.sleep(1)
    count = sum(1 for m in messages(bob) if m["content"] == "posted while bob was offline")
    check(count == 1, "after reconnecting bob has the missed message exactly once")

    send(bob, "back online")
    wait_message(alice, lambda m: m["content"] == "back online", "alice sees bob again")
    check(True, "messages flow both ways after the reconnect")

    # The read state is the server's: a reload (a new session) still shows #history read.
    time.sleep(1)
    bob.refresh()
    wait(bob, lambda d: text_of(d, "channel-title") == "# general")
    check(not bob.find_elements(By.CSS_SELECTOR, history_button + " .badge")
          and "unread" not in bob.find_element(By.CSS_SELECTOR, history_button).get_attribute("class"),
          "after a reload #history is still read (the ack was saved)")

    # A mention alice has not seen yet, for the screenshot's badge.
    rest("POST", f"/channels/{history_id}/messages", bob_token, {"content": f"see you in here <@{alice_id}>"})
    wait(alice, lambda d: d.find_elements(By.CSS_SELECTOR, history_button + " .badge"))
    alice.save_screenshot(os.path.join(artifacts, "chat-desktop.png"))
    bob.save_screenshot(os.path.join(artifacts, "chat-phone.png"))
    check(True, "screenshots saved")
    ok = True
except Exception as error:  # report and fail
    print("FAILED:", repr(error), flush=True)
    try:
        for who, driver in (("alice", alice), ("bob", bob)):
            print(who, "members:", driver.execute_script(
                "return [...document.querySelectorAll('#members li')].map(l => l.dataset.user + ':' + l.dataset.status).join(' ')"
                " + ' presences: ' + JSON.stringify([...concord.store.presences])"), flush=True)
        alice.save_screenshot(os.path.join(artifacts, "failure-alice.png"))
        bob.save_screenshot(os.path.join(artifacts, "failure-bob.png"))
        for entry in alice.get_log("browser")[-10:] + bob.get_log("browser")[-10:]:
            print("console:", entry, flush=True)
    except Exception:
        pass
finally:
    alice.quit()
    bob.quit()
sys.exit(0 if ok else 1)

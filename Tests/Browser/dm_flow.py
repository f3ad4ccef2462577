"""Direct messages, channel URLs, staying signed in and notifications in headless Chromium:
bob opens a DM from the member list, alice gets a badge and a desktop notification, the URL
names the channel so reload and back keep one's place, and "stay signed in" reaches a new tab.

Usage: python dm_flow.py EDGE_URL ARTIFACT_DIR. Prints "ok: <step>" per step; exits 0 when
every step passed. Screenshots go to ARTIFACT_DIR.
"""
import os
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from support import artifacts, browser, check, click, edge, register, rest, suffix, text_of, wait

# A stand-in for the browser's notifications (headless Chromium shows none): granted, and
# every notification recorded.
FAKE_NOTIFICATIONS = """
window.notes = [];
window.Notification = class {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.notes.push([title, options.body]); }
};"""


def register_staying(driver, name):
    driver.get(edge + "/app/")
    wait(driver, EC.visibility_of_element_located((By.NAME, "username"))).send_keys(name)
    driver.find_element(By.NAME, "password").send_keys("a long password")
    driver.find_element(By.NAME, "stay").click()
    driver.find_element(By.CSS_SELECTOR, 'button[value="register"]').click()
    wait(driver, EC.visibility_of_element_located((By.ID, "app")))
    return driver.execute_script("return localStorage.getItem('concord.token')")


def dm_entries(driver):
    return driver.execute_script("return [...document.querySelectorAll('#dms button')].map(b => b.textContent)")


alice = browser(1280, 900)
bob = browser(1000, 800)
ok = False
try:
    alice_token = register_staying(alice, f"alice{suffix}")
    bob_token = register(bob, f"bob{suffix}")
    check(alice_token is not None and alice.execute_script("return sessionStorage.getItem('concord.token')") is None,
          "staying signed in keeps the token for every tab")
    guild = rest("POST", "/guilds", alice_token, {"name": "Direct " + suffix})
    invite = rest("POST", f"/channels/{guild['system_channel_id']}/invites", alice_token, {})
    rest("POST", f"/invites/{invite['code']}", bob_token)
    for driver in (alice, bob):
        wait(driver, lambda d: text_of(d, "channel-title") == "# general")
    check(alice.execute_script("return location.hash") == f"#/channels/{guild['id']}/{guild['system_channel_id']}", "the URL names the channel")
    alice.execute_script(FAKE_NOTIFICATIONS)
    click(alice, (By.ID, "notify"))
    wait(alice, lambda d: "on" in d.find_element(By.ID, "notify").get_attribute("class"))

    # Bob opens a DM from the member list and writes.
    alice_id = rest("GET", "/users/@me", alice_token)["id"]
    click(bob, (By.CSS_SELECTOR, f"#members li[data-user='{alice_id}'] button[data-action='message']"))
    wait(bob, lambda d: text_of(d, "channel-title") == f"@ alice{suffix}")
    check(bob.execute_script("return location.hash").startswith("#/channels/@me/"), "a DM opens from the member list, with its own URL")
    box = bob.find_element(By.ID, "input")
    box.send_keys("psst", Keys.ENTER)

    # Alice, elsewhere: the DM is listed with a badge, and she is notified.
    wait(alice, lambda d: any(e.startswith(f"@ bob{suffix}") and e.endswith("1") for e in dm_entries(d)))
    check(True, "the DM shows in the other's sidebar with an unread badge")
    wait(alice, lambda d: d.execute_script("return window.notes") == [[f"bob{suffix}", "psst"]])
    check(True, "a desktop notification announces the DM")
    click(alice, (By.CSS_SELECTOR, "#dms button"))
    wait(alice, lambda d: text_of(d, "channel-title") == f"@ bob{suffix}" and "psst" in text_of(d, "messages"))
    wait(alice, lambda d: dm_entries(d) == [f"@ bob{suffix}"])
    check(True, "opening the DM shows the message and clears the badge")
    alice.find_element(By.ID, "input").send_keys("hello back", Keys.ENTER)
    wait(bob, lambda d: "hello back" in text_of(d, "messages"))
    check(True, "the reply arrives live")
    alice.save_screenshot(os.path.join(artifacts, "dm-alice.png"))

    # Reload and back keep one's place.
    dm_url = alice.execute_script("return location.hash")
    alice.refresh()
    wait(alice, lambda d: text_of(d, "channel-title") == f"@ bob{suffix}")
    check(alice.execute_script("return location.hash") == dm_url, "after a reload the same DM is open (still signed in)")
    click(alice, (By.XPATH, "//ul[@id='channels']//button[text()='# general']"))
    wait(alice, lambda d: text_of(d, "channel-title") == "# general")
    alice.back()
    wait(alice, lambda d: text_of(d, "channel-title") == f"@ bob{suffix}")
    check(True, "the back button returns to the DM")

    # A new tab: alice (who stays signed in) is in; bob (who did not) must log in.
    for driver, signed_in in ((alice, True), (bob, False)):
        driver.switch_to.new_window("tab")
        driver.get(edge + "/app/")
        wait(driver, lambda d: d.find_element(By.ID, "app").is_displayed() or d.find_element(By.ID, "auth").is_displayed())
        check(driver.find_element(By.ID, "app").is_displayed() == signed_in,
              "a new tab is signed in" if signed_in else "without staying signed in, a new tab asks to log in")
    check(True, "screenshots saved")
    ok = True
except Exception as error:  # report and fail
    print("FAILED:", repr(error), flush=True)
    for name, driver in (("alice", alice), ("bob", bob)):
        print(name, "sees:", driver.execute_script("return [document.getElementById('channel-title')?.textContent, location.hash, document.getElementById('toast')?.textContent]"),
              driver.get_log("browser")[-5:], flush=True)
finally:
    alice.quit()
    bob.quit()
sys.exit(0 if ok else 1)

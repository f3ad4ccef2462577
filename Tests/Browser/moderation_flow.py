"""An owner runs a workspace from the web client in headless Chromium: creates a role, makes a
channel private, lets the role see it, gives the role to a member, times the member out and
kicks them; the member's own browser follows each change.

Usage: python moderation_flow.py EDGE_URL ARTIFACT_DIR. Prints "ok: <step>" per step; exits 0
when every step passed. Screenshots go to ARTIFACT_DIR.
"""
import os
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from support import artifacts, browser, check, click, register, rest, suffix, text_of, wait


def channel_names(driver):
    return driver.execute_script("return [...document.querySelectorAll('#channels button')].map(b => b.textContent)")


def settings_click(driver, css):
    click(driver, (By.CSS_SELECTOR, "#settings " + css))


owner = browser(1280, 900)
member = browser(1000, 800)
ok = False
try:
    owner_token = register(owner, f"owner{suffix}")
    member_token = register(member, f"member{suffix}")
    guild = rest("POST", "/guilds", owner_token, {"name": "Mods " + suffix})
    secret = rest("POST", f"/guilds/{guild['id']}/channels", owner_token, {"name": "secret"})
    invite = rest("POST", f"/channels/{guild['system_channel_id']}/invites", owner_token, {})
    rest("POST", f"/invites/{invite['code']}", member_token)
    member_id = rest("GET", "/users/@me", member_token)["id"]
    wait(member, lambda d: "# secret" in channel_names(d))
    wait(owner, lambda d: "# secret" in channel_names(d))
    check(not member.find_element(By.ID, "open-settings").is_displayed(), "a member without rights has no settings button")

    # The owner creates a role in the settings screen.
    click(owner, (By.XPATH, "//ul[@id='channels']//button[text()='# secret']"))
    wait(owner, lambda d: text_of(d, "channel-title") == "# secret")
    click(owner, (By.ID, "open-settings"))
    owner.find_element(By.CSS_SELECTOR, "#new-role-form input").send_keys("staff", Keys.ENTER)
    wait(owner, lambda d: d.execute_script("return [...document.querySelectorAll('#settings .role-name')].some(i => i.value === 'staff')"))
    staff = next(r for r in rest("GET", f"/guilds/{guild['id']}/roles", owner_token) if r["name"] == "staff")
    check(True, "the owner created a role in the settings screen")

    # Private: the member's sidebar loses #secret.
    settings_click(owner, "#channel-private")
    wait(member, lambda d: "# secret" not in channel_names(d))
    check(True, "making #secret private hides it from the member's sidebar")
    member.save_screenshot(os.path.join(artifacts, "moderation-member-hidden.png"))

    # One member let in by name (a member overwrite), then out again.
    settings_click(owner, f"#settings-channel input[data-member='{member_id}']")
    wait(member, lambda d: "# secret" in channel_names(d))
    settings_click(owner, f"#settings-channel input[data-member='{member_id}']")
    wait(member, lambda d: "# secret" not in channel_names(d))
    check(True, "a single member can be let into the private channel and out again")

    # The role may see it, the member gets the role: #secret is back for them.
    settings_click(owner, f"#settings-channel input[data-role='{staff['id']}']")
    wait(owner, lambda d: any(o["id"] == staff["id"] for o in rest("GET", f"/channels/{secret['id']}", owner_token)["permission_overwrites"]))
    settings_click(owner, f"#settings-members li[data-user='{member_id}'] input[data-role='{staff['id']}']")
    wait(member, lambda d: "# secret" in channel_names(d))
    check(True, "giving the member the role shows #secret again")
    owner.save_screenshot(os.path.join(artifacts, "moderation-settings.png"))

    # Read-only for everyone but the owner: the member's composer says so.
    rest("PUT", f"/channels/{secret['id']}/permissions/{guild['id']}", owner_token, {"type": 0, "allow": "0", "deny": str(1024 | 2048)})
    click(member, (By.XPATH, "//ul[@id='channels']//button[text()='# secret']"))
    wait(member, lambda d: text_of(d, "channel-title") == "# secret")
    wait(member, lambda d: d.find_element(By.ID, "cannot-send").is_displayed() and not d.find_element(By.ID, "input").is_displayed())
    check("permission" in text_of(member, "cannot-send"), "where the member cannot send, the composer says so")

    # The member menu: time out, then kick.
    click(owner, (By.ID, "close-settings"))
    click(owner, (By.CSS_SELECTOR, f"#members li[data-user='{member_id}'] .member-actions"))
    click(owner, (By.CSS_SELECTOR, f".member-menu[data-user='{member_id}'] button[data-action='time']"))
    click(member, (By.XPATH, "//ul[@id='channels']//button[text()='# general']"))
    wait(member, lambda d: "timed out" in text_of(d, "cannot-send"))
    check(True, "a timed-out member sees why they cannot send")
    member.save_screenshot(os.path.join(artifacts, "moderation-timed-out.png"))
    click(owner, (By.CSS_SELECTOR, f"#members li[data-user='{member_id}'] .member-actions"))
    click(owner, (By.CSS_SELECTOR, f".member-menu[data-user='{member_id}'] button[data-action='kick']"))
    wait(member, lambda d: d.execute_script(f"return !concord.store.guilds.has('{guild['id']}')"))
    check(True, "a kicked member's browser leaves the workspace")
    log = rest("GET", f"/guilds/{guild['id']}/audit-logs", owner_token)
    check([e["action_type"] for e in log["audit_log_entries"]][:2] == [20, 24], "the kick and the timeout are in the audit log")
    ok = True
except Exception as error:  # report and fail
    print("FAILED:", repr(error), flush=True)
    for name, driver in (("owner", owner), ("member", member)):
        driver.save_screenshot(os.path.join(artifacts, f"moderation-failure-{name}.png"))
        print(f"{name} console:", driver.get_log("browser")[-10:], flush=True)
finally:
    owner.quit()
    member.quit()
sys.exit(0 if ok else 1)

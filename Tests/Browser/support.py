"""What the browser flows share: a headless Chromium, waits that survive re-renders, signing
up through the page, and REST calls as a user. The edge's URL is the flow's first argument."""
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

edge, artifacts = sys.argv[1], sys.argv[2]
os.makedirs(artifacts, exist_ok=True)
suffix = uuid.uuid4().hex[:6]


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what, flush=True)


def browser(width, height):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.set_window_size(width, height)
    return driver


def wait(driver, condition, timeout=15):
    """Waits until `condition` holds; an element it found going stale as the page re-renders
    (events arriving) is found again on the next try instead of failing the wait."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def unstale(read, attempts=5):
    """What `read()` answers, read again when an element it used was re-rendered meanwhile."""
    for attempt in range(attempts):
        try:
            return read()
        except StaleElementReferenceException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def click(driver, locator, attempts=5):
    """Clicks the element once clickable; the sidebar re-renders as unread counts change, so an
    element found a moment ago may be gone: find it again."""
    for attempt in range(attempts):
        try:
            wait(driver, EC.element_to_be_clickable(locator)).click()
            return
        except StaleElementReferenceException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def text_of(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def register(driver, name):
    driver.get(edge + "/app/")
    wait(driver, EC.visibility_of_element_located((By.NAME, "username"))).send_keys(name)
    driver.find_element(By.NAME, "password").send_keys("a long password")
    driver.find_element(By.CSS_SELECTOR, 'button[value="register"]').click()
    wait(driver, EC.visibility_of_element_located((By.ID, "app")))
    return driver.execute_script("return sessionStorage.getItem('concord.token')")


def rest(method, path, token, body=None):
    """A REST call as the given user; waits out rate limits as Discord's clients do."""
    while True:
        request = urllib.request.Request(edge + "/api/v10" + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code != 429:
                raise
            time.sleep(json.loads(error.read()).get("retry_after", 1))

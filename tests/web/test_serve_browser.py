"""`dgm serve` in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven
by Selenium against the real server process on a real run (SQLite + git in tmp_path).

Screenshots of each page go to $DGM_SCREENSHOTS when set (else tmp_path), to be looked at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from dgm.archive import Archive
from dgm.report.demo import build_demo_archive

pytestmark = pytest.mark.slow


class Server:
    def __init__(self, proc: subprocess.Popen, url: str) -> None:
        self.proc, self.url = proc, url
        parts = urllib.parse.urlsplit(url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.token = urllib.parse.parse_qs(parts.query)["token"][0]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    archive, _ = build_demo_archive(tmp_path / "run", 25, seed=3, reviewer=False)
    archive.close()
    return tmp_path / "run"


@pytest.fixture
def server(run: Path) -> Iterator[Server]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dgm.cli", "serve", "--run", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.match(r"URL (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
        assert match, line + proc.stderr.read()
        yield Server(proc, match.group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("DGM_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def submit(browser, element) -> None:
    """Click a button that submits a form, and wait for the next page to load."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(page))


def verdicts(run: Path) -> dict[str, str]:
    from dgm.review.gate import latest_verdicts

    with Archive.open(run, readonly=True) as archive:
        return latest_verdicts(archive.reviews())


def test_approve_and_reject_in_the_browser_land_in_the_archive(server: Server, browser, run: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    out = shots(tmp_path)
    browser.get(server.url)
    assert "token=" not in browser.current_url  # swapped for a cookie at once
    assert browser.find_element(By.ID, "dry-run-banner").is_displayed()
    nodes = browser.find_elements(By.CSS_SELECTOR, "#tree a.node")
    assert len(nodes) == 25
    browser.save_screenshot(str(out / "lineage.png"))
    browser.find_element(By.ID, "zoom-in").click()
    assert browser.find_element(By.ID, "tree").get_attribute("viewBox") != f"0 0 {browser.find_element(By.ID, 'tree').get_attribute('data-width')}"

    submit(browser, browser.find_element(By.ID, "nav-queue"))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tr[id^=row-]")
    first, second = (r.get_attribute("id")[4:] for r in rows[:2])
    browser.save_screenshot(str(out / "queue.png"))
    submit(browser, browser.find_element(By.ID, f"approve-{first}"))
    assert f"{first} approved" in browser.find_element(By.ID, "message").text
    submit(browser, browser.find_element(By.ID, f"reject-{second}"))
    assert f"{second} rejected" in browser.find_element(By.ID, "message").text
    assert verdicts(run) == {first: "approve", second: "reject"}
    assert not browser.find_elements(By.ID, f"row-{first}")  # decided: out of the queue
    third = browser.find_elements(By.CSS_SELECTOR, "table.queue tr[id^=row-]")[0].get_attribute("id")[4:]
    browser.find_element(By.ID, f"note-text-{third}").send_keys("look at the retry loop")
    submit(browser, browser.find_element(By.ID, f"note-{third}"))
    assert f"{third} noted" in browser.find_element(By.ID, "message").text
    assert browser.find_elements(By.ID, f"row-{third}")  # a note decides nothing

    # the child's page: scores beside the parent's, diagnosis, flags, cost, side-by-side diff
    browser.get(f"{server.base}/agent/{second}")
    assert "rejected" in browser.find_element(By.ID, "current-verdict").text
    assert browser.find_element(By.ID, "diagnosis").text.startswith("The parent fails")
    assert "$" in browser.find_element(By.ID, "cost").text
    assert browser.find_elements(By.CSS_SELECTOR, "table.sbs td.add") and browser.find_elements(By.CSS_SELECTOR, "#files a")
    browser.save_screenshot(str(out / "agent.png"))
    # changing a verdict needs the box ticked (the one verdict rule)
    submit(browser, browser.find_element(By.ID, "approve"))
    assert "--force" in browser.find_element(By.ID, "message").text and verdicts(run)[second] == "reject"
    browser.find_element(By.ID, "force").click()
    submit(browser, browser.find_element(By.ID, "approve"))
    assert "replacing reject" in browser.find_element(By.ID, "message").text and verdicts(run)[second] == "approve"
    # a line comment shows beside its line
    path = browser.find_element(By.CSS_SELECTOR, "section.file h3").text.split(" ")[0]
    line = browser.find_element(By.CSS_SELECTOR, "section.file table.sbs td.add").find_element(By.XPATH, "preceding-sibling::td[1]").text
    form = browser.find_element(By.CSS_SELECTOR, "section.file form.line-form")
    form.find_element(By.NAME, "line").send_keys(line)
    form.find_element(By.NAME, "note").send_keys("why this retry?")
    submit(browser, form.find_element(By.TAG_NAME, "button"))
    assert "why this retry?" in browser.find_element(By.CSS_SELECTOR, "tr.line-note").text
    with Archive.open(run, readonly=True) as archive:
        assert [(r.file, r.line, r.note) for r in archive.reviews(second) if r.file] == [(path, int(line), "why this retry?")]

    browser.get(f"{server.base}/progress")
    browser.find_element(By.XPATH, "//*[@id='daemon'][contains(text(), 'daemon')]")
    browser.save_screenshot(str(out / "progress.png"))


def test_a_twin_of_a_rejected_child_is_offered_the_same_verdict(tmp_path: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    from tests.review.test_review_flow import make_twins

    run = tmp_path / "twins"
    made, grandchild = make_twins(run)
    with Archive.open(run) as archive:
        archive.add_review(made[0], "reject")
    proc = subprocess.Popen([sys.executable, "-m", "dgm.cli", "serve", "--run", str(run)], stdout=subprocess.PIPE, text=True)
    try:
        server = Server(proc, proc.stdout.readline().split(" ", 1)[1].strip())
        browser.get(server.url)
        browser.get(f"{server.base}/agent/{grandchild}")
        assert f"parent {made[0]} was rejected" in browser.find_element(By.ID, "parent-rejected").text
        browser.get(f"{server.base}/agent/{made[1]}")
        submit(browser, browser.find_element(By.ID, "same-verdict"))
        assert verdicts(run)[made[1]] == "reject"
        assert "rejected" in browser.find_element(By.ID, "current-verdict").text
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def post(url: str, data: dict[str, str], headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_writes_need_the_token_the_csrf_token_and_our_origin(server: Server, run: Path) -> None:
    from dgm.web.auth import Access

    child = next(a for a in json.loads(subprocess.run(
        [sys.executable, "-m", "dgm.cli", "review", "ls", "--json", "--run", str(run)], capture_output=True, text=True, check=True,
    ).stdout))["id"]
    target = f"{server.base}/agent/{child}/verdict"
    cookie = {"Cookie": f"dgm_token={server.token}"}
    csrf = Access(server.token).csrf
    assert post(target, {"verdict": "approve", "csrf": csrf}, {}) == 403  # no access token
    assert post(target, {"verdict": "approve"}, cookie) == 403  # no CSRF token
    assert post(target, {"verdict": "approve", "csrf": "x" * 32}, cookie) == 403
    assert post(target, {"verdict": "approve", "csrf": csrf}, {**cookie, "Origin": "http://evil.example"}) == 403
    assert verdicts(run) == {}
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(f"{server.base}/")
    assert denied.value.code == 403
    ok = post(target, {"verdict": "approve", "csrf": csrf}, {**cookie, "Origin": server.base})
    assert ok == 200 and verdicts(run) == {child: "approve"}  # 303 to the agent page, followed


def test_binding_another_address_warns(run: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dgm.cli", "serve", "--run", str(run), "--host", "0.0.0.0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().startswith("URL http://0.0.0.0:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "warning" in err and "network" in err or "anyone" in err

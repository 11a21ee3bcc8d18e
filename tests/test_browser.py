"""Reports in a real browser: headless Chromium renders index.html and a report.html without
console errors, broken links or images that fail to load; screenshots are kept for a look."""

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from tests.submissions import lab07

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ("edge_kernels", "edge_figure", "intermediate_size", "accuracy")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Debian's chromium and chromium-driver are not installed")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    raw = yaml.safe_load((ROOT / "rubric" / "lab07_convnets.yaml").read_text())
    raw["checks"] = [c for c in raw["checks"] if c["id"] in CHECKS]
    rubric = base / "lab07_convnets.yaml"
    rubric.write_text(yaml.safe_dump(raw))
    subs = lab07.materialize(base / "subs", ["passes_all", "swapped_kernels", "syntax_error"])
    done = subprocess.run([str(Path(sys.executable).with_name("grader")), "grade", *map(str, subs), "--assignment",
                           "lab07_convnets", "--rubric", str(rubric), "--out", str(base / "out")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return base / "out"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1200,1600",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_page(browser, path, screenshot):
    browser.get(path.resolve().as_uri())
    browser.save_screenshot(str(screenshot))
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    broken_images = browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt || i.src)")
    links = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    return errors, broken_images, links


def missing_targets(links):
    return [link for link in links if urlparse(link).scheme == "file" and not Path(unquote(urlparse(link).path)).exists()]


def test_class_overview_renders_cleanly(graded, browser):
    errors, broken_images, links = open_page(browser, graded / "index.html", graded / "index.png")
    assert errors == [] and broken_images == []
    assert len(links) >= 3 * 4 and missing_targets(links) == []
    text = browser.find_element("tag name", "body").text
    assert "passes_all" in text and "syntax error" in text and "3 submissions" in text
    assert (graded / "index.png").stat().st_size > 10_000


def test_a_report_renders_its_figure_and_curve(graded, browser):
    report = graded / "passes_all" / "report.html"
    errors, broken_images, links = open_page(browser, report, graded / "report.png")
    assert errors == [] and broken_images == [] and missing_targets(links) == []
    assert browser.execute_script("return document.images.length") >= 1
    assert browser.execute_script("return document.querySelectorAll('svg.curve polyline').length") == 1
    assert "passed" in browser.find_element("tag name", "body").text


def test_a_failing_report_shows_the_message(graded, browser):
    errors, _, _ = open_page(browser, graded / "swapped_kernels" / "report.html", graded / "failing.png")
    assert errors == []
    assert "swapped" in browser.find_element("tag name", "body").text


def test_the_students_notebook_renders_as_text_and_none_of_it_runs(tmp_path, browser):
    """A notebook whose cells hold <script>, </pre> and javascript: links: the section shows each
    cell, its marks and the hostile text as text; no script runs, nothing loads, no link exists."""
    from grader.report import render
    from tests.test_report_listing import HOSTILE, SECRET_OUTPUT, hostile_notebook, result_with

    path, load = hostile_notebook(tmp_path)
    report = tmp_path / "report.html"
    report.write_text(render.render_report(result_with(load), path.name, source=path), encoding="utf-8")
    errors, broken_images, links = open_page(browser, report, tmp_path / "listing.png")
    assert errors == [] and broken_images == [] and links == []
    ran = browser.execute_script("return [window.pwned === undefined, document.scripts.length, document.images.length]")
    assert ran == [True, 0, 0]
    sections = browser.execute_script("return Array.from(document.querySelectorAll('#listing section')).map("
                                      "s => [s.id, s.className, s.querySelector('pre').innerText])")
    assert [s[0] for s in sections] == [f"cell-{n}" for n in range(1, 8)]
    assert [s[1] for s in sections if "not-run" in s[1]] == ["part code not-run raised", "part code not-run skipped",
                                                             "part code not-run interrupted"]
    assert HOSTILE in sections[0][2] and HOSTILE in sections[2][2] and "javascript:alert(1)" in sections[3][2]
    assert SECRET_OUTPUT not in browser.find_element("tag name", "body").text

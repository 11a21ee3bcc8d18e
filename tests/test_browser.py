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


# ---- the class overview's grid (issue 15) ------------------------------------------------------------

def grid_order(browser):
    return browser.execute_script("return Array.from(document.querySelectorAll('#grid-table tbody tr'))"
                                  ".filter(r => !r.classList.contains('hidden')).map(r => r.dataset.id)")


def click(browser, selector):
    browser.find_element("css selector", selector).click()


def test_the_grid_sorts_by_a_clicked_column(graded, browser):
    open_page(browser, graded / "index.html", graded / "grid.png")
    start = grid_order(browser)
    assert start == ["passes_all", "swapped_kernels", "syntax_error"]
    score = [th for th in browser.find_elements("css selector", "#grid-table thead th") if th.text.startswith("Score")]
    score[0].find_element("tag name", "button").click()
    ascending = grid_order(browser)
    assert ascending != start and ascending[0] == "syntax_error" and ascending[-1] == "passes_all"
    assert score[0].get_attribute("aria-sort") == "ascending"
    score[0].find_element("tag name", "button").click()
    assert grid_order(browser) == ascending[::-1] and score[0].get_attribute("aria-sort") == "descending"
    click(browser, "#grid-table thead th.check button")  # a check's column: by its points
    by_check = grid_order(browser)
    assert by_check[-1] == "passes_all" and by_check[0] != "passes_all"


def test_the_grid_filters_by_text_status_and_histogram_bin(graded, browser):
    from selenium.webdriver.common.keys import Keys

    open_page(browser, graded / "index.html", graded / "grid.png")
    box = browser.find_element("id", "grid-filter")
    box.send_keys("SWAP")
    assert grid_order(browser) == ["swapped_kernels"]
    assert browser.find_element("id", "grid-shown").text == "1 of 3 shown"
    box.send_keys(Keys.BACKSPACE * 4)
    assert len(grid_order(browser)) == 3
    click(browser, '.status-filter button[data-status="error"]')
    assert grid_order(browser) == ["syntax_error"]
    assert browser.find_element("css selector", '.status-filter button[data-status="error"]') \
        .get_attribute("aria-pressed") == "true"
    click(browser, '.status-filter button[data-status="all-passed"]')
    assert grid_order(browser) == ["passes_all"]
    click(browser, '.status-filter button[data-status=""]')
    assert len(grid_order(browser)) == 3
    click(browser, '.hbin[data-bin="9"]')  # the top bar: the students scoring 90-100 %
    assert grid_order(browser) == ["passes_all"] and browser.find_element("id", "grid-bin").is_displayed()
    assert "90-100%" in browser.find_element("id", "grid-bin").text
    click(browser, "#grid-bin")
    assert len(grid_order(browser)) == 3 and not browser.find_element("id", "grid-bin").is_displayed()


def test_a_narrow_screen_scrolls_the_grid_not_the_page(graded, browser):
    browser.set_window_size(380, 900)
    try:
        open_page(browser, graded / "index.html", graded / "narrow.png")
        page = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert page[0] <= page[1], page  # nothing overflows the page itself
        wrap = browser.execute_script("var w = document.querySelector('.grid-wrap');"
                                      "return [w.scrollWidth, w.clientWidth]")
        assert wrap[0] > wrap[1], wrap  # the grid scrolls horizontally inside its box
        before, after = browser.execute_script(
            "var w = document.querySelector('.grid-wrap'), first = w.querySelector('tbody th');"
            "var a = first.getBoundingClientRect().left - w.getBoundingClientRect().left;"
            "w.scrollLeft = 300; var b = first.getBoundingClientRect().left - w.getBoundingClientRect().left;"
            "return [a, b]")
        assert abs(before - after) < 2  # the first column stays
        assert browser.execute_script("return document.querySelector('.grid-wrap').scrollLeft") > 0
    finally:
        browser.set_window_size(1200, 1600)


CONTRAST_JS = """
function rgba(s) { var m = s.match(/[\\d.]+/g).map(Number); return m.length === 3 ? m.concat([1]) : m; }
function lum(c) { return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]); }
function lin(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
function background(el) {
  for (; el; el = el.parentElement) { var c = rgba(getComputedStyle(el).backgroundColor); if (c[3] > 0) return c; }
  return [255, 255, 255, 1];
}
var out = [], seen = 0;
document.querySelectorAll('body *').forEach(function (el) {
  var own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  var box = el.getBoundingClientRect();
  if (!own || box.width < 2 || box.height < 2 || getComputedStyle(el).visibility === 'hidden') return;
  seen += 1;
  var fg = rgba(getComputedStyle(el).color), bg = background(el);
  var a = lum(fg), b = lum(bg), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) out.push([el.tagName, el.className, el.textContent.trim().slice(0, 30), ratio.toFixed(2)]);
});
return [seen, out];
"""


def test_every_text_of_the_overview_has_wcag_aa_contrast(graded, browser):
    open_page(browser, graded / "index.html", graded / "grid.png")
    click(browser, '.status-filter button[data-status="failed"]')  # a pressed button
    click(browser, '.hbin[data-bin="0"]')  # a selected bar and the "show every score" button
    seen, low = browser.execute_script(CONTRAST_JS)
    assert seen > 50 and low == []

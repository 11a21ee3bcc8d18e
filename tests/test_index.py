"""The class overview (index.html) without a browser: the grid's cells, the rubric's title, the pass
rates row, the histogram's bins, student text escaped, and WCAG AA contrast computed from the CSS.
tests/test_browser.py clicks the sort and the filters in Chromium."""

import re

import pytest

from grader.report.index import HERE, class_view, write_index

CSS = HERE / "templates" / "index.css"


def check(id_, status, points, most=1, message=""):
    return {"id": id_, "title": f"title of {id_}", "status": status, "points": points, "max_points": most,
            "message": message, "seconds": 0.5}


def result(submission, name, *checks):
    return {"submission": submission, "name": name, "score": sum(c["points"] for c in checks),
            "max_score": sum(c["max_points"] for c in checks), "checks": list(checks)}


HOSTILE = '<script>alert("n")</script>" onmouseover="x'
CLASS = [
    result("alice", "José Núñez", check("shapes", "passed", 1), check("train", "passed", 3, 3)),
    result("bob", HOSTILE, check("shapes", "failed", 0, message=f"expected (2, 3), got {HOSTILE}\nline 2"),
           check("train", "timeout", 0, 3, "did not finish in 60 s")),
    result("carol", "Carol", check("shapes", "error", 0, message="NameError: conv"), check("train", "pending", 0, 3)),
]


def test_the_grid_has_a_cell_a_check_with_status_points_and_rates():
    view = class_view("lab07_convnets", CLASS, "Lab 07: Training Convolutional Nets")
    assert view["title"] == "Lab 07: Training Convolutional Nets"
    assert [(c["id"], c["percent"], c["max_points"]) for c in view["checks"]] == [("shapes", 33, 1), ("train", 33, 3)]
    alice, bob, carol = view["students"]
    assert [(c["status"], c["text"]) for c in alice["cells"]] == [("passed", 1), ("passed", 3)]
    assert alice["statuses"] == "all-passed passed" and alice["bin"] == 9 and alice["name"] == "José Núñez"
    assert [(c["status"], c["text"]) for c in carol["cells"]] == [("error", 0), ("pending", "pending")]
    assert bob["cells"][0]["label"] == f"failed, 0 of 1: expected (2, 3), got {HOSTILE}"  # escaped by the template
    assert bob["bin"] == 0 and "timeout" in bob["statuses"].split()
    assert [b["count"] for b in view["bins"]] == [2, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_the_page_escapes_student_text_and_keeps_accents(tmp_path):
    write_index(tmp_path / "index.html", "lab07_convnets", CLASS, title="Lab 07: Training Convolutional Nets")
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<h1>Lab 07: Training Convolutional Nets</h1>" in html and "lab07_convnets \u2014 lab07_convnets" not in html
    assert "José Núñez" in html
    assert "<script>alert" not in html and 'onmouseover="x' not in html and "&lt;script&gt;alert" in html
    assert html.count("<script>") == 1  # ours only
    grid = re.findall(r'<tr class="student" data-id="([^"]+)"', html)
    assert grid == ["alice", "bob", "carol"]
    rates = re.search(r'<tr class="rates">(.*?)</tr>', html).group(1)
    assert re.findall(r'<td class="rate">(\d+)%</td>', rates) == ["33", "33"]
    assert 'class="cell s-timeout"' in html and 'class="cell s-pending"' in html
    assert html.count('class="hbin" href="#grid"') == 10


def relative_luminance(hex_colour):
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground, background):
    light, dark = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def css_pairs(css):
    """(selector, foreground, background) of every rule that colours text: a colour it does not set
    is body's (text inherits body's colour and sits on the page's background); a rule followed by a
    "no text" comment colours no text."""
    css = re.sub(r"/\*(?! no text)[^*]*\*/", "", re.sub(r"@media[^{]*\{", "", css))
    rules = []
    for selector, body, comment in re.findall(r"([^{}]+)\{([^{}]*)\}[ \t]*(/\* no text \*/)?", css):
        colours = dict(re.findall(r"(?<![-\w])(color|background(?:-color)?)\s*:\s*(#[0-9a-fA-F]{6}|transparent)", body))
        rules.append((selector.strip(), colours, bool(comment)))
    page = next(colours for selector, colours, _ in rules if selector == "body")
    pairs = []
    for selector, colours, no_text in rules:
        if no_text or not colours:
            continue
        background = colours.get("background", colours.get("background-color", "transparent"))
        pairs.append((selector, colours.get("color", page["color"]),
                      page["background"] if background == "transparent" else background))
    return pairs


def test_contrast_of_every_text_colour_in_the_css_is_wcag_aa():
    pairs = css_pairs(CSS.read_text())
    assert len(pairs) >= 20 and any(s == ".s-timeout" for s, _, _ in pairs)
    low = [(s, fg, bg, round(contrast(fg, bg), 2)) for s, fg, bg in pairs if contrast(fg, bg) < 4.5]
    assert low == []


@pytest.mark.parametrize("foreground, background, ratio", [("#2f8f5b", "#ffffff", 4.04), ("#b9770e", "#ffffff", 3.68),
                                                          ("#000000", "#ffffff", 21.0)])
def test_the_contrast_formula_tells_the_old_colours_below_aa(foreground, background, ratio):
    assert contrast(foreground, background) == pytest.approx(ratio, abs=0.01)  # issue 15's 4.0:1 and 3.7:1
    assert (contrast(foreground, background) >= 4.5) == (ratio >= 4.5)

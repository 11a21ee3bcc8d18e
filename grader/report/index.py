"""The class overview (index.html): a student x check grid (sortable, filterable), score histogram
whose bars filter the grid, per-check pass rates, failures grouped by message, slowest, links.

The page is one self-contained file: its CSS (templates/index.css) and a small dependency-free
script (templates/index.js) are inlined. The script reads only the page's own attributes and
never builds HTML, so student text (ids, names, messages) is shown only as Jinja escaped it, after
its control and bidirectional characters are made visible (grader.text), as everywhere else.
"""

import statistics
from collections import defaultdict
from pathlib import Path

from grader import text as safe
from grader.report.render import ENV, HERE, atomic_write

BINS = 10
STATUS_MARK = {"passed": "\u2713", "failed": "\u2717", "error": "!", "timeout": "\u231b", "pending": "\u2026"}
STATUS_LABEL = {"passed": "passed", "failed": "failed", "error": "error", "timeout": "timed out",
                "pending": "pending (a TA grades it)"}
FILTERS = (("", "All"), ("all-passed", "All passed"), ("failed", "A check failed"), ("error", "An error"),
           ("timeout", "Timed out"), ("pending", "Pending a TA"))


def class_view(assignment, results, title=None):
    """A flat view of the stored results (dicts of results.json) of a whole class."""
    scores = [r["score"] for r in results]
    max_score = max((r["max_score"] for r in results), default=0)
    counts = [0] * BINS
    for result in results:
        counts[_bin(result, max_score)] += 1
    tallest = max(counts) or 1
    bins = [{"index": i, "label": f"{i * 100 // BINS}-{(i + 1) * 100 // BINS}%", "count": n,
             "height": round(100 * n / tallest)} for i, n in enumerate(counts)]
    checks = _check_rates(results)
    timed = sorted(results, key=lambda r: -sum(c.get("seconds", 0) for c in r["checks"]))[:10]
    return {
        "assignment": assignment, "title": title or assignment, "count": len(results), "max_score": _num(max_score),
        "mean": _num(statistics.mean(scores)) if scores else 0,
        "median": _num(statistics.median(scores)) if scores else 0,
        "bins": bins, "checks": checks, "failures": _failures(results), "filters": FILTERS,
        "slowest": [{"submission": r["submission"], "seconds": f"{sum(c.get('seconds', 0) for c in r['checks']):.1f}"}
                    for r in timed],
        "students": [_student(r, checks, max_score) for r in sorted(results, key=lambda r: r["submission"])],
    }


def _check_rates(results):
    """A column a check (in the order the results list them): id, title, points, pass rate."""
    checks = {}
    for result in results:
        for check in result["checks"]:
            row = checks.setdefault(check["id"], {"id": check["id"], "title": safe.inline(check["title"]), "passed": 0,
                                                  "total": 0, "max_points": _num(check.get("max_points", 0))})
            row["total"] += 1
            row["passed"] += check["status"] == "passed"
    for row in checks.values():
        row["percent"] = round(100 * row["passed"] / row["total"]) if row["total"] else 0
    return list(checks.values())


def _failures(results):
    groups = defaultdict(list)
    for result in results:
        for check in result["checks"]:
            if check["status"] not in ("passed", "pending"):
                groups[(check["status"], _first_line(check))].append((result["submission"], check["id"]))
    return sorted(({"status": status, "message": message, "checks": sorted({c for _, c in hits}),
                    "submissions": sorted({s for s, _ in hits})} for (status, message), hits in groups.items()),
                  key=lambda g: (-len(g["submissions"]), g["message"]))


def _student(result, columns, max_score):
    """One row of the grid: id, name, score, histogram bin, statuses and a cell a check."""
    by_id = {c["id"]: c for c in result["checks"]}
    cells = []
    for column in columns:
        check = by_id.get(column["id"])
        if check is None:
            cells.append({"status": "none", "text": "\u2014", "sort": -1, "label": "not graded by this check"})
            continue
        status, earned, most = check["status"], check.get("points", 0), check.get("max_points", 0)
        points = "pending" if status == "pending" else _num(earned)
        cells.append({"status": status, "mark": STATUS_MARK.get(status, "?"), "text": points,
                      "sort": -0.5 if status == "pending" else earned,
                      "label": f"{STATUS_LABEL.get(status, status)}, {points} of {_num(most)}"
                               + (f": {_first_line(check)}" if status not in ("passed", "pending") else "")})
    statuses = {c["status"] for c in result["checks"]}
    if statuses == {"passed"}:
        statuses.add("all-passed")
    return {"id": safe.inline(result["submission"], "name"), "name": safe.inline(result.get("name") or "", "name"),
            "score": _num(result["score"]),
            "max_score": _num(result["max_score"]), "bin": _bin(result, max_score),
            "statuses": " ".join(sorted(statuses)), "cells": cells}


def write_index(path, assignment, results, others=(), title=None):
    """index.html of the current `results`; `others` ({id, state, reason}: stale or not graded) are
    listed apart, without a score, and count in no figure. `title`: the rubric's."""
    css = (HERE / "templates" / "index.css").read_text()
    script = (HERE / "templates" / "index.js").read_text()
    others = [{k: safe.inline(v, "name" if k == "id" else "message") for k, v in o.items()} for o in others]
    page = ENV.get_template("index.html.j2").render(css=css, script=script, others=others,
                                                   similarity=_has_similarity(path),
                                                   **class_view(assignment, results, title))
    atomic_write(path, page)


def _bin(result, max_score):
    fraction = result["score"] / max_score if max_score else 0
    return max(0, min(int(fraction * BINS), BINS - 1))


def _first_line(check):
    line = ((check.get("message") or check["status"]).splitlines() or [check["status"]])[0][:160]
    return safe.inline(line, "message")


def _num(value):
    return int(value) if float(value).is_integer() else round(value, 2)


def _has_similarity(path):
    """Whether `grader similarity` wrote its report beside this class overview."""
    return (Path(path).parent / "similarity.html").is_file()

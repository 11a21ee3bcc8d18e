"""The class overview (index.html): score histogram, pass rates, slowest, failures grouped, links."""

import statistics
from collections import defaultdict
from pathlib import Path

from grader.report.render import ENV, HERE, atomic_write

BINS = 10


def class_view(assignment, results):
    """A flat view of the stored results (dicts of results.json) of a whole class."""
    scores = [r["score"] for r in results]
    max_score = max((r["max_score"] for r in results), default=0)
    histogram = [0] * BINS
    for score in scores:
        fraction = score / max_score if max_score else 0
        histogram[min(int(fraction * BINS), BINS - 1)] += 1
    tallest = max(histogram) or 1
    bins = [{"label": f"{i * 100 // BINS}-{(i + 1) * 100 // BINS}%", "count": n, "height": round(100 * n / tallest)}
            for i, n in enumerate(histogram)]
    checks, groups = {}, defaultdict(list)
    for result in results:
        for check in result["checks"]:
            row = checks.setdefault(check["id"], {"id": check["id"], "title": check["title"], "passed": 0, "total": 0})
            row["total"] += 1
            row["passed"] += check["status"] == "passed"
            if check["status"] not in ("passed", "pending"):
                first_line = (check["message"] or check["status"]).splitlines()[0][:160]
                groups[(check["status"], first_line)].append((result["submission"], check["id"]))
    for row in checks.values():
        row["percent"] = round(100 * row["passed"] / row["total"]) if row["total"] else 0
    failures = sorted(({"status": status, "message": message, "checks": sorted({c for _, c in hits}),
                        "submissions": sorted({s for s, _ in hits})} for (status, message), hits in groups.items()),
                      key=lambda g: (-len(g["submissions"]), g["message"]))
    timed = sorted(results, key=lambda r: -sum(c.get("seconds", 0) for c in r["checks"]))[:10]
    return {
        "assignment": assignment, "count": len(results), "max_score": _num(max_score),
        "mean": _num(statistics.mean(scores)) if scores else 0,
        "median": _num(statistics.median(scores)) if scores else 0,
        "bins": bins, "checks": list(checks.values()), "failures": failures,
        "slowest": [{"submission": r["submission"], "seconds": f"{sum(c.get('seconds', 0) for c in r['checks']):.1f}"}
                    for r in timed],
        "submissions": [{"id": r["submission"], "score": _num(r["score"]), "max_score": _num(r["max_score"])}
                        for r in sorted(results, key=lambda r: r["submission"])],
    }


def write_index(path, assignment, results, others=()):
    """index.html of the current `results`; `others` ({id, state, reason}: stale or not graded) are
    listed apart, without a score, and count in no figure."""
    css = (HERE / "templates" / "report.css").read_text()
    page = ENV.get_template("index.html.j2").render(css=css, others=list(others), similarity=_has_similarity(path),
                                                   **class_view(assignment, results))
    atomic_write(path, page)


def _num(value):
    return int(value) if float(value).is_integer() else round(value, 2)


def _has_similarity(path):
    """Whether `grader similarity` wrote its report beside this class overview."""
    return (Path(path).parent / "similarity.html").is_file()

"""similarity.html, similarity.csv and the side-by-side page of each flagged pair.

Student text (code, file names) reaches the pages only through Jinja's autoescaping after
grader.text has escaped its control characters, bidi controls and line separators, so a
submission can neither inject markup nor reorder what a TA reads (no "Trojan source"). The pages
are static: no script, links only between the pages, the class overview and the reports.
"""

import csv
import io
from pathlib import Path

import numpy as np

from grader import text
from grader.report.render import ENV, HERE, atomic_write
from grader.similarity.compare import regions

PAIR_DIR = "_similarity"  # ids never start with `_`: no student's folder has this name
MAX_PAGES = 500  # side-by-side pages written (the highest pairs)
MAX_ROWS = 2_000  # pairs listed in similarity.html (similarity.csv has every pair)
MAX_SHOWN_CHARS = 400_000  # of each side of a side-by-side page
COLOURS = 6
LINK_MARK = "<!-- similarity report: none -->"
LINK = '<p class="similarity-link"><a href="similarity.html">Code similarity report</a></p>'


def write_all(out, assignment, inputs, pairs, shown, threshold, min_tokens):
    """Write similarity.csv (every pair), similarity.html (the flagged `shown`) and their pages."""
    out = Path(out)
    atomic_write(out / "similarity.csv", _csv(pairs))
    rows = []
    for rank, pair in enumerate(shown[:MAX_ROWS], 1):
        page = f"{PAIR_DIR}/pair-{rank:04d}.html" if rank <= MAX_PAGES else ""
        if page:
            atomic_write(out / page, _pair_page(out, assignment, rank, pair))
        rows.append(_row(out, rank, pair, page))
    css = (HERE / "templates" / "report.css").read_text()
    page = ENV.get_template("similarity.html.j2").render(
        css=css, assignment=text.inline(assignment, "name"), rows=rows, threshold=f"{threshold:.0%}",
        min_tokens=min_tokens, compared=len(inputs.term), archived=len(inputs.archive), pairs=len(pairs),
        skipped=[{k: text.inline(v, "name" if k != "reason" else "message") for k, v in s.items()}
                 for s in inputs.skipped],
        notes=[text.inline(n, "message") for n in inputs.notes], excluded=[text.inline(e, "name") for e in inputs.excluded],
        flagged=len(shown), pages=min(len(shown), MAX_PAGES), graded=(out / "index.html").is_file())
    atomic_write(out / "similarity.html", page)
    link_from_index(out)


def link_from_index(out):
    """Give the class overview beside the report (a graded class) its link to similarity.html."""
    index = Path(out) / "index.html"
    if not index.is_file() or index.is_symlink():
        return False
    page = index.read_text(encoding="utf-8")
    if LINK_MARK not in page:
        return LINK in page
    atomic_write(index, page.replace(LINK_MARK, LINK, 1))
    return True


def _csv(pairs):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id_a", "id_b", "similarity", "matched_tokens"])
    for pair in pairs:
        writer.writerow([_cell(pair.a.label), _cell(pair.b.label), f"{pair.similarity:.4f}", pair.matched])
    return buffer.getvalue()


def _cell(value):
    """Never read by a spreadsheet as a formula (ids cannot start so; this says so in code too)."""
    value = text.inline(value, "name")
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _row(out, rank, pair, page):
    return {"rank": rank, "page": page, "similarity": f"{pair.similarity:.0%}", "matched": pair.matched,
            "a": _side(out, pair.a, pair.share("a")), "b": _side(out, pair.b, pair.share("b"))}


def _side(out, doc, share):
    report = f"{doc.id}/report.html"
    return {"label": text.inline(doc.label, "name"), "origin": text.inline(doc.origin, "name"),
            "share": f"{share:.0%}", "own": doc.own_count,
            "report": report if not doc.archive and (Path(out) / report).is_file() else ""}


def _pair_page(out, assignment, rank, pair):
    tiles = regions(pair.a, pair.b)
    left = _segments(pair.a, [(t[0], t[1]) for t in tiles], "a", "b")
    right = _segments(pair.b, [(t[2], t[3]) for t in tiles], "b", "a")
    css = (HERE / "templates" / "report.css").read_text()
    return ENV.get_template("similarity_pair.html.j2").render(
        css=css, assignment=text.inline(assignment, "name"), rank=rank, similarity=f"{pair.similarity:.0%}",
        matched=pair.matched, regions=len(tiles), a=_side(out, pair.a, pair.share("a")),
        b=_side(out, pair.b, pair.share("b")), left=left, right=right)


def _runs(indexes):
    """[(first, last)] of the runs of consecutive numbers in the sorted `indexes`."""
    if not len(indexes):
        return []
    breaks = np.flatnonzero(np.diff(indexes) != 1)
    firsts = [indexes[0]] + indexes[breaks + 1].tolist()
    lasts = indexes[breaks].tolist() + [indexes[-1]]
    return list(zip((int(f) for f in firsts), (int(x) for x in lasts)))


def _segments(doc, ranges, me, other):
    """The source of `doc` cut into [{text, region, colour, template, me, other}]: `region` n > 0
    for the n-th matching range, `template` for code handed out."""
    tokens = doc.tokens
    source = tokens.source[:MAX_SHOWN_CHARS]
    label = np.zeros(len(source) + 1, dtype=np.int32)
    starts, ends = np.asarray(tokens.starts, dtype=np.int64), np.asarray(tokens.ends, dtype=np.int64)
    for first, last in _runs(np.flatnonzero(~doc.own)):
        label[starts[first]:ends[last]] = -1
    for number, (first, end) in enumerate(ranges, 1):
        label[starts[first]:ends[end - 1]] = number
    cuts = [0] + (np.flatnonzero(np.diff(label[:len(source)])) + 1).tolist() + [len(source)]
    segments = []
    for begin, stop in zip(cuts, cuts[1:]):
        if stop > begin:
            value = int(label[begin])
            segments.append({"text": text.escape(source[begin:stop], multiline=True), "region": max(value, 0),
                             "colour": (value - 1) % COLOURS if value > 0 else 0, "template": value < 0,
                             "me": me, "other": other})
    if len(tokens.source) > MAX_SHOWN_CHARS:
        segments.append({"text": f"\n[... {len(tokens.source) - MAX_SHOWN_CHARS} more characters not shown]",
                         "region": 0, "colour": 0, "template": False, "me": me, "other": other})
    return segments

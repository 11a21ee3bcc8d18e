"""`grader similarity`: near-copies rank above independent solutions, handed-out code is excluded,
inputs and ids are those of `grade`, bad inputs are skipped, pages are escaped and open cleanly
in a browser, and student code is never run."""

import csv
import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import commands
from grader.batch.discover import discover
from grader.errors import GraderError
from grader.report.index import write_index
from grader.similarity import compare, fingerprints
from grader.similarity.tokens import normalise
from tests import similarity_classes as gen

ROOT = Path(__file__).resolve().parents[1]
A = gen.ASSIGNMENT


def kinds(code):
    return normalise(code).kinds


# -- tokens ---------------------------------------------------------------------------------

def test_renaming_reformatting_and_comments_change_no_token():
    code = ('def train(model, loader):\n    """Train it."""\n    total = 0  # running sum\n'
            '    for x, y in loader:\n        total += model(x, y)\n    return total\n')
    renamed = ("def fit(net, data):\n    '''Another docstring.'''\n    acc = 0\n"
               "    for inp, lab in data:  # new comment\n        acc += net(inp,\n                   lab,)\n    return acc\n")
    assert kinds(code) == kinds(renamed)
    assert kinds(code) != kinds(code.replace("total += model(x, y)", "total -= model(x, y)"))


def test_library_names_are_kept_and_own_names_are_not():
    got = kinds("from torch import nn\nlayer = nn.Conv2d(1, 2, 3)\nself.head = nn.Linear(4, 5)\nn = len(layer.weight)\n")
    assert "Conv2d" in got and "Linear" in got and "len" in got and "weight" in got
    assert "nn" not in got and "layer" not in got and "head" not in got  # bound by the file: renameable
    assert kinds("x = nn.ReLU()\n") != kinds("x = nn.Tanh()\n")


def test_one_line_blocks_and_semicolons_are_reformatting():
    assert kinds("if a: b = 1; c = 2\n") == kinds("if a:\n    b = 1\n    c = 2\n")


@pytest.mark.parametrize("code", [
    "def f(:\n  x = '''never closed\n y = 1\n", "if x:\n    a = 1\n  b = 2\nc = 3\n", "x = (1,\n",
    "\x00\x1b[31m\u202e = 1\n", "(" * 5000 + ")" * 5000 + "\n", "a = 1\r\nb = 2\rc = 3\n", "",
])
def test_unreadable_code_is_tokenised_as_far_as_it_goes(code):
    tokens = normalise(code)
    assert len(tokens.kinds) == len(tokens.starts) == len(tokens.ends)
    assert all(0 <= s <= e <= len(tokens.source) for s, e in zip(tokens.starts, tokens.ends))


def test_a_bad_line_costs_only_itself():
    tokens = normalise("a = 1\nif x:\n    b = 2\n  c = 3\nd = 4\n")
    assert tokens.problems and "line 4" in tokens.problems[0]
    assert tokens.source[tokens.starts[-3]:tokens.ends[-1]] == "d = 4"


# -- fingerprints ---------------------------------------------------------------------------

def test_every_shared_run_of_the_guaranteed_length_is_found():
    rng = random.Random(1)
    for _ in range(200):
        shared = [rng.randrange(1000) for _ in range(fingerprints.K + fingerprints.WINDOW - 1)]
        a = [rng.randrange(1000) for _ in range(rng.randrange(50))] + shared + [rng.randrange(1000) for _ in range(9)]
        b = [rng.randrange(1000) for _ in range(rng.randrange(50))] + shared
        fa, fb = (set(fingerprints.kgram_hashes(s)[fingerprints.winnow(fingerprints.kgram_hashes(s))].tolist())
                  for s in (a, b))
        assert fa & fb


def test_hashes_are_the_same_in_every_process():
    code = "def f(a):\n    return a + 1\n"
    here = fingerprints.kgram_hashes(normalise(code * 3).ids, 4).tolist()
    there = subprocess.run([sys.executable, "-c", "from grader.similarity import fingerprints as f, tokens as t; "
                            f"print(f.kgram_hashes(t.normalise({code * 3!r}).ids, 4).tolist())"],
                           capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "123"})
    assert str(here) == there.stdout.strip()


def test_the_template_itself_is_nobody_s_own_code():
    excluded = fingerprints.handed_out([gen.TEMPLATE.read_text()])
    template = fingerprints.document("t", "t", gen.student({}), excluded)
    filled = fingerprints.document("f", "f", gen.student(gen.everywhere("B")), excluded)
    assert template.own_count == 0 and len(template.fp_hashes) == 0
    assert filled.own_count > 500
    assert compare.compare(template, filled).matched == 0


# -- a generated class ------------------------------------------------------------------------

NEAR = {"A_renamed": ("A", gen.rename), "B_reformatted": ("B", gen.reformat), "C_reordered": ("C", gen.reorder),
        "R0_recommented": ("R0", gen.recomment),
        "R1_disguised": ("R1", lambda c: gen.reformat(gen.reorder(gen.recomment(gen.rename(c)))))}
INDEPENDENT_GROUPS = (("A", "B", "C"), ("R0", "R1", "R2"))  # no slot written the same way in a group
MINIMAL = {"M1": {"conv_output_size": "A", "SIMPLE_FLATTEN": "B"},
           "M2": {"conv_output_size": "A", "SIMPLE_FLATTEN": "B", "predict": "A"},
           "M3": {"SIMPLE_FLATTEN": "B", "FASHION_FLATTEN": "A", "predict": "A"}, "M4": {}}


def write_class(dest):
    dest.mkdir(parents=True)
    code = {style: gen.student(gen.everywhere(style)) for style in "ABC"}
    code.update({f"R{shift}": gen.student(gen.rotation(shift)) for shift in range(3)})
    for name, (original, change) in NEAR.items():
        code[name] = change(code[original])
    code.update({name: gen.student(choice) for name, choice in MINIMAL.items()})
    for name, text in code.items():
        (dest / f"{name}.py").write_text(text, encoding="utf-8")
    (dest / "R2_notebook.ipynb").write_text(gen.notebook(code["R2"]), encoding="utf-8")
    return code


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("similarity")
    write_class(base / "class")
    (base / "class" / "latin1.py").write_bytes(b"x = '\xe9'\n")
    (base / "class" / "broken.ipynb").write_text("{not json", encoding="utf-8")
    (base / "class" / "link.py").symlink_to(base / "class" / "A.py")
    lines = []
    outcome = commands.similarity(paths=[str(base / "class")], assignment=A, out_dir=str(base / "out"), echo=lines.append)
    return base, outcome, lines


def rows(out):
    with open(out / "similarity.csv", newline="", encoding="utf-8") as f:
        return {frozenset((r["id_a"], r["id_b"])): r for r in csv.DictReader(f)}


def test_every_near_copy_ranks_above_every_independent_pair(run):
    base, outcome, _ = run
    table = rows(base / "out")
    near = [table[frozenset(p)] for p in [(n, o) for n, (o, _) in NEAR.items()] + [("R2", "R2_notebook")]]
    independent = [table[frozenset((a, b))] for group in INDEPENDENT_GROUPS for a in group for b in group if a < b]
    lowest_near = min(float(r["similarity"]) for r in near)
    highest_independent = max(float(r["similarity"]) for r in independent)
    assert lowest_near > highest_independent, (lowest_near, highest_independent)
    assert lowest_near >= 0.9 and highest_independent < 0.4
    flagged = {frozenset((p.a.id, p.b.id)) for p in outcome.flagged}
    assert {frozenset((r["id_a"], r["id_b"])) for r in near} <= flagged
    assert not flagged & {frozenset((r["id_a"], r["id_b"])) for r in independent}


def test_template_only_submissions_are_not_flagged(run):
    _, outcome, _ = run
    assert not [p for p in outcome.flagged if {p.a.id, p.b.id} & set(MINIMAL)]
    minimal = [p for p in outcome.pairs if p.a.id in MINIMAL and p.b.id in MINIMAL]
    assert minimal and max(p.matched for p in minimal) < 60  # what they share is a few obvious lines


def test_the_csv_has_every_pair_highest_first(run):
    base, outcome, _ = run
    with open(base / "out" / "similarity.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["id_a", "id_b", "similarity", "matched_tokens"]
    count = len(outcome.inputs.term)
    assert len(table) - 1 == count * (count - 1) // 2
    values = [float(r[2]) for r in table[1:]]
    assert values == sorted(values, reverse=True) and all(0 <= v <= 1 for v in values)


def test_unreadable_inputs_are_skipped_with_their_reason(run):
    base, outcome, lines = run
    skipped = {s["id"]: s["reason"] for s in outcome.inputs.skipped}
    assert "UTF-8" in skipped["latin1"] and "not a valid notebook" in skipped["broken"]
    assert "symbolic link" in skipped["link"]
    page = (base / "out" / "similarity.html").read_text()
    assert "Skipped: not compared" in page and "latin1" in page
    assert any(line.startswith("skipped broken:") for line in lines)


def test_ids_are_those_of_grade(run, tmp_path):
    base, outcome, _ = run
    sources, _ = discover([str(base / "class")], A, tmp_path)
    assert {d.id for d in outcome.inputs.term} | {s["id"] for s in outcome.inputs.skipped} == {s.id for s in sources}


def test_lms_zip_gives_the_gradebook_ids(tmp_path):
    code = {style: gen.student(gen.everywhere(style)) for style in "AB"}
    export = tmp_path / "canvas.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("smith_12345_67890_lab11_fashion_cnn.py", code["A"])
        z.writestr("jones_22222_67891_lab11.py", gen.rename(code["A"]))
        z.writestr("brown_33333_67892_lab11.py", code["B"])
    outcome = commands.similarity(paths=[str(export)], assignment=A, out_dir=str(tmp_path / "out"), echo=lambda *_: None)
    assert outcome.flagged[0].a.id == "jones_22222" and outcome.flagged[0].b.id == "smith_12345"
    assert [d.id for d in outcome.inputs.term] == [s.id for s in discover([str(export)], A, tmp_path / "u")[0]]


def test_listed_lecture_code_is_excluded(tmp_path):
    lecture = ("def train_loop(net, batches, loss_fn, opt, rounds):\n    history = []\n    for _ in range(rounds):\n"
               "        for inputs, targets in batches:\n            opt.zero_grad()\n"
               "            cost = loss_fn(net(inputs), targets)\n            cost.backward()\n            opt.step()\n"
               "            history.append(cost.item())\n    return history\n")
    course = tmp_path / "course"
    for folder in ("rubric", "student_template", "lectures"):
        (course / folder).mkdir(parents=True)
    shutil.copy(gen.TEMPLATE, course / "student_template")
    (course / "lectures" / "lecture10.py").write_text(lecture)
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "one.py").write_text(gen.student(gen.rotation(0)) + "\n\n" + lecture)
    (subs / "two.py").write_text(gen.student(gen.rotation(1)) + "\n\n" + lecture)
    run = lambda: commands.similarity(paths=[str(subs)], assignment=A, out_dir=str(tmp_path / "out"), root=course,
                                      echo=lambda *_: None)
    before = run().pairs[0]
    (course / "rubric" / f"{A}.similarity.yaml").write_text("exclude:\n  - lectures/\n")
    after = run()
    (course / "rubric" / f"{A}.similarity.yaml").unlink()
    given = commands.similarity(paths=[str(subs)], assignment=A, out_dir=str(tmp_path / "out2"), root=course,
                                excludes=[str(course / "lectures" / "lecture10.py")], echo=lambda *_: None)
    assert given.pairs[0].matched == after.pairs[0].matched  # --exclude does what the course's list does
    (subs / "one.py").write_text(gen.student(gen.rotation(0)))
    (subs / "two.py").write_text(gen.student(gen.rotation(1)))
    without = run().pairs[0]  # what the two share of their own
    assert before.matched >= without.matched + 100  # the lecture's loop, both sides
    assert abs(after.pairs[0].matched - without.matched) <= 12 and after.pairs[0].similarity < before.similarity
    assert "lectures/lecture10.py" in " ".join(after.inputs.excluded)
    (course / "rubric" / f"{A}.similarity.yaml").write_text("exclude:\n  - lectures/missing.py\n")
    with pytest.raises(GraderError, match="missing.py"):
        run()


def test_past_terms_are_compared_with_this_term_only(tmp_path):
    code = {style: gen.student(gen.everywhere(style)) for style in "ABC"}
    term, past = tmp_path / "term", tmp_path / "fall2025"
    term.mkdir(), past.mkdir()
    (term / "alice.py").write_text(code["A"])
    (term / "bob.py").write_text(code["B"])
    (past / "carol.py").write_text(gen.reorder(code["A"]))
    (past / "dave.py").write_text(code["C"])
    (past / "erin.py").write_text(code["C"])  # a copy within the past term: not this term's business
    outcome = commands.similarity(paths=[str(term)], assignment=A, out_dir=str(tmp_path / "out"),
                                  archives=[str(past)], echo=lambda *_: None)
    assert [(p.a.label, p.b.label) for p in outcome.flagged] == [("alice", "fall2025/carol")]
    assert len(outcome.pairs) == 1 + 2 * 3
    assert not [p for p in outcome.pairs if p.a.archive and p.b.archive]
    assert "fall2025/carol" in (tmp_path / "out" / "similarity.csv").read_text()


def test_no_submission_at_all_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to compare")
    with pytest.raises(GraderError, match="no submissions"):
        commands.similarity(paths=[str(tmp_path)], assignment=A, out_dir=str(tmp_path / "out"), echo=lambda *_: None)


def test_student_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    subs = tmp_path / "subs"
    subs.mkdir()
    hostile = f"import os\nopen({str(marker)!r}, 'w').write('ran')\nos._exit(3)\n" + gen.student(gen.everywhere("A"))
    (subs / "a.py").write_text(hostile)
    (subs / "b.py").write_text(hostile)
    outcome = commands.similarity(paths=[str(subs)], assignment=A, out_dir=str(tmp_path / "out"), echo=lambda *_: None)
    assert outcome.flagged and not marker.exists()


def test_pages_escape_student_text(tmp_path):
    evil = ("</pre><script>alert(1)</script><img src=x onerror=alert(2)>\n"
            "access = 'user\u202e \u2066# admin only\u2069 \u2066'\n\x1b]52;c;owned\x07\n")
    subs = tmp_path / "subs"
    subs.mkdir()
    code = gen.student(gen.everywhere("B"))
    (subs / "a.py").write_text(evil + code)
    (subs / "b.py").write_text(code + "\n" + evil)
    outcome = commands.similarity(paths=[str(subs)], assignment=A, out_dir=str(tmp_path / "out"), echo=lambda *_: None)
    assert outcome.flagged
    pages = [tmp_path / "out" / "similarity.html"] + sorted((tmp_path / "out" / "_similarity").glob("*.html"))
    for page in pages:
        html = page.read_text()
        assert "<script" not in html and "<img" not in html
        assert not set(html) & set("\u202e\u2066\u2069\x1b\x07")
    pair = pages[1].read_text()
    assert "&lt;/pre&gt;&lt;script&gt;" in pair and "\\u202e" in pair and "\\x1b" in pair


def test_the_class_overview_links_the_report(tmp_path):
    result = {"submission": "alice", "score": 1, "max_score": 2,
              "checks": [{"id": "c", "title": "t", "status": "passed", "message": "", "seconds": 1.0}]}
    write_index(tmp_path / "index.html", A, [result])
    assert "similarity.html" not in (tmp_path / "index.html").read_text()
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text(gen.student(gen.everywhere("A")))
    (subs / "bob.py").write_text(gen.rename(gen.student(gen.everywhere("A"))))
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "report.html").write_text("<p>report</p>")
    commands.similarity(paths=[str(subs)], assignment=A, out_dir=str(tmp_path), echo=lambda *_: None)
    assert 'href="similarity.html"' in (tmp_path / "index.html").read_text()
    report = (tmp_path / "similarity.html").read_text()
    assert 'href="index.html"' in report and 'href="alice/report.html"' in report
    write_index(tmp_path / "index.html", A, [result])  # a regrade keeps the link
    assert 'href="similarity.html"' in (tmp_path / "index.html").read_text()


def test_the_command_line(run, tmp_path):
    base, _, _ = run
    done = subprocess.run([sys.executable, "-m", "grader", "similarity", str(base / "class" / "A.py"),
                           str(base / "class" / "A_renamed.py"), "--assignment", A, "--out", str(tmp_path),
                           "--threshold", "0.9"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 at or above 90%" in done.stdout and (tmp_path / "similarity.html").is_file()
    bad = subprocess.run([sys.executable, "-m", "grader", "similarity", str(base / "class" / "A.py"), "--assignment",
                          A, "--out", str(tmp_path), "--threshold", "50"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr


# -- in a real browser -------------------------------------------------------------------------

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Debian's chromium and chromium-driver are not installed")
def test_the_pages_open_cleanly_in_chromium(run, tmp_path):
    from tests.test_browser import missing_targets, open_page
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    base, outcome, _ = run
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--window-size=1400,1200", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        errors, broken, links = open_page(driver, base / "out" / "similarity.html", tmp_path / "similarity.png")
        assert errors == [] and broken == [] and missing_targets(links) == []
        assert len([l for l in links if "_similarity/pair-" in l]) == len(outcome.flagged)
        errors, broken, links = open_page(driver, base / "out" / "_similarity" / "pair-0001.html", tmp_path / "pair.png")
        assert errors == [] and broken == [] and missing_targets(links) == []
        marks = driver.execute_script("return document.querySelectorAll('pre.code a.m').length")
        first = driver.execute_script("return document.querySelector('pre.code a.m').getAttribute('href')")
        assert marks >= 2 and driver.execute_script(f"return !!document.getElementById('{first[1:]}')")
    finally:
        driver.quit()


@pytest.mark.parametrize("chunk", [compare.CHUNK, 37])
def test_the_whole_class_at_once_agrees_with_pair_by_pair(run, chunk, monkeypatch):
    _, outcome, _ = run
    monkeypatch.setattr(compare, "CHUNK", chunk)
    docs = outcome.inputs.term
    matrix = compare.matched_matrix(docs)
    for i, a in enumerate(docs):
        for j, b in enumerate(docs):
            if i != j:
                pair = compare.compare(a, b)
                assert (matrix[i, j], matrix[j, i]) == (pair.matched_a, pair.matched_b), (a.id, b.id)

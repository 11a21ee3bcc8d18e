"""`grader verify`: what the course repository's CI checks before students see anything.

For each assignment: the rubric is valid; the reference earns full marks, and every check with a
threshold (an accuracy at least, an error at most: its kind's threshold direction) clears it over
several seeds; the template earns nothing without a crash; the committed template is what
`grader assign` generates and leaks no solution line; the notebook is valid nbformat; every
threshold separates the calibration panels (grader/calibrate.py), read from the calibration
record without training: made on the rubric's budget and on every panel variant, with a gap
between the broken and the correct variants, the threshold in it.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

from grader import rubric as rubrics
from grader.checks.registry import THRESHOLD_PARAM
from grader.errors import GraderError
from grader.grading import Options, grade_file

INTERNAL = "internal grader error"


@dataclass(frozen=True)
class Finding:
    assignment: str
    item: str
    ok: bool
    detail: str
    warning: bool = False  # shown, but does not fail verification


def assignments(root):
    return sorted(p.stem for p in (Path(root) / "reference_solutions").glob("*.py"))


def verify(root, assignment=None, seeds=3, options=Options(), echo=print):
    """All findings for `assignment` (or every assignment under `root`)."""
    names = [assignment] if assignment else assignments(root)
    findings = []
    for name in names:
        for finding in verify_one(Path(root), name, seeds, options):
            findings.append(finding)
            echo(_line(finding))
    return findings


def verify_one(root, name, seeds, options):
    try:
        rubric = rubrics.load(name, root / "rubric")
    except GraderError as exc:
        yield Finding(name, "rubric is valid", False, str(exc))
        return
    ids = {c.id for c in rubric.checks}
    dangling = [f"{c.id} -> {b}" for c in rubric.checks for b in c.builds_on if b not in ids]
    if dangling:  # loads (a cut-down copy may drop causes), but the course's own rubric names no missing check
        yield Finding(name, "rubric is valid", False, f"'builds_on' names no check of the rubric: {', '.join(dangling)}")
        return
    yield Finding(name, "rubric is valid", True, f"{len(rubric.checks)} checks, {rubric.max_score:g} points")
    yield from _template_findings(root, name)
    reference = root / "reference_solutions" / f"{name}.py"
    yield _reference_finding(rubric, reference, options)
    yield from _threshold_findings(rubric, reference, seeds, options)
    yield from _calibration_findings(rubric)
    template = root / "student_template" / f"{name}.py"
    if template.is_file():
        yield _template_grade_finding(rubric, template, options)


def _template_findings(root, name):
    from grader.assign import expected_outputs, solution_regions_left

    import nbformat

    reference = root / "reference_solutions" / f"{name}.py"
    try:
        expected = expected_outputs(reference)
    except GraderError as exc:
        yield Finding(name, "template is generated from the reference", False, f"{reference.name}: {exc}")
        return
    stale = [n for n, text in expected.items()
             if not (root / "student_template" / n).is_file()
             or (root / "student_template" / n).read_text(encoding="utf-8") != text]
    yield Finding(name, "template is generated from the reference", not stale,
                  f"stale or missing: {', '.join(stale)}; run `grader assign {name}`" if stale else "up to date")
    template = root / "student_template" / f"{name}.py"
    if template.is_file():
        text = template.read_text(encoding="utf-8")
        leaked = solution_regions_left(text) + _leaked_lines(reference.read_text(encoding="utf-8"), text)
        yield Finding(name, "template holds no solution code", not leaked,
                      f"solution code in {template.name} at line(s) {', '.join(map(str, leaked[:5]))}" if leaked
                      else "no marker and no solution line")
    notebook = root / "student_template" / f"{name}.ipynb"
    try:
        nbformat.validate(nbformat.reads(notebook.read_text(encoding="utf-8"), as_version=4))
        yield Finding(name, "notebook is valid nbformat", True, notebook.name)
    except Exception as exc:  # missing file, bad JSON, schema error
        yield Finding(name, "notebook is valid nbformat", False, f"{notebook.name}: {str(exc).splitlines()[0][:200]}")


def _leaked_lines(reference_source, template_source):
    """Line numbers of the template that repeat a substantial line of a solution region."""
    solution, inside = set(), False
    for line in reference_source.splitlines():
        stripped = line.strip()
        if stripped == "# BEGIN SOLUTION":
            inside = True
        elif stripped == "# END SOLUTION":
            inside = False
        elif (inside and len(stripped) >= 24 and not stripped.startswith("#")) or stripped.endswith("# SOLUTION"):
            solution.add(stripped)
    return [n for n, line in enumerate(template_source.splitlines(), 1) if line.strip() in solution]


def _reference_finding(rubric, reference, options):
    result = grade_file(reference, rubric, options)
    short = [c for c in result.checks if c.status not in ("passed", "pending")]
    detail = "; ".join(f"{c.id}: {c.status}: {c.message.splitlines()[0][:120]}" for c in short[:4])
    return Finding(rubric.assignment, "reference earns full marks", not short,
                   detail or f"{result.score:g} / {result.max_score:g}")


def _threshold_findings(rubric, reference, seeds, options):
    """Every check with a threshold (at_least or at_most) holds on the reference over more seeds."""
    from grader.calibrate import threshold_checks

    for check, kind in threshold_checks(rubric):
        values = []
        for seed in range(1, seeds + 1):  # the rubric's own seed ran in the full grade already
            trial = dataclasses.replace(rubric, checks=(dataclasses.replace(check, seed=check.seed + seed),))
            values.append(grade_file(reference, trial, options).checks[0].value)
        reached = [v for v in values if v is not None]
        worst = kind.worst(reached) if reached and len(reached) == len(values) else None
        threshold = check.params[THRESHOLD_PARAM]
        ok = worst is not None and kind.clears(worst, threshold)
        at_least = kind.threshold_direction == "at_least"
        if worst is None:
            detail = "the reference measured nothing on some seed (it failed to train or crashed)"
        else:
            shown, side = (f"{worst:.3f}", "at least") if at_least else (f"{worst:.4g}", "at most")
            detail = f"worst of {seeds} seeds {shown} against threshold {threshold} ({side})"
        yield Finding(rubric.assignment, f"threshold of {check.id} is cleared over seeds", ok, detail)


def _calibration_findings(rubric):
    """From the calibration record alone (nothing trains): each threshold check's record was made
    on the current budget and panels, shows a gap between the broken and the correct variants,
    and the rubric's threshold lies in it. A record made with another torch is a warning."""
    import torch

    from grader import panels
    from grader.calibrate import record_path, threshold_checks

    checks = threshold_checks(rubric)
    if not checks:
        return
    path = record_path(rubric)
    record = yaml.safe_load(path.read_text()) if path.is_file() else None
    recorded = {c.get("check"): c for c in (record or {}).get("checks", []) if isinstance(c, dict)}
    try:
        variants = panels.variants(rubric, path)
    except GraderError as exc:
        variants = []
        yield Finding(rubric.assignment, "calibration panels are valid", False, str(exc))
    for check, kind in checks:
        item = f"threshold of {check.id} separates the panels"
        wanted = [f"{v.panel}/{v.name}" for v in variants if v.panel == "correct" or check.id in v.fails]
        ok, detail = _separation(check, kind, recorded.get(check.id), wanted, path.name)
        yield Finding(rubric.assignment, item, ok, detail)
    if recorded and str(record.get("torch", "")).split("+")[0] != str(torch.__version__).split("+")[0]:
        yield Finding(rubric.assignment, "calibration record matches torch", True,
                      f"record made with torch {record.get('torch')}, installed {torch.__version__}: recalibrate",
                      warning=True)


def _separation(check, kind, entry, wanted, record_name):
    """(ok, detail) of one threshold check against its record; `wanted`: the panel variants
    ('correct/x', 'broken/y') the record must hold."""
    from grader.calibrate import BUDGET_KEYS, in_gap

    if entry is None or "correct" not in entry:
        return False, f"no panel calibration of {check.id} in {record_name}; run `grader calibrate`"
    if entry.get("direction") != kind.threshold_direction:
        return False, f"the record in {record_name} is not for an {kind.threshold_direction} threshold: recalibrate"
    budget = {k: check.params[k] for k in BUDGET_KEYS if k in check.params}
    if entry.get("budget") != budget:
        return False, f"the record was made with budget {entry.get('budget')}, the rubric has {budget}: recalibrate"
    seen = sorted(f"{side}/{v['variant']}" for side in ("correct", "broken") for v in entry.get(side, []))
    missing = [n for n in wanted if n not in seen]
    if missing or not any(n.startswith("broken/") for n in seen):
        what = f"variants not in the record: {', '.join(missing)}" if missing else "no broken variant in the record"
        return False, f"{what}; recalibrate"
    low, high, threshold = entry.get("broken_bound"), entry.get("correct_bound"), check.params["threshold"]
    if not entry.get("gap"):
        return False, (f"no gap between the broken variants ({low}) and the correct ones ({high}) under this budget: "
                       f"a larger budget is needed (try {entry.get('recommended_budget')}) and a new calibration")
    if not in_gap(kind.threshold_direction, threshold, high, low):
        return False, f"threshold {threshold} lies outside the proven gap (broken {low} .. correct {high})"
    return True, f"threshold {threshold} in the proven gap (broken {low} .. correct {high}, {len(seen)} variants)"


def _template_grade_finding(rubric, template, options):
    result = grade_file(template, rubric, options)
    earned = [c for c in result.checks if c.status == "passed"]
    crashed = [c for c in result.checks if INTERNAL in c.message]
    ok = result.score == 0 and not earned and not crashed
    detail = (f"earns {result.score:g} points ({', '.join(c.id for c in earned)})" if earned
              else f"grader crashed on {', '.join(c.id for c in crashed)}" if crashed else "0 points, no crash")
    return Finding(rubric.assignment, "template earns nothing without a crash", ok, detail)


def _line(finding):
    mark = "WARN" if finding.warning else ("ok" if finding.ok else "FAIL")
    return f"{mark:<5} {finding.assignment:<24} {finding.item}: {finding.detail}"

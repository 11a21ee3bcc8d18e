"""Calibration panels: plausible correct solutions and known-broken ones, kept with the course.

Layout (course content, beside the rubric): `rubric/panels/<assignment>/correct/<variant>.py` and
`rubric/panels/<assignment>/broken/<variant>.py`, each a full submission (the reference solution
with one change, said in its opening comment). A broken variant names, on a line
`# fails: <check id>, <check id>`, exactly the checks its mistake must fail. The reference solution
itself is the first member of the correct panel, named "reference".

`grade_panel` grades every variant through the real pipeline: once in full (every check, hidden
ones too, the threshold checks with seed 0), then the threshold checks alone with seeds 1..K-1.
"""

import dataclasses
import re
import time
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError

PANELS = ("correct", "broken")
FAILS = re.compile(r"^# fails: *(.*)$", re.MULTILINE)
REFERENCE = "reference"


@dataclass(frozen=True)
class Variant:
    name: str
    panel: str  # "correct" or "broken"
    path: Path
    fails: tuple = ()  # check ids its mistake must fail (broken variants)


def panel_dir(rubric):
    return Path(rubric.path).parent / "panels" / rubric.assignment


def declared_fails(text):
    """The check ids of a variant's `# fails:` line (in its opening comment), or ()."""
    found = FAILS.search(text[:4000])
    return tuple(part.strip() for part in found.group(1).split(",") if part.strip()) if found else ()


def variants(rubric, reference):
    """The reference, then every panel file of `rubric`'s assignment (correct first, by name). A
    broken variant without a `# fails:` line, or naming a check the rubric lacks, is refused."""
    found = [Variant(REFERENCE, "correct", Path(reference))]
    ids = {c.id for c in rubric.checks}
    for panel in PANELS:
        for path in sorted((panel_dir(rubric) / panel).glob("*.py")):
            fails = declared_fails(path.read_text(encoding="utf-8"))
            unknown = [f for f in fails if f not in ids]
            if panel == "broken" and not fails or unknown:
                problem = f"names checks the rubric lacks: {', '.join(unknown)}" if unknown else "has no '# fails:' line"
                raise GraderError(f"panel variant {path} {problem}")
            found.append(Variant(path.stem, panel, path, fails))
    return found


def grade_variant(variant, rubric, checks, seeds, options):
    """{'full': the full grade's summary, 'values': {check id: [value or None per seed]},
    'seconds': {check id: [seconds per seed]}} for one variant."""
    from grader.grading import grade_file

    ids = {c.id for c in checks}
    at_zero = tuple(dataclasses.replace(c, seed=0) if c.id in ids else c for c in rubric.checks)
    started = time.monotonic()
    full = grade_file(variant.path, dataclasses.replace(rubric, checks=at_zero), options)
    summary = {"seconds": round(time.monotonic() - started, 1), "score": full.score, "max_score": full.max_score,
               "failed": [c.id for c in full.checks if c.status not in ("passed", "pending")]}
    outcome = {c.id: c for c in full.checks}
    values = {c.id: [outcome[c.id].value] for c in checks}
    seconds = {c.id: [round(outcome[c.id].seconds, 2)] for c in checks}
    for check in checks:
        for seed in range(1, seeds):
            trial = dataclasses.replace(rubric, checks=(dataclasses.replace(check, seed=seed),))
            started = time.monotonic()
            result = grade_file(variant.path, trial, options).checks[0]
            seconds[check.id].append(round(time.monotonic() - started, 2))
            values[check.id].append(result.value)
    return {"full": summary, "values": values, "seconds": seconds}

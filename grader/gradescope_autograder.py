"""The Gradescope autograder's side: grade `<root>/submission/`, write `<root>/results/results.json`.

What runs on Gradescope's machine is treated like any student code:
- student code runs only under bubblewrap, which mounts neither `source/` (the full rubric, the
  grader) nor `results/`; where bubblewrap cannot create namespaces (as in many containers),
  nothing of the submission runs: results.json says so (score 0) and names the reason, instead
  of falling back to an unisolated process that could read the hidden rubric or rewrite results;
- the file graded is chosen by the assignment's name (`<assignment>.py` or `.ipynb`, any case),
  else the only candidate, else an error listing what was found; other files are reported;
- results.json is written by this process only, atomically, after the children are gone.
Run as `python -m grader.gradescope_autograder --root /autograder --assignment NAME`.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

SUFFIXES = (".py", ".ipynb")
MAX_FILES = 1000
CONTACT = "please contact the course staff"


def refusal(why):
    """results.json when student code cannot be isolated here: nothing was run."""
    return {"score": 0, "tests": [], "output":
            "Not graded: this autograder runs submissions only inside its sandbox, and the sandbox cannot "
            f"start on this machine ({why}). Your code was not run; {CONTACT}. (Course staff: the autograder "
            "needs bubblewrap with namespaces; see the grader's README, Gradescope.)"}


def failure(text):
    return {"score": 0, "tests": [], "output": text}


def choose(folder, assignment):
    """(the file to grade or None, [other files, shown], problem or '') among `folder`'s files."""
    found, candidates = [], []
    for dirpath, dirnames, filenames in os.walk(folder):  # links are not followed
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(filenames):
            path = Path(dirpath) / name
            shown = str(path.relative_to(folder))
            if name.startswith(".") or len(found) >= MAX_FILES:
                continue
            found.append(shown)
            if path.suffix.lower() in SUFFIXES and path.is_file() and not path.is_symlink():
                candidates.append(path)
    wanted = assignment.casefold()
    named = [p for p in candidates if p.stem.casefold() == wanted] or \
            [p for p in candidates if wanted in p.stem.casefold()]
    chosen = candidates if len(candidates) == 1 else named
    if len(chosen) != 1:
        listed = ", ".join(found[:10]) or "nothing"
        what = "several candidate files" if chosen or candidates else "no .py or .ipynb file"
        return None, found, (f"Not graded: {what} ({listed}). Hand in one file named {assignment}.py "
                             f"or {assignment}.ipynb.")
    chosen = chosen[0]
    return chosen, [f for f in found if f != str(chosen.relative_to(folder))], ""


def grade(root, assignment, echo=print):
    """The results.json dict of the submission in `root` (a Gradescope /autograder folder)."""
    from grader import commands
    from grader.batch.gradescope import gradescope_results
    from grader.sandbox import bwrap
    from grader.text import inline

    isolated, why = bwrap.available()
    if not isolated:
        echo(f"REFUSED to grade unisolated: {why}")
        return refusal(inline(why))
    chosen, others, problem = choose(root / "submission", assignment)
    if problem:
        return failure(inline(problem, "check_message"))
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as out:
        results = commands.grade(paths=[chosen], assignment=assignment, out_dir=out, sandbox="bwrap",
                                 rubric_file=root / "source" / "rubric" / f"{assignment}.yaml", progress=False,
                                 echo=echo)
    if len(results) != 1:
        return failure(f"The grader could not grade this submission; {CONTACT}.")
    payload = gradescope_results(results[0])
    graded = f"Graded {inline(chosen.name, 'name')}."
    if others:
        graded += (" Not graded (only one file is graded): " + ", ".join(inline(o, "name") for o in others[:10])
                   + (", ..." if len(others) > 10 else "") + ".")
    payload["output"] = graded
    return payload


def write(path, payload):
    """results.json, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    parser.add_argument("--assignment", required=True)
    args = parser.parse_args(argv)
    try:
        payload = grade(args.root, args.assignment)
    except Exception as exc:  # noqa: BLE001 - a grader failure is the staff's, and said so
        print(f"grader failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        payload = failure(f"The grader could not grade this submission; {CONTACT}.")
    write(args.root / "results" / "results.json", payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())

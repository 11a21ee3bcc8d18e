"""What `grader similarity` compares, and what it takes away as handed out.

Submissions are found exactly as `grader grade` finds them (grader.batch.discover: the same
PATHS, the same ids) and read as it reads them (grader.staging: a notebook's code cells, magics
dropped). Their text is only tokenised, never imported or run. An input that cannot be read is
listed as skipped with its reason. Handed out, and so excluded from every match:
- the student template of the assignment, `student_template/NAME.py` and `NAME.ipynb`;
- the template the reference solution generates now (its public parts, even when the committed
  template is stale);
- the lecture code the course lists in `rubric/NAME.similarity.yaml` (`exclude:`, paths relative
  to the course repository, files or folders), and any `--exclude` path.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grader import rubric as rubrics
from grader import text
from grader.batch import ids
from grader.batch.discover import SUFFIXES, discover
from grader.errors import GraderError, SubmissionError
from grader.similarity.fingerprints import document, handed_out
from grader.staging import stage

MAX_NOTES_EACH = 3  # tokenizer notes kept per submission


@dataclass
class Inputs:
    term: list = field(default_factory=list)  # Documents of this term
    archive: list = field(default_factory=list)  # Documents of past terms
    skipped: list = field(default_factory=list)  # {id, origin, reason}
    notes: list = field(default_factory=list)
    excluded: list = field(default_factory=list)  # what was taken away as handed out (names)


def course_root(assignment):
    """The course repository whose rubric/ holds the assignment (as `grade` finds it)."""
    return rubrics.rubric_path(assignment, dirs=rubrics.course_dirs()).parent.parent


def collect(paths, assignment, out_dir, archives=(), excludes=(), root=None):
    """Inputs of one run: the handed-out code first, then this term and each past term."""
    root = Path(root) if root else course_root(assignment)
    found = Inputs()
    sources = _handed_out_sources(root, assignment, excludes, found)
    excluded = handed_out([source for _, source in sources])
    found.excluded = [name for name, _ in sources]
    work = Path(out_dir) / "_unpacked_similarity"
    found.term = _documents(paths, assignment, work / "term", excluded, "", found)
    if not found.term and not found.skipped:
        raise GraderError(f"no submissions (.py or .ipynb) found in {', '.join(map(str, paths))}")
    labels = set()
    for number, past in enumerate(archives, 1):
        label = ids.transliterate(Path(past).name.split(".")[0]) or f"archive{number}"
        label = label if label not in labels else f"{label}-{number}"
        labels.add(label)
        found.archive += _documents([past], assignment, work / f"archive-{number}", excluded, label, found)
    return found


def _handed_out_sources(root, assignment, excludes, found):
    """[(name shown, source)] of everything handed out."""
    out = []
    for name in (f"{assignment}.py", f"{assignment}.ipynb"):
        path = root / "student_template" / name
        if path.is_file():
            out.append((f"student_template/{name}", stage(path).source))
    reference = root / "reference_solutions" / f"{assignment}.py"
    if reference.is_file():
        from grader.assign import make_template

        out.append((f"the template generated from reference_solutions/{assignment}.py",
                    make_template(reference.read_text(encoding="utf-8"))))
    if not out:
        found.notes.append(f"no student template of {assignment} in {root}: nothing handed out is excluded")
    for path in _listed(root, assignment) + [Path(p) for p in excludes]:
        for file in _files(path):
            try:
                out.append((str(file), stage(file).source))
            except SubmissionError as exc:
                raise GraderError(f"excluded file {file}: {exc}") from None
    return out


def _listed(root, assignment):
    """The paths of lecture code listed in rubric/NAME.similarity.yaml (none without the file)."""
    listing = root / "rubric" / f"{assignment}.similarity.yaml"
    if not listing.is_file():
        return []
    raw = yaml.safe_load(listing.read_text(encoding="utf-8")) or {}
    if type(raw) is not dict or set(raw) - {"exclude"} or type(raw.get("exclude", [])) is not list \
            or not all(type(p) is str for p in raw.get("exclude", [])):
        raise GraderError(f"{listing}: expected `exclude:` and a list of paths relative to {root}")
    paths = [root / p for p in raw.get("exclude", [])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise GraderError(f"{listing} lists {', '.join(missing)}, which does not exist")
    return paths


def _files(path):
    """A file, or the .py and .ipynb files under a folder."""
    if not path.exists():
        raise GraderError(f"excluded path {path} does not exist")
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    return [path]


def _documents(paths, assignment, unpack_dir, excluded, archive, found):
    """The Documents of the submissions under `paths`; what cannot be read goes to found.skipped."""
    sources, notes = discover(paths, assignment, unpack_dir)
    prefix = f"{archive}/" if archive else ""
    found.notes += [f"{archive}: {note}" if archive else note for note in notes]
    documents = []
    for source in sources:
        shown = prefix + source.id
        if source.problem:
            found.skipped.append({"id": shown, "origin": source.origin, "reason": source.problem})
            continue
        try:
            code = stage(source.path).source
        except SubmissionError as exc:
            found.skipped.append({"id": shown, "origin": source.origin, "reason": str(exc)})
            continue
        except (OSError, ValueError) as exc:
            found.skipped.append({"id": shown, "origin": source.origin,
                                  "reason": f"{source.path.name} cannot be read ({type(exc).__name__})"})
            continue
        doc = document(source.id, source.origin, code, excluded, archive)
        found.notes += [f"{shown}: {text.inline(problem)}" for problem in doc.tokens.problems[:MAX_NOTES_EACH]]
        documents.append(doc)
    return documents

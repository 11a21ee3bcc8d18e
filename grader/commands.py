"""What each CLI command does, as keyword-only functions (the CLI only parses and prints)."""

from pathlib import Path

from grader import data as datasets
from grader import devices
from grader import manual
from grader import rubric as rubrics
from grader import terminal, text
from grader import course as courses
from grader.batch import provenance
from grader.batch.discover import discover
from grader.batch.manual_kept import kept_scores
from grader.batch.runner import grade_all
from grader.batch.store import Store
from grader.checks import KINDS
from grader.errors import GraderError, did_you_mean
from grader.grading import Options, grade_file
from grader.report import write_report
from grader.report.render import atomic_write
from grader.sandbox import backends

ROOT = Path(__file__).resolve().parents[1]
STATUS_MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "pending": "PENDING"}


def infer_assignment(path, dirs=None):
    """The assignment whose name the file name contains (the longest such name)."""
    dirs = dirs if dirs is not None else rubrics.search_dirs(path)
    names = sorted(rubrics.known_assignments(dirs), key=len, reverse=True)
    stem = Path(path).stem
    for name in names:
        if name in stem:
            return name
    raise GraderError(f"cannot tell the assignment from the file name '{Path(path).name}'; "
                      f"pass --assignment (one of: {', '.join(sorted(names))})")


def load_rubric(assignment, rubric_file, first_path, beside=False, echo=None):
    """The rubric given by --rubric (a file or a course folder), else the assignment's rubric of the
    course. Only `check` (`beside`) looks beside the submission (a release bundle's rubric/), and
    warns when that one differs from the course's; `grade` never does. Says which file and digest."""
    if rubric_file:
        rubric = rubrics.load_file(rubrics.resolve_given(rubric_file, assignment))
    elif beside:
        rubric = rubrics.load(assignment or infer_assignment(first_path), near=first_path)
    else:
        course = rubrics.course_dirs()
        name = assignment or infer_assignment(first_path, course)
        rubric = rubrics.load_file(rubrics.rubric_path(name, dirs=course))
    if echo:
        echo(f"Rubric: {text.inline(rubric.path)} (sha256 {rubric.digest[:16]})")
        if beside and not rubric_file:
            _warn_if_differs(rubric, echo)
    return rubric


def _warn_if_differs(rubric, echo):
    """`check` found a rubric that is not the course's: say so when the course's differs."""
    try:
        course = rubrics.rubric_path(rubric.assignment, dirs=rubrics.course_dirs())
    except GraderError:
        return
    public = ("public",)  # a release bundle's rubric is the course's public checks: that is no difference
    if course.resolve() != rubric.path.resolve() and rubrics.load_file(course).selected(public) != rubric.selected(public):
        echo(f"warning: the public checks of this rubric differ from the course's {text.inline(course)}; "
             "your grade will be given by the course's rubric")


def check(*, file, assignment=None, only=(), json_out=None, html_out=None, data_dir=None, sandbox="auto",
          rubric_file=None, device="cpu", echo=print, colour=False):
    """Public checks on one file, a table on the terminal (coloured when `colour`), what to fix
    first, optional JSON and HTML outputs."""
    rubric = load_rubric(assignment, rubric_file, file, beside=True, echo=echo)
    unknown = sorted(set(only) - {c.id for c in rubric.checks})
    if unknown:
        public = [c.id for c in rubric.selected(("public",))]
        raise GraderError(f"no check with id {', '.join(unknown)} in {rubric.path.name}"
                          f"{did_you_mean(unknown[0], public) if len(unknown) == 1 else ''}; "
                          f"its public checks: {', '.join(public)}")
    hidden = sorted(set(only) - {c.id for c in rubric.selected(("public",))})
    if hidden:
        raise GraderError(f"check {', '.join(hidden)} is hidden: it runs only when staff grade with `grader grade`")
    options = Options(visibility=("public",), only=tuple(only), data_dir=data_dir, sandbox=sandbox,
                      device=devices.resolve(device))
    _warn(options, echo)
    echo(f"Checking {text.inline(file)} against {rubric.assignment} (public checks)")
    result = grade_file(file, rubric, options, on_check=lambda r: echo(_row(r, colour)),
                        on_load=lambda load: [echo(line) for line in load.lines()])
    if not (result.load and result.load.unreadable):  # else nothing ran: the reason was said once, above
        echo(f"Score: {_num(result.score)} / {_num(result.max_score)} "
             f"({sum(c.status == 'passed' for c in result.checks)} of {len(result.checks)} checks passed)")
        for line in terminal.fix_first(result, text.inline(Path(file).name), _num):
            echo(line)
    if json_out:
        atomic_write(Path(json_out), result.dumps())
    if html_out:
        write_report(result, html_out, file)
        echo(f"Report: {text.inline(html_out)}")
    return result


def grade(*, paths, assignment=None, out_dir, workers=1, resume=False, data_dir=None, sandbox="auto",
          rubric_file=None, scheduler=None, device="cpu", fork_server=True, threads=1, manual_scores=None, echo=print,
          progress=True, trust_network=False, tls_ca=None, tls_cert=None, tls_key=None, security=None,
          status_columns=False):
    """All checks on every submission under `paths`; per-submission outputs and the class files
    (only results graded with the current key count; see grader.batch.store)."""
    if workers < 1:
        raise GraderError("--workers must be at least 1")
    if not (assignment or rubric_file) and not all(Path(p).suffix in (".py", ".ipynb") for p in paths):
        raise GraderError("pass --assignment when grading folders or zip files")
    rubric = load_rubric(assignment, rubric_file, paths[0], echo=echo)
    scores = manual.load(manual_scores, rubric) if manual_scores else None  # refused before anything runs
    if scheduler:
        from grader.batch.dask_executor import security_for

        security = security_for(scheduler, trust_network, tls_ca, tls_cert, tls_key, security)
    out = Path(out_dir)
    sources, notes = discover(paths, rubric.assignment, out / "_unpacked")
    for note in notes:
        echo(f"note: {text.inline(note)}")
    if not sources:
        raise GraderError(f"no submissions (.py or .ipynb) found in {', '.join(map(str, paths))}")
    if scores:
        manual.check_submissions(scores, [s.id for s in sources])
    options = Options(data_dir=data_dir, sandbox=sandbox, device=devices.resolve(device), fork_server=fork_server,
                      threads=threads)
    if not scheduler:
        _warn(options, echo)
    if any(KINDS[c.kind].uses_data for c in rubric.checks):
        datasets.load(rubric.dataset, data_dir)  # a missing data set stops the batch before it starts
    kind = "bwrap" if scheduler else backends.resolve(options.sandbox)[0]  # Dask workers grade under bwrap only
    store = Store(out, rubric, provenance.batch_key(rubric, options, kind))
    if scores is None:
        scores, kept = kept_scores(store, sources, rubric)
        for note in kept:
            echo(f"note: {text.inline(note)}")
    where = f"on the Dask cluster at {scheduler}" if scheduler else f"with {workers} worker(s)"
    echo(f"Grading {len(sources)} submission(s) of {rubric.assignment} {where} into {out}")
    try:
        if scheduler:
            from grader.batch.dask_executor import grade_all_dask

            summary = grade_all_dask(sources, rubric, store, options, scheduler, resume, show_progress=progress,
                                     scores=scores, security=security)
        else:
            summary = grade_all(sources, rubric, store, options, workers, resume, show_progress=progress,
                                scores=scores)
    finally:
        entries = store.entries(sources, scores)
        store.write_class_files(entries, status_columns)
    results = [e.result for e in entries if e.result]
    for result in results if scores else ():
        for warning in result.get("warnings", []):
            if warning.startswith(f"{scores.path}, line "):
                echo(f"note: {text.inline(result['submission'])}: {text.inline(warning)}")
    rate = len(summary.graded) / summary.seconds * 3600 if summary.seconds else 0
    copies = getattr(summary, "duplicates", 0)
    echo(f"Graded {len(summary.graded)}, reused {len(summary.skipped)} (--resume) in {summary.seconds:.0f} s"
         + (f"; {copies} identical to an earlier submission, graded once" if copies else "")
         + (f" ({rate:.0f} submissions an hour)" if summary.graded else ""))
    echo(f"Gradebook: {out / 'grades.csv'}; class overview: {out / 'index.html'}")
    return results


def assign(*, assignment=None, check_only=False, root=None, echo=print):
    """Regenerate student templates of the course; with check_only, report (and return) the stale files."""
    from grader import assign as assigning  # nbformat: only needed here
    root = Path(root) if root else courses.root()
    folder = courses.part(root, "reference_solutions", "grader assign")
    references = sorted(folder.glob(f"{assignment or '*'}.py"))
    if not references:
        known = [p.stem for p in folder.glob("*.py")]
        raise GraderError(f"no reference solution for '{assignment}' in {folder}"
                          + (did_you_mean(assignment, known, "known") if assignment else ""))
    stale = []
    for reference in references:
        for name, content in assigning.expected_outputs(reference).items():
            target = root / "student_template" / name
            if target.is_file() and target.read_text(encoding="utf-8") == content:
                continue
            stale.append(target)
            if not check_only:
                atomic_write(target, content)
            echo(f"{'stale' if check_only else 'wrote'}: {target.relative_to(root)}")
    if not stale:
        echo("templates are up to date")
    return stale


def _warn(options, echo):
    """Say loudly, before anything runs, when student code will not be isolated."""
    _, warnings = backends.choose(options.sandbox)
    for warning in warnings:
        echo(warning, err=True) if echo is not print else print(warning)


def _row(result, colour=False):
    mark = STATUS_MARK.get(result.status, result.status.upper())
    head = (f"  {terminal.paint(result.status, f'{mark:<8}', colour)}{_num(result.points):>4} / "
            f"{_num(result.max_points):<4} {result.id}: {result.title}")
    if result.status == "passed" or not result.message:
        return head
    return head + "\n" + "\n".join("            " + line for line in result.message.splitlines())


def _num(value):
    return int(value) if float(value).is_integer() else round(value, 2)


def calibrate(*, assignment, seeds=5, data_dir=None, sandbox="auto", root=None, echo=print):
    """Calibrate the accuracy thresholds of `assignment` on its reference; write the record."""
    from grader import calibrate as calibration

    root = Path(root) if root else courses.root()
    rubric = rubrics.load_file(rubrics.rubric_path(assignment, dirs=[courses.part(root, "rubric", "grader calibrate")]))
    reference = courses.part(root, "reference_solutions", "grader calibrate") / f"{assignment}.py"
    if not reference.is_file():
        raise GraderError(f"no reference solution {reference} to calibrate {assignment} on")
    echo(f"Calibrating {assignment} on {reference.name} over {seeds} seeds")
    record = calibration.calibrate(rubric, reference, seeds, options=Options(data_dir=data_dir, sandbox=sandbox),
                                   echo=echo)
    for check in record["checks"]:
        echo(calibration.summary_line(check))
    echo(f"Record: {calibration.write_record(rubric, record)}")
    return record


def verify(*, assignment=None, seeds=3, root=None, sandbox="auto", data_dir=None, echo=print):
    """Verify the course folder; returns True when everything holds."""
    from grader import verify as verifying

    root = Path(root).resolve() if root else courses.root()
    for part in ("rubric", "reference_solutions", "student_template"):
        courses.part(root, part, "grader verify")
    options = Options(data_dir=data_dir, sandbox=sandbox)
    _warn(options, echo)
    findings = verifying.verify(Path(root), assignment, seeds, options, echo)
    failed = [f for f in findings if not f.ok]
    warned = [f for f in findings if f.warning]
    echo(f"\n{len(findings) - len(failed)} of {len(findings)} items hold"
         + (f", {len(warned)} warning(s)" if warned else "") + (f"; FAILED: {len(failed)}" if failed else ""))
    return not failed


def release(*, assignment, out_dir, root=None, wheel=True, echo=print):
    """Write the student bundle (template, public rubric, the grader's wheel, README) of `assignment`."""
    from grader.release import release as write_bundle

    written = write_bundle(root or courses.root(), assignment, out_dir, wheel=wheel)
    for path in written:
        echo(f"wrote {path}")
    echo(f"Students follow {Path(out_dir) / 'README.md'}: install from the bundle, then grader check {assignment}.py")
    return written


def export_gradescope(*, assignment, out, root=None, sandbox="auto", echo=print):
    """Write a Gradescope autograder zip of `assignment`."""
    from grader.release import export_gradescope as write_zip

    path = write_zip(root or courses.root(), assignment, out, sandbox)
    echo(f"wrote {path}: upload it as the assignment's autograder on Gradescope")
    return path


def similarity(*, paths, assignment, out_dir, archives=(), threshold=0.5, min_tokens=60, excludes=(), root=None,
               echo=print):
    """The code-similarity report of the submissions under `paths` (never runs them)."""
    from grader import similarity as similarities

    if not 0 <= threshold <= 1:
        raise GraderError("--threshold is a share of the code, between 0 and 1 (e.g. 0.5)")
    outcome = similarities.run(paths, assignment, out_dir, archives, threshold, min_tokens, excludes, root)
    found = outcome.inputs
    for note in found.notes:
        echo(f"note: {text.inline(note)}")
    for skipped in found.skipped:
        echo(f"skipped {text.inline(skipped['id'])}: {text.inline(skipped['reason'])}")
    past = f" and {len(found.archive)} of past terms" if found.archive else ""
    echo(f"Compared {len(found.term)} submission(s){past}: {len(outcome.pairs)} pairs in {outcome.seconds:.1f} s; "
         f"{len(outcome.flagged)} at or above {threshold:.0%}")
    for pair in outcome.flagged[:10]:
        echo(f"  {pair.similarity:5.0%}  {text.inline(pair.a.label)}  {text.inline(pair.b.label)}  "
             f"({pair.matched} matching tokens)")
    out = Path(out_dir)
    echo(f"Report: {out / 'similarity.html'}; every pair: {out / 'similarity.csv'}")
    return outcome

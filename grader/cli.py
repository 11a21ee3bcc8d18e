"""The `grader` command: thin click wrappers over keyword-only functions in grader.commands."""

import functools
import sys

import click

from grader import commands, errors, terminal
from grader.batch.runner import Interrupted
from grader.cli_export import export
from grader.cli_options import (CONTEXT, Group, assignment_option, course_option, data_dir_option, device_option,
                                rubric_option, sandbox_option)

@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(package_name="grader")
def main():
    """Grade PyTorch CNN assignments in a sandbox and write feedback reports.

    Exit codes: 0 done (every check passed), 1 checks failed, 2 usage or set-up error, 130 interrupted.
    The course (rubric/, reference_solutions/, student_template/) is --course DIR, else GRADER_COURSE,
    else the nearest folder at or above the current one holding rubric/ and reference_solutions/."""


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@assignment_option
@click.option("--only", multiple=True, help="Run only this check id (repeatable).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Also write results.json here (- for stdout: the table then goes to stderr).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write the HTML report here.")
@data_dir_option
@sandbox_option
@rubric_option
@device_option
@course_option
def check(file, assignment, only, json_out, html_out, data_dir, sandbox, rubric_file, device):
    """Run the public checks on FILE and print what passed, why not, and what to fix first.

    Exits 0 when every public check passes (or awaits a TA), 1 when any fails, 2 on a usage or
    set-up error, 130 when interrupted. Colour on a terminal unless NO_COLOR is set."""
    errors.output_file(json_out, "--json")
    errors.output_file(html_out, "--html")
    to_stdout = json_out == "-"
    echo = functools.partial(click.echo, err=True) if to_stdout else click.echo
    colour = terminal.colour_enabled(sys.stderr if to_stdout else sys.stdout)
    result = commands.check(file=file, assignment=assignment, only=only, json_out=None if to_stdout else json_out,
                            html_out=html_out, data_dir=data_dir, sandbox=sandbox, rubric_file=rubric_file,
                            device=device, echo=echo, colour=colour)
    if to_stdout:
        click.echo(result.dumps(), nl=False)
    sys.exit(0 if all(c.status in ("passed", "pending") for c in result.checks) else 1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@assignment_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--workers", "-j", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Submissions graded at the same time.")
@click.option("--resume", is_flag=True, help="Skip submissions already graded with the same content, rubric, manual "
              "scores, sandbox, device, data set and grader version.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Torch threads of each child; keep workers x threads <= cores.")
@click.option("--scheduler", metavar="tls://HOST:PORT", help="Grade on a Dask distributed cluster instead of locally.")
@click.option("--trust-network", is_flag=True,
              help="Allow a plain tcp:// scheduler: no student can reach the cluster's network (README: Dask).")
@click.option("--tls-ca", type=click.Path(exists=True, dir_okay=False), help="CA certificate of a tls:// cluster.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="This client's TLS certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="This client's TLS private key.")
@click.option("--fork-server/--fresh-children", default=True, show_default=True,
              help="Fork each submission's child from a worker that imported torch once (fast), or start a "
                   "fresh interpreter per child (slower, nothing shared between submissions).")
@click.option("--manual-scores", "manual_scores", type=click.Path(exists=True, dir_okay=False),
              help="CSV of a TA's scores for checks awaiting a person (pending): submission,check,points,comment.")
@click.option("--status-columns", is_flag=True,
              help="Also a status column a check in grades.csv (`<id> status`: passed, failed, error, timeout, pending).")
@data_dir_option
@sandbox_option
@rubric_option
@device_option
@course_option
def grade(paths, assignment, out_dir, workers, resume, threads, scheduler, trust_network, tls_ca, tls_cert, tls_key,
          fork_server, manual_scores, status_columns, data_dir, sandbox, rubric_file, device):
    """Run all checks (public and hidden) on every submission in PATHS.

    PATHS are .py/.ipynb files, folders of them, folders of per-student folders, or zip exports of
    an LMS (Canvas or Moodle layout). Writes <out>/<id>/{results.json,report.html,gradescope.json,log.txt},
    <out>/grades.csv, <out>/results.jsonl and <out>/index.html. With --manual-scores, a TA's scores
    replace the points of the checks awaiting a person; without it, those applied before are kept
    (and said so). --resume reuses only results graded with the current content, rubric, manual
    scores, sandbox, device, data set and grader; what a stopped run leaves is marked stale."""
    if scheduler:
        errors.require_module("distributed", "--scheduler needs Dask: pip install 'grader[dask]'")
    errors.output_folder(out_dir, "--out")
    try:
        commands.grade(paths=paths, assignment=assignment, out_dir=out_dir, workers=workers, resume=resume,
                       data_dir=data_dir, sandbox=sandbox, rubric_file=rubric_file, scheduler=scheduler,
                       device=device, fork_server=fork_server, threads=threads, manual_scores=manual_scores,
                       echo=click.echo, trust_network=trust_network, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key,
                       status_columns=status_columns)
    except Interrupted as exc:
        click.echo(f"\n{exc}; run again with --resume to finish", err=True)
        sys.exit(130)


@main.command()
@click.argument("positional", required=False, metavar="[ASSIGNMENT]")
@click.option("--assignment", "-a", help="Only this assignment (default: every reference solution).")
@click.option("--check", "check_only", is_flag=True, help="Only check that the committed template is up to date.")
@course_option
def assign(positional, assignment, check_only):
    """Generate student_template/ (module and notebook) from reference_solutions/.

    Exits 1 with --check when a committed template is stale."""
    if positional and assignment and positional != assignment:
        raise click.UsageError(f"two assignments given: {positional} and -a {assignment}")
    stale = commands.assign(assignment=assignment or positional, check_only=check_only, echo=click.echo)
    sys.exit(1 if check_only and stale else 0)


@main.command()
@click.option("--assignment", "-a", required=True, help="Assignment to calibrate.")
@click.option("--seeds", default=5, show_default=True, type=click.IntRange(2, 50), help="Seeds to run.")
@data_dir_option
@sandbox_option
@course_option
def calibrate(assignment, seeds, data_dir, sandbox):
    """Run the reference's threshold checks (accuracy, reconstruction error) over several seeds and
    record the recommended thresholds beside the rubric."""
    commands.calibrate(assignment=assignment, seeds=seeds, data_dir=data_dir, sandbox=sandbox, echo=click.echo)


@main.command()
@click.option("--assignment", "-a", help="Only this assignment (default: every reference solution).")
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Extra seeds on which the reference must clear each accuracy threshold.")
@click.option("--root", type=click.Path(file_okay=False, exists=True), default=None,
              help="Course folder to verify (the same as --course).")
@data_dir_option
@sandbox_option
@course_option
def verify(assignment, seeds, root, data_dir, sandbox):
    """Check the course repository: rubrics, reference full marks, templates empty and in sync.

    Exits 0 only when every item holds."""
    ok = commands.verify(assignment=assignment, seeds=seeds, root=root, sandbox=sandbox, data_dir=data_dir,
                         echo=click.echo)
    sys.exit(0 if ok else 1)


@main.command()
@click.option("--assignment", "-a", required=True, help="Assignment to hand out.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Bundle folder.")
@click.option("--wheel/--no-wheel", default=True, show_default=True,
              help="Put the grader's wheel in the bundle, so students install it offline from the bundle alone.")
@course_option
def release(assignment, out_dir, wheel):
    """Write the student bundle: template (.py, .ipynb), public rubric, the grader's wheel, README.

    Nothing hidden. The README's install line installs from the bundle alone, keeping the
    student's own torch."""
    errors.output_folder(out_dir, "--out")
    commands.release(assignment=assignment, out_dir=out_dir, wheel=wheel, echo=click.echo)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--assignment", "-a", required=True, help="Assignment: its template and listed lecture code are excluded.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (a graded class's folder links the report from its index.html).")
@click.option("--archive", "archives", multiple=True, type=click.Path(exists=True), metavar="PAST_TERM",
              help="Submissions of a past term, compared with this term only (repeatable; same forms as PATHS).")
@click.option("--threshold", default=0.5, show_default=True, type=float,
              help="Share of both submissions' own code in matching regions at which a pair is listed (0..1).")
@click.option("--min-tokens", default=60, show_default=True, type=click.IntRange(1),
              help="Matching tokens a listed pair needs at least (short stubs filled in alike are not listed).")
@click.option("--exclude", "excludes", multiple=True, type=click.Path(exists=True),
              help="More handed-out code (a file or folder of .py/.ipynb) to exclude, besides the template "
                   "and rubric/<assignment>.similarity.yaml (repeatable).")
def similarity(paths, assignment, out_dir, archives, threshold, min_tokens, excludes):
    """Compare every pair of submissions in PATHS and write <out>/similarity.html and similarity.csv.

    PATHS are what `grader grade` takes (files, folders, per-student folders, LMS zips, notebooks),
    with the same ids. Tokens are compared after renaming, reformatting and comments are normalised
    away; the student template, the reference's public parts and listed lecture code are excluded.
    Student code is only read, never run."""
    commands.similarity(paths=paths, assignment=assignment, out_dir=out_dir, archives=archives, threshold=threshold,
                        min_tokens=min_tokens, excludes=excludes, echo=click.echo)


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default="-", show_default=True,
              help="Where to write the schema (- for stdout).")
def schema(out):
    """Write the JSON Schema of the rubric format (every check kind and its parameters) for editors.

    In VS Code (YAML extension), start a rubric with `# yaml-language-server: $schema=rubric.schema.json`."""
    from grader import schema as schemas

    errors.output_file(out, "--out")
    if out == "-":
        click.echo(schemas.dumps(), nl=False)
    else:
        from grader.report.render import atomic_write
        from pathlib import Path

        atomic_write(Path(out), schemas.dumps())
        click.echo(f"wrote {out}", err=True)


main.add_command(export)

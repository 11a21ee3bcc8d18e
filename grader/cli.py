"""The `grader` command: thin click wrappers over keyword-only functions in grader.commands."""

import sys

import click

from grader import commands, text
from grader.batch.runner import Interrupted
from grader.errors import GraderError


class _Group(click.Group):
    """Prints `Error: ...` with the error's exit code for every GraderError."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            click.echo(f"Error: {text.block(str(exc))}", err=True)  # it may quote a student's file name
            sys.exit(exc.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="grader")
def main():
    """Grade PyTorch CNN assignments in a sandbox and write feedback reports."""


_assignment = click.option("--assignment", "-a", help="Assignment name (default: inferred from the file name).")
_rubric = click.option("--rubric", "rubric_file", type=click.Path(exists=True),
                       help="A rubric file, or a course folder (its rubric/<assignment>.yaml).")
_sandbox = click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto",
                        show_default=True, help="Isolation of student code: bubblewrap, or a plain process.")
_device = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True,
                       help="Where training checks run; auto picks CUDA when a GPU is visible.")
_data_dir = click.option("--data-dir", type=click.Path(file_okay=False), envvar="GRADER_DATA_DIR",
                         help="Folder with the data sets (torchvision layout); also GRADER_DATA_DIR.")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_assignment
@click.option("--only", multiple=True, help="Run only this check id (repeatable).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write results.json here.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write the HTML report here.")
@_data_dir
@_sandbox
@_rubric
@_device
def check(file, assignment, only, json_out, html_out, data_dir, sandbox, rubric_file, device):
    """Run the public checks on FILE and print what passed and why not.

    Exits 0 when every public check passes (or awaits a TA), 1 when any fails, 2 on a usage or set-up error."""
    result = commands.check(file=file, assignment=assignment, only=only, json_out=json_out,
                            html_out=html_out, data_dir=data_dir, sandbox=sandbox, rubric_file=rubric_file,
                            device=device, echo=click.echo)
    sys.exit(0 if all(c.status in ("passed", "pending") for c in result.checks) else 1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_assignment
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--workers", "-j", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Submissions graded at the same time.")
@click.option("--resume", is_flag=True, help="Skip submissions already graded with the same content and rubric.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Torch threads of each child; keep workers x threads <= cores.")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Grade on a Dask distributed cluster instead of locally.")
@click.option("--fork-server/--fresh-children", default=True, show_default=True,
              help="Fork each submission's child from a worker that imported torch once (fast), or start a "
                   "fresh interpreter per child (slower, nothing shared between submissions).")
@click.option("--manual-scores", "manual_scores", type=click.Path(exists=True, dir_okay=False),
              help="CSV of a TA's scores for checks awaiting a person (pending): submission,check,points,comment.")
@_data_dir
@_sandbox
@_rubric
@_device
def grade(paths, assignment, out_dir, workers, resume, threads, scheduler, fork_server, manual_scores, data_dir,
          sandbox, rubric_file, device):
    """Run all checks (public and hidden) on every submission in PATHS.

    PATHS are .py/.ipynb files, folders of them, folders of per-student folders, or zip exports of
    an LMS (Canvas or Moodle layout). Writes <out>/<id>/{results.json,report.html,gradescope.json,log.txt},
    <out>/grades.csv, <out>/results.jsonl and <out>/index.html. With --manual-scores, a TA's scores
    replace the points of the checks awaiting a person; --resume grades again a submission whose
    manual scores changed."""
    try:
        commands.grade(paths=paths, assignment=assignment, out_dir=out_dir, workers=workers, resume=resume,
                       data_dir=data_dir, sandbox=sandbox, rubric_file=rubric_file, scheduler=scheduler,
                       device=device, fork_server=fork_server, threads=threads, manual_scores=manual_scores,
                       echo=click.echo)
    except Interrupted as exc:
        click.echo(f"\n{exc}; run again with --resume to finish", err=True)
        sys.exit(130)


@main.command()
@click.argument("assignment", required=False)
@click.option("--check", "check_only", is_flag=True, help="Only check that the committed template is up to date.")
def assign(assignment, check_only):
    """Generate student_template/ (module and notebook) from reference_solutions/."""
    stale = commands.assign(assignment=assignment, check_only=check_only, echo=click.echo)
    sys.exit(1 if check_only and stale else 0)


@main.command()
@click.option("--assignment", "-a", required=True, help="Assignment to calibrate.")
@click.option("--seeds", default=5, show_default=True, type=click.IntRange(2, 50), help="Seeds to run.")
@_data_dir
@_sandbox
def calibrate(assignment, seeds, data_dir, sandbox):
    """Run the reference's threshold checks (accuracy, reconstruction error) over several seeds and
    record the recommended thresholds beside the rubric."""
    commands.calibrate(assignment=assignment, seeds=seeds, data_dir=data_dir, sandbox=sandbox, echo=click.echo)


@main.command()
@click.option("--assignment", "-a", help="Only this assignment (default: every reference solution).")
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Extra seeds on which the reference must clear each accuracy threshold.")
@click.option("--root", type=click.Path(file_okay=False, exists=True), default=str(commands.ROOT),
              show_default=True, help="Course repository to verify.")
@_data_dir
@_sandbox
def verify(assignment, seeds, root, data_dir, sandbox):
    """Check the course repository: rubrics, reference full marks, templates empty and in sync.

    Exits 0 only when every item holds."""
    ok = commands.verify(assignment=assignment, seeds=seeds, root=root, sandbox=sandbox, data_dir=data_dir,
                         echo=click.echo)
    sys.exit(0 if ok else 1)


@main.command()
@click.option("--assignment", "-a", required=True, help="Assignment to hand out.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Bundle folder.")
def release(assignment, out_dir):
    """Write the student bundle: template (.py, .ipynb), public rubric, README. Nothing hidden."""
    commands.release(assignment=assignment, out_dir=out_dir, echo=click.echo)


@main.group()
def export():
    """Export an assignment's autograder to another platform."""


@export.command("gradescope")
@click.option("--assignment", "-a", required=True, help="Assignment to export.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The autograder zip to write.")
@_sandbox
def export_gradescope(assignment, out, sandbox):
    """A Gradescope autograder zip: setup.sh, run_autograder, the grader and the full rubric."""
    commands.export_gradescope(assignment=assignment, out=out, sandbox=sandbox, echo=click.echo)


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

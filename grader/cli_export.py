"""`grader export`: an autograder for Gradescope, a graded class's gradebook for Canvas or Moodle."""

import click

from grader import commands, errors, text
from grader.cli_options import Group, course_option, sandbox_option

@click.group(cls=Group)
def export():
    """Export an autograder (Gradescope) or a graded class's gradebook (Canvas, Moodle)."""


@export.command("gradescope")
@click.option("--assignment", "-a", required=True, help="Assignment to export.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The autograder zip to write.")
@sandbox_option
@course_option
def export_gradescope(assignment, out, sandbox):
    """A Gradescope autograder zip: setup.sh, run_autograder, the grader and the full rubric."""
    commands.export_gradescope(assignment=assignment, out=out, sandbox=sandbox, echo=click.echo)


def _lms_export(platform, graded, out, roster, column, key="idnumber"):
    from grader.export_lms import export as write_export

    errors.output_file(out, "--out")
    data, count, notes = write_export(platform, graded, out, roster, column, key)
    for note in notes:
        click.echo(f"note: {text.inline(note)}", err=True)
    if data is not None:
        click.echo(data, nl=False)
    else:
        click.echo(f"wrote {out}: {count} student(s); import it in {platform.capitalize()}'s gradebook", err=True)


_graded = click.argument("graded", type=click.Path(exists=True, file_okay=False))
_export_out = click.option("--out", required=True, type=click.Path(dir_okay=False, allow_dash=True),
                           help="The CSV to write (- for stdout).")
_roster = click.option("--roster", type=click.Path(exists=True, dir_okay=False),
                       help="A CSV of the class from the LMS (its gradebook or participants export).")
_column = click.option("--column", help="The grade column's name (default: the assignment's name).")


@export.command("canvas")
@_graded
@_export_out
@_roster
@_column
def export_canvas(graded, out, roster, column):
    """Canvas's gradebook import CSV of the class graded into GRADED (Student, ID, SIS ids, Section, the grade).

    Students are matched by the ids in Canvas's file names, or by --roster (Canvas's own gradebook
    export); Canvas matches the assignment by its column name, e.g. --column "Lab 7 (12345)"."""
    _lms_export("canvas", graded, out, roster, column)


@export.command("moodle")
@_graded
@_export_out
@_roster
@_column
@click.option("--key", type=click.Choice(["idnumber", "email"]), default="idnumber", show_default=True,
              help="The Moodle user field the import matches on (with --roster).")
def export_moodle(graded, out, roster, column, key):
    """Moodle's grade import CSV of the class graded into GRADED (keyed by ID number or email).

    With --roster (Moodle's participants export) the CSV is for Grades > Import > CSV; without it,
    it is the assignment's grading worksheet keyed by the participant numbers of Moodle's folder names."""
    _lms_export("moodle", graded, out, roster, column, key)

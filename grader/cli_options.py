"""What every `grader` command shares: the command group that turns user errors into one line and
an exit code, and the options several commands take (--course, --assignment, --rubric, ...)."""

import sys

import click

from grader import course, text
from grader.errors import EXIT_INTERRUPTED, EXIT_USAGE, GraderError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def fail(message, code):
    click.echo(message, err=True)
    sys.exit(code)


class Group(click.Group):
    """Every user error of every command is one `Error: ...` line and an exit code (grader.errors):
    2 for usage and set-up, 130 for Ctrl-C; a traceback only for a bug of the grader itself."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        course.set_course(None)  # --course holds for one invocation (CliRunner runs many in a process)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see: {exc.ctx.command_path} -h)" if exc.ctx else ""
            fail(f"Error: {' '.join(exc.format_message().split())}{hint}", EXIT_USAGE)
        except click.ClickException as exc:
            fail(f"Error: {' '.join(exc.format_message().split())}", exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            fail("Interrupted (Ctrl-C)", EXIT_INTERRUPTED)
        sys.exit(code if type(code) is int else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            fail(f"Error: {text.inline(str(exc), 'check_message')}", exc.exit_code)  # may quote a student's name
        except OSError as exc:
            if exc.filename is None:
                raise  # not about a file the user named: ours
            what = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 else "")
            fail(f"Error: {text.inline(what)}: {exc.strerror or type(exc).__name__}", EXIT_USAGE)

    def format_commands(self, ctx, formatter):
        """The command list with each command's whole first sentence (click cuts it at 45 characters)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _set_course(ctx, param, value):
    if value:
        course.set_course(value)
    return value


course_option = click.option("--course", type=click.Path(file_okay=False), expose_value=False, is_eager=True,
                       callback=_set_course, metavar="DIR",
                       help="Course folder (rubric/, reference_solutions/, student_template/); default: "
                            "GRADER_COURSE, else the nearest course folder at or above the current one.")


assignment_option = click.option("--assignment", "-a", help="Assignment name (default: inferred from the file name).")
rubric_option = click.option("--rubric", "rubric_file", type=click.Path(exists=True),
                       help="A rubric file, or a course folder (its rubric/<assignment>.yaml).")
sandbox_option = click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default="auto",
                        show_default=True, help="Isolation of student code: bubblewrap, or a plain process.")
device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True,
                       help="Where training checks run; auto picks CUDA when a GPU is visible.")
data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), envvar="GRADER_DATA_DIR",
                         help="Folder with the data sets (torchvision layout); also GRADER_DATA_DIR.")



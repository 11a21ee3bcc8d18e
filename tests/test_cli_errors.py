"""Every user error of the CLI is one line and an exit code (2 usage or set-up, 1 failed checks,
130 Ctrl-C), driven through click's CliRunner; the course folder is found by --course,
GRADER_COURSE or the nearest course folder; the terminal helpers (colour, fix-first summary)."""

import importlib.util

import pytest
from click.testing import CliRunner

from grader import commands, course, terminal
from grader.cli import main
from grader.results import CheckResult, SubmissionResult

RUBRIC = """assignment: tiny
checks:
  - {id: answer, title: "ANSWER is 42", kind: declared_constant, points: 3, visibility: public, time_limit: 20,
     params: {name: ANSWER, expected: 42}}
  - {id: other, title: "OTHER is 7", kind: declared_constant, points: 1, visibility: public, time_limit: 20,
     params: {name: OTHER, expected: 7}}
"""
REFERENCE = "# %%\nANSWER = 42  # SOLUTION\n\n# %%\nOTHER = 7  # SOLUTION\n"


@pytest.fixture
def tiny(tmp_path):
    """A course folder of its own (rubric, reference) and a submission in it."""
    (tmp_path / "rubric").mkdir()
    (tmp_path / "rubric" / "tiny.yaml").write_text(RUBRIC)
    (tmp_path / "reference_solutions").mkdir()
    (tmp_path / "reference_solutions" / "tiny.py").write_text(REFERENCE)
    (tmp_path / "tiny.py").write_text("ANSWER = 41\nOTHER = 7\n")
    return tmp_path


def one_line_error(done, code=2, *needles):
    lines = done.stderr.strip().splitlines()  # stdout may say which rubric it read first
    assert done.exit_code == code, done.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.output
    assert "Traceback" not in done.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def invoke(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def test_usage_errors_are_one_line_with_a_pointer_to_help():
    one_line_error(invoke("check", "--nope"), 2, "No such option", "check -h)")
    one_line_error(invoke("grade"), 2, "Missing argument")


def test_h_and_full_command_summaries():
    done = invoke("-h")
    assert done.exit_code == 0 and "-h, --help" in done.output
    flat = " ".join(done.output.split())
    assert "Run the public checks on FILE and print what passed, why not, and what to fix first." in flat
    for command in ("check", "grade", "assign", "verify", "release", "calibrate", "schema", "export"):
        assert invoke(command, "-h").exit_code == 0, command
    assert "-a, --assignment" in invoke("assign", "-h").output


def test_bad_yaml_says_file_line_and_column(tiny):
    bad = tiny / "bad.yaml"
    bad.write_text("assignment: tiny\nchecks:\n  - id: a\n    title: [unclosed\n    kind: x\n")
    line = one_line_error(invoke("check", tiny / "tiny.py", "--rubric", bad), 2, f"{bad}:")
    assert line.split(f"{bad}:")[1].split(":")[0].isdigit()  # file:line:column
    assert "<byte string>" not in line


def test_unknown_kind_names_the_closest(tiny):
    wrong = tiny / "wrong.yaml"
    wrong.write_text(RUBRIC.replace("kind: declared_constant", "kind: declared_constnt", 1))
    line = one_line_error(invoke("check", tiny / "tiny.py", "--rubric", wrong), 2, "did you mean declared_constant")
    assert line.count(",") < 10  # not the list of every kind


def test_unknown_check_id_lists_the_public_ids(tiny):
    one_line_error(invoke("check", tiny / "tiny.py", "--rubric", tiny / "rubric" / "tiny.yaml", "--only", "answr"),
                   2, "did you mean answer", "answer, other")


def test_output_paths_are_refused_before_anything_runs(tiny, monkeypatch):
    monkeypatch.setattr(commands, "grade_file", lambda *a, **k: pytest.fail("graded before the paths were checked"))
    rubric = tiny / "rubric" / "tiny.yaml"
    one_line_error(invoke("check", tiny / "tiny.py", "--rubric", rubric, "--html", tiny / "tiny.py" / "r.html"),
                   2, "--html", "is a file, not a folder")
    one_line_error(invoke("check", tiny / "tiny.py", "--rubric", rubric, "--json", tiny), 2, "--json", "is a directory")
    one_line_error(invoke("grade", tiny / "tiny.py", "--rubric", rubric, "--out", "/proc/grader-out"), 2,
                   "--out /proc/grader-out: cannot write there")
    one_line_error(invoke("release", "-a", "tiny", "--course", tiny, "--out", "/proc/bundle"), 2, "--out /proc/bundle")


def test_scheduler_without_dask_is_one_line(tiny, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    one_line_error(invoke("grade", tiny / "tiny.py", "--rubric", tiny / "rubric" / "tiny.yaml", "--out", tiny / "o",
                          "--scheduler", "tls://127.0.0.1:1"), 2, "pip install 'grader[dask]'")


def test_missing_course_parts(tiny, tmp_path_factory):
    one_line_error(invoke("verify", "--root", tiny), 2, "has no student_template/", "grader verify")
    empty = tmp_path_factory.mktemp("empty")
    (empty / "rubric").mkdir()
    one_line_error(invoke("assign", "--course", empty), 2, "has no reference_solutions/")
    one_line_error(invoke("assign", "--course", empty / "nowhere"), 2, "no such folder")


def test_ctrl_c_exits_130_in_every_command(tiny, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "grade_file", interrupted)
    done = invoke("check", tiny / "tiny.py", "--rubric", tiny / "rubric" / "tiny.yaml")
    assert done.exit_code == 130 and "Interrupted" in done.output and "Traceback" not in done.output
    monkeypatch.setattr(commands, "assign", interrupted)
    assert invoke("assign", "-a", "tiny").exit_code == 130


def test_the_course_is_found_by_option_environment_or_folder(tiny, monkeypatch, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    done = invoke("assign", "-a", "tiny", "--course", tiny)
    assert done.exit_code == 0, done.output
    assert "ANSWER = None" in (tiny / "student_template" / "tiny.py").read_text()
    assert (tiny / "student_template" / "tiny.ipynb").is_file()
    monkeypatch.setenv(course.ENV, str(tiny))
    assert invoke("assign", "--check", "-a", "tiny").output.strip() == "templates are up to date"
    monkeypatch.delenv(course.ENV)
    (tiny / "sub" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(tiny / "sub" / "deeper")
    assert course.root() == tiny.resolve()  # the nearest course folder above the current one
    assert invoke("assign", "tiny", "-a", "other").exit_code == 2  # two different assignments


def result(*checks):
    return SubmissionResult("tiny", "tiny", tuple(CheckResult(i, i, p, m, s, msg) for i, p, m, s, msg in checks))


def test_colour_only_on_a_terminal_without_no_color():
    class Tty:
        def isatty(self):
            return True

    assert terminal.colour_enabled(Tty(), {}) and not terminal.colour_enabled(Tty(), {"NO_COLOR": "1"})
    assert not terminal.colour_enabled(object(), {})
    assert terminal.paint("failed", "FAIL", True) == "\x1b[1;31mFAIL\x1b[0m"
    assert terminal.paint("failed", "FAIL", False) == "FAIL"


def test_fix_first_lists_failed_checks_by_points_with_their_first_line():
    lines = terminal.fix_first(result(("small", 0, 1, "failed", "off by one\nmore"), ("ok", 2, 2, "passed", ""),
                                      ("big", 0, 5, "timeout", "took longer than 20 s")), "lab.py")
    assert lines[0].startswith("To fix first (2 failed, 6 points")
    assert "big: took longer than 20 s" in lines[1] and "small: off by one" in lines[2] and "more" not in lines[2]
    assert lines[-1] == "Re-run one check: grader check lab.py --only big"
    assert terminal.fix_first(result(("ok", 2, 2, "passed", ""))) == []

"""`grader export canvas|moodle`: gradebook CSVs from a graded class, students matched by the
numbers in LMS export names or a roster, accents kept, stale rows left out, cells escaped."""

import csv
import io
import json

from click.testing import CliRunner

from grader.cli import main
from grader.export_lms import lms_identity

RESULTS = [
    {"submission": "josenunez_12345", "name": "josenunez", "source": "canvas.zip:josenunez_12345_67890_lab07.py",
     "assignment": "lab07", "score": 14.5, "max_score": 16, "state": "graded"},
    {"submission": "Jose-Nunez_4567", "name": "José Núñez",
     "source": "moodle/José Núñez_4567_assignsubmission_file_/lab07.py", "assignment": "lab07", "score": 9,
     "max_score": 16, "state": "graded"},
    {"submission": "=cmd_999", "name": "=HYPERLINK(1)", "source": "=cmd_999_1_lab07.py", "assignment": "lab07",
     "score": 3, "max_score": 16, "state": "graded"},
    {"submission": "bob", "name": "bob", "state": "stale", "reason": "graded with another rubric"},
]


def graded(tmp_path):
    folder = tmp_path / "graded"
    folder.mkdir(exist_ok=True)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RESULTS), encoding="utf-8")
    return folder


def run(*args):
    return CliRunner().invoke(main, ["export", *map(str, args)])


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_lms_numbers_come_from_canvas_and_moodle_names():
    assert lms_identity(RESULTS[0]) == ("josenunez", "12345")
    assert lms_identity(RESULTS[1]) == ("José Núñez", "4567")
    assert lms_identity({"source": "plain/bob.py"}) is None


def test_canvas_from_file_names_and_from_a_roster(tmp_path):
    done = run("canvas", graded(tmp_path), "--out", "-", "--column", "Lab 7 (321)")
    assert done.exit_code == 0, done.output
    table = rows(done.stdout)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 7 (321)"]
    assert table[1] == ["Points Possible", "", "", "", "", "16"]
    assert ["josenunez", "12345", "", "", "", "14.5"] in table
    assert ["José Núñez", "4567", "", "", "", "9"] in table
    assert ["'=HYPERLINK(1)", "999", "", "", "", "3"] in table  # never a formula
    assert "bob: left out (stale)" in done.stderr
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n\"Núñez, José\",12345,S-1,jnunez,A\n",
                      encoding="utf-8-sig")
    out = tmp_path / "canvas.csv"
    done = run("canvas", graded(tmp_path), "--out", out, "--roster", roster)
    assert done.exit_code == 0, done.output
    table = rows(out.read_text(encoding="utf-8"))
    assert table[2:] == [["Núñez, José", "12345", "S-1", "jnunez", "A", "14.5"]]  # matched by the Canvas id
    assert "not in the roster" in done.stderr


def test_moodle_worksheet_without_roster_and_import_with_one(tmp_path):
    folder = graded(tmp_path)
    done = run("moodle", folder, "--out", "-")
    assert done.exit_code == 0, done.output
    table = rows(done.stdout)
    assert table[0] == ["Identifier", "Full name", "Grade", "Maximum grade"]
    assert ["Participant 4567", "José Núñez", "9", "16"] in table  # the accents kept
    roster = tmp_path / "participants.csv"
    roster.write_text("First name,Surname,ID number,Email address\nJosé,Núñez,u042,jose@example.org\n", encoding="utf-8")
    done = run("moodle", folder, "--out", "-", "--roster", roster, "--key", "email")
    assert done.exit_code == 0, done.output
    assert rows(done.stdout) == [["Email address", "Full name", "lab07"], ["jose@example.org", "José Núñez", "9"]]
    done = run("moodle", folder, "--out", "-", "--roster", roster)
    assert rows(done.stdout)[1] == ["u042", "José Núñez", "9"]


def test_export_errors_are_one_line(tmp_path):
    done = run("canvas", tmp_path, "--out", "-")
    assert done.exit_code == 2 and done.stderr.strip().count("\n") == 0 and "no results.jsonl" in done.stderr
    done = run("canvas", graded(tmp_path), "--out", tmp_path / "graded" / "results.jsonl" / "x.csv")
    assert done.exit_code == 2 and "is a file, not a folder" in done.stderr

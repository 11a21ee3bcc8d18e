"""Scores a TA gives to checks that await a person (status 'pending'), merged into graded results.

A manual-scores file is CSV (UTF-8, a spreadsheet's "Save as CSV" works) with a header row and
one row a score:

    submission,check,points,comment
    alice,answer_1_4,1.5,"clear, but says nothing about lr = 1 diverging"
    bob,answer_1_4,2,

`submission` is the id `grader grade` gives a submission (the first column of grades.csv),
`check` a check id of the rubric, `points` a number from 0 to what the check is worth, and
`comment` (optional) is shown to the student in the report. Blank lines are ignored; a comment
with commas or line breaks is quoted, as spreadsheets do. Every problem of the file is reported
at once, each with its line.

`merge` turns a graded SubmissionResult into a new one: each pending check with a score gets the
TA's points, status 'passed' (some points) or 'failed' (none) and the comment; a score for a
check the grader did not leave pending is not applied and becomes a warning of the result.
"""

import csv
import dataclasses
import difflib
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError

HEADER = ("submission", "check", "points", "comment")
MAX_PROBLEMS = 20  # problems listed in one error; the count of the rest follows


class ManualScoresError(GraderError):
    """The manual-scores file is unreadable or invalid: names the file and each bad line."""

    def __init__(self, path, problems):
        self.path, self.problems = str(path), list(problems)
        shown = self.problems[:MAX_PROBLEMS]
        more = len(self.problems) - len(shown)
        lines = "\n".join(f"  {p}" for p in shown) + (f"\n  ... and {more} more" if more else "")
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"invalid manual scores {self.path} ({count}):\n{lines}")


@dataclass(frozen=True)
class ManualScore:
    submission: str
    check: str
    points: float
    comment: str
    line: int  # where the row starts in the file, for messages


@dataclass(frozen=True)
class ManualScores:
    path: str
    scores: tuple  # ManualScore, in file order

    def for_submission(self, submission):
        """check id -> ManualScore for one submission."""
        return {s.check: s for s in self.scores if s.submission == submission}

    @property
    def submissions(self):
        return {s.submission for s in self.scores}

    def only(self, submission):
        """The scores of one submission (what a remote worker needs to merge them)."""
        return ManualScores(self.path, tuple(s for s in self.scores if s.submission == submission))

    def digest(self, submission):
        """A hash of one submission's scores ("" when it has none), to tell when they changed."""
        rows = sorted((s.check, repr(s.points), s.comment) for s in self.scores if s.submission == submission)
        return hashlib.sha256(repr(rows).encode()).hexdigest() if rows else ""


def load(path, rubric):
    """Read and validate a manual-scores file against `rubric`; raises ManualScoresError."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ManualScoresError(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ManualScoresError(path, [f"not UTF-8 text (byte {exc.start}); save the file as CSV UTF-8"]) from None
    return parse(text, rubric, path)


def parse(text, rubric, path="<manual scores>"):
    """Validate CSV text against `rubric`: a ManualScores, or ManualScoresError listing every problem."""
    worth = {c.id: c.points for c in rubric.checks}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems, scores, seen = [], [], {}
    header_done = False
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {line}: not valid CSV ({exc})")
            break
        if not any(field.strip() for field in row):
            continue
        if not header_done:
            header_done = True
            names = tuple(field.strip().lower() for field in row)
            if names not in (HEADER, HEADER[:3]):
                problems.append(f"line {line}: the first line must be the header '{','.join(HEADER)}', "
                                f"got '{','.join(row)}'")
                break
            continue
        score, problem = _row(row, line, worth, rubric)
        if problem:
            problems.append(problem)
            continue
        key = (score.submission, score.check)
        if key in seen:
            problems.append(f"line {line}: a second score for submission '{score.submission}', check "
                            f"'{score.check}' (the first is on line {seen[key]})")
            continue
        seen[key] = line
        scores.append(score)
    if not header_done and not problems:
        problems.append(f"the file is empty: it needs the header line '{','.join(HEADER)}' and a row a score")
    if problems:
        raise ManualScoresError(path, problems)
    return ManualScores(str(path), tuple(scores))


def _row(row, line, worth, rubric):
    """(ManualScore, None) or (None, the problem) for one data row."""
    if len(row) < 3 or len(row) > 4:
        hint = "; put a comment containing commas in double quotes" if len(row) > 4 else ""
        return None, f"line {line}: {len(row)} fields, expected 3 or 4 ({', '.join(HEADER)}){hint}"
    submission, check, points_text = (field.strip() for field in row[:3])
    comment = row[3].strip() if len(row) == 4 else ""
    if not submission:
        return None, f"line {line}: the submission is empty (use its id, the first column of grades.csv)"
    if check not in worth:
        close = difflib.get_close_matches(check, list(worth), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return None, f"line {line}: no check '{check}' in the rubric of {rubric.assignment}{hint}"
    try:
        points = float(points_text)
    except ValueError:
        return None, f"line {line}: points '{points_text}' is not a number"
    if not math.isfinite(points) or points < 0:
        return None, f"line {line}: points must be a number from 0 to {worth[check]:g}, got '{points_text}'"
    if points > worth[check]:
        return None, f"line {line}: {points:g} points is more than check '{check}' is worth ({worth[check]:g})"
    return ManualScore(submission, check, points, comment, line), None


def check_submissions(scores, ids):
    """Raise ManualScoresError for every score of a submission not among `ids` (those graded)."""
    known = set(ids)
    problems = []
    for score in scores.scores:
        if score.submission not in known:
            close = difflib.get_close_matches(score.submission, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"line {score.line}: no submission '{score.submission}' among those graded{hint}")
    if problems:
        raise ManualScoresError(scores.path, problems)


def merge(result, scores):
    """A new SubmissionResult with the TA's scores of `result.submission` in its pending checks."""
    mine = scores.for_submission(result.submission)
    checks, warnings = [], []
    for check in result.checks:
        score = mine.pop(check.id, None)
        if score is None:
            checks.append(check)
        elif check.status != "pending":
            warnings.append(f"{scores.path}, line {score.line}: the score for check '{check.id}' was not applied: "
                            f"the grader {check.status} it, only checks awaiting a TA (pending) take manual scores")
            checks.append(check)
        else:
            checks.append(scored(check, score))
    for score in mine.values():
        warnings.append(f"{scores.path}, line {score.line}: the score for check '{score.check}' was not applied: "
                        "the check was not run for this submission")
    return dataclasses.replace(result, checks=tuple(checks), warnings=tuple(result.warnings) + tuple(warnings))


def scored(check, score):
    """A pending CheckResult with a TA's points and comment."""
    message = f"scored by a TA: {_num(score.points)} / {_num(check.max_points)}"
    if score.comment:
        message += f"\n{score.comment}"
    return dataclasses.replace(check, points=score.points, status="passed" if score.points > 0 else "failed",
                               message=message)


def _num(value):
    return int(value) if float(value).is_integer() else round(value, 2)

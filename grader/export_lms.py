"""Gradebook exports of a graded class (`grader export canvas|moodle GRADED`): CSV files to import.

Students are matched from the results in GRADED/results.jsonl (graded rows only; stale and
ungraded ones are left out and named) to the LMS by, in order: a `submission` column of the
roster holding the grader's id; the student number parsed out of the LMS export's names
(grader.batch.ids: Canvas `name_12345_67890_file.py` carries the Canvas user id, Moodle
`Full Name_12345_assignsubmission_file_` the assignment's participant number); the name.
- Canvas: its gradebook import CSV: Student, ID, SIS User ID, SIS Login ID, Section, then the
  assignment's column (`Name (id)` as Canvas exports it: pass --column to match), a "Points
  Possible" row first. Without a roster, ID is the number from the file name.
- Moodle: with a roster (a participants export), its grade import CSV keyed by "ID number" or
  "Email address"; without one, the assignment's grading worksheet ("Participant N" identifiers).
Names keep their accents (UTF-8, NFC); every cell is escaped and never read as a formula.
"""

import csv
import io
import json
import re
import unicodedata
from pathlib import Path

from grader import text
from grader.batch import ids
from grader.errors import GraderError

ROSTER_KEYS = {  # our name -> the header names LMS exports use (case-insensitive)
    "submission": ("submission", "grader id"),
    "name": ("student", "full name", "name"),
    "first": ("first name",), "last": ("surname", "last name"),
    "id": ("id", "canvas id", "user id", "participant", "identifier"),
    "sis_user": ("sis user id", "id number", "idnumber"),
    "sis_login": ("sis login id", "username", "login id"),
    "email": ("email address", "email"),
    "section": ("section", "group"),
}


def load_results(graded):
    """(graded results, notes on the rows left out) of a `grader grade` output folder."""
    path = Path(graded) / "results.jsonl"
    if not path.is_file():
        raise GraderError(f"{graded} is not a graded class folder: it has no results.jsonl (run grader grade first)")
    results, notes = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
        except ValueError:
            raise GraderError(f"{path}, line {number}: not JSON") from None
        if row.get("state", "graded") == "graded" and "score" in row:
            results.append(row)
        else:
            notes.append(f"{row.get('submission', '?')}: left out ({row.get('state', 'not graded')})")
    if not results:
        raise GraderError(f"no graded submission in {path}")
    return results, notes


def lms_identity(result):
    """(name, number) from the LMS names in a result's origin (Canvas or Moodle), else None."""
    for part in re.split(r"[/\\:]", result.get("source") or ""):
        found = ids.lms_name(part.strip())
        if found:
            return unicodedata.normalize("NFC", found[0]), found[1]
    return None


def read_roster(path):
    """The roster's rows with our keys (ROSTER_KEYS); any LMS export with a header row."""
    try:
        raw = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"--roster {path}: cannot read it ({exc})") from None
    reader = csv.DictReader(io.StringIO(raw))
    headers = {h.strip().casefold(): h for h in reader.fieldnames or ()}
    mapping = {key: next(headers[n] for n in names if n in headers) for key, names in ROSTER_KEYS.items()
               if any(n in headers for n in names)}
    if not mapping:
        raise GraderError(f"--roster {path}: no column it knows (e.g. Student, ID, ID number, Email address)")
    rows = []
    for row in reader:
        entry = {key: unicodedata.normalize("NFC", (row.get(column) or "").strip()) for key, column in mapping.items()}
        if not entry.get("name") and (entry.get("first") or entry.get("last")):
            entry["name"] = f"{entry.get('first', '')} {entry.get('last', '')}".strip()
        entry["id"] = re.sub(r"^participant\s*", "", entry.get("id", ""), flags=re.I)
        rows.append(entry)
    return rows


def _name_key(name):
    """A name compared loosely: accents and case kept apart from order ("Núñez, José" = "José Núñez")."""
    name = unicodedata.normalize("NFC", name or "").casefold()
    if "," in name:
        last, first = name.split(",", 1)
        name = f"{first} {last}"
    return " ".join(sorted(re.sub(r"[^\w]+", " ", name).split()))


def match(results, roster):
    """[(result, roster row or {}, how)] and the notes on results with no roster row."""
    by = {"submission": {}, "id": {}, "name": {}}
    for row in roster or ():
        for key, value in (("submission", row.get("submission")), ("id", row.get("id")), ("name", _name_key(row.get("name")))):
            if value:
                by[key].setdefault(value, row)
    strong, used = {}, set()
    for index, result in enumerate(results):  # by id first: a row matched so is not matched by name
        identity = lms_identity(result) or (result.get("name") or "", "")
        row = by["submission"].get(result["submission"]) or (identity[1] and by["id"].get(identity[1]))
        if row and id(row) not in used:
            strong[index] = row
            used.add(id(row))
    out, notes = [], []
    for index, result in enumerate(results):
        identity = lms_identity(result) or (result.get("name") or "", "")
        row = strong.get(index)
        if row is None and roster:
            row = by["name"].get(_name_key(identity[0])) or by["name"].get(_name_key(result.get("name")))
            if row is None or id(row) in used:
                notes.append(f"{result['submission']}: not in the roster (or its row is another's), left out")
                continue
            used.add(id(row))
        out.append((result, row or {}, identity))
    return out, notes


def _cell(value):
    value = text.inline(str(value), "line")
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _num(value):
    return int(value) if float(value).is_integer() else round(float(value), 2)


def _csv(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return buffer.getvalue()


def canvas(matched, column, max_score):
    """Canvas's gradebook import CSV."""
    rows = [["Points Possible", "", "", "", "", _num(max_score)]]
    for result, row, (name, number) in matched:
        rows.append([row.get("name") or result.get("name") or name, row.get("id") or number, row.get("sis_user", ""),
                     row.get("sis_login", ""), row.get("section", ""), _num(result["score"])])
    return _csv(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column], rows)


def moodle(matched, column, max_score, key="idnumber"):
    """Moodle's grade import CSV keyed by ID number or email (a roster), else its grading worksheet."""
    if not any(row for _, row, _ in matched):
        rows = [[f"Participant {number}" if number else "", result.get("name") or name, _num(result["score"]),
                 _num(max_score)] for result, _, (name, number) in matched]
        return _csv(["Identifier", "Full name", "Grade", "Maximum grade"], rows)
    field, header = ("email", "Email address") if key == "email" else ("sis_user", "ID number")
    missing = [result["submission"] for result, row, _ in matched if not row.get(field)]
    if missing:
        raise GraderError(f"the roster gives no {header} for {', '.join(missing[:5])}"
                          + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    rows = [[row[field], row.get("name") or result.get("name") or name, _num(result["score"])]
            for result, row, (name, _) in matched]
    return _csv([header, "Full name", column], rows)


def export(platform, graded, out, roster=None, column=None, key="idnumber"):
    """Write the `platform` ("canvas" or "moodle") CSV of the class in `graded`; returns (rows, notes)."""
    from grader.report.render import atomic_write

    results, notes = load_results(graded)
    matched, more = match(results, read_roster(roster) if roster else None)
    notes += more
    if not matched:
        raise GraderError("no graded submission matched the roster: " + "; ".join(notes[:3]))
    assignment = results[0].get("assignment", "grade")
    max_score = max(r.get("max_score", 0) for r in results)
    column = column or assignment
    data = canvas(matched, column, max_score) if platform == "canvas" else moodle(matched, column, max_score, key)
    if out == "-":
        return data, len(matched), notes
    atomic_write(Path(out), data)
    return None, len(matched), notes

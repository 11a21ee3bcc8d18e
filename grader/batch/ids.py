"""Stable, unique submission ids: from the LMS's student number where there is one, else the name.

An id depends only on its own input, never on what else is in the batch or on sort order:
- an LMS export names the student number (Canvas `name_12345_67890_file.py`, Moodle
  `Full Name_12345_assignsubmission_file_`): the id is `<name>_<number>`;
- otherwise the id is the name itself when it is already a clean id (`bob`, `bob-2`), or its
  ASCII transliteration (NFKD, accents dropped) plus a short hash of the original name when the
  transliteration loses anything (`Zoe-1f3a9c0b` for Zoé, `student-7d2e41aa` for 张伟), so that
  Zoé, Zoë and Zoe, or two non-Latin names, never share an id.
Two inputs that still get the same id (case-insensitively: Bob and bob clash on some disks) both
get a hash of their own origin (full path, zip member and index), so neither replaces the other.
Ids are made of `A-Z a-z 0-9 _ -`, never contain a dot nor start with `_`: no id can be the
name of the output folder's own files (grades.csv, index.html, results.jsonl, _unpacked).
"""

import hashlib
import re
import unicodedata

MAX_NAME = 48  # characters of the name kept in an id
_CLEAN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_CANVAS = re.compile(r"^(?P<who>[^_/]+?)(?:_LATE)?_(?P<num>\d+)_\d+_(?P<rest>.+)$")
_MOODLE = re.compile(r"^(?P<who>.+?)_(?P<num>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.*)$")


def digest(text, length=8):
    """A short stable hash of `text` (its NFC form, so a macOS and a Windows zip agree)."""
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8", "surrogatepass")).hexdigest()[:length]


def transliterate(text):
    """The ASCII letters and digits of `text` once accents are decomposed; runs of anything else
    become one `-` (`_` is kept)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9_]+", "-", ascii_text).strip("-_")[:MAX_NAME].strip("-_")


def name_id(name):
    """The id of a student known only by `name`: the name when it is clean, else its
    transliteration with a hash of the original."""
    if _CLEAN.match(name) and len(name) <= MAX_NAME:
        return name
    return f"{transliterate(name) or 'student'}-{digest(name)}"


def number_id(name, number):
    """The id of a student with an LMS student number: unique by the number alone."""
    return f"{transliterate(name) or 'student'}_{number}"


def lms_name(file_name):
    """(student name, student number, the file's own name) of an LMS-named file or folder, else None."""
    for pattern in (_MOODLE, _CANVAS):
        match = pattern.match(file_name)
        if match:
            return match["who"], match["num"], match["rest"]
    return None


def unique(items):
    """`items` [(id, origin)] -> their final ids: an id shared (case-insensitively) by several
    origins becomes `<id>-<hash of origin>` for each of them; origins are unique."""
    final = [wanted for wanted, _ in items]
    for length in (8, 16, 64):
        groups = {}
        for index, wanted in enumerate(final):
            groups.setdefault(wanted.casefold(), []).append(index)
        clashes = [indexes for indexes in groups.values() if len(indexes) > 1]
        if not clashes:
            return final
        for indexes in clashes:
            for index in indexes:
                final[index] = f"{items[index][0]}-{digest(items[index][1], length)}"
    raise ValueError("origins are not unique")  # only if two inputs have the same origin: a bug of ours

"""Every input exactly once, under a stable id: batches of awkward names, members and exports,
graded end to end through `grader grade` (one cheap check, the process sandbox: fast)."""

import base64
import collections
import csv
import io
import json
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
import yaml

from grader.batch import ids
from grader.batch.discover import discover

ROOT = Path(__file__).resolve().parents[1]
GRADER = str(Path(sys.executable).with_name("grader"))
CHECK = "conv_shapes"  # a cheap check of rubric/lab07_convnets.yaml
GOOD = ('def conv_parameter_shapes(in_channels, out_channels, kernel_size):\n'
        '    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size\n'
        '    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}\n')
WRONG = "def conv_parameter_shapes(in_channels, out_channels, kernel_size):\n    return {}\n"


# ---- helpers -------------------------------------------------------------------------------------

def notebook(code, image_bytes=0):
    """A notebook of one code cell, with `image_bytes` of PNG output (outputs are not code)."""
    outputs = []
    if image_bytes:
        png = base64.b64encode(os.urandom(image_bytes * 3 // 4)).decode()
        outputs = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": "<Figure>"}}]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": code, "outputs": outputs}]})


def zip_bytes(members):
    """members: [(name, bytes or str)], duplicate names allowed, stored (no compression)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": wanted here
        for name, body in members:
            zf.writestr(zipfile.ZipInfo(name), body)
    return buffer.getvalue()


def encrypt_flag(data, name):
    """`data` (a zip) with member `name` marked encrypted, in its local and central headers."""
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        offset = zf.getinfo(name).header_offset
    data[offset + 6] |= 1
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + length] == name.encode():
            data[at + 8] |= 1
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


@pytest.fixture(scope="module")
def one_check(tmp_path_factory):
    raw = yaml.safe_load((ROOT / "rubric" / "lab07_convnets.yaml").read_text())
    raw["checks"] = [dict(c, time_limit=10) for c in raw["checks"] if c["id"] == CHECK]
    raw["import_time_limit"] = 30
    path = tmp_path_factory.mktemp("rubric") / "lab07_convnets.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def grade(paths, out, rubric, *extra):
    return subprocess.run([GRADER, "grade", *map(str, paths), "--assignment", "lab07_convnets", "--rubric",
                           str(rubric), "--out", str(out), "--sandbox", "process", *map(str, extra)],
                          capture_output=True, text=True, timeout=900)


def gradebook(out):
    with open(out / "grades.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def outcome(out, row):
    """(status of the check, its message, score) of one row of grades.csv."""
    result = json.loads((out / row["submission"] / "results.json").read_text(encoding="utf-8"))
    check = {c["id"]: c for c in result["checks"]}[CHECK]
    return check["status"], check["message"], result["score"]


def assert_exactly(out, expected):
    """grades.csv holds exactly the `expected` students (name -> [(status, message part)]), each
    input once, with its status; returns name -> [rows]."""
    table = gradebook(out)
    names = collections.Counter(row["name"] for row in table)
    assert names == collections.Counter({n: len(v) for n, v in expected.items()}), names
    assert len({row["submission"] for row in table}) == len(table)
    by_name = collections.defaultdict(list)
    for row in table:
        by_name[row["name"]].append(row)
    for name, wanted in expected.items():
        got = sorted(outcome(out, row)[:2] for row in by_name[name])
        for (status, message), (want_status, part) in zip(got, sorted(wanted)):
            assert status == want_status, (name, status, message)
            assert part.lower() in message.lower(), (name, message)
    return by_name


# ---- one batch of every awkward input ------------------------------------------------------------

def _names_folder(folder):
    """Plain files and student folders: collisions, accents, CJK, reserved and odd names."""
    folder.mkdir()
    files = {"bob!.py": GOOD, "bob-2.py": WRONG, "bob.py": GOOD, "Zoé.py": GOOD, "Zoë.py": WRONG,
             "张伟.py": GOOD, "李娜.py": WRONG, "grades.csv.py": GOOD, "index.html.py": WRONG,
             "results.jsonl.py": GOOD, "_unpacked.py": GOOD, "upper.PY": GOOD, "mixed.Py": GOOD,
             "nb.IPYNB": notebook(GOOD), "figures.ipynb": notebook(GOOD, image_bytes=7 << 20),
             "code_heavy.ipynb": notebook(GOOD + "#" * (6 << 20) + "\n"), "notes.txt": "not a submission",
             ".DS_Store": "metadata"}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "link.py").symlink_to(folder / "bob.py")
    os.mkfifo(folder / "pipe.py")
    (folder / "helped").mkdir()
    (folder / "helped" / "lab07_convnets.py").write_text(GOOD)
    (folder / "helped" / "helper.py").write_text("X = 1\n")
    (folder / "two_files").mkdir()
    (folder / "two_files" / "a.py").write_text(GOOD)
    (folder / "two_files" / "b.py").write_text(GOOD)


def _export_zip(path):
    """A Canvas/Moodle-style export with nested, oversized and crashing members."""
    deep = zip_bytes([("inner1.zip", zip_bytes([("inner2.zip", zip_bytes([("lab07_convnets.py", GOOD)]))]))])
    members = [
        ("canvas_1_10_lab07_convnets.PY", GOOD),
        ("__MACOSX/._canvas_1_10_lab07_convnets.PY", "resource fork"), ("._stray.py", "x"), (".DS_Store", "x"),
        ("own_2_11_mywork.zip", zip_bytes([("lab07_convnets/lab07_convnets.ipynb", notebook(GOOD))])),
        ("deep_3_12_deep.zip", deep),
        ("big_4_13_lab07_convnets.ipynb", notebook(GOOD, image_bytes=25 << 20)),
        ("huge_5_14_lab07_convnets.ipynb", notebook(GOOD, image_bytes=70 << 20)),
        ("long_6_15_" + "x" * 300 + ".py", GOOD),
        ("clash_7_16_lab07_convnets.py", GOOD), ("clash_7_16_lab07_convnets.py/inner.py", GOOD),
        ("crc_8_17_lab07_convnets.py", GOOD + "# MARKER-CRC\n"),
        ("enc_9_18_lab07_convnets.py", GOOD),
        ("Dora Díaz_31_assignsubmission_file_\\lab07_convnets.py", GOOD),
        ("Eve Ng_32_assignsubmission_file_\\sub\\lab07_convnets.py", WRONG),
        ("dup.py", GOOD), ("dup.py", WRONG),
        ("twice_10_19_lab07_convnets.py", GOOD), ("twice_10_19_lab07_convnets.py", GOOD),
    ]
    data = encrypt_flag(zip_bytes(members), "enc_9_18_lab07_convnets.py")
    path.write_bytes(data.replace(b"# MARKER-CRC", b"# MARKER-CRD"))
    return path


EXPECTED = {
    "bob!": [("passed", "")], "bob-2": [("failed", "")], "bob": [("passed", "")],
    "Zoé": [("passed", "")], "Zoë": [("failed", "")], "张伟": [("passed", "")], "李娜": [("failed", "")],
    "grades.csv": [("passed", "")], "index.html": [("failed", "")], "results.jsonl": [("passed", "")],
    "_unpacked": [("passed", "")], "upper": [("passed", "")], "mixed": [("passed", "")], "nb": [("passed", "")],
    "figures": [("passed", "")], "code_heavy": [("error", "at most 5 MB")],
    "link": [("error", "symbolic link")], "pipe": [("error", "not a regular file")],
    "helped": [("passed", "")], "two_files": [("error", "several candidate files (two_files/a.py, two_files/b.py)")],
    "canvas": [("passed", "")], "own": [("passed", "")], "deep": [("error", "more than 2 levels deep")],
    "big": [("passed", "")], "huge": [("error", "larger than the 64 MB accepted")],
    "long": [("error", "over 255 bytes")], "clash": [("error", "both a file and a folder")],
    "crc": [("error", "Bad CRC")], "enc": [("error", "encrypted")],
    "Dora Díaz": [("passed", "")], "Eve Ng": [("failed", "")],
    "dup": [("failed", ""), ("passed", "")], "twice": [("error", "several candidate files")],
    "broken": [("error", "not a readable zip file")],
}


@pytest.fixture(scope="module")
def awkward(tmp_path_factory, one_check):
    root = tmp_path_factory.mktemp("awkward")
    _names_folder(root / "names")
    _export_zip(root / "export.zip")
    (root / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    out = root / "out"
    done = grade([root / "names", root / "export.zip", root / "broken.zip"], out, one_check, "--workers", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done, assert_exactly(out, EXPECTED)


@pytest.mark.slow
@pytest.mark.sandbox
def test_every_input_gets_exactly_one_row_with_its_status(awkward):
    out, done, _ = awkward
    assert "Traceback" not in done.stderr
    assert "ignored 3 metadata entries" in done.stdout and "notes.txt" in done.stdout
    assert "helped: graded helped/lab07_convnets.py; not graded: helped/helper.py" in done.stdout


@pytest.mark.slow
@pytest.mark.sandbox
def test_colliding_names_get_distinct_ids_and_keep_their_own_grades(awkward):
    out, _, rows = awkward
    assert rows["bob"][0]["submission"] == "bob" and rows["bob"][0]["score"] == "1"
    assert rows["bob-2"][0]["submission"] == "bob-2" and rows["bob-2"][0]["score"] == "0"  # not overwritten
    assert rows["bob!"][0]["submission"] == ids.name_id("bob!") != "bob-2"


@pytest.mark.slow
@pytest.mark.sandbox
def test_accented_and_cjk_names_get_distinct_ids_from_their_own_name(awkward):
    _, _, rows = awkward
    got = {name: rows[name][0]["submission"] for name in ("Zoé", "Zoë", "张伟", "李娜")}
    assert len(set(got.values())) == 4
    assert got == {name: ids.name_id(name) for name in got}
    assert all(i.isascii() for i in got.values()) and got["Zoé"].startswith("Zoe-")


@pytest.mark.slow
@pytest.mark.sandbox
def test_reserved_names_cannot_take_the_class_files(awkward):
    out, _, rows = awkward
    assert (out / "grades.csv").is_file() and (out / "index.html").is_file() and (out / "results.jsonl").is_file()
    assert (out / "_unpacked").is_dir()
    for name in ("grades.csv", "index.html", "results.jsonl", "_unpacked"):
        submission = rows[name][0]["submission"]
        assert "." not in submission and not submission.startswith("_")
        assert (out / submission / "results.json").is_file()
    assert not list(out.glob(".*.tmp*")) and not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
@pytest.mark.sandbox
def test_odd_suffixes_nested_and_oversized_members_are_graded_or_say_why(awkward):
    out, _, rows = awkward
    for name in ("upper", "mixed", "nb", "canvas", "own", "big", "figures"):
        assert rows[name][0]["score"] == "1", name
    assert rows["canvas"][0]["submission"] == "canvas_1" and rows["own"][0]["submission"] == "own_2"
    assert "__MACOSX" not in {r["submission"] for r in gradebook(out)}


@pytest.mark.slow
@pytest.mark.sandbox
def test_windows_member_names_are_folders(awkward):
    _, _, rows = awkward
    assert rows["Dora Díaz"][0]["submission"] == "Dora-Diaz_31"
    assert rows["Eve Ng"][0]["submission"] == "Eve-Ng_32"


@pytest.mark.slow
@pytest.mark.sandbox
def test_duplicate_members_are_both_kept(awkward):
    _, _, rows = awkward
    assert sorted(r["score"] for r in rows["dup"]) == ["0", "1"]
    assert all(r["submission"].startswith("dup-") for r in rows["dup"])
    assert rows["twice"][0]["submission"] == "twice_10"


# ---- batches over time: a student added, a second export, manual scores --------------------------

@pytest.mark.slow
@pytest.mark.sandbox
def test_ids_stay_when_students_join_and_a_second_export_grades_only_its_own_files(tmp_path, one_check):
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, text in {"Zoé.py": GOOD, "Zoë.py": WRONG, "bob.py": GOOD}.items():
        (folder / name).write_text(text, encoding="utf-8")
    export = tmp_path / "lab07_convnets.zip"
    export.write_bytes(zip_bytes([("a_1_10_lab07_convnets.py", GOOD), ("b_2_11_lab07_convnets.py", GOOD)]))
    out = tmp_path / "out"
    first = grade([folder, export], out, one_check)
    assert first.returncode == 0, first.stderr[-3000:]
    before = {r["name"]: r["submission"] for r in gradebook(out)}
    (folder / "Zoà.py").write_text(GOOD, encoding="utf-8")
    (folder / "Zoe.py").write_text(WRONG, encoding="utf-8")
    export.write_bytes(zip_bytes([("a_1_12_lab07_convnets.py", WRONG), ("c_3_13_lab07_convnets.py", GOOD)]))
    scores = tmp_path / "scores.csv"
    scores.write_text(f"submission,check,points\n{before['Zoé']},{CHECK},1\n", encoding="utf-8")
    second = grade([folder, export], out, one_check, "--manual-scores", scores)
    assert second.returncode == 0, second.stderr[-3000:]
    rows = assert_exactly(out, {"Zoé": [("passed", "")], "Zoë": [("failed", "")], "Zoà": [("passed", "")],
                                "Zoe": [("failed", "")], "bob": [("passed", "")], "a": [("failed", "")],
                                "b": [("passed", "")], "c": [("passed", "")]})  # b graded before: its row kept
    after = {name: found[0]["submission"] for name, found in rows.items()}
    assert {k: after[k] for k in ("Zoé", "Zoë", "bob", "a")} == {k: before[k] for k in ("Zoé", "Zoë", "bob", "a")}
    assert after["Zoe"] == "Zoe" and len(set(after.values())) == 8
    assert rows["a"][0]["score"] == "0"  # the new attempt, not the stale one left unpacked by the first run
    assert len(list((out / "_unpacked").iterdir())) == 1  # the first run's extraction is gone
    assert f"{before['Zoé']}: " in second.stdout  # the manual score was taken (and reported: not pending)


@pytest.mark.sandbox
def test_a_manual_score_for_an_id_no_longer_in_the_batch_is_refused_not_moved(tmp_path, one_check):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "Zoé.py").write_text(GOOD, encoding="utf-8")
    (folder / "Zoë.py").write_text(WRONG, encoding="utf-8")
    gone = ids.name_id("Zoà")  # graded last week; her file is not in this batch
    scores = tmp_path / "scores.csv"
    scores.write_text(f"submission,check,points\n{gone},{CHECK},1\n", encoding="utf-8")
    out = tmp_path / "out"
    refused = grade([folder], out, one_check, "--manual-scores", scores)
    assert refused.returncode == 2 and f"no submission '{gone}'" in refused.stderr, refused.stderr[-2000:]
    assert not (out / "grades.csv").exists()
    sources, _ = discover([folder], "lab07_convnets", tmp_path / "unpacked")  # the other ids are unchanged
    assert sorted(s.id for s in sources) == sorted(ids.name_id(n) for n in ("Zoé", "Zoë")) and gone not in \
        {s.id for s in sources}


# ---- ids alone (no child) ------------------------------------------------------------------------

def test_ids_depend_only_on_their_own_input():
    assert ids.name_id("bob") == "bob" and ids.name_id("bob-2") == "bob-2"
    assert ids.name_id("bob!") != ids.name_id("bob") and ids.name_id("bob!").startswith("bob-")
    assert len({ids.name_id(n) for n in ("Zoé", "Zoë", "Zoà", "Zoe", "张伟", "李娜")}) == 6
    assert ids.name_id("Zoe\u0301") == ids.name_id("Zoé")  # NFD (macOS) and NFC name the same student
    assert ids.number_id("Carol Smith", "4242") == "Carol-Smith_4242" and ids.number_id("张伟", "7") == "student_7"
    for name in ("grades.csv", "index.html", "results.jsonl", "_unpacked", ".hidden", "..", "a/b"):
        made = ids.name_id(name)
        assert "." not in made and "/" not in made and not made.startswith(("_", "-"))
    items = [("bob", "x/bob.py"), ("bob", "y/bob.py"), ("Bob", "z/Bob.py"), ("carol", "carol.py")]
    assert ids.unique(items) == list(reversed(ids.unique(list(reversed(items)))))  # not by order
    assert len(set(ids.unique(items))) == 4 and ids.unique(items)[3] == "carol"

"""What bwrap mounts beyond the interpreter (grader.sandbox.bwrap._path_entries): folders of packages
on sys.path (added by .pth files or the user site) and the targets of their symlinks, but never the
working directory, a folder above the grader's own package, or one that holds a course."""

import sys

from grader.sandbox import bwrap, launch


def test_package_folders_and_their_symlink_targets_are_mounted_and_course_folders_never(tmp_path, monkeypatch):
    packages, elsewhere = tmp_path / "packages", tmp_path / "elsewhere"
    for folder in (packages, elsewhere / "torchlike"):
        folder.mkdir(parents=True)
    (elsewhere / "one_file_module.py").write_text("X = 1\n")
    (packages / "torchlike").symlink_to(elsewhere / "torchlike")
    (packages / "one_file_module.py").symlink_to(elsewhere / "one_file_module.py")
    course = tmp_path / "course"
    (course / "rubric").mkdir(parents=True)
    (packages / "course_link").symlink_to(course)  # a symlink into a course is not followed
    solutions = tmp_path / "solutions"
    (solutions / "reference_solutions").mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "path", ["", str(packages), str(course), str(solutions), str(work),
                                      str(launch.PACKAGE_ROOT), str(launch.PACKAGE_ROOT.parent), "relative/dir",
                                      str(tmp_path / "missing")])
    found = bwrap._path_entries(bwrap._python_paths())
    assert found[0] == packages and sorted(found[1:]) == [elsewhere / "one_file_module.py", elsewhere / "torchlike"]


def test_nothing_already_mounted_is_mounted_twice(monkeypatch):
    mounted = bwrap._python_paths()
    monkeypatch.setattr(sys, "path", [str(p) for p in mounted])
    assert bwrap._path_entries(mounted) == []

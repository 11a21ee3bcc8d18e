"""What bwrap mounts beyond the interpreter (grader.sandbox.bwrap._path_entries): the folders .pth
files add and the user site, with the targets of their symlinks, but never a folder that is on
sys.path for another reason (PYTHONPATH, a program's own insert), the working directory, a folder
above the grader's own package, or one that holds a course."""

import site
import sys

from grader.sandbox import bwrap, launch


def _fake_site(tmp_path, monkeypatch, pth_lines, user=None):
    site_dir = tmp_path / "site-packages"
    site_dir.mkdir()
    (site_dir / "extra.pth").write_text("\n".join(pth_lines) + "\n")
    monkeypatch.setattr(site, "getsitepackages", lambda: [str(site_dir)])
    monkeypatch.setattr(site, "getusersitepackages", lambda: str(user or tmp_path / "no-user-site"))
    return site_dir


def test_pth_folders_and_their_symlink_targets_are_mounted_and_course_folders_never(tmp_path, monkeypatch):
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
    _fake_site(tmp_path, monkeypatch, ["# a comment", "import os", str(packages), str(course), str(solutions),
                                       str(work), str(launch.PACKAGE_ROOT), str(tmp_path / "missing")])
    found = bwrap._path_entries(bwrap._python_paths())
    assert found[0] == packages and sorted(found[1:]) == [elsewhere / "one_file_module.py", elsewhere / "torchlike"]


def test_a_folder_on_sys_path_for_another_reason_is_not_mounted(tmp_path, monkeypatch):
    tools = tmp_path / "ta_tools"  # PYTHONPATH=ta_tools, or a program's sys.path.insert
    tools.mkdir()
    (tools / "answers.py").write_text("SECRET = 1\n")
    user = tmp_path / "user-site"
    user.mkdir()
    _fake_site(tmp_path, monkeypatch, ["# nothing"], user=user)
    monkeypatch.setattr(sys, "path", [*sys.path, str(tools)])
    assert bwrap._path_entries(bwrap._python_paths()) == [user]


def test_nothing_already_mounted_is_mounted_twice(tmp_path, monkeypatch):
    mounted = bwrap._python_paths()
    _fake_site(tmp_path, monkeypatch, [str(p) for p in mounted])
    assert bwrap._path_entries(mounted) == []

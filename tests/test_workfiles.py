"""The parent's writes into the child's work folder never follow links, block on FIFOs or recurse."""

import os

import pytest

from grader.sandbox import workfiles


def test_put_writes_a_new_file_with_a_random_name(tmp_path):
    a = workfiles.put(tmp_path, ".npz", b"one")
    b = workfiles.put(tmp_path, ".npz", b"two")
    assert a != b and (tmp_path / a).read_bytes() == b"one"


def test_put_never_writes_through_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "work").mkdir()
    os.symlink(victim, tmp_path / "work" / "lab.py")
    with pytest.raises(FileExistsError):
        workfiles.put(tmp_path / "work", ".py", b"owned", name="lab.py")
    assert victim.read_text() == "keep"


def test_put_never_blocks_on_a_planted_fifo(tmp_path):
    os.mkfifo(tmp_path / "lab.py")
    with pytest.raises(FileExistsError):
        workfiles.put(tmp_path, ".py", b"x", name="lab.py")


def test_trees_deeper_than_python_recursion_are_removed(tmp_path):
    path = tmp_path / "deep"
    os.makedirs(path)
    here = os.getcwd()
    os.chdir(path)
    try:
        for _ in range(1200):
            os.mkdir("d")
            os.chdir("d")
    finally:
        os.chdir(here)
    workfiles.remove_tree(path)
    assert not path.exists()


def test_empty_keeps_the_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").write_text("x")
    os.symlink("/etc/passwd", tmp_path / "link")
    workfiles.empty(tmp_path)
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []
    assert os.path.exists("/etc/passwd")

"""The release bundle installs from itself alone in a fresh venv where torch and torchvision came
first (they are not installed again), and `grader check` run there, outside the repository,
gives the template and the reference the statuses it gives them in the repository."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from grader.release import release

ROOT = Path(__file__).resolve().parents[1]
NAME = "lab07_convnets"
GRADER = str(Path(sys.executable).with_name("grader"))


def test_the_wheel_accepts_a_range_of_torch(tmp_path):
    release(ROOT, NAME, tmp_path)
    wheel = next(tmp_path.glob("grader-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    torch = [r for r in requires if r.split(">")[0].split("<")[0].split("=")[0].strip() in ("torch", "torchvision")]
    assert len(torch) == 2 and all("==" not in r and ">=" in r for r in torch), torch
    assert not [r for r in requires if r.startswith("distributed") and "extra ==" not in r]  # Dask is an extra


def preinstalled(tmp_path):
    """A folder that shows this venv's packages (torch, torchvision, ...) but not the grader."""
    site = Path(sysconfig.get_paths()["purelib"])
    view = tmp_path / "preinstalled"
    view.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("grader", "__editable__", "_grader")) or name.endswith((".pth", ".egg-link")):
            continue
        (view / entry.name).symlink_to(entry)
    return view


def statuses(grader, file, cwd):
    done = subprocess.run([grader, "check", str(file), "--json", "-"], cwd=cwd, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return {c["id"]: c["status"] for c in json.loads(done.stdout)["checks"]}


@pytest.fixture(scope="module")
def installed_bundle(tmp_path_factory):
    """A release bundle installed, by its README's own line, into a fresh venv that had torch first."""
    tmp_path = tmp_path_factory.mktemp("install")
    bundle = tmp_path / "bundle"
    release(ROOT, NAME, bundle)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", "setuptools"], capture_output=True, timeout=120)
    Path(purelib, "preinstalled.pth").write_text(str(preinstalled(tmp_path)) + "\n")  # torch etc. came first
    readme = (bundle / "README.md").read_text()
    line = next(x.strip() for x in readme.splitlines() if x.strip().startswith("python -m pip install ./"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run([str(python), *line.split()[1:]], cwd=bundle, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    installed = [x for x in done.stdout.splitlines() if x.startswith("Successfully installed")]
    assert installed and "torch" not in installed[0] and "grader-" in installed[0], done.stdout
    grader = str(venv / "bin" / "grader")
    return bundle, grader


@pytest.mark.slow
def test_a_fresh_venv_installs_the_bundle_without_torch_again(installed_bundle):
    bundle, grader = installed_bundle
    here = subprocess.run([grader, "--version"], capture_output=True, text=True, cwd=bundle)
    assert here.returncode == 0 and here.stdout.strip(), here.stderr


@pytest.mark.slow
@pytest.mark.sandbox
def test_the_installed_bundle_checks_as_the_repository(installed_bundle, tmp_path):
    bundle, grader = installed_bundle
    shutil.copy(ROOT / "reference_solutions" / f"{NAME}.py", tmp_path / "reference.py")
    repository = {w: statuses(GRADER, ROOT / w / f"{NAME}.py", ROOT) for w in ("student_template", "reference_solutions")}
    assert set(repository["reference_solutions"].values()) <= {"passed", "pending"}
    (bundle / "mine").mkdir()
    shutil.copy(ROOT / "reference_solutions" / f"{NAME}.py", bundle / "mine" / f"{NAME}.py")
    bundled = {"student_template": statuses(grader, f"{NAME}.py", bundle),
               "reference_solutions": statuses(grader, bundle / "mine" / f"{NAME}.py", bundle)}
    assert bundled == repository


@pytest.mark.slow
@pytest.mark.sandbox
def test_in_the_installed_venv_the_sandbox_has_torch_and_not_the_graders_package(installed_bundle, tmp_path):
    """torch reached through a .pth file (installed before the grader) is mounted into bwrap; the
    grader's own package, installed inside site-packages, is not importable there."""
    from grader.sandbox import bwrap

    ok, why = bwrap.available()
    assert ok, why
    bundle, grader = installed_bundle
    python = str(Path(grader).with_name("python"))
    probe = ("import importlib.util, json, os; import torch; "
             "print(json.dumps([os.path.isfile('/opt/grader/grader/sandbox/child_main.py'), "
             "importlib.util.find_spec('grader.checks') is not None]))")  # /opt/grader is not on sys.path
    driver = ("import subprocess, sys, tempfile; from grader.sandbox import bwrap; "
              "args = bwrap._bwrap_args(tempfile.mkdtemp(), 0); "
              f"done = subprocess.run(args + [sys.executable, '-c', {probe!r}], capture_output=True, text=True); "
              "print(done.stdout, done.stderr[-2000:])")
    done = subprocess.run([python, "-c", driver], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.stdout.split()[:2] == ["[true,", "false]"], done.stdout + done.stderr

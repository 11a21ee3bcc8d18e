"""The grader as a wheel for a release bundle, made from the installed package itself.

`grader release` must work wherever the grader is installed (a wheel, or `pip install -e .` of
the repository), so the wheel is written here rather than by a build tool: the package's files
(no caches), and metadata from the repository's pyproject.toml when the package sits in one,
else from the installed distribution. It is a pure-Python wheel (py3-none-any) whose
Requires-Dist accepts a range of torch and torchvision: installing it keeps the student's own.
The same package files always give the same bytes (fixed dates, sorted entries).
"""

import base64
import hashlib
import io
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
DATE = (2026, 1, 1, 0, 0, 0)
WHEEL = "Wheel-Version: 1.0\nGenerator: grader.wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def project_metadata(pyproject=PYPROJECT):
    """(name, version, METADATA text, entry_points.txt text) from a pyproject.toml's [project]."""
    project = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))["project"]
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}",
             f"Summary: {project.get('description', '')}", f"Requires-Python: {project.get('requires-python', '')}"]
    lines += [f"Requires-Dist: {req}" for req in project.get("dependencies", [])]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {req}; extra == "{extra}"' for req in reqs]
    scripts = project.get("scripts", {})
    entry_points = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items()) if scripts else ""
    return project["name"], project["version"], "\n".join(lines) + "\n", entry_points


def installed_metadata(name="grader"):
    """The same four from the installed distribution (a grader installed from a wheel)."""
    dist = metadata.distribution(name)
    return dist.metadata["Name"], dist.version, dist.read_text("METADATA"), dist.read_text("entry_points.txt") or ""


def package_files(package=PACKAGE):
    """(archive name, bytes) of every file of the package but caches, sorted."""
    out = []
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            out.append((f"{package.name}/{path.relative_to(package).as_posix()}", path.read_bytes()))
    return out


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}\n"


def build(out_dir):
    """Write the grader's wheel into `out_dir`; returns its path."""
    name, version, meta, entry_points = project_metadata() if PYPROJECT.is_file() else installed_metadata()
    dist_info = f"{name}-{version}.dist-info"
    files = package_files() + [(f"{dist_info}/METADATA", meta.encode()), (f"{dist_info}/WHEEL", WHEEL.encode())]
    if entry_points:
        files.append((f"{dist_info}/entry_points.txt", entry_points.encode()))
    record = "".join(_record_line(n, d) for n, d in files) + f"{dist_info}/RECORD,,\n"
    files.append((f"{dist_info}/RECORD", record.encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for archive_name, data in files:
            info = zipfile.ZipInfo(archive_name, date_time=DATE)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    path = Path(out_dir) / f"{name}-{version}-py3-none-any.whl"
    path.write_bytes(buffer.getvalue())
    return path

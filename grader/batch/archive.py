"""Safe extraction of LMS exports (zip): nothing lands outside the target folder.

Members with absolute paths or `..` components and symbolic links are skipped, and the member
count, each member's size, the total size and the compression ratio are capped (zip bombs). What
was skipped is reported, never silently dropped.
"""

import stat
import zipfile
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError

MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = 20 << 20
MAX_TOTAL_BYTES = 500 << 20
MAX_RATIO = 200


def extract_zip(archive, target):
    """Extract `archive` into `target`; returns (extracted paths, skipped messages)."""
    target = Path(target).resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{Path(archive).name} is not a readable zip file ({exc})") from None
    extracted, skipped, total = [], [], 0
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise SubmissionError(f"{Path(archive).name} has {len(members)} members; at most {MAX_MEMBERS} are accepted")
        for info in members:
            problem = _unsafe(info, target)
            if problem:
                skipped.append(f"{info.filename}: {problem}")
                continue
            if info.is_dir():
                continue
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise SubmissionError(f"{Path(archive).name} unpacks to more than {MAX_TOTAL_BYTES >> 20} MB")
            destination = target / PurePosixPath(info.filename)
            destination.parent.mkdir(parents=True, exist_ok=True)
            _copy_member(zf, info, destination)
            extracted.append(destination)
    return extracted, skipped


def _unsafe(info, target):
    name = PurePosixPath(info.filename.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or not name.parts:
        return "path leaves the extraction folder"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"larger than {MAX_MEMBER_BYTES >> 20} MB"
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        return f"compression ratio above {MAX_RATIO} (a zip bomb?)"
    if not (target / name).resolve().is_relative_to(target):
        return "path leaves the extraction folder"
    return None


def _copy_member(zf, info, destination):
    """Copy with a hard byte cap (the declared size may lie); never follows an existing link."""
    if destination.is_symlink():
        destination.unlink()
    written = 0
    with zf.open(info) as src, open(destination, "wb") as dst:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > MAX_MEMBER_BYTES:
                raise SubmissionError(f"{info.filename} is larger than it claims (over {MAX_MEMBER_BYTES >> 20} MB)")
            dst.write(chunk)

"""Safe extraction of LMS exports (zip): nothing lands outside the target, no member crashes the batch.

Each member is written to a folder of its own (`<target>/<index>/<name>`), so member names can
neither escape the target nor clash with one another (a file and a folder of the same name, two
members of the same name: each is kept, as a member of its own). A member that cannot be
extracted gets a problem instead of a path, and the batch goes on: a `..` or absolute path, a
link, a name component over 255 bytes, a name that is both a file and a folder, an encrypted
member, a bad CRC or unsupported compression, one over the size or ratio caps (zip bombs), or
past the archive's total budget. `\\` separates folders as `/` does (zips made on Windows).
Metadata (`__MACOSX/`, `.DS_Store`, `._x` AppleDouble files, hidden folders) is left out, with a
note. Only a zip that cannot be opened at all, or has too many members, is refused as a whole.
"""

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError

MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = 64 << 20  # above staging's 50 MB file cap, so that the reason given is the real one
MAX_TOTAL_BYTES = 500 << 20
MAX_RATIO = 200
MAX_COMPONENT_BYTES = 255  # what Linux, macOS and Windows file systems allow in one name
METADATA = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini", "__pycache__", ".ipynb_checkpoints"}
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError)


@dataclass(frozen=True)
class Member:
    """One file of an archive: its name there ('/'-separated), position, where it was written
    (None with `problem` when it could not be)."""

    name: str
    index: int
    path: Path | None
    problem: str = ""

    @property
    def parts(self):
        return tuple(p for p in self.name.split("/") if p not in ("", "."))


class Budget:
    """What one export may unpack to, nested zips included (the same caps for all of them)."""

    def __init__(self, members=MAX_MEMBERS, total=MAX_TOTAL_BYTES):
        self.members, self.total = members, total


def is_metadata(parts):
    """True for files an OS or an editor adds (macOS resource forks, Finder and Explorer files,
    caches, hidden folders): never a submission."""
    return any(p in METADATA or (p.startswith(".") and p not in (".", "..")) for p in parts)


def unpack(archive, target, budget=None):
    """Extract `archive` into the new folder `target`; returns ([Member], notes). Raises
    SubmissionError only when the archive as a whole is unreadable or has too many members."""
    budget = budget or Budget()
    target = Path(target)
    label = Path(archive).name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise SubmissionError(f"{label} is not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        budget.members -= len(infos)
        if budget.members < 0:
            raise SubmissionError(f"{label} has {len(infos)} members; at most {MAX_MEMBERS} are accepted in all")
        target.mkdir(parents=True, exist_ok=False)
        names = [_name(info) for info in infos]
        folders = {"/".join(parts[:i]) for parts in (_parts(n) for n in names) for i in range(1, len(parts))}
        folders |= {"/".join(_parts(n)) for n, info in zip(names, infos) if info.is_dir()}
        members, metadata = [], []
        for index, (info, name) in enumerate(zip(infos, names)):
            if info.is_dir() or name.endswith("/"):
                continue
            if is_metadata(_parts(name)):
                metadata.append(name)
                continue
            problem = _unsafe(info, name, folders) or _over_budget(info, budget)
            path = None if problem else target / str(index) / _disk_name(_parts(name)[-1])
            if path is not None:
                problem = _extract(zf, info, path, budget)
                path = None if problem else path
            members.append(Member(name, index, path, problem))
    notes = [f"{label}: ignored {len(metadata)} metadata entr{'y' if len(metadata) == 1 else 'ies'} "
             f"({', '.join(metadata[:3])}{', ...' if len(metadata) > 3 else ''})"] if metadata else []
    return members, notes


def extract_zip(archive, target):
    """(extracted paths, messages on the members that were not extracted): `unpack` in short."""
    members, _ = unpack(archive, target)
    return [m.path for m in members if m.path], [f"{m.name}: {m.problem}" for m in members if m.problem]


def _name(info):
    """The member's name as its author wrote it: UTF-8 names without the UTF-8 flag (many tools
    write those) are decoded as UTF-8, and `\\` is a separator."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name.replace("\\", "/")


def _parts(name):
    return tuple(p for p in name.split("/") if p not in ("", "."))


def _unsafe(info, name, folders):
    """Why the member cannot be extracted as it stands (None when it can)."""
    parts = _parts(name)
    if name.startswith("/") or ".." in parts or not parts or (len(parts[0]) == 2 and parts[0][1] == ":"):
        return "its path leaves the archive (absolute, or with '..')"
    if "\0" in name:
        return "its name holds a NUL byte"
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_COMPONENT_BYTES for p in parts):
        return f"a part of its name is over {MAX_COMPONENT_BYTES} bytes, more than a file system allows"
    if "/".join(parts) in folders:
        return "its name is both a file and a folder in the archive"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link (not followed)"
    if info.flag_bits & 0x1:
        return "encrypted (password-protected); hand it in without a password"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"{info.file_size / 1e6:.0f} MB, larger than the {MAX_MEMBER_BYTES >> 20} MB accepted"
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        return f"compression ratio above {MAX_RATIO} (a zip bomb?)"
    return None


def _over_budget(info, budget):
    if info.file_size > budget.total:
        return f"the export unpacks to more than {MAX_TOTAL_BYTES >> 20} MB; this member was left out"
    return None


def _disk_name(name):
    """A name safe to write: the member's own when short and printable, else `member<suffix>`."""
    suffix = PurePosixPath(name).suffix
    if len(name.encode("utf-8", "surrogatepass")) > 120 or not name.isprintable() or len(suffix) > 12:
        return "member" + (suffix if suffix.isprintable() and len(suffix) <= 12 else "")
    return name


def _extract(zf, info, destination, budget):
    """Copy one member with hard byte caps (the declared size may lie), counted against the
    export's budget; the problem, or ''."""
    written, cap = 0, min(MAX_MEMBER_BYTES, budget.total)
    try:
        destination.parent.mkdir(parents=True)
        with zf.open(info) as src, open(destination, "xb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > cap:
                    raise SubmissionError(f"larger than it claims (over {cap >> 20} MB, the most it may take)")
                dst.write(chunk)
    except SubmissionError as exc:
        problem = str(exc)
    except READ_ERRORS as exc:
        problem = f"cannot be extracted ({type(exc).__name__}: {exc})"
    else:
        budget.total -= written
        return ""
    budget.total -= written
    destination.unlink(missing_ok=True)
    return problem

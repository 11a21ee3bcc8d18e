"""Files the parent puts into (and removes from) a work folder the child can write to.

Run as root, the work folder is a tmpfs of its own with a size and an inode cap, so that a child
cannot fill the host's disk or inodes through it. The child may plant symbolic links, FIFOs or
deep folder trees there, and set any mode on what it made. The parent therefore
writes only new files under unpredictable names, opened with O_CREAT|O_EXCL|O_NOFOLLOW (never
through a link, never blocking on a FIFO), and removes trees without recursion limits.
"""

import ctypes
import os
import re
import secrets
import shutil
import subprocess
import tempfile

WORKDIR_BYTES = 1 << 30  # what a child may write into its work folder (also charged to its memory)
WORKDIR_INODES = 20000  # files and folders it may make there: no inode filling of the host's disk
_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 2, 4, 2


def put(workdir, suffix, data, name=None):
    """Write `data` to a new file of `workdir` (a random name unless `name` is given); returns the name.
    Fails with FileExistsError rather than write through anything already there."""
    name = name or f"grader-{secrets.token_hex(8)}{suffix}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_NONBLOCK
    fd = os.open(os.path.join(workdir, name), flags, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return name


def remove(workdir, name):
    """Remove one file the parent put there (or whatever the child replaced it with)."""
    path = os.path.join(workdir, name)
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            remove_tree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def remove_tree(path):
    """shutil.rmtree, falling back to `rm -rf` for trees too deep for Python's recursion; folders
    the child made unreadable (mode 000) are opened up first when we are not root."""
    if os.geteuid() != 0:
        _open_up(path)
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except (RecursionError, OSError):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)


def _open_up(path):
    """Give the owner back rwx on every folder of the tree, without recursion."""
    stack = [str(path)]
    while stack:
        folder = stack.pop()
        try:
            if os.path.islink(folder) or not os.path.isdir(folder):
                continue
            os.chmod(folder, 0o700)
            stack += [os.path.join(folder, name) for name in os.listdir(folder)]
        except OSError:
            pass


def empty(folder):
    """Remove everything inside `folder`, keeping the folder itself; raises OSError if anything is left."""
    if os.geteuid() != 0:
        _open_up(folder)
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            remove_tree(entry.path)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
    left = os.listdir(folder)
    if left:
        raise OSError(f"{len(left)} entries could not be removed from the work folder {folder}")


def make_workdir(prefix):
    """A new, empty work folder: a capped tmpfs where this process may mount one (root), else a folder.

    Its name carries this process's pid, so that the work folders of a grading process that was
    killed (and could not unmount them) are found and removed by the next one."""
    parent = tempfile.gettempdir()
    remove_stale_workdirs(parent)
    path = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        options = f"size={WORKDIR_BYTES},nr_inodes={WORKDIR_INODES},mode=0700".encode()
        libc.mount(b"tmpfs", path.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options)  # a failure keeps the folder
    return path


def remove_workdir(path):
    """Remove a work folder made by make_workdir, unmounting its tmpfs first."""
    path = str(path)
    if os.path.ismount(path):
        ctypes.CDLL(None, use_errno=True).umount2(path.encode(), _MNT_DETACH)
    remove_tree(path)


def remove_stale_workdirs(parent):
    """Unmount and remove the work folders under `parent` whose grading process is gone."""
    pattern = re.compile(r"grader-(?:slot\d+-)?(\d+)-[^/]+$")
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        match = pattern.match(name)
        if match and not _alive(int(match.group(1))):
            try:
                remove_workdir(os.path.join(parent, name))
            except OSError:
                pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

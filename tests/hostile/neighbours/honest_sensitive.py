# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""The honest neighbour that notices any state a previous submission left: at import it checks its
limits, priority, policy and affinity against a fresh sandbox's, that /tmp, /dev/shm and its work
folder hold nothing of anyone else, that no SysV IPC object exists, then holds 100 MB and opens 200
files. Where anything differs, its functions raise and its constant is wrong, so it scores 0 wherever a
neighbour reached it (a failed import alone would not do: a script's statements run on past one that
raises, as a notebook's cells do)."""
import os
import resource

import numpy as np

problems = []
if os.getpriority(os.PRIO_PROCESS, 0) != 0:
    problems.append(f"nice {os.getpriority(os.PRIO_PROCESS, 0)}")
if os.sched_getscheduler(0) != os.SCHED_OTHER:
    problems.append(f"policy {os.sched_getscheduler(0)}")
if len(os.sched_getaffinity(0)) != os.cpu_count():
    problems.append(f"affinity {sorted(os.sched_getaffinity(0))}")
if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 256:
    problems.append(f"nofile {resource.getrlimit(resource.RLIMIT_NOFILE)}")
if resource.getrlimit(resource.RLIMIT_DATA)[0] < (1000 << 20):
    problems.append(f"data {resource.getrlimit(resource.RLIMIT_DATA)}")
for folder in ("/tmp", "/dev/shm"):
    if os.listdir(folder):
        problems.append(f"{folder}: {os.listdir(folder)[:5]}")
strays = [n for n in os.listdir(".") if not n.endswith(".py")]
if strays:
    problems.append(f"work folder: {strays[:5]}")
for kind in ("shm", "msg", "sem"):
    with open(f"/proc/sysvipc/{kind}") as f:
        if f.read().splitlines()[1:]:
            problems.append(f"SysV {kind} objects")
held = np.ones(100 << 20, dtype=np.uint8)
files = [open("/proc/self/status") for _ in range(200)]
for f in files:
    f.close()
# the lab07 work goes here
if problems:  # every check fails, naming what was seen (a script's cells run on past one that raises)
    def _refuse(*args, **kwargs):
        raise RuntimeError("a previous submission's state is visible: " + "; ".join(problems))

    conv_parameter_shapes = build_convnet = _refuse
    INTERMEDIATE_SIZE = None

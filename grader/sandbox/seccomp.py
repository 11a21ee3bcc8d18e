"""A seccomp filter the child installs on itself before any student code runs.

Children of one worker slot share the fork server's uid, and the kernel lets a process change
the limits, priority, scheduling policy, affinity and I/O priority of any other process of the
same uid; SysV IPC objects, POSIX message queues and the uid's keyrings outlive the process that
made them. None of these is needed to train a CNN, so the filter refuses them with EPERM:

- prlimit64, sched_setparam/-scheduler/-affinity/-attr aimed at any process but the caller;
- setpriority and ioprio_set unless aimed at the caller (`which` = process, `who` = 0 or self);
- shmget, semget, msgget, mq_open (objects that outlive the child), add_key, request_key, keyctl;
- ptrace, process_vm_readv/-writev, pidfd_getfd, kcmp, perf_event_open, migrate_pages,
  move_pages (reaching into another process);
- every syscall of a foreign ABI (i386 `int 0x80`, x32 numbers), which would dodge the filter.

It is plain BPF built here (no libseccomp needed), applied to every thread (TSYNC) and inherited
by whatever the child starts. This module runs inside the sandbox: it imports only the stdlib.
"""

import ctypes
import os
import platform
import struct

EPERM = 1
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_LD_ABS_W, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_NR, _ARCH = 0, 4
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 1, 1

# name -> (x86_64, aarch64); both tables checked against the kernel's headers.
_NUMBERS = {
    "ptrace": (101, 117), "shmget": (29, 194), "semget": (64, 190), "msgget": (68, 186),
    "add_key": (248, 217), "request_key": (249, 218), "keyctl": (250, 219), "mq_open": (240, 180),
    "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "prlimit64": (302, 261),
    "sched_setparam": (142, 118), "sched_setscheduler": (144, 119), "sched_setaffinity": (203, 122),
    "sched_setattr": (314, 274), "setpriority": (141, 140), "ioprio_set": (251, 30),
    "migrate_pages": (256, 238), "move_pages": (279, 239), "kcmp": (312, 272),
    "perf_event_open": (298, 241), "pidfd_getfd": (438, 438), "seccomp": (317, 277),
}
_ARCHES = {"x86_64": (0, 0xC000003E), "aarch64": (1, 0xC00000B7)}
ALWAYS_REFUSED = ("shmget", "semget", "msgget", "mq_open", "add_key", "request_key", "keyctl", "ptrace",
                  "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "perf_event_open",
                  "migrate_pages", "move_pages")
SELF_PID_ARG0 = ("prlimit64", "sched_setparam", "sched_setscheduler", "sched_setaffinity", "sched_setattr")
SELF_WHO_ARG1 = {"setpriority": 0, "ioprio_set": 1}  # name -> the `which` value meaning "a process"


class SeccompUnavailable(OSError):
    """The filter could not be installed (unknown architecture, or the kernel refused it)."""


def _arg_low(i):
    return 16 + 8 * i  # offset of the low 32 bits of args[i] in struct seccomp_data (little endian)


def program(arch, own_pid):
    """The filter as a list of (code, jt, jf, k) instructions for `arch` and the caller's pid."""
    column, audit_arch = _ARCHES[arch]
    nr = {name: numbers[column] for name, numbers in _NUMBERS.items()}
    deny, allow = ("ret", _ERRNO | EPERM), ("ret", _ALLOW)
    code = [("ld", _ARCH), ("jne", audit_arch, "deny"), ("ld", _NR)]
    if arch == "x86_64":
        code.append(("jge", 0x40000000, "deny"))  # x32 syscall numbers
    for name in ALWAYS_REFUSED:
        code.append(("jeq", nr[name], "deny"))
    for name in SELF_PID_ARG0:
        code += [("jne", nr[name], f"next-{name}"), ("ld", _arg_low(0)), ("jeq", 0, "allow"),
                 ("jeq", own_pid, "allow"), deny, ("label", f"next-{name}")]
    for name, which in SELF_WHO_ARG1.items():
        code += [("jne", nr[name], f"next-{name}"), ("ld", _arg_low(0)), ("jne", which, "deny"),
                 ("ld", _arg_low(1)), ("jeq", 0, "allow"), ("jeq", own_pid, "allow"), deny,
                 ("label", f"next-{name}")]
    code += [allow, ("label", "allow"), allow, ("label", "deny"), deny]
    return _assemble(code)


def _assemble(code):
    """Resolve labels: 'jeq K L' jumps to L when A == K, 'jne K L' when A != K, 'jge K L' when A >= K."""
    real = [op for op in code if op[0] != "label"]
    labels, at = {}, 0
    for op in code:
        if op[0] == "label":
            labels[op[1]] = at
        else:
            at += 1
    out = []
    for index, op in enumerate(real):
        kind = op[0]
        if kind == "ld":
            out.append((_LD_ABS_W, 0, 0, op[1]))
        elif kind == "ret":
            out.append((_RET_K, 0, 0, op[1]))
        else:
            offset = labels[op[2]] - index - 1
            if not 0 <= offset < 256:
                raise ValueError(f"jump too far in the seccomp program ({offset})")
            if kind == "jeq":
                out.append((_JEQ_K, offset, 0, op[1]))
            elif kind == "jne":
                out.append((_JEQ_K, 0, offset, op[1]))
            else:
                out.append((_JGE_K, offset, 0, op[1]))
    return out


def install():
    """Install the filter on the calling process (all its threads); raises SeccompUnavailable."""
    arch = platform.machine()
    if arch not in _ARCHES:
        raise SeccompUnavailable(f"no seccomp filter for the {arch} architecture")
    instructions = program(arch, os.getpid())
    raw = b"".join(struct.pack("HBBI", *ins) for ins in instructions)
    buffer = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(instructions), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SeccompUnavailable(f"prctl(NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
    number = _NUMBERS["seccomp"][_ARCHES[arch][0]]
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(ctypes.c_long(number), ctypes.c_ulong(SECCOMP_SET_MODE_FILTER),
                    ctypes.c_ulong(SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(prog)) != 0:
        raise SeccompUnavailable(f"the kernel refused the seccomp filter: {os.strerror(ctypes.get_errno())}")

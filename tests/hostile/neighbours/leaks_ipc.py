# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Creates a 600 MB SysV shared memory segment and touches it, a SysV message queue with a
message, a semaphore set and a POSIX message queue, and leaves them all behind."""
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
IPC_PRIVATE, IPC_CREAT = 0, 0o1000
segment = libc.shmget(IPC_PRIVATE, 600 << 20, IPC_CREAT | 0o666)
if segment >= 0:
    address = libc.shmat(segment, None, 0)
    if address not in (None, ctypes.c_void_p(-1).value):
        ctypes.memset(address, 1, 600 << 20)
queue = libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o666)
if queue >= 0:
    message = ctypes.create_string_buffer(b"\x01\x00\x00\x00\x00\x00\x00\x00" + b"x" * 4000)
    libc.msgsnd(queue, message, 4000, 0)
libc.semget(IPC_PRIVATE, 4, IPC_CREAT | 0o666)
try:
    librt = ctypes.CDLL("librt.so.1", use_errno=True)
    librt.mq_open(b"/grader-leak", 0o100 | 0o2, 0o666, None)
except OSError:
    pass

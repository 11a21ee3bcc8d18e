# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Adds keys to its uid's user keyring and session keyring: they would outlive the submission and
be readable by every later process of the uid on the host."""
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for ring in (-4, -3):  # KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING
    libc.syscall(248, b"user", b"grader-test-key", b"secret", 6, ring)  # add_key

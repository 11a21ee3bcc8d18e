# expect: conv_shapes=timeout intermediate_size=passed
# expect-message: conv_shapes~"time limit"
# backends: bwrap process
"""Spins forever inside one function, ignoring SIGTERM and SIGINT and swallowing every
exception; the constant is right and must still be graded after the restart."""
import signal

INTERMEDIATE_SIZE = 512


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    n = 0
    while True:
        try:
            n += 1
        except BaseException:  # noqa: BLE001
            pass

# expect: conv_shapes=error intermediate_size=passed
# expect-message: conv_shapes~"does not define `conv_parameter_shapes`" conv_shapes~"did not run to the end"
# backends: bwrap process
"""Sleeps forever at import (no CPU used), ignoring SIGTERM, SIGINT and SIGHUP. Like a notebook
kernel, the grader interrupts the statement past its time budget and goes on: what was defined
before it is graded, what would have come after it is missing."""
import signal
import time

for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, signal.SIG_IGN)
INTERMEDIATE_SIZE = 512
while True:
    time.sleep(3600)

# expect: conv_shapes=timeout intermediate_size=timeout
# expect-message: conv_shapes~"importing your module took longer than" intermediate_size~"longer than"
# backends: bwrap process
"""Sleeps forever at import (no CPU used: only a wall-clock deadline catches it), ignoring
SIGTERM, SIGINT and SIGHUP."""
import signal
import time

for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, signal.SIG_IGN)
INTERMEDIATE_SIZE = 512
while True:
    time.sleep(3600)

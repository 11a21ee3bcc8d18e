# expect: conv_shapes=timeout intermediate_size=timeout
# expect-message: conv_shapes~"importing your module took longer than" intermediate_size~"longer than"
# backends: bwrap process
"""Sleeps forever at import with every catchable signal ignored or blocked, SIGALRM included, so
the per-statement budget cannot interrupt it: only the import's wall-clock deadline stops it."""
import signal
import time

for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
    signal.signal(_sig, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT})
INTERMEDIATE_SIZE = 512
while True:
    time.sleep(3600)

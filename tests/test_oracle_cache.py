"""The oracle's cache computes each expected value once per batch: workers (threads or processes)
that miss the same key together wait for the one computing it and then read its answer."""

import threading
import time
from types import SimpleNamespace

from grader.checks.oracle import Oracle


class SlowReference:
    """Stands for the reference's child: counts its computations, each taking a while."""

    def __init__(self, counter):
        self.counter = counter

    def probe(self, probe, args, **_):
        with self.counter["lock"]:
            self.counter["calls"] += 1
        time.sleep(0.3)
        return {"value": [1.5, 2.5], "args": args}


def oracle(cache_dir, counter):
    made = Oracle.__new__(Oracle)  # the parts the cache uses, without a rubric or a reference file
    made.cache_dir, made.path, made._session = cache_dir, SimpleNamespace(name="reference.py"), None
    made.key = lambda check, probe, args, blobs: "ab" + "0" * 62
    made._child = lambda: SlowReference(counter)
    return made


def test_workers_missing_the_same_key_together_compute_it_once(tmp_path):
    counter = {"calls": 0, "lock": threading.Lock()}
    check = SimpleNamespace(id="c", time_limit=10, seed=0)
    answers = []
    workers = [threading.Thread(target=lambda: answers.append(oracle(tmp_path, counter).expected(check, "call", [3])))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert counter["calls"] == 1
    assert answers == [{"value": [1.5, 2.5], "args": [3]}] * 4
    assert oracle(tmp_path, counter).expected(check, "call", [3]) == answers[0] and counter["calls"] == 1

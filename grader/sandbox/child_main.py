"""Entry point of the child process: loads the submission cell by cell, then answers probe requests.

Runs as `python -I child_main.py ...` inside the sandbox. It is trusted code in an untrusted
process: everything it sends is treated by the parent as a claim to validate, never as a verdict.
Requests arrive on one inherited pipe and answers leave on another; stdout and stderr belong to
the student's prints.
"""

import argparse
import os
import random
import sys
import traceback


def main():
    args = _parse_args()
    sys.path.insert(0, args.package_root)  # makes `grader.sandbox` importable; never the submission's folder
    serve(args.submission, args.module_name, args.req_fd, args.resp_fd, args.threads)


def serve(submission, module_name, req_fd, resp_fd, threads):
    """Import the submission and answer probes until the parent closes the request pipe."""
    from grader.sandbox import cells, framing, probes, seccomp, values

    channel = Channel(req_fd, resp_fd, framing)
    _set_threads(threads)
    probes.load_all()
    seccomp.install()  # before any student code: no reach into other processes, no IPC or keys that outlive us
    plan = _receive_plan(channel)
    probes.load_course(plan.get("probes"))  # the course's own probes (grader.plugins), before any student code
    try:  # cell by cell (a script statement by statement): a failing cell is recorded, the rest still run
        module, load = cells.load(submission, module_name, plan)
    except BaseException as exc:  # noqa: BLE001 - a script that does not parse, or a bug of the plan
        channel.send({"type": "import_failed", "error": probes.describe_error(exc, submission)})
        os._exit(0)
    channel.send({"type": "ready", "load": load})
    while True:
        request = channel.receive()
        if request is None:
            os._exit(0)
        header, blobs = request
        channel.send(*_answer(header, blobs, module, submission, probes, values))


def _receive_plan(channel):
    """The parent's first frame: what to run (a notebook's cells, or the script's path) and the budgets."""
    import json

    frame = channel.receive()
    if frame is None:
        os._exit(0)
    header, blobs = frame
    plan = json.loads(blobs.get("plan") or b"{}") if header.get("type") == "plan" else {}
    if type(plan) is dict and type(header.get("deadline")) in (int, float):
        plan["deadline"] = header["deadline"]  # the parent's import deadline (time.monotonic, one clock for both)
    return plan


def _answer(header, blobs, module, submission, probes, values):
    request_id = header.get("id")
    _seed(header.get("seed", 0))
    encoder = values.Encoder()
    try:
        result = probes.run(header.get("probe"), module, header.get("args", {}), blobs)
        encoded = encoder.encode(result)
        return {"type": "answer", "id": request_id, "ok": True, "value": encoded}, encoder.blobs
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt from student code too
        return {"type": "answer", "id": request_id, "ok": False,
                "error": probes.describe_error(exc, submission)}, {}


def _seed(seed):
    import numpy as np
    import torch

    seed = seed if type(seed) is int else 0
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _set_threads(threads):
    import torch

    torch.set_num_threads(max(1, threads))


class Channel:
    """Frames over the two inherited pipe ends."""

    def __init__(self, req_fd, resp_fd, framing):
        self.req_fd, self.resp_fd, self.framing = req_fd, resp_fd, framing
        self.reader = framing.FrameReader(blob_limit=256 << 20)

    def send(self, header, blobs=None):
        data = self.framing.pack(header, blobs)
        view = memoryview(data)
        while view:
            written = os.write(self.resp_fd, view)
            view = view[written:]

    def receive(self):
        while True:
            frame = self.reader.next_frame()
            if frame is not None:
                return frame
            chunk = os.read(self.req_fd, 1 << 16)
            if not chunk:
                return None
            self.reader.feed(chunk)


def _parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--submission", required=True)
    parser.add_argument("--module-name", required=True)
    parser.add_argument("--package-root", required=True)
    parser.add_argument("--req-fd", type=int, required=True)
    parser.add_argument("--resp-fd", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a bug of ours, not the student's: say so on stderr
        traceback.print_exc()
        os._exit(70)

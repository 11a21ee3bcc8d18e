"""What a Dask worker sends back, as JSON text, and the client's check of it against the rubric.

The client trusts nothing of it but plain data that fits: a str of JSON (any other type is
refused), the grader version, sandbox kind and data set the client expects, the rubric's selected
check ids exactly and in order, a known status, points within [0, what the check is worth] and
matching the status, the score equal to the sum of the points. Titles and visibility come from
the client's rubric; messages, output and the load report (what did not run while loading) are
escaped again when the result is made; figures must be PNG bytes and curves finite numbers. The
report and log are rendered from this on the client.
"""

import base64
import json
import math

from grader import loading
from grader.checks.registry import Artifact
from grader.results import STATUSES, CheckResult, SubmissionResult

MAX_CHARS = 48 << 20  # the JSON text of one submission (figures included)
MAX_MESSAGE = 1 << 20
MAX_WARNINGS = 200
MAX_CURVE = 100000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FORMAT = 1


class RemoteResultError(Exception):
    """A worker's answer that the client refuses; the message says why."""


class WorkerRefused(Exception):
    """A worker that would not grade (it cannot isolate student code); the message says why."""


def encode(result, grader, sandbox, dataset, worker):
    """The JSON text a worker returns for one graded SubmissionResult."""
    return json.dumps({"format": FORMAT, "grader": grader, "sandbox": sandbox, "dataset": dataset, "worker": worker,
                       "result": result.to_json(), "output": result.output,
                       "artifacts": [[_artifact(a) for a in c.artifacts] for c in result.checks]})


def refusal(worker, why):
    return json.dumps({"format": FORMAT, "refused": f"worker {worker} refused to grade: {why}"})


def _artifact(artifact):
    data = base64.b64encode(artifact.data).decode() if artifact.kind == "png" else list(artifact.data)
    return {"kind": artifact.kind, "title": artifact.title, "data": data}


def decode(raw, checks, assignment, submission, expected):
    """A SubmissionResult from a worker's answer `raw`, or RemoteResultError (WorkerRefused).
    `checks`: the rubric's selected checks; `expected`: {grader, sandbox, dataset}."""
    if type(raw) is not str:
        raise RemoteResultError(f"the cluster returned a {type(raw).__name__}, not JSON text")
    if len(raw) > MAX_CHARS:
        raise RemoteResultError(f"the answer is {len(raw)} characters, more than {MAX_CHARS}")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RemoteResultError(f"the answer is not JSON ({exc})") from None
    _expect(type(data) is dict and data.get("format") == FORMAT, "the answer is not a grader's (format)")
    if set(data) == {"format", "refused"}:
        raise WorkerRefused(_text(data["refused"], "the refusal"))
    _expect(set(data) == {"format", "grader", "sandbox", "dataset", "worker", "result", "output", "artifacts"},
            "the answer has unexpected fields")
    for name, wanted in expected.items():
        _expect(data[name] == wanted, f"the worker's {name} is {str(data[name])[:80]!r}, not {wanted!r}")
    result = data["result"]
    _expect(type(result) is dict and result.get("assignment") == assignment and result.get("submission") == submission,
            "the result is of another assignment or submission")
    rows, artifacts = result.get("checks"), data["artifacts"]
    _expect(type(rows) is list and type(artifacts) is list and len(rows) == len(checks) == len(artifacts)
            and [type(r) is dict and r.get("id") for r in rows] == [c.id for c in checks],
            "the check ids are not the rubric's selected ones")
    made = tuple(_check(row, check, pictures) for row, check, pictures in zip(rows, checks, artifacts))
    _expect(_close(result.get("score"), sum(c.points for c in made))
            and _close(result.get("max_score"), sum(c.max_points for c in made)),
            "the score is not the sum of the points")
    warnings = result.get("warnings")
    _expect(type(warnings) is list and len(warnings) <= MAX_WARNINGS, "bad warnings")
    return SubmissionResult(assignment, submission, made, _text(data["output"], "the output"),
                            tuple(_text(w, "a warning") for w in warnings),
                            load=loading.from_json(result.get("load")))


def _check(row, check, pictures):
    """One CheckResult from a worker's row, checked against the rubric's `check`."""
    status, points = row.get("status"), row.get("points")
    _expect(status in STATUSES, f"check {check.id}: unknown status {str(status)[:40]!r}")
    _expect(_number(points) and 0 <= points <= check.points, f"check {check.id}: points out of [0, {check.points:g}]")
    _expect(points == (check.points if status == "passed" else 0), f"check {check.id}: points do not match '{status}'")
    _expect(_close(row.get("max_points"), check.points), f"check {check.id}: max_points is not the rubric's")
    seconds, value = row.get("seconds", 0), row.get("value")
    _expect(_number(seconds) and seconds >= 0, f"check {check.id}: bad seconds")
    _expect(value is None or _number(value), f"check {check.id}: bad value")
    _expect(type(pictures) is list, f"check {check.id}: bad artifacts")
    return CheckResult(check.id, check.title, float(points), check.points, status,
                       _text(row.get("message"), "a message"), check.visibility, float(seconds),
                       tuple(_picture(p, check.id) for p in pictures), value)


def _picture(item, check_id):
    _expect(type(item) is dict and set(item) == {"kind", "title", "data"}, f"check {check_id}: bad artifact")
    title = _text(item["title"], "an artifact's title")
    if item["kind"] == "png":
        try:
            data = base64.b64decode(item["data"], validate=True) if type(item["data"]) is str else b""
        except ValueError:
            data = b""
        _expect(data.startswith(PNG_MAGIC), f"check {check_id}: a figure that is not a PNG")
        return Artifact("png", title, data)
    curve = item["data"]
    _expect(item["kind"] == "curve" and type(curve) is list and len(curve) <= MAX_CURVE
            and all(_number(v) for v in curve), f"check {check_id}: bad curve")
    return Artifact("curve", title, [float(v) for v in curve])


def _number(value):
    return type(value) in (int, float) and math.isfinite(value)


def _close(a, b):
    return _number(a) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _text(value, what):
    _expect(type(value) is str and len(value) <= MAX_MESSAGE, f"{what} is not text of at most {MAX_MESSAGE} characters")
    return value


def _expect(condition, problem):
    if not condition:
        raise RemoteResultError(problem)

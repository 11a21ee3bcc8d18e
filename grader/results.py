"""Results of grading: one CheckResult per check and a SubmissionResult per submission.

`to_json` gives the documented results.json layout; artifacts (figures, curves) stay in memory
for the report and are not written to results.json. A check's message and a submission's output
can quote student text, so both are capped and escaped (grader.text) when a result is made:
nothing built from a result carries a raw control character or an unbounded string.
"""

import json
from dataclasses import dataclass, field

from grader import text

STATUSES = ("passed", "failed", "error", "timeout", "pending")  # pending: awaiting a person's score


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    points: float
    max_points: float
    status: str
    message: str
    visibility: str = "public"
    seconds: float = 0.0
    artifacts: tuple = field(default=(), compare=False)
    value: float | None = None  # what the check measured, when it measures a number

    def __post_init__(self):
        object.__setattr__(self, "message", text.block(self.message or "", "check_message"))

    def to_json(self):
        out = {"id": self.id, "title": self.title, "points": self.points, "max_points": self.max_points,
               "status": self.status, "message": self.message, "visibility": self.visibility,
               "seconds": round(self.seconds, 2)}
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class SubmissionResult:
    assignment: str
    submission: str
    checks: tuple
    output: str = ""
    warnings: tuple = ()
    load: object = field(default=None, compare=False)  # grader.loading.LoadReport: what did not run while loading

    def __post_init__(self):
        object.__setattr__(self, "output", text.block(self.output or "", "output"))
        object.__setattr__(self, "warnings", tuple(text.block(w, "check_message") for w in self.warnings))

    @property
    def score(self):
        return sum(c.points for c in self.checks)

    @property
    def max_score(self):
        return sum(c.max_points for c in self.checks)

    def to_json(self):
        return {"assignment": self.assignment, "submission": self.submission, "score": self.score,
                "max_score": self.max_score, "checks": [c.to_json() for c in self.checks],
                "warnings": list(self.warnings), **({"load": self.load.to_json()} if self.load else {})}

    def dumps(self):
        return json.dumps(self.to_json(), indent=2) + "\n"


def score(check, status):
    """Points earned: all of them for a pass, none otherwise."""
    return check.points if status == "passed" else 0.0

"""One exception tree for everything the grader refuses; each carries its CLI exit code."""


class GraderError(Exception):
    """A problem the user can fix (bad input, missing set-up). Printed as `Error: ...`."""

    exit_code = 2


class RubricError(GraderError):
    """The rubric file is invalid: names the file, the check id and what is wrong."""

    def __init__(self, path, check_id, problem):
        self.path, self.check_id, self.problem = str(path), check_id, problem
        where = f"check '{check_id}'" if check_id else "top level"
        super().__init__(f"invalid rubric {self.path}, {where}: {problem}")


class SubmissionError(GraderError):
    """A submission file cannot be read or turned into a module (not the student's code failing)."""


class DataError(GraderError):
    """A data set the rubric needs is not available; says how to get it."""


class SandboxError(GraderError):
    """The sandbox could not be started (set-up problem, not the student's fault)."""

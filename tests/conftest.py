"""Fixtures and helpers shared by the modules that grade the course's test submissions.

Each assignment has a library of behaviour-named submissions (tests/submissions/<module>.py,
listed in LIBRARIES). One pool for the whole session grades each (assignment, submission) pair
at most once, on the checks its library names (`checks_for`), in threads (a grade mostly waits on
its child process). A module's `grades` fixture starts, when first asked, every grade its selected
tests read, in the order they read them (a test's time limit is then never spent waiting on the
grades of later tests); the tests then only read the results, so a grade one module read is not
graded again for the next.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cache

import pytest

from tests.submissions import a3, foundations, lab07, lab11, pooling

WORKERS = int(os.environ.get("GRADER_TEST_WORKERS") or max(1, min(4, os.cpu_count() or 1)))
TEMPLATE_KEY = "<student template>"  # the name under which an assignment's student template is graded
LIBRARIES = {library.ASSIGNMENT: library for library in (lab07, lab11, a3, foundations, pooling)}


@cache
def rubric_of(assignment):
    """The assignment's rubric, loaded once a session (in the main thread: loading registers the
    course's plug-in kinds)."""
    from grader import rubric as rubrics

    return rubrics.load_file(LIBRARIES[assignment].RUBRIC)


def graded_with(assignment, name):
    """(the check ids, the rubric) the pool grades `name` with: its library's `checks_for`, and
    the rubric with the time limits the submission asks for (a hang is cut short)."""
    library, rubric = LIBRARIES[assignment], rubric_of(assignment)
    if name == TEMPLATE_KEY:
        return library.ALL_CHECKS, rubric
    limits = library.SUBMISSIONS[name].time_limits
    if not limits:
        return tuple(library.checks_for(name)), rubric
    checks = tuple(replace(c, time_limit=limits[c.id]) if c.id in limits else c for c in rubric.checks)
    return tuple(library.checks_for(name)), replace(rubric, checks=checks)


class Grades:
    """Grades (assignment, submission) pairs in a thread pool, each once; `grades[key]` waits for
    (result, seconds)."""

    def __init__(self, directory):
        self.directory = directory
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="grade")
        self.futures = {}

    def start(self, keys):
        for key in keys:  # in the order the tests read them: none waits past its own grade's turn
            if key not in self.futures or self.futures[key].cancelled():
                checks, rubric = graded_with(*key)  # here, in the main thread
                self.futures[key] = self.pool.submit(self._grade, key, checks, rubric)

    def __getitem__(self, key):
        self.start([key])
        return self.futures[key].result()

    def rubric(self, key):
        """The rubric `key` is graded with (time limits included)."""
        return graded_with(*key)[1]

    def _grade(self, key, checks, rubric):
        from grader.grading import Options, grade_file

        assignment, name = key
        library, folder = LIBRARIES[assignment], self.directory / assignment
        if name == TEMPLATE_KEY:
            path = library.student_template(folder / "template")
        else:
            [path] = library.materialize(folder, [name])
        started = time.monotonic()
        result = grade_file(path, rubric, Options(only=checks))
        return result, time.monotonic() - started

    def cancel(self, keys):
        """Drop the grades of `keys` not begun yet (a module that stopped early)."""
        for key in keys:
            self.futures[key].cancel()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def uses_grades(assignment, *names):
    """Declare which grades a test reads, so that its module's pool starts them early."""
    def mark(function):
        function.grades = tuple((assignment, name) for name in names)
        return function
    return mark


def needed(items, module):
    """The (assignment, name) keys the selected tests of `module` read, in test order, once each:
    a `key` parameter, or what @uses_grades declared."""
    keys = []
    for item in items:
        if getattr(item, "module", None) is not module:
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "key" in callspec.params:
            keys.append(callspec.params["key"])
        keys.extend(getattr(getattr(item, "function", None), "grades", ()))
    return list(dict.fromkeys(keys))


@pytest.fixture(scope="module")
def rubric(request):
    """The rubric of the assignment the test module names in its ASSIGNMENT."""
    return rubric_of(request.module.ASSIGNMENT)


@pytest.fixture(scope="session")
def grade_pool(tmp_path_factory):
    pool = Grades(tmp_path_factory.mktemp("graded"))
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def grades(request, grade_pool):
    """The session's pool, with every grade this module's selected tests read started."""
    keys = needed(request.session.items, request.module)
    grade_pool.start(keys)
    yield grade_pool
    grade_pool.cancel(keys)


def statuses(result):
    """check id -> status, in the order the checks ran."""
    return {c.id: c.status for c in result.checks}


def describe(result):
    """One line a check (id, status, message), for an assertion's message."""
    return "\n".join(f"  {c.id}: {c.status}: {c.message}" for c in result.checks)


def is_plugin_kind(kind):
    """Is `kind` one of the course's plug-in kinds (rubric/plugins/kinds/)?"""
    from grader import plugins
    from grader.checks.registry import KINDS

    return KINDS[kind].run.__module__.startswith(plugins.KINDS_PACKAGE)


"""Attackers graded between honest neighbours in one worker slot (tests/hostile/neighbours/).

Each attacker does its own work correctly (so it earns every point) and, at import, attacks what
outlives it: the fork server's limits and scheduling, SysV and POSIX IPC, keyrings, folders set to
mode 000, the work folder's disk and inodes, the harness's own modules. The sandbox's answer is
that none of it reaches the next submission: `honest_sensitive` raises at import when it sees any
such trace, so it keeps full marks only if the slot was really reset. Run against the fork
server and against fresh children, under bwrap (the only backend that promises isolation).
"""

import os
import re
import time
from pathlib import Path

import pytest

from grader.grading import Options, grade_file
from grader.sandbox import uids, zygote
from tests.test_hostile import BWRAP_OK, BWRAP_WHY, Case, env, leftover_processes, parse_header  # noqa: F401

pytestmark = [pytest.mark.sandbox, pytest.mark.slow,
              pytest.mark.skipif(not BWRAP_OK, reason=f"bubblewrap sandbox unavailable: {BWRAP_WHY}")]

FOLDER = Path(__file__).resolve().parent / "hostile" / "neighbours"
HONEST = "honest_sensitive"
ATTACKERS = sorted(p.stem for p in FOLDER.glob("*.py") if p.stem != HONEST and not p.stem.startswith("_"))
WORK_MARK = "# the lab07 work goes here\n"
CHECKS = ("conv_shapes", "convnet_shape", "intermediate_size")


def _case(name):
    path = FOLDER / f"{name}.py"
    return parse_header(path.read_text(encoding="utf-8"), Case(name, source=path))


def _source(name, first_line=""):
    """The file `name` with the shared honest work (_lab07_work.py) at its mark, or at its end."""
    source = (FOLDER / f"{name}.py").read_text(encoding="utf-8")
    work = (FOLDER / "_lab07_work.py").read_text(encoding="utf-8")
    if WORK_MARK not in source:
        source += WORK_MARK
    return first_line + source.replace(WORK_MARK, work + "\n", 1)


def _grade(name, env, tmp_path, fork_server):
    path = tmp_path / name / "lab07_convnets.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(_source(name), encoding="utf-8")
    options = Options(sandbox="bwrap", fork_server=fork_server, only=CHECKS)
    return grade_file(path, env.rubric, options)


def _statuses(result):
    return {c.id: (c.status, c.message[:400]) for c in result.checks}


def _keys_of(uid):
    """How many keys the kernel holds for `uid` (from /proc/key-users; 0 when it has none)."""
    for line in Path("/proc/key-users").read_text().splitlines():
        owner, _, rest = line.partition(":")
        if owner.strip() == str(uid):
            return int(rest.split()[1].split("/")[0])
    return 0


def test_the_honest_neighbour_notices_a_poisoned_slot(env, tmp_path):
    """The probe is sensitive: state left in /tmp of a fresh sandbox is not there, but a slot whose
    work folder holds a stranger's file makes it fail (both ways of the same check)."""
    fresh = _grade(HONEST, env, tmp_path, fork_server=False)
    assert fresh.score == fresh.max_score, _statuses(fresh)
    path = tmp_path / "poisoned" / "lab07_convnets.py"
    path.parent.mkdir()
    path.write_text(_source(HONEST, first_line="open('stray-file', 'w').close()\n"), encoding="utf-8")
    poisoned = grade_file(path, env.rubric, Options(sandbox="bwrap", only=CHECKS))
    assert poisoned.score == 0, _statuses(poisoned)
    assert "state is visible" in poisoned.checks[0].message and "stray-file" in poisoned.checks[0].message, \
        _statuses(poisoned)


@pytest.mark.parametrize("fork_server", [True, False], ids=["fork-server", "fresh-children"])
def test_attackers_do_not_reach_their_neighbours(fork_server, env, tmp_path):
    problems, report = [], []
    try:
        for attacker in ATTACKERS:
            expected = _case(attacker).expect
            before = _grade(HONEST, env, tmp_path, fork_server)
            attack = _grade(attacker, env, tmp_path, fork_server)
            after = _grade(HONEST, env, tmp_path, fork_server)
            report.append(f"{attacker}: {before.score} / {attack.score} / {after.score}")
            for label, result in (("before", before), ("after", after)):
                if result.score != result.max_score:
                    problems.append(f"{attacker}: honest neighbour {label} got {result.score}: {_statuses(result)}")
            for check in attack.checks:
                if check.status not in expected[check.id]:
                    problems.append(f"{attacker}: {check.id} {check.status}, expected {expected[check.id]}: "
                                    f"{check.message[:200]}")
            if attacker == "imports_grader_internals":
                found = re.search(r"INTERNALS-IMPORTED: (\S+)", attack.output)
                if not found or found.group(1) != "none":
                    problems.append(f"grader internals importable in the sandbox: {found and found.group(1)}")
    finally:
        zygote.close_all()
    for uid in uids.leased():
        if _keys_of(uid):
            problems.append(f"uid {uid} holds {_keys_of(uid)} keys after the batch")
    time.sleep(0.5)
    left = leftover_processes(f"no-such-marker-{os.urandom(6).hex()}", os.getpid())  # by our cgroups
    if left:
        problems.append(f"processes left: {left[:5]}")
    if os.listdir(env.workdirs):
        problems.append(f"work folders left: {os.listdir(env.workdirs)}")
    assert not problems, "\n".join(problems + report)


def test_a_tampered_fork_server_is_replaced(env, tmp_path):
    """Defence in depth: a zygote whose own limits changed refuses to fork and is replaced, so the
    next child starts with the limits it should have (here changed from the parent, as root can)."""
    import resource

    _grade(HONEST, env, tmp_path, fork_server=True)
    (pool,) = [z for z in zygote._POOL.values() if z.child is not None]
    zygote_pids = [p for p in (pool.child.cgroup.pids() if pool.child.cgroup else [])
                   if b"zygote_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert zygote_pids, "no zygote process found in the slot's cgroup"
    resource.prlimit(zygote_pids[0], resource.RLIMIT_NOFILE, (20, 20))
    replaced = pool.replacements
    try:
        after = _grade(HONEST, env, tmp_path, fork_server=True)
    finally:
        zygote.close_all()
    assert pool.replacements > replaced, "the tampered zygote was not replaced"
    assert after.score == after.max_score, _statuses(after)

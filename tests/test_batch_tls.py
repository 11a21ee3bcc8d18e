"""Dask over TLS, end to end: a scheduler and two workers on 127.0.0.1 that require encryption,
with a throwaway CA made in tmp_path at test time (openssl; no key is ever committed). `grader
grade --scheduler tls://...` with the cluster's CA and a certificate it signed grades every
submission on the workers; a client with another CA's files is refused in one `Error:` line and
grades nothing; a plain tcp:// client cannot even connect."""

import asyncio
import csv
import os
import ssl
import subprocess
import time

import pytest

from tests.test_batch_inputs import GOOD, WRONG
from tests.test_batch_remote import GRADER, _free_port, _start, _stop, _wait_for_workers, _workers
from tests.test_batch_remote import two_checks  # noqa: F401 - the cheap two-check rubric, a fixture

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]
EXT = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _authority(folder, name, leaves):
    """A CA `name` in `folder` and, for each of `leaves`, a key and a certificate it signed."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}", "-keyout",
             f"{name}.key", "-out", f"{name}.pem", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign", cwd=folder)
    (folder / "leaf.ext").write_text(EXT)
    for leaf in leaves:
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={leaf}", "-keyout", f"{leaf}.key", "-out",
                 f"{leaf}.csr", cwd=folder)
        _openssl("x509", "-req", "-in", f"{leaf}.csr", "-CA", f"{name}.pem", "-CAkey", f"{name}.key",
                 "-CAcreateserial", "-days", "1", "-out", f"{leaf}.pem", "-extfile", "leaf.ext", cwd=folder)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The cluster's CA (signing the nodes' and the TA's certificates) and another CA with its own."""
    folder = tmp_path_factory.mktemp("pki")
    _authority(folder, "cluster-ca", ["node", "ta"])
    _authority(folder, "other-ca", ["stranger"])
    return folder


def _security(pki, ca, leaf):
    from distributed.security import Security

    return Security(tls_ca_file=str(pki / f"{ca}.pem"), tls_client_cert=str(pki / f"{leaf}.pem"),
                    tls_client_key=str(pki / f"{leaf}.key"), require_encryption=True)


@pytest.fixture(scope="module")
def cluster(pki, tmp_path_factory):
    """tls://127.0.0.1:PORT of a running scheduler with two workers, all requiring encryption (the
    TLS files reach them through Dask's own configuration variables)."""
    from distributed import Client

    where = tmp_path_factory.mktemp("cluster")
    node = {"CERT": str(pki / "node.pem"), "KEY": str(pki / "node.key")}
    env = dict(os.environ, DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION="True",
               DASK_DISTRIBUTED__COMM__TLS__CA_FILE=str(pki / "cluster-ca.pem"),
               **{f"DASK_DISTRIBUTED__COMM__TLS__{role}__{part}": path
                  for role in ("SCHEDULER", "WORKER") for part, path in node.items()})
    port = _free_port()
    address = f"tls://127.0.0.1:{port}"
    processes = [_start(["scheduler", "--host", "tls://127.0.0.1", "--port", str(port), "--no-dashboard"], where,
                        env)]
    try:
        processes += _workers(address, 2, where, env)
        with Client(address, timeout=30, security=_security(pki, "cluster-ca", "ta")) as client:
            _wait_for_workers(client, 2)
        yield address
    finally:
        _stop(processes)


def _executed(pki, address):
    """How many tasks each worker has run, by worker name (asked over TLS, as the TA)."""
    from distributed import Client

    with Client(address, timeout=30, security=_security(pki, "cluster-ca", "ta")) as client:
        counts = client.run(lambda dask_worker: (str(dask_worker.name), dask_worker.state.executed_count))
    return dict(counts.values())


def _grade(folder, out, rubric, address, pki, ca, leaf, timeout):
    return subprocess.run([GRADER, "grade", str(folder), "--assignment", "lab07_convnets", "--rubric", str(rubric),
                           "--out", str(out), "--scheduler", address, "--tls-ca", str(pki / f"{ca}.pem"),
                           "--tls-cert", str(pki / f"{leaf}.pem"), "--tls-key", str(pki / f"{leaf}.key")],
                          capture_output=True, text=True, timeout=timeout)


def _class(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(GOOD)
    (folder / "bob.py").write_text(WRONG)
    return folder


def _gradebook(out):
    with open(out / "grades.csv", encoding="utf-8") as f:
        return {row["submission"]: (row["score"], row["state"][:10]) for row in csv.DictReader(f)}


def test_grade_over_tls_grades_every_submission_on_the_workers(tmp_path, two_checks, pki, cluster):  # noqa: F811
    """Through the CLI, with the cluster's CA and the TA's certificate: both submissions are graded
    with their right scores, by the workers (their task counts grow by two), under bwrap."""
    before = _executed(pki, cluster)
    out = tmp_path / "out"
    done = _grade(_class(tmp_path), out, two_checks, cluster, pki, "cluster-ca", "ta", timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert f"on the Dask cluster at {cluster}" in done.stdout and "Graded 2," in done.stdout
    assert _gradebook(out) == {"alice": ("2", "graded"), "bob": ("0", "graded")}, done.stdout[-2000:]
    assert (out / "alice" / "results.json").exists() and (out / "bob" / "results.json").exists()
    assert "NOT isolated" not in (out / "alice" / "report.html").read_text()  # graded under bwrap, on a worker
    after = _executed(pki, cluster)
    assert sorted(after) == ["w0", "w1"] and sum(after.values()) - sum(before.values()) == 2, (before, after)


@pytest.mark.parametrize("ca, leaf", [("other-ca", "stranger"), ("cluster-ca", "stranger")],
                         ids=["another-CA", "certificate-the-cluster-did-not-sign"])
def test_a_client_without_the_clusters_certificate_is_refused_in_one_line(tmp_path, two_checks, pki,  # noqa: F811
                                                                          cluster, ca, leaf):
    """A TA (or a student) whose CA or certificate is not the cluster's gets one `Error:` line naming
    the scheduler and the three files, exit 2, no traceback; nothing is graded, nothing runs."""
    before = _executed(pki, cluster)
    out = tmp_path / "out"
    done = _grade(_class(tmp_path), out, two_checks, cluster, pki, ca, leaf, timeout=120)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    error = done.stderr.strip()
    assert error.startswith(f"Error: cannot connect to the Dask scheduler {cluster}: ")
    assert f"--tls-ca {pki / (ca + '.pem')}" in error and f"--tls-cert {pki / (leaf + '.pem')}" in error
    assert f"--tls-key {pki / (leaf + '.key')}" in error
    assert _gradebook(out) == {"alice": ("not graded", "not graded"), "bob": ("not graded", "not graded")}
    assert not (out / "alice" / "results.json").exists() and not (out / "bob" / "results.json").exists()
    assert _executed(pki, cluster) == before  # nothing ran on the cluster


def test_the_scheduler_refuses_plain_tcp_and_a_client_that_shows_no_certificate(pki, cluster):
    """A plain tcp:// Client fails at once, and so does a TLS connection that trusts the cluster's CA
    (it is no secret) but presents no certificate: the scheduler asks for one signed by its CA."""
    from distributed import Client
    from distributed.comm import connect

    started = time.monotonic()
    with pytest.raises(OSError):  # Dask's CommClosedError: the TLS listener resets the connection
        Client(cluster.replace("tls://", "tcp://"), timeout=5)
    assert time.monotonic() - started < 15
    async def handshake(context):
        comm = await connect(cluster, timeout=5, ssl_context=context)
        await comm.close()

    asyncio.run(handshake(_security(pki, "cluster-ca", "ta").get_connection_args("client")["ssl_context"]))
    anonymous = ssl.create_default_context(cafile=str(pki / "cluster-ca.pem"))
    anonymous.check_hostname = False
    started = time.monotonic()
    with pytest.raises(OSError):  # the same handshake without a certificate is refused
        asyncio.run(handshake(anonymous))
    assert time.monotonic() - started < 15
    assert sorted(_executed(pki, cluster)) == ["w0", "w1"]  # the cluster is unharmed and still speaks TLS

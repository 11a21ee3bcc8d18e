"""Grading across machines with Dask distributed: a task a submission, outputs written here.

Each task carries the submission's bytes and the rubric's text; a worker needs the grader (the
same version) and the data set. A worker grades only under bubblewrap: one that cannot isolate
refuses, and the TA's terminal says so. It returns JSON text (grader.batch.remote_results); the
client refuses anything else, checks it against the rubric, merges the TA's manual scores and
renders the report itself. Task keys hold a secrets.token_hex, so no other client of the cluster
can claim them in advance; the client deserialises results with msgpack only (never pickle).
Plain tcp:// needs trust_network; tls:// takes Dask's Security (CA, certificate, key).
What remains, and what the cluster must guarantee, is in README.md (Dask).
"""

import dataclasses
import secrets
import sys
import tempfile
import time
import zlib
from pathlib import Path

from tqdm import tqdm

from grader import manual, text
from grader.batch import provenance, remote_results
from grader.batch.runner import outputs, split_done
from grader.errors import GraderError

DESERIALIZERS = ["msgpack"]  # a result is a str; pickle (which would run code here) is never accepted
RESULT_SECONDS = 300  # fetching one finished result (at most remote_results.MAX_CHARS of JSON)


def grade_remote(payload):
    """Runs on a Dask worker: grade one submission from its bytes; returns JSON text, always (an
    exception would reach the client as a pickle, which it does not accept)."""
    try:
        from distributed import get_worker
        name = str(get_worker().name)
    except (ImportError, ValueError):
        name = "local"
    try:
        return _grade_here(payload, name)
    except Exception as exc:  # noqa: BLE001 - the client is told, as plain text
        return remote_results.refusal(name, f"grading failed on the worker ({type(exc).__name__}: {str(exc)[:500]})")


def _grade_here(payload, name):
    from grader import rubric as rubrics
    from grader.batch.discover import Source
    from grader.batch.runner import grade_source
    from grader.sandbox import bwrap

    isolated, why = bwrap.available()
    if not isolated:
        return remote_results.refusal(name, f"it cannot isolate student code ({why})")
    options = dataclasses.replace(payload["options"], slot=zlib.crc32(name.encode()) % 32, sandbox="bwrap")
    with tempfile.TemporaryDirectory(prefix="grader-task-") as tmp:
        rubric_file = Path(tmp) / f"{payload['assignment']}.yaml"
        rubric_file.write_text(payload["rubric"], encoding="utf-8")
        rubric = rubrics.load_file(rubric_file)
        path = None
        if payload["content"] is not None:
            path = Path(tmp) / payload["file_name"]
            path.write_bytes(payload["content"])
        source = Source(payload["id"], path, payload["origin"], payload["problem"])
        result = grade_source(source, rubric, options)
        dataset = provenance.batch_key(rubric, options, "bwrap")["dataset_sha256"]
        return remote_results.encode(result, provenance.grader_fingerprint(), "bwrap", dataset, name)


def security_for(scheduler, trust_network=False, tls_ca=None, tls_cert=None, tls_key=None, security=None):
    """The distributed.security.Security to connect with (None for a trusted plain network), or a
    GraderError saying why this address is refused."""
    scheme = scheduler.split("://", 1)[0] if "://" in scheduler else "tcp"
    files = (tls_ca, tls_cert, tls_key)
    if scheme == "tls":
        if security is not None:
            return security
        if not all(files):
            raise GraderError("a tls:// scheduler needs --tls-ca, --tls-cert and --tls-key")
        from distributed.security import Security

        return Security(tls_ca_file=str(tls_ca), tls_client_cert=str(tls_cert), tls_client_key=str(tls_key),
                        require_encryption=True)
    if scheme != "tcp":
        raise GraderError(f"scheduler address '{text.inline(scheduler)}': use tls://HOST:PORT (or tcp:// with "
                          "--trust-network)")
    if security is not None or any(files):
        raise GraderError("TLS certificates were given for a plain tcp:// scheduler; use its tls:// address")
    if not trust_network:
        raise GraderError(f"refusing the plain tcp:// scheduler {text.inline(scheduler)}: anyone who can reach it "
                          "can forge grades and run code on the workers. Use tls:// (--tls-ca/--tls-cert/--tls-key), "
                          "or pass --trust-network if no student can reach the cluster's network (README: Dask).")
    return None


def _payload(source, rubric, rubric_text, options):
    return {"id": source.id, "origin": source.origin, "problem": source.problem,
            "file_name": source.path.name if source.path else None,
            "content": source.path.read_bytes() if source.path else None,
            "assignment": rubric.assignment, "rubric": rubric_text, "options": options}


def grade_all_dask(sources, rubric, store, options, scheduler, resume=False, show_progress=True, scores=None,
                   security=None):
    """Grade `sources` on the Dask cluster at `scheduler` (`security` from security_for); the client
    checks and writes every output. Raises GraderError naming what was refused, after the rest."""
    from distributed import as_completed

    if options.sandbox == "process":
        raise GraderError("--sandbox process is refused on a Dask cluster: workers grade under bubblewrap only")
    summary, todo = split_done(sources, store, resume, scores)
    rubric_text = Path(rubric.path).read_text(encoding="utf-8")
    checks = provenance.selected_checks(rubric, options)
    expected = {"grader": store.key["grader"], "sandbox": "bwrap", "dataset": store.key["dataset_sha256"]}
    started, refused = time.monotonic(), []
    with _connect(scheduler, security) as client:
        futures = {}
        for source, content in todo:
            key = f"grade-{secrets.token_hex(16)}"  # unguessable: no other client can claim it first
            futures[client.submit(grade_remote, _payload(source, rubric, rubric_text, options), key=key,
                                  pure=False)] = (source, content)
        with tqdm(total=len(futures), unit="submission", disable=not show_progress or not futures) as bar:
            for future in as_completed(futures):
                source, content = futures[future]
                problem = _collect(future, source, content, rubric, checks, expected, store, scores)
                if problem:
                    refused.append(problem)
                    print(f"REFUSED: {text.inline(problem)}", file=sys.stderr)
                else:
                    summary.graded.append(source.id)
                bar.update(1)
    summary.seconds = time.monotonic() - started
    if refused:
        raise GraderError(f"{len(refused)} submission(s) were not graded (the others were):\n"
                          + "\n".join(f"  {p}" for p in refused[:20]))
    return summary


def _connect(scheduler, security):
    """A Client of `scheduler`, or a GraderError naming the scheduler and the TLS files: a wrong CA,
    certificate or key, or an unreachable scheduler, is a set-up problem, not a bug (no traceback)."""
    from distributed import Client

    kwargs = {"security": security} if security is not None else {}
    try:
        return Client(scheduler, timeout=30, deserializers=DESERIALIZERS, **kwargs)
    except OSError as exc:  # Dask's CommClosedError (a TLS handshake refused), TimeoutError, ssl.SSLError
        hint = "is it running?"
        if security is not None:
            hint = (f"is it running, and are --tls-ca {security.tls_ca_file}, --tls-cert {security.tls_client_cert} "
                    f"and --tls-key {security.tls_client_key} the cluster's CA and a certificate it signed?")
        raise GraderError(f"cannot connect to the Dask scheduler {text.inline(scheduler)}: "
                          f"{text.inline(exc)[:300]} ({text.inline(hint)})") from None


def _collect(future, source, content, rubric, checks, expected, store, scores):
    """Check and write one task's answer; returns None, or the problem (nothing is written then)."""
    try:  # finished already; an answer Dask cannot deserialise with msgpack never arrives: time out
        raw = future.result(timeout=RESULT_SECONDS)
    except Exception as exc:  # a task that erred, was cancelled, or an answer Dask refused to deserialise
        return f"{source.id}: the cluster gave no usable answer ({type(exc).__name__}: {str(exc)[:300]})"
    try:
        result = remote_results.decode(raw, checks, rubric.assignment, source.id, expected)
    except remote_results.WorkerRefused as exc:
        return f"{source.id}: {exc}"
    except remote_results.RemoteResultError as exc:
        return f"{source.id}: the worker's answer was refused: {exc}"
    if scores:
        result = manual.merge(result, scores)
    store.write(source, result.to_json(), content, *outputs(source, result), scores=scores)
    return None

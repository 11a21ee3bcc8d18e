"""Grading across machines with Dask distributed: a task a submission, outputs written here.

Each task carries the submission's bytes and the rubric's text, so a worker needs only the
grader installed (and the data set); it grades in its own sandbox and returns plain data (the
results dict, the report HTML and the log), which the client writes exactly as a local run does.
"""

import dataclasses
import tempfile
import time
import zlib
from pathlib import Path

from tqdm import tqdm

from grader.batch.runner import split_done


def grade_remote(payload):
    """Runs on a Dask worker: grade one submission from its bytes; returns plain data."""
    from grader import rubric as rubrics
    from grader.batch.discover import Source
    from grader.batch.runner import grade_source, outputs as render_outputs

    try:
        from distributed import get_worker
        slot = zlib.crc32(str(get_worker().name).encode()) % 32  # a uid of its own per worker
    except (ImportError, ValueError):
        slot = 0
    with tempfile.TemporaryDirectory(prefix="grader-task-") as tmp:
        rubric_file = Path(tmp) / f"{payload['assignment']}.yaml"
        rubric_file.write_text(payload["rubric"], encoding="utf-8")
        rubric = rubrics.load_file(rubric_file)
        path = None
        if payload["content"] is not None:
            path = Path(tmp) / payload["file_name"]
            path.write_bytes(payload["content"])
        source = Source(payload["id"], path, payload["origin"], payload["problem"])
        result = grade_source(source, rubric, dataclasses.replace(payload["options"], slot=slot), payload["scores"])
        report, log = render_outputs(source, result)
        return {"result": result.to_json(), "report": report, "log": log}


def grade_all_dask(sources, rubric, store, options, scheduler, resume=False, show_progress=True, scores=None):
    """Grade `sources` on the Dask cluster at `scheduler`; the client writes every output."""
    from distributed import Client, as_completed

    summary, todo = split_done(sources, store, resume, scores)
    rubric_text = Path(rubric.path).read_text(encoding="utf-8")
    started = time.monotonic()
    with Client(scheduler, timeout=30) as client:
        futures = {}
        for source, content in todo:
            payload = {"id": source.id, "origin": source.origin, "problem": source.problem,
                       "file_name": source.path.name if source.path else None,
                       "content": source.path.read_bytes() if source.path else None,
                       "assignment": rubric.assignment, "rubric": rubric_text, "options": options,
                       "scores": scores.only(source.id) if scores else None}
            futures[client.submit(grade_remote, payload, key=f"grade-{source.id}-{content[:12]}", pure=False)] = \
                (source, content)
        with tqdm(total=len(futures), unit="submission", disable=not show_progress or not futures) as bar:
            for future in as_completed(futures):
                source, content = futures[future]
                data = future.result()
                store.write(source, data["result"], content, data["report"], data["log"],
                            manual_digest=scores.digest(source.id) if scores else "")
                summary.graded.append(source.id)
                bar.update(1)
    summary.seconds = time.monotonic() - started
    return summary

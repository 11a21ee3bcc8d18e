# expect: conv_shapes=passed convnet_shape=passed intermediate_size=passed
"""Tries to import the harness's parent-side modules (check logic, rubric loading, relabelling,
data) from inside the sandbox and prints which it could; only the child runtime may be there."""
import importlib
import sys

found = []
for name in ("grader.checks", "grader.rubric", "grader.relabel", "grader.data", "grader.grading",
             "grader.checks.training", "grader.batch"):
    try:
        importlib.import_module(name)
        found.append(name)
    except Exception:
        pass
print("INTERNALS-IMPORTED:", ",".join(found) or "none", flush=True)

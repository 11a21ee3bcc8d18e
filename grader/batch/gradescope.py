"""Results in Gradescope's autograder format (results.json with tests, scores and visibility)."""

VISIBILITY = {"public": "visible", "hidden": "after_published"}


def gradescope_results(result):
    """Gradescope's results.json for one submission's results (the dict of results.json)."""
    tests = []
    for check in result["checks"]:
        tests.append({
            "name": f"{check['id']}: {check['title']}",
            "score": check["points"],
            "max_score": check["max_points"],
            "status": "passed" if check["status"] == "passed" else "failed",
            "output": check["message"] if check["status"] != "pending" else f"pending: {check['message']}",
            "visibility": VISIBILITY.get(check.get("visibility"), "visible"),
        })
    return {"score": result["score"], "tests": tests, "visibility": "visible", "stdout_visibility": "hidden"}

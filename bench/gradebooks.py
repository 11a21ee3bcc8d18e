"""Gradebooks (grades.csv rows) of one class graded several ways, compared cell by cell: issue 17
asks that grading with 1 or 2 workers, with the fork server or fresh children, change no grade."""


def compare(books, count):
    """(problems, differences): why some way's gradebook cannot be compared (its run failed, or it has
    fewer rows than the `count` submissions), else a line a row whose cells differ between ways, in
    every column (submission, score, each check's points and status, state, name), with the values."""
    problems = [f"{way}: {rows if isinstance(rows, str) else f'{len(rows)} rows of {count} submissions'}"
                for way, rows in books.items() if isinstance(rows, str) or len({r["submission"] for r in rows}) < count]
    if problems:
        return problems, []
    keyed = {way: {row["submission"]: row for row in rows} for way, rows in books.items()}
    columns = list(dict.fromkeys(column for rows in books.values() for row in rows for column in row))
    differences = []
    for submission in sorted(set().union(*keyed.values())):
        cells = []
        for column in columns:
            ways = {}
            for way, rows in keyed.items():
                ways.setdefault(rows.get(submission, {}).get(column, "<no row>"), []).append(way)
            if len(ways) > 1:
                cells.append(f"{column}: " + " / ".join(f"{v!r} ({', '.join(w)})" for v, w in ways.items()))
        if cells:
            differences.append(f"{submission}: " + "; ".join(cells))
    return problems, differences

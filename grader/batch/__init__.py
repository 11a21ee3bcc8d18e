"""Grading a whole class: find submissions, grade them in parallel, keep outputs resumable."""

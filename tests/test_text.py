"""Student text is capped and neutralised in the parent (grader.text), and every malformed answer
of the child is the submission's failure (framing, values, session messages), in isolation."""

import html
import json
import struct
from pathlib import Path

import pytest

from grader import text
from grader.batch.discover import Source
from grader.batch.runner import _log
from grader.report.render import render_report
from grader.results import CheckResult, SubmissionResult
from grader.sandbox import framing
from grader.sandbox.launch import Limits
from grader.sandbox.error_messages import import_error_message, student_error_message
from grader.sandbox.values import DecodeError, decode

RAW = ["\x1b", "\x07", "\x00", "\r", "\x9b", "\x85", "\u2028", "\u202e", "\u202a", "\u2066", "\u2069", "\u200e",
       "\u200f", "\u061c", "\ud800"]
NASTY = "a\x1b]52;c;cm0gLXJmIH4K\x07b\x1b[31mred\x1b[0m\u202eevil\u202c\u2066x\u2069\u200e\u061c\r\x00\x9b\x85\u2028\ud800"


def raw_in(value):
    return [c for c in RAW if c in value]


def test_unsafe_characters_are_shown_escaped_and_safe_text_is_kept():
    out = text.block(NASTY + "\nline two\tTAB é ü 中文 🙂")
    assert raw_in(out) == []
    assert "\\x1b]52;c;" in out and "\\x07" in out and "\\u202e" in out and "\\ud800" in out and "\\x0d" in out
    assert "\nline two\tTAB é ü 中文 🙂" in out  # newline, tab and ordinary letters stay as they are
    assert text.block(out) == out  # idempotent: the escaped form is printable


def test_inline_text_escapes_newlines_and_tabs_too():
    assert text.inline("a\nb\tc") == "a\\x0ab\\x09c"


def test_each_field_is_capped_and_says_so():
    for field, limit in text.CAPS.items():
        out = text.clean("x" * (10 << 20), field)
        assert len(out) == limit and out.endswith(f"[... cut: {10 << 20} characters in all]")
    assert len(text.clean("\x1b" * 100_000, "message")) == text.CAPS["message"]  # escaping cannot grow past the cap
    assert text.clean("short", "message") == "short"


def test_a_field_that_is_not_text_is_empty():
    assert text.clean(["\x1b"] * 10, "type") == "" and text.clean(10 ** 30, "message") == ""


def test_names_are_written_with_repr_and_commands_shell_quoted():
    assert text.name("x\nscore 99 of 21.py") == "'x\\nscore 99 of 21.py'"
    assert raw_in(text.name("n\u202ee\x1b.py")) == []
    assert text.command("grader", "check", "x$(touch${IFS}PWNED).py") == "grader check 'x$(touch${IFS}PWNED).py'"
    assert text.command("grader", "check", "a b.py", "--only", "c1") == "grader check 'a b.py' --only c1"


def test_child_error_fields_are_capped_and_escaped():
    error = {"kind": "raised", "function": "f\x1b" * 10_000, "type": "T\u202e" * 10_000,
             "message": NASTY * 100_000, "traceback": "line 1\x1b[2J\n" * 100_000}
    message = student_error_message(error, "your code", Limits())
    assert raw_in(message) == []
    assert len(message) < sum(text.CAPS[f] for f in ("function", "type", "message", "traceback")) + 100
    assert import_error_message(error).startswith("your module raised T\\u202e")


def test_child_error_fields_of_the_wrong_type_are_dropped():
    error = {"kind": "raised", "function": ["f"], "type": {"a": 1}, "message": 10 ** 30, "traceback": [["x"]]}
    assert student_error_message(error, "reading `X`", Limits()) == "reading `X` raised Exception"
    assert import_error_message({"type": 1, "message": None}) == "your module raised Exception while being imported"


def test_results_cap_and_escape_messages_and_output():
    check = CheckResult("c1", "t", 0.0, 1.0, "failed", NASTY * 100_000)
    result = SubmissionResult("demo", "s", (check,), output=NASTY * 100_000, warnings=(NASTY,))
    assert len(check.message) == text.CAPS["check_message"] and len(result.output) == text.CAPS["output"]
    assert raw_in(check.message) == raw_in(result.output) == raw_in(result.warnings[0]) == []
    assert raw_in(json.loads(result.dumps())["checks"][0]["message"]) == []


def _result(name="s"):
    check = CheckResult("c1", "t", 0.0, 1.0, "failed", "bad\nscore 99 / 21")
    return SubmissionResult("demo", name, (check,), output="hello\nscore 99 / 21\n")


def test_log_lines_cannot_be_forged_by_a_name_a_message_or_the_output():
    name = "x\nscore 99 / 21.py"
    log = _log(Source("x", Path(name), f"class/{name}"), _result(name))
    assert [line for line in log.splitlines() if line.startswith("score")] == ["score 0 / 1"]
    assert log.splitlines()[0] == "submission 'x' from 'class/x\\nscore 99 / 21.py'"
    assert "  | score 99 / 21" in log and "    score 99 / 21" in log


def test_report_shows_a_shell_quoted_rerun_command_and_an_escaped_name():
    page = html.unescape(render_report(_result("n\u202ee"), "x$(touch${IFS}PWNED).py"))
    assert "grader check 'x$(touch${IFS}PWNED).py' --assignment demo --only c1" in page
    assert "\u202e" not in page and "n\\u202ee" in page


def _frame(body):
    return struct.pack(">I", len(body)) + body


@pytest.mark.parametrize("body", [
    b'{"type":"answer","value":' + b"[" * 5000 + b"]" * 5000 + b"}",  # RecursionError in json
    b'{"type":"answer","error":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}",
    b'\xff\xfe{"type":"answer"}',
    b'["not", "an", "object"]',
    b'{"blobs": [["b0", -1]]}',
    b'{"blobs": [["b0", 99999999999]]}',
    b'{"x": NaN}',
])
def test_every_malformed_header_is_a_frame_error(body):
    reader = framing.FrameReader(blob_limit=1 << 20)
    reader.feed(_frame(body))
    with pytest.raises(framing.FrameError):
        reader.next_frame()


def test_an_unexpected_exception_of_the_parser_is_a_frame_error(monkeypatch):
    def boom(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(framing.json, "loads", boom)
    reader = framing.FrameReader(blob_limit=1 << 20)
    reader.feed(_frame(b'{"type":"answer"}'))
    with pytest.raises(framing.FrameError, match="MemoryError"):
        reader.next_frame()


def test_a_well_formed_frame_still_parses():
    reader = framing.FrameReader(blob_limit=1 << 20)
    reader.feed(framing.pack({"type": "answer", "id": 3}, {"b0": b"xyz"}))
    header, blobs = reader.next_frame()
    assert header["id"] == 3 and blobs == {"b0": b"xyz"}


@pytest.mark.parametrize("node", [
    {"t": "dict", "v": [[{"t": "tuple", "v": [{"t": "list", "v": [], "n": 0}], "n": 1}, {"t": "int", "v": 1}]]},
    {"t": "dict", "v": [[{"t": "tuple", "v": [{"t": "dict", "v": []}], "n": 1}, {"t": "none"}]]},
    {"t": "float", "v": [1]},
    {"t": "list", "v": [{"t": "list", "v": [{"t": "int", "v": 1}]}] * 3 + ["x"]},
])
def test_every_malformed_value_is_a_decode_error(node):
    with pytest.raises(DecodeError):
        decode(node, {})

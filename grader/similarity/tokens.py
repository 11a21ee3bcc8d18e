"""Normalised Python tokens: what is left of a submission once renaming, reformatting and comments
are taken out, each token with its place in the source (for highlighting).

Only Python's own tokenizer reads the text; nothing is parsed, imported or run. Kept: keywords
and operators as written, and the names the file never binds (library calls and attributes such
as `nn.Conv2d`, `optimizer.zero_grad`, builtins such as `range`): a copier does not rename those,
and they tell `nn.Conv2d(...), nn.ReLU()` from `nn.Linear(...), nn.Dropout()`. Every name the
file binds (assigned, defined, a parameter, a loop or `as` target, an import, an attribute
assigned as `obj.name = ...`) becomes `V`, every number `N`, every string (an f-string as a
whole) `S`. Dropped: comments, line breaks, indentation, `;`, a comma before a
closing bracket, and string statements (docstrings). So renaming a variable, reformatting
(black, one-line `if`s, trailing commas) and rewriting comments or docstrings change nothing.
A file the tokenizer cannot finish (an unterminated string, bad indentation) is tokenised again
from the line after the error, so one bad line costs only itself; the restarts are reported.
"""

import io
import keyword
import tokenize
import zlib
from dataclasses import dataclass

MAX_TOKENS = 200_000  # per submission (a 5 MB file of one-character statements stays bounded)
MAX_RESTARTS = 200
_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER, getattr(tokenize, "TYPE_COMMENT", -1)}
_STATEMENT_EDGE = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
_CLOSING = {")", "]", "}"}
_FSTRING_START = getattr(tokenize, "FSTRING_START", -2)  # Python 3.12+: f-strings come in pieces
_FSTRING_END = getattr(tokenize, "FSTRING_END", -3)


@dataclass(frozen=True)
class Tokens:
    """The normalised tokens of one source: `kinds[i]` spans `source[starts[i]:ends[i]]`."""

    source: str
    kinds: tuple
    starts: tuple
    ends: tuple
    problems: tuple = ()  # what the tokenizer could not read, in the source's line numbers

    @property
    def ids(self):
        """Each kind as a stable 32-bit number (the same in every run and on every machine)."""
        return [_ID.get(k) or _ID.setdefault(k, zlib.crc32(k.encode("utf-8", "surrogatepass"))) for k in self.kinds]


_ID = {}


def normalise(source):
    """The normalised tokens of `source` (line endings made `\\n` first)."""
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    lines = source.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    raw, problems = _raw_tokens(lines)
    bare, attributes = bound_names(raw)
    kinds, starts, ends = [], [], []
    depth = 0  # inside an f-string (Python 3.12+ gives its pieces as tokens of their own)
    for index, (kind, text, start, end) in enumerate(raw):
        inside = depth > 0
        depth += (kind == _FSTRING_START) - (kind == _FSTRING_END)
        word = None if inside else _word(raw, index, bare, attributes)
        if word is None:
            continue
        kinds.append(word)
        starts.append(offsets[start[0] - 1] + start[1])
        ends.append(offsets[end[0] - 1] + end[1])
        if len(kinds) >= MAX_TOKENS:
            problems.append(f"more than {MAX_TOKENS} tokens: the rest is not compared")
            break
    return Tokens(source, tuple(kinds), tuple(starts), tuple(ends), tuple(problems))


def _raw_tokens(lines):
    """[(type, text, (row, col), (row, col))] of every line, rows 1-based in `lines`; a failing
    pass keeps what it read before the failing line and starts again after it."""
    tokens, problems, first = [], [], 0
    for _ in range(MAX_RESTARTS + 1):
        chunk = lines[first:]
        feed = io.StringIO("\n".join(chunk)).readline
        got = []
        try:
            for tok in tokenize.generate_tokens(feed):
                if tok.type == tokenize.ERRORTOKEN and not tok.string.strip():
                    continue
                got.append((tok.type, tok.string, (tok.start[0] + first, tok.start[1]), (tok.end[0] + first, tok.end[1])))
                if len(tokens) + len(got) > MAX_TOKENS:
                    break
            return tokens + got, problems
        except (tokenize.TokenError, SyntaxError) as exc:
            row = _error_row(exc, len(chunk))
            problems.append(f"line {row + first}: the tokenizer stopped ({_reason(exc)}); read again from the next line")
            tokens += [t for t in got if t[2][0] < row + first and t[3][0] < row + first + 1]
            first += row
            if first >= len(lines):
                return tokens, problems
    problems.append(f"more than {MAX_RESTARTS} unreadable places: the rest is not compared")
    return tokens, problems


def _error_row(exc, count):
    """The 1-based row of the chunk where tokenizing failed (at least 1, so every pass moves on)."""
    if isinstance(exc, SyntaxError):
        row = exc.lineno or 1
    else:
        where = exc.args[1] if len(exc.args) > 1 else None
        row = where[0] if isinstance(where, tuple) and where else count
    return min(max(int(row), 1), max(count, 1))


def _reason(exc):
    text = exc.args[0] if exc.args else type(exc).__name__
    return str(text)[:80].encode("ascii", "backslashreplace").decode()


def _word(raw, index, bare, attributes):
    """The normalised form of raw token `index`, or None when it is dropped."""
    kind, text = raw[index][0], raw[index][1]
    if kind in _DROPPED:
        return None
    if kind == tokenize.NAME:
        if keyword.iskeyword(text):
            return text
        before = _significant(raw, index, -1)
        is_attribute = before >= 0 and raw[before][1] == "."
        return "V" if text in (attributes if is_attribute else bare) else text
    if kind == tokenize.NUMBER:
        return "N"
    if kind == tokenize.STRING or kind == _FSTRING_START:
        before = _significant(raw, index, -1)
        if before >= 0 and raw[before][0] in (tokenize.STRING, _FSTRING_END):
            return None  # adjacent strings are one string
        return None if _is_string_statement(raw, index) else "S"
    if kind == tokenize.OP:
        if text == ";" or (text == "," and _next_significant(raw, index) in _CLOSING):
            return None
        return text
    return text.strip()[:20] or None  # an error token (a stray `$`, `?`): kept as written


def _significant(raw, index, step):
    """The index of the nearest token before (step -1) or after (step 1) that is not a comment or NL."""
    index += step
    while 0 <= index < len(raw) and raw[index][0] in (tokenize.COMMENT, tokenize.NL):
        index += step
    return index


def _next_significant(raw, index):
    after = _significant(raw, index, 1)
    return raw[after][1] if after < len(raw) else None


def _is_string_statement(raw, index):
    """A string (or several adjacent ones) standing alone as a statement: a docstring."""
    before = _significant(raw, index, -1)
    while before >= 0 and raw[before][0] == tokenize.STRING:
        before = _significant(raw, before, -1)
    if before >= 0 and raw[before][0] not in _STATEMENT_EDGE and raw[before][1] != ";":
        return False
    after = _significant(raw, index, 1)
    while after < len(raw) and raw[after][0] in (tokenize.STRING, _FSTRING_START):
        after = _skip_fstring(raw, after) if raw[after][0] == _FSTRING_START else _significant(raw, after, 1)
    return after >= len(raw) or raw[after][0] in _STATEMENT_EDGE or raw[after][1] == ";"


def _skip_fstring(raw, index):
    """The significant index after the f-string that starts at `index` (Python 3.12+)."""
    depth = 0
    while index < len(raw):
        depth += (raw[index][0] == _FSTRING_START) - (raw[index][0] == _FSTRING_END)
        if depth == 0:
            return _significant(raw, index, 1)
        index += 1
    return index


_AUGMENTED = {"+=", "-=", "*=", "/=", "//=", "%=", "**=", ">>=", "<<=", "&=", "|=", "^=", "@=", ":="}
_OPENING = {"(", "[", "{"}
_COMPOUND = {"if", "elif", "else", "for", "while", "with", "try", "except", "finally", "def", "class", "async"}


def bound_names(raw):
    """(bare names, attribute names) that the tokens bind: what a student chose and may rename."""
    bare, attributes = set(), set()
    statement = []
    for token in raw + [(tokenize.NEWLINE, "", (0, 0), (0, 0))]:
        if token[0] in (tokenize.NEWLINE, tokenize.ENDMARKER) or token[1] == ";":
            _bind_statement(statement, bare, attributes)
            statement = []
        elif token[0] not in _DROPPED:
            own = token[0] == tokenize.NAME and not keyword.iskeyword(token[1])
            statement.append(("name", token[1]) if own else token[1])
    return bare, attributes


def _bind_statement(words, bare, attributes):
    """Add what one logical statement binds; `words` are strings, names (not keywords) as ("name", text)."""
    if words and words[0] in _COMPOUND:
        depth = 0
        for index, word in enumerate(words):
            depth += (word in _OPENING) - (word in _CLOSING)
            if word == ":" and depth == 0:  # a one-line body follows its header: a statement of its own
                _bind_statement(words[index + 1:], bare, attributes)
                words = words[:index + 1]
                break
    depth, targets_end = 0, -1
    for index, word in enumerate(words):
        text = word[1] if type(word) is tuple else word
        depth += (text in _OPENING) - (text in _CLOSING)
        if type(word) is not tuple:
            if depth == 0 and (text == "=" or text in _AUGMENTED):
                targets_end = index
            continue
        before = words[index - 1] if index else None
        after = words[index + 1] if index + 1 < len(words) else None
        before_text = before[1] if type(before) is tuple else before
        if before_text in ("def", "class"):
            bare.add(text)
            attributes.add(text)
        elif before_text in ("as", "import", "lambda", "global", "nonlocal") or after == ":=":
            bare.add(text)
        elif before_text in ("(", ",", "*", "**") and _in_signature(words, index):
            bare.add(text)
    for index in range(max(targets_end, 0)):
        word = words[index]
        after = words[index + 1]
        if type(word) is tuple and type(after) is not tuple and after in {",", "=", ")", "]", ":"} | _AUGMENTED:
            (attributes if index and words[index - 1] == "." else bare).add(word[1])
    _bind_loops(words, bare)


def _in_signature(words, index):
    """Whether the name at `index` is a parameter: the statement is a `def` or a `lambda` is open."""
    first = words[0][1] if type(words[0]) is tuple else words[0]
    return first in ("def", "async") or "lambda" in words[:index]


def _bind_loops(words, bare):
    """Names between `for` and `in` (loops and comprehensions), and `from x import a, b`."""
    looping, importing = False, False
    for word in words:
        if word in ("for", "import"):
            looping, importing = word == "for", word == "import"
        elif word == "in":
            looping = False
        elif type(word) is tuple and (looping or importing):
            bare.add(word[1])

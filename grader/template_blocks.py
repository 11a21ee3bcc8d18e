"""Template-only code: what a student template ships instead of a stubbed solution region.

A find-the-bugs exercise gives students code with bugs in it. The reference solution keeps the
fixed code between the solution markers, and right after them the code as the template ships it,
commented out, between `# BEGIN TEMPLATE` and `# END TEMPLATE` (each line `# ` + code, at the
indentation of the markers). In the reference the block is only comments, so the reference runs
the fixed code. `fill` runs on a generated template (after `grader.assign.make_template` has
turned the solution region into `raise NotImplementedError("<function>: not implemented yet")`)
and replaces that stub and the block after it with the block's code, uncommented:

    def train_epoch(model, loader, criterion, optimizer):
        \"\"\"...\"\"\"
        # BEGIN SOLUTION
        optimizer.zero_grad()          # the fix
        ...
        # END SOLUTION
        # BEGIN TEMPLATE
        # ...                          # the buggy loop the template ships
        # END TEMPLATE
"""

import re

from grader.errors import GraderError

BEGIN, END = "# BEGIN TEMPLATE", "# END TEMPLATE"
_STUB = re.compile(r'^(\s*)raise NotImplementedError\("(.+): not implemented yet"\)$')


def _uncomment(line, indent, where):
    """`indent + '# code'` -> `indent + 'code'`; a blank line stays blank."""
    if not line.strip():
        return ""
    if line.startswith(indent + "# "):
        return indent + line[len(indent) + 2:]
    if line.rstrip() == indent + "#":
        return ""
    raise GraderError(f"{where}: every line of a template block must be '# ' + code at the block's "
                      f"indentation, got {line.strip()!r}")


def fill(template_source: str) -> str:
    """The template with each stub that a template block follows replaced by the block's code."""
    lines = template_source.split("\n")
    out, index = [], 0
    while index < len(lines):
        line, stripped = lines[index], lines[index].strip()
        if stripped == END:
            raise GraderError(f"'{END}' without a matching '{BEGIN}' (template line {index + 1})")
        if stripped != BEGIN:
            out.append(line)
            index += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        stub = _STUB.match(out[-1]) if out else None
        if stub is None or stub.group(1) != indent:
            raise GraderError(f"'{BEGIN}' (template line {index + 1}) must directly follow a solution region "
                              "at the same indentation")
        where = f"the template block of {stub.group(2)}"
        out.pop()
        index += 1
        while index < len(lines) and lines[index].strip() != END:
            if lines[index].strip() == BEGIN:
                raise GraderError(f"{where}: nested '{BEGIN}'")
            out.append(_uncomment(lines[index], indent, where))
            index += 1
        if index == len(lines):
            raise GraderError(f"{where}: '{BEGIN}' is never closed by '{END}'")
        index += 1  # the END line
    return "\n".join(out)


def has_blocks(source: str) -> bool:
    """True when `source` (a reference or a template) has a template block."""
    return any(line.strip() == BEGIN for line in source.split("\n"))

"""Check kind of written answers: present and long enough, then pending until a TA's score is
merged (grader.manual)."""

from grader.checks.registry import Fail, Param, Pending, check_kind, positive
from grader.sandbox.values import describe


@check_kind("written_answer", probes=("attribute",),
            name=Param((str,), default="ANSWERS"),
            key=Param((str,)),
            min_words=Param((int,), default=3, validate=positive))
def written_answer(ctx):
    """The answer to question `key` in the dict `name` is text of at least `min_words` words; its
    points stay pending until a TA's score is merged (`grader grade --manual-scores`)."""
    name, key = ctx.params["name"], ctx.params["key"]
    answers = ctx.probe("attribute", f"reading `{name}`", name=name)
    if answers is None:
        raise Fail(f"`{name}` is not implemented yet (it is still None)")
    if type(answers) is not dict:
        raise Fail(f"`{name}` should be a dict of answers keyed by question ('{key}': '...'), but it is "
                   f"{describe(answers)}")
    if key not in answers:
        raise Fail(f"`{name}` has no answer to question {key}: add `{name}['{key}']`")
    text = answers[key]
    if text is None:
        raise Fail(f"the answer to question {key} is not implemented yet (`{name}['{key}']` is still None)")
    if type(text) is not str:
        raise Fail(f"`{name}['{key}']` should be your answer as a string, but it is {describe(text)}")
    words = len(text.split())
    if words < ctx.params["min_words"]:
        raise Fail(f"the answer to question {key} is {'empty' if not words else 'too short'}: write it in "
                   f"`{name}['{key}']`")
    excerpt = " ".join(text.split())
    excerpt = excerpt if len(excerpt) <= 300 else excerpt[:297] + "..."
    raise Pending(f"answer received ({words} words); a TA grades it: \"{excerpt}\"")

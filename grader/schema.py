"""`grader schema`: a JSON Schema (draft 2020-12) of the rubric format, generated from the registry.

Editors that read JSON Schema for YAML (the YAML language server of VS Code, JetBrains IDEs)
then complete and check kinds, their parameters and the keys of a check while a rubric is
written. The schema is made from what grader.rubric accepts (its TOP_KEYS and CHECK_KEYS) and
from each registered kind's `Param`s (types, defaults, docs), so a new kind appears in it
without editing this module. What a Param's own `validate` function checks (a shape list, a
fraction) is not expressible here: loading the rubric still checks it.
"""

import json

from grader import rubric as rubrics
from grader.checks import registry

SCHEMA_ID = "https://grader.invalid/rubric.schema.json"  # a name, not a place: nothing is fetched
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object",
              type(None): "null"}
ID_PATTERN = "^[A-Za-z0-9_-]+$"


def param_schema(spec):
    """The schema of one parameter: its JSON type(s), default and doc."""
    types = sorted({JSON_TYPES[t] for t in spec.types if t in JSON_TYPES})
    if "integer" in types and "number" in types:
        types.remove("integer")  # every integer is a number
    out = {"type": types[0] if len(types) == 1 else types}
    if spec.doc:
        out["description"] = spec.doc
    if not spec.required:
        try:
            json.dumps(spec.default)
            out["default"] = spec.default
        except (TypeError, ValueError):
            pass
    return out


def kind_schema(kind):
    """The `if kind is K then params is ...` clause of one check kind."""
    params = {"type": "object", "additionalProperties": False,
              "properties": {name: param_schema(spec) for name, spec in sorted(kind.params.items())}}
    required = sorted(name for name, spec in kind.params.items() if spec.required)
    if required:
        params["required"] = required
    first = kind.doc.strip().split("\n\n")[0].replace("\n", " ") if kind.doc else ""
    if first:
        params["description"] = f"{kind.name}: {first}"
    then = {"properties": {"params": params}}
    if required:
        then["required"] = ["params"]  # a kind with a required parameter needs params at all
    return {"if": {"properties": {"kind": {"const": kind.name}}, "required": ["kind"]}, "then": then}


def check_schema(kinds):
    """The schema of one entry of `checks`."""
    properties = {
        "id": {"type": "string", "pattern": ID_PATTERN, "description": "Unique in the rubric: letters, digits, - and _"},
        "title": {"type": "string", "description": "What the student sees"},
        "kind": {"enum": sorted(kinds), "description": "A check kind of the grader's library"},
        "points": {"type": "number", "minimum": 0},
        "visibility": {"enum": list(rubrics.VISIBILITIES),
                       "description": "public: `grader check` runs it; hidden: only `grader grade`"},
        "time_limit": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds for this check"},
        "params": {"type": "object", "description": "The kind's parameters"},
        "seed": {"type": "integer", "description": "Seeds torch for this check (default: from the id)"},
    }
    properties = _for_keys(properties, rubrics.CHECK_KEYS)
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": ["id", "title", "kind", "points", "visibility", "time_limit"],
            "allOf": [kind_schema(kinds[name]) for name in sorted(kinds)]}


def rubric_schema(kinds=None):
    """The JSON Schema of a rubric file (a dict, ready for json.dumps)."""
    if kinds is None:
        import grader.checks  # noqa: F401 - registers every kind

        kinds = registry.KINDS
    properties = {
        "assignment": {"type": "string", "minLength": 1, "description": "The assignment's name (the file's stem)"},
        "title": {"type": "string"},
        "dataset": {"type": ["string", "null"], "description": "The data set of training checks (mnist, fashion_mnist)"},
        "import_time_limit": {"type": "number", "exclusiveMinimum": 0},
        "memory_limit_mb": {"type": "integer", "minimum": 256},
        "cell_time_limit": {"type": "number", "exclusiveMinimum": 0,
                            "description": "Seconds each notebook cell (script statement) may take while loading"},
        "checks": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/check"}},
    }
    properties = _for_keys(properties, rubrics.TOP_KEYS)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "grader rubric", "description": "A rubric of the grader: rubric/<assignment>.yaml",
            "type": "object", "additionalProperties": False, "required": ["assignment", "checks"],
            "properties": properties, "$defs": {"check": check_schema(kinds)}}


def _for_keys(described, keys):
    """The properties of exactly the keys the loader accepts: one it accepts that is not described
    here yet is allowed with any value (the loader still checks it), none it refuses is offered."""
    return {key: described.get(key, {}) for key in sorted(keys, key=lambda k: (k not in described, k))}


def dumps(kinds=None):
    return json.dumps(rubric_schema(kinds), indent=2, sort_keys=False) + "\n"

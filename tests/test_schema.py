"""`grader schema`: the JSON Schema of the rubric format, generated from the registry of kinds,
accepts every rubric of the repository and refuses what the rubric loader refuses."""

import copy
import json

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from grader import rubric as rubrics
from grader import schema
from grader.checks import KINDS
from grader.cli import main
from grader.errors import RubricError

RUBRICS = sorted(p for p in rubrics.RUBRIC_DIR.glob("*.yaml") if "." not in p.stem)


@pytest.fixture(scope="module")
def validator():
    generated = schema.rubric_schema()
    jsonschema.Draft202012Validator.check_schema(generated)  # the schema itself is valid
    return jsonschema.Draft202012Validator(generated)


def test_every_kind_and_its_parameters_are_in_the_schema():
    clauses = schema.rubric_schema()["$defs"]["check"]["allOf"]
    by_kind = {c["if"]["properties"]["kind"]["const"]: c["then"]["properties"]["params"] for c in clauses}
    assert set(by_kind) == set(KINDS) and len(KINDS) > 10
    for name, kind in KINDS.items():
        assert set(by_kind[name]["properties"]) == set(kind.params), name
        assert set(by_kind[name].get("required", [])) == {p for p, s in kind.params.items() if s.required}


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.stem)
def test_every_repository_rubric_validates(path, validator):
    raw = yaml.safe_load(path.read_text())
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(raw)]
    assert not problems, problems
    rubrics.load_file(path)  # and the loader agrees


def test_the_schema_refuses_what_the_loader_refuses(validator, tmp_path):
    good = yaml.safe_load(RUBRICS[0].read_text())
    check = good["checks"][0]
    kind = KINDS[check["kind"]]
    required = sorted(p for p, s in kind.params.items() if s.required)
    broken = {
        "unknown kind": lambda c: c.update(kind="no_such_kind"),
        "unknown parameter": lambda c: c.setdefault("params", {}).update(no_such_param=1),
        "missing key": lambda c: c.pop("time_limit"),
        "unknown key": lambda c: c.update(weight=2),
        "bad visibility": lambda c: c.update(visibility="secret"),
        "bad id": lambda c: c.update(id="has space"),
    }
    if required:
        types = kind.params[required[0]].types
        wrong = next(v for v in ("text", 1.5, [1], {"a": 1}, True) if type(v) not in types)
        broken["wrong parameter type"] = lambda c: c["params"].update({required[0]: wrong})
        broken["missing parameter"] = lambda c: c["params"].pop(required[0])
    assert validator.is_valid(good)
    for what, change in broken.items():
        raw = copy.deepcopy(good)
        change(raw["checks"][0])
        assert not validator.is_valid(raw), what
        (tmp_path / "r.yaml").write_text(yaml.safe_dump(raw))
        with pytest.raises(RubricError):
            rubrics.load_file(tmp_path / "r.yaml")


def test_grader_schema_writes_to_stdout_and_to_a_file(tmp_path):
    runner = CliRunner()
    done = runner.invoke(main, ["schema"])
    assert done.exit_code == 0 and json.loads(done.stdout)["$defs"]["check"]["properties"]["kind"]["enum"]
    done = runner.invoke(main, ["schema", "--out", str(tmp_path / "rubric.schema.json")])
    assert done.exit_code == 0 and json.loads((tmp_path / "rubric.schema.json").read_text()) == schema.rubric_schema()
    into_a_file = runner.invoke(main, ["schema", "--out", str(tmp_path / "rubric.schema.json" / "x.json")])
    assert into_a_file.exit_code == 2 and "is a file, not a folder" in into_a_file.output

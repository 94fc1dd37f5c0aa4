"""The JSON Schemas of scenario and sweep files, used as an editor uses them: on each file as
written (``yaml.safe_load``, no merging), with the ``jsonschema`` library.

Every shipped YAML file fits its schema; partial files laid over the baseline are accepted
by the schema exactly when the loader accepts them, for the cases below; and the schemas
catch real mistakes (misspelt keys, wrong types, values out of range, unknown variants).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from sim.cli import main
from sim.config.errors import ScenarioError
from sim.config.json_schema import scenario_file_schema, sweep_file_schema
from sim.config.load import file_kind, load_scenario
from sim.config.raw import RawScenario
from sim.experiment.sweep_plan import read_sweep

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SCENARIO_FILES = sorted(
    [
        *ROOT.glob("scenarios/*.yaml"),
        *ROOT.glob("scenarios/validation/*.yaml"),
        *ROOT.glob("configs/**/*.yaml"),
    ]
)
SWEEP_FILES = sorted(ROOT.glob("scenarios/sweeps/*.yaml"))
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def _json(value: Any) -> Any:
    """YAML data as an editor's JSON view of it: dates are text (a date and time keeps its
    time, so a ``format: date`` refuses it as the loader does)."""
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    if isinstance(value, dt.date):  # datetime included: isoformat() keeps the time
        return value.isoformat()
    return value


def _read(path: Path) -> Any:
    return _json(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def scenario_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(scenario_file_schema(), format_checker=FORMATS)


@pytest.fixture(scope="module")
def sweep_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(sweep_file_schema(), format_checker=FORMATS)


def _messages(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    """Every error, with the errors of each alternative of an ``anyOf``/``oneOf``."""
    found, pending = [], list(validator.iter_errors(data))
    while pending:
        error = pending.pop()
        found.append(error.message)
        pending.extend(error.context or ())
    return found


# -- the schemas themselves -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [scenario_file_schema, sweep_file_schema])
def test_schemas_are_valid_draft_2020_12(make):
    schema = make()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    json.dumps(schema)  # printable as JSON


def test_every_object_of_the_schemas_forbids_unknown_keys():
    def objects(node: Any):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                yield node  # a model (the sweep's cross-field rules have no type)
            for key, value in node.items():
                if key not in ("default", "const", "enum", "examples"):
                    yield from objects(value)
        elif isinstance(node, list):
            for value in node:
                yield from objects(value)

    for schema in (scenario_file_schema(), sweep_file_schema()):
        for node in objects(schema):
            assert node.get("additionalProperties") is False, node.get("title")


def test_scenario_file_schema_requires_only_names():
    schema = scenario_file_schema()
    assert "required" not in schema
    assert "extends" in schema["properties"]
    required = {name: d["required"] for name, d in schema["$defs"].items() if d.get("required")}
    # named-list items need their name; a schedule step replaces the whole list
    assert required.pop("Step") == ["date", "value"]
    # so does a list of links or of kernel terms (items without a name)
    assert required.pop("Excitation") == ["source", "target", "branching_ratio"]
    assert required.pop("KernelTerm") == ["share", "decay_per_day"]
    assert set(required) == {
        "Site",
        "Phase",
        "LiftAsset",
        "Repositioning",
        "Sector",
        "IncidentType",
        "Poisson",
        "NHPP",
        "Hawkes",
        "Place",
        "Crossing",
        "IsrAsset",
        "Shock",
    }
    assert all(fields == ["name"] for fields in required.values())


def test_scenario_file_schema_keeps_descriptions_ranges_and_enums():
    defs = scenario_file_schema()["$defs"]
    surveillance = defs["Sector"]["properties"]["surveillance"]
    assert (surveillance["minimum"], surveillance["maximum"]) == (0.0, 1.0)
    assert surveillance["description"]
    assert defs["Site"]["properties"]["country"]["enum"] == ["iraq", "syria", "out_of_theatre"]
    kinds = {v["properties"]["kind"]["const"] for v in (defs["Poisson"], defs["Hawkes"])}
    assert kinds == {"poisson", "hawkes"}


# -- every shipped file ---------------------------------------------------------------------------


def test_the_shipped_files_are_all_covered():
    found = {*ROOT.glob("scenarios/**/*.yaml"), *ROOT.glob("configs/**/*.yaml")}
    assert found == {*SCENARIO_FILES, *SWEEP_FILES}
    assert len(SWEEP_FILES) >= 3 and len(SCENARIO_FILES) >= 10


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=_ids(SCENARIO_FILES))
def test_shipped_scenario_file_matches_the_schema(path, scenario_validator):
    assert file_kind(path) == "scenario"
    assert _messages(scenario_validator, _read(path)) == []


@pytest.mark.parametrize("path", SWEEP_FILES, ids=_ids(SWEEP_FILES))
def test_shipped_sweep_file_matches_the_schema(path, sweep_validator):
    assert file_kind(path) == "sweep"
    assert _messages(sweep_validator, _read(path)) == []


@pytest.mark.parametrize(
    "path",
    [p for p in SCENARIO_FILES if p.parent.name in ("scenarios", "validation")],
    ids=_ids([p for p in SCENARIO_FILES if p.parent.name in ("scenarios", "validation")]),
)
def test_merged_scenario_matches_the_schema(path, scenario_validator):
    """A whole scenario is one more partial file: the merged data fits too."""
    assert _messages(scenario_validator, _json(RawScenario.from_file(path).to_dict())) == []


# -- partial scenario files: the schema agrees with the loader ------------------------------------

ACCEPTED = {
    "process_without_kind_fitting_every_kind": """
        threats: {processes: [{name: al_qaim_isis, modulated: false}]}""",
    "process_without_kind_fitting_two_kinds": """
        threats: {processes: [{name: al_qaim_aq, rate_per_day: 0.02}]}""",
    "process_with_its_kind": """
        threats: {processes: [{name: al_qaim_isis, kind: hawkes, branching_ratio: 0.5}]}""",
    "new_process_in_full": """
        threats:
          processes:
            - {name: rabia_aq, sector: rabia, actor: al_qaeda, kind: nhpp, rate_per_day: 0.01,
               trend_per_year: 0.1}""",
    "duration_without_distribution": """
        forces: {lift: [{name: airlift, transit_days: {value: 0.5}}]}""",
    "severity_without_distribution": """
        threats: {incident_types: [{name: attack, severity: {alpha: 2.1}}]}""",
    "signal_without_kind": """
        signals: {border_incidents_30d: {window_days: 60}}""",
    "site_with_name_and_one_role": """
        forces: {sites: [{name: erbil, personnel: {trainers: 80}}]}""",
    "sector_with_name_and_one_field": """
        border: {sectors: [{name: al_qaim, surveillance: 0.5}]}""",
    "phase_keeping_no_one": """
        forces: {phases: [{name: phase_2, reduce: {erbil: {}}}]}""",
    "dates_and_run": """
        clock: {end_date: 2027-06-30}
        run: {seed: 7}""",
    "schedule_replaced_whole": """
        threats:
          processes:
            - name: jazira_isis
              background_steps: [{date: 2025-01-01, value: 1.0}, {date: 2026-06-01, value: 3}]""",
}

REJECTED = {
    "misspelt_site_key": (
        "forces: {sites: [{name: erbil, persnnel: {trainers: 80}}]}",
        "'persnnel' was unexpected",
    ),
    "rate_as_a_word": (
        "threats: {processes: [{name: al_qaim_aq, rate_per_day: high}]}",
        "'high' is not of type 'number'",
    ),
    "rate_as_a_boolean": (
        "threats: {processes: [{name: al_qaim_aq, rate_per_day: true}]}",
        "True is not of type 'number'",
    ),
    "fraction_above_one": (
        "border: {sectors: [{name: al_qaim, surveillance: 1.5}]}",
        "1.5 is greater than the maximum of 1.0",
    ),
    "no_replications": ("run: {replications: 0}", "0 is less than the minimum of 1"),
    "unknown_process_kind": (
        "threats: {processes: [{name: al_qaim_aq, kind: hawks}]}",
        "'hawkes' was expected",
    ),
    "unknown_distribution": (
        "forces: {lift: [{name: airlift, transit_days: {distribution: gamma, value: 1}}]}",
        "'exponential' was expected",
    ),
    "key_of_another_kind": (
        "threats: {processes: [{name: al_qaim_aq, kind: poisson, branching_ratio: 0.5}]}",
        "'branching_ratio' was unexpected",
    ),
    "misspelt_top_level_key": ("threat: {actors: [isis]}", "'threat' was unexpected"),
    "site_without_a_name": (
        "forces: {sites: [{country: iraq}]}",
        "'name' is a required property",
    ),
    "capitalised_role": (
        "forces: {sites: [{name: erbil, personnel: {Trainers: 80}}]}",
        "'Trainers' does not match",
    ),
    "step_without_value": (
        "threats: {processes: [{name: jazira_isis, background_steps: [{date: 2025-01-01}]}]}",
        "'value' is a required property",
    ),
    "date_in_words": ("clock: {end_date: 31 December 2027}", "is not a 'date'"),
    "date_and_time": ("clock: {end_date: 2027-12-31 10:00:00}", "is not a 'date'"),
    "unknown_country": (
        "forces: {sites: [{name: erbil, country: kurdistan}]}",
        "'kurdistan' is not one of",
    ),
}


def _over_baseline(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "partial.yaml"
    extends = os.path.relpath(BASELINE, tmp_path)
    text = "\n".join(line.removeprefix("        ") for line in body.strip("\n").splitlines())
    path.write_text(f"extends: {extends}\n{text}\n", encoding="utf-8")
    return path


def _loader_accepts(path: Path) -> bool:
    try:
        load_scenario(path)
    except ScenarioError:
        return False
    return True


@pytest.mark.parametrize("body", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_partial_file_the_loader_accepts_fits_the_schema(body, tmp_path, scenario_validator):
    path = _over_baseline(tmp_path, body)
    assert _loader_accepts(path)
    assert _messages(scenario_validator, _read(path)) == []


@pytest.mark.parametrize("body, expected", REJECTED.values(), ids=REJECTED.keys())
def test_mistake_is_caught_by_the_schema_and_the_loader(
    body, expected, tmp_path, scenario_validator
):
    path = _over_baseline(tmp_path, body)
    assert not _loader_accepts(path)
    messages = _messages(scenario_validator, _read(path))
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    "extends, ok",
    [
        ("baseline.yaml", True),
        ("../configs/run/default.yml", True),
        (["a.yaml", "sub/b.YAML"], True),
        ("/etc/baseline.yaml", False),
        ("baseline.json", False),
        ("", False),
        ([], False),
        (3, False),
    ],
)
def test_extends_takes_relative_yaml_paths(extends, ok, scenario_validator):
    assert scenario_validator.is_valid({"extends": extends}) is ok


# -- sweep files ----------------------------------------------------------------------------------

SWEEP = {
    "name": "trial",
    "scenario": "../baseline.yaml",
    "design": "lhs",
    "samples": 8,
    "parameters": [{"path": "forces.sites.erbil.personnel.trainers", "range": [0, 100]}],
}
SWEEP_MISTAKES = {
    "unknown_top_level_key": ({"sweep": SWEEP, "metadata": {"name": "x"}}, "'metadata'"),
    "misspelt_top_level_key": ({"sweeps": SWEEP}, "'sweep' is a required property"),
    "misspelt_sweep_key": ({"sweep": {**SWEEP, "sampels": 8}}, "'sampels' was unexpected"),
    "unknown_design": ({"sweep": {**SWEEP, "design": "grdi"}}, "'grdi' is not one of"),
    "sampled_design_without_samples": (
        {"sweep": {k: v for k, v in SWEEP.items() if k != "samples"}},
        "'samples' is a required property",
    ),
    "sampled_design_without_range": (
        {"sweep": {**SWEEP, "parameters": [{"path": "run.seed", "values": [1, 2]}]}},
        "'range' is a required property",
    ),
    "values_and_range": (
        {
            "sweep": {
                **SWEEP,
                "parameters": [{"path": "run.seed", "values": [1], "range": [0, 1]}],
            }
        },
        "is valid under each of",
    ),
    "absolute_base": ({"sweep": {**SWEEP, "scenario": "/tmp/base.yaml"}}, "does not match"),
    "no_replications": ({"sweep": {**SWEEP, "replications": 0}}, "less than the minimum"),
    "path_not_dotted": (
        {"sweep": {**SWEEP, "parameters": [{"path": "seed", "range": [0, 1]}]}},
        "'seed' does not match",
    ),
}


def test_a_sampled_sweep_fits_the_schema_and_the_loader(tmp_path, sweep_validator):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"sweep": SWEEP}), encoding="utf-8")
    read_sweep(path)
    assert _messages(sweep_validator, {"sweep": SWEEP}) == []


@pytest.mark.parametrize("data, expected", SWEEP_MISTAKES.values(), ids=SWEEP_MISTAKES.keys())
def test_sweep_mistake_is_caught_by_the_schema_and_the_loader(
    data, expected, tmp_path, sweep_validator
):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError):
        read_sweep(path)
    messages = _messages(sweep_validator, data)
    assert any(expected in m for m in messages), messages


# -- telling sweep files from scenario files ------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind",
    [
        ("sweep: {name: x}\n", "sweep"),
        ("sweep: {}\nmetadata: {name: x}\n", "sweep"),  # a sweep file with a stray key
        ("metadata: {name: x}\n", "scenario"),
        ("extends: baseline.yaml\n", "scenario"),
        ("- sweep\n", "scenario"),
        ("sweep: [unclosed\n", "scenario"),  # loading it as a scenario says what is wrong
        ("", "scenario"),
    ],
)
def test_file_kind_reads_the_top_level_key(text, kind, tmp_path):
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    assert file_kind(path) == kind


def test_file_kind_of_what_is_not_a_file(tmp_path):
    assert file_kind(tmp_path / "missing.yaml") == "scenario"
    assert file_kind(tmp_path) == "scenario"


# -- the command line -----------------------------------------------------------------------------

_HAS_KIND = "--kind" in CliRunner().invoke(main, ["schema", "--help"]).output
needs_cli = pytest.mark.skipif(not _HAS_KIND, reason="sim/cli.py does not have `schema --kind` yet")


@needs_cli
@pytest.mark.parametrize(
    "args, make",
    [
        ([], scenario_file_schema),
        (["--kind", "scenario"], scenario_file_schema),
        (["--kind", "sweep"], sweep_file_schema),
    ],
)
def test_schema_command_prints_the_schemas(args, make):
    result = CliRunner().invoke(main, ["schema", *args])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == make()


@needs_cli
def test_validate_checks_sweep_and_scenario_files_together():
    files = [str(BASELINE), *map(str, SWEEP_FILES)]
    result = CliRunner().invoke(main, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok: ") == len(files)
    assert "design points" in result.output


@needs_cli
def test_validate_reports_a_bad_point_of_a_sweep(tmp_path):
    sweep = {**SWEEP, "scenario": os.path.relpath(BASELINE, tmp_path), "design": "grid"}
    sweep["parameters"] = [{"path": "forces.sitess.erbil.personnel.trainers", "values": [10]}]
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"sweep": sweep}), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path), str(BASELINE)])
    assert result.exit_code == 2, result.output
    assert "ok: " in result.output  # the scenario file after it is still checked
    assert "did you mean 'sites'? (every design point (1))" in result.output


@needs_cli
def test_validate_applies_set_to_a_sweeps_base_scenario():
    result = CliRunner().invoke(main, ["validate", str(SWEEP_FILES[0]), "--set", "run.seed=3"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        main, ["validate", str(SWEEP_FILES[0]), "--set", "clock.end_date=2020-01-01"]
    )
    assert result.exit_code == 2 and "--set clock.end_date=2020-01-01" in result.output

"""Loading scenarios: the merge rule, ``--set`` and the YAML round trip (the JSON Schemas of
scenario and sweep files: tests/test_json_schema.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from sim.config.errors import ScenarioError
from sim.config.load import config_hash, load_scenario, scenario_to_yaml
from sim.config.merge import deep_merge
from sim.config.overrides import SetOptions
from sim.config.raw import RawScenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def shipped_scenarios() -> list[Path]:
    """Every YAML file under scenarios/ that is a scenario (has ``metadata``)."""
    found = []
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "metadata" in data:
            found.append(path)
    return found


SHIPPED = shipped_scenarios()
SHIPPED_IDS = [str(p.relative_to(ROOT / "scenarios")) for p in SHIPPED]


def load_raw(path: Path, *overrides: str) -> tuple[dict, dict]:
    """The merged, overridden data of ``path`` before validation, and its keys' positions."""
    raw = RawScenario.from_file(path)
    for expression in overrides:
        raw.override_text(expression)
    return raw.to_dict(), dict(raw.positions)


def merged(base, override):
    return deep_merge(base, override)[0]


def _site(data: dict, name: str) -> dict:
    return next(s for s in data["forces"]["sites"] if s["name"] == name)


# -- the merge rule -----------------------------------------------------------------------------


def test_mappings_merge_key_by_key_recursively():
    base = {"a": 1, "b": {"x": 1, "y": {"p": 1, "q": 2}}}
    override = {"b": {"y": {"q": 3, "r": 4}, "z": 5}, "c": 6}
    assert merged(base, override) == {
        "a": 1,
        "b": {"x": 1, "y": {"p": 1, "q": 3, "r": 4}, "z": 5},
        "c": 6,
    }


def test_merge_modifies_neither_input():
    base = {"b": {"x": [1]}, "items": [{"name": "a", "v": {"w": 1}}]}
    override = {"b": {"y": 2}, "items": [{"name": "a", "v": {"w": 2}}]}
    before = (json.dumps(base), json.dumps(override))
    result = merged(base, override)
    result["b"]["x"].append(2)
    result["items"][0]["v"]["w"] = 9
    assert (json.dumps(base), json.dumps(override)) == before


def test_named_lists_merge_by_name_and_append_new_names_in_order():
    base = [{"name": "a", "v": 1, "w": 1}, {"name": "b", "v": 2}]
    override = [{"name": "c", "v": 3}, {"name": "a", "v": 10}, {"name": "d", "v": 4}]
    assert merged(base, override) == [
        {"name": "a", "v": 10, "w": 1},
        {"name": "b", "v": 2},
        {"name": "c", "v": 3},
        {"name": "d", "v": 4},
    ]


def test_named_items_merge_deeply():
    base = [{"name": "erbil", "personnel": {"advisers": 100, "trainers": 50}}]
    override = [{"name": "erbil", "personnel": {"trainers": 10}}]
    assert merged(base, override) == [
        {"name": "erbil", "personnel": {"advisers": 100, "trainers": 10}}
    ]


@pytest.mark.parametrize(
    ("base", "override"),
    [
        ([1, 2, 3], [4]),  # plain values
        (["advisers", "trainers"], ["support"]),
        ([{"name": "a", "v": 1}], [{"v": 2}]),  # an item without a name
        ([{"name": "a", "v": 1}, {"v": 0}], [{"name": "a", "v": 2}]),  # base not all named
        ([{"name": "a"}], []),  # an empty list clears
        ({"advisers": 80, "support": 70}, {}),  # an empty mapping clears ("keep no one")
        ({"x": 1}, [1]),  # a list replaces a mapping
        ([1], {"x": 1}),  # and a mapping a list
        ({"x": 1}, 3),  # a value replaces a mapping
        ({"x": 1}, None),
    ],
)
def test_other_values_are_replaced(base, override):
    assert merged(base, override) == override


def test_extends_merges_parents_in_order_then_the_file(tmp_path):
    (tmp_path / "one.yaml").write_text(
        "run: {seed: 1, replications: 5}\nforces:\n  roles: [a, b]\n"
        "  sites: [{name: x, personnel: {a: 1}}, {name: y}]\n"
    )
    (tmp_path / "two.yaml").write_text(
        "run: {seed: 2}\nforces:\n  roles: [c]\n  sites: [{name: y, personnel: {c: 3}}]\n"
    )
    (tmp_path / "top.yaml").write_text(
        "extends: [one.yaml, two.yaml]\nrun: {replications: 7}\n"
        "forces:\n  sites: [{name: z}, {name: x, personnel: {b: 2}}]\n"
    )
    data, positions = load_raw(tmp_path / "top.yaml")
    assert "extends" not in data
    assert data["run"] == {"seed": 2, "replications": 7}
    assert data["forces"]["roles"] == ["c"]
    assert data["forces"]["sites"] == [
        {"name": "x", "personnel": {"a": 1, "b": 2}},
        {"name": "y", "personnel": {"c": 3}},
        {"name": "z"},
    ]
    # Every key remembers the file and line it came from, list items by name.
    assert positions[("run", "seed")].source.endswith("two.yaml")
    assert positions[("run", "replications")].source.endswith("top.yaml")
    assert positions[("forces", "sites", "x", "personnel", "a")].source.endswith("one.yaml")
    assert positions[("forces", "sites", "x", "personnel", "b")].line == 4


def test_extends_resolves_paths_relative_to_each_file(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "base.yaml").write_text("extends: run.yaml\nmetadata: {name: m}\n")
    (tmp_path / "configs" / "run.yaml").write_text("run: {seed: 4}\n")
    (tmp_path / "scenario.yaml").write_text("extends: configs/base.yaml\n")
    data, _ = load_raw(tmp_path / "scenario.yaml")
    assert data == {"run": {"seed": 4}, "metadata": {"name": "m"}}


def test_the_same_file_may_be_extended_twice_without_a_cycle(tmp_path):
    (tmp_path / "common.yaml").write_text("run: {seed: 1}\n")
    (tmp_path / "left.yaml").write_text("extends: common.yaml\n")
    (tmp_path / "right.yaml").write_text("extends: common.yaml\n")
    (tmp_path / "top.yaml").write_text("extends: [left.yaml, right.yaml]\n")
    assert load_raw(tmp_path / "top.yaml")[0] == {"run": {"seed": 1}}


def test_baseline_merges_its_config_files():
    data, _ = load_raw(BASELINE)
    assert data["metadata"]["name"] == "baseline"
    assert {"clock", "forces", "border", "threats", "run"} <= data.keys()
    assert [p["name"] for p in data["forces"]["phases"]] == ["phase_1", "phase_2"]


# -- --set ----------------------------------------------------------------------------------------


def test_set_names_list_items_by_name():
    data, positions = load_raw(BASELINE, "forces.sites.erbil.personnel.trainers=10")
    assert _site(data, "erbil")["personnel"]["trainers"] == 10
    assert _site(data, "erbil")["personnel"]["advisers"] == 100  # the rest is kept
    assert str(positions[("forces", "sites", "erbil", "personnel", "trainers")]) == (
        "--set forces.sites.erbil.personnel.trainers=10"
    )
    scenario = load_scenario(BASELINE, ["forces.sites.erbil.personnel.trainers=10"])
    erbil = next(s for s in scenario.forces.sites if s.name == "erbil")
    assert erbil.personnel["trainers"] == 10


def test_set_names_list_items_by_index():
    index = [s["name"] for s in load_raw(BASELINE)[0]["forces"]["sites"]].index("erbil")
    data, _ = load_raw(BASELINE, f"forces.sites.{index}.personnel.trainers=11")
    assert _site(data, "erbil")["personnel"]["trainers"] == 11
    data, _ = load_raw(BASELINE, "forces.roles.0=mentors", "forces.lift.1.lifts_per_day=3")
    assert data["forces"]["roles"][0] == "mentors"
    assert data["forces"]["lift"][1]["lifts_per_day"] == 3


@pytest.mark.parametrize(
    ("expression", "path", "value"),
    [
        ("run.seed=7", ("run", "seed"), 7),
        ("border.detection.coalition_isr=0.25", ("border", "detection", "coalition_isr"), 0.25),
        ("clock.end_date=2028-06-30", ("clock", "end_date"), dt.date(2028, 6, 30)),
        (
            "threats.modulation.fortification.enabled=false",
            ("threats", "modulation", "fortification", "enabled"),
            False,
        ),
        ("metadata.description=two words", ("metadata", "description"), "two words"),
        ("metadata.description=", ("metadata", "description"), None),
        ("metadata.description='7'", ("metadata", "description"), "7"),
        (
            "forces.residual_roles=[trainers, advisers]",
            ("forces", "residual_roles"),
            ["trainers", "advisers"],
        ),
    ],
)
def test_set_values_are_parsed_as_yaml(expression, path, value):
    data, _ = load_raw(BASELINE, expression)
    node = data
    for part in path:
        node = node[part]
    assert node == value
    assert type(node) is type(value)


def test_set_applies_after_extends_and_in_order():
    data, _ = load_raw(BASELINE, "run.seed=1", "run.seed=2")
    assert data["run"]["seed"] == 2


def test_set_replaces_a_whole_item_and_forgets_its_old_lines():
    expression = "forces.sites.erbil={name: erbil, country: iraq, personnel: {advisers: x}}"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BASELINE, SetOptions([expression]))  # as the command line passes them
    [problem] = caught.value.problems
    assert problem.path == ("forces", "sites", "erbil", "personnel", "advisers")
    assert problem.position.source == f"--set {expression}"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BASELINE, [expression])  # from Python: named as an override
    assert caught.value.problems[0].position.source == f"override {expression}"


def test_set_does_not_change_the_files(tmp_path):
    first = load_raw(BASELINE)[0]
    load_raw(BASELINE, "forces.sites.erbil.personnel.trainers=10")
    assert load_raw(BASELINE)[0] == first


# -- the YAML round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_resolved_yaml_loads_back_equal(path, tmp_path):
    original = load_scenario(path)
    text = scenario_to_yaml(original)
    assert "extends" not in yaml.safe_load(text)
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(text, encoding="utf-8")
    again = load_scenario(resolved)
    assert again == original
    assert config_hash(again) == config_hash(original)
    assert scenario_to_yaml(again) == text


def test_round_trip_keeps_overrides(tmp_path):
    original = load_scenario(BASELINE, ["forces.sites.erbil.personnel.trainers=10"])
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(scenario_to_yaml(original), encoding="utf-8")
    assert load_scenario(resolved) == original
    assert load_scenario(resolved) != load_scenario(BASELINE)


# -- bounded reading keeps what YAML is for -------------------------------------------------------


def test_aliases_and_merge_keys_within_the_bounds_still_load(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "shared: &handling {distribution: exponential, mean: 1.5}\n"
        "base: &base {x: 1, y: 2}\n"
        "first: {h: *handling}\n"
        "second: {<<: *base, y: 3}\n"
        "items: [{name: one, h: *handling}]\n"
    )
    data, positions = load_raw(tmp_path / "a.yaml")
    assert (
        data["first"]["h"] == data["items"][0]["h"] == {"distribution": "exponential", "mean": 1.5}
    )
    assert data["second"] == {"x": 1, "y": 3}
    assert positions[("items", "one", "h")].line == 5


def test_numbers_are_strict_but_an_integer_is_a_number():
    scenario = load_scenario(BASELINE, ["threats.processes.al_qaim_aq.rate_per_day=1"])
    rate = next(p for p in scenario.threats.processes if p.name == "al_qaim_aq").rate_per_day
    assert rate == 1.0 and isinstance(rate, float)
    for value in ("true", "'1'", "1.0e+0x"):
        with pytest.raises(ScenarioError):
            load_scenario(BASELINE, [f"threats.processes.al_qaim_aq.rate_per_day={value}"])


def test_set_refuses_a_duplicate_key_instead_of_keeping_the_last():
    with pytest.raises(ScenarioError) as caught:
        load_raw(BASELINE, "metadata={name: a, name: b}")
    [problem] = caught.value.problems
    assert problem.path == ("metadata", "name") and problem.message == "duplicate key"


def test_an_error_lists_at_most_fifty_problems_then_counts_the_rest():
    from sim.config.errors import MAX_PROBLEMS_SHOWN, Omitted, Position, Problem

    many = [Problem(Position("f.yaml", i, 1), ("k",), "bad") for i in range(1, 131)]
    error = ScenarioError(many)
    assert len(error.problems) == MAX_PROBLEMS_SHOWN + 1
    assert str(error.problems[-1]) == "... and 80 more problems"
    again = ScenarioError([*error.problems, *many[:60]])  # e.g. validate, over several files
    assert isinstance(again.problems[-1], Omitted)
    assert str(again.problems[-1]) == "... and 140 more problems"

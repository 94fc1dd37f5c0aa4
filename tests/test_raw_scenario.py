"""RawScenario: data and positions kept together through extends, merges, overrides,
copies and validation, from files and from mappings given in Python."""

from __future__ import annotations

import datetime as dt
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from test_config_loading import SHIPPED, SHIPPED_IDS

from sim.config.errors import Position, ScenarioError
from sim.config.load import config_hash, load_scenario
from sim.config.merge import deep_merge
from sim.config.raw import PYTHON, RawScenario
from sim.experiment.sweep_plan import plan_sweep

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TRAINERS = ("forces", "sites", "erbil", "personnel", "trainers")


@cache
def _baseline() -> RawScenario:
    return RawScenario.from_file(BASELINE)


def baseline() -> RawScenario:
    """The baseline before validation, read once for the whole module."""
    return _baseline().copy()


def at(raw: RawScenario, path: tuple[Any, ...]) -> Any:
    node = raw.to_dict()
    for key in path:
        node = (
            next(i for i in node if i.get("name") == key)
            if isinstance(key, str) and isinstance(node, list)
            else node[key]
        )
    return node


def problem_of(error: pytest.ExceptionInfo[ScenarioError]) -> tuple[str, str, str]:
    [problem] = error.value.problems
    return str(problem.position), ".".join(map(str, problem.path)), problem.message


# -- files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_a_file_validates_to_what_load_scenario_gives(path):
    raw = RawScenario.from_file(path)
    scenario = raw.validate()
    assert scenario == load_scenario(path)
    # The data alone, given in Python, is the same scenario.
    assert RawScenario.from_mapping(raw.to_dict()).validate() == scenario


def test_a_missing_file_is_one_problem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as caught:
        RawScenario.from_file("nosuch.yaml")
    assert problem_of(caught) == ("nosuch.yaml", "", "file not found")


def test_what_a_file_replaces_from_its_parent_loses_the_parents_lines(tmp_path):
    (tmp_path / "parent.yaml").write_text(
        "forces:\n  sites:\n    - name: x\n      personnel: {a: 1, b: 2}\n"
    )
    (tmp_path / "child.yaml").write_text(
        "extends: parent.yaml\nforces:\n  sites:\n    - name: x\n      personnel: {}\n"
    )
    raw = RawScenario.from_file(tmp_path / "child.yaml")
    site = ("forces", "sites", "x")
    assert raw.to_dict() == {"forces": {"sites": [{"name": "x", "personnel": {}}]}}
    assert raw.positions[(*site, "personnel")].source.endswith("child.yaml")
    assert (*site, "personnel", "a") not in raw.positions
    assert raw.positions[site].source.endswith("child.yaml")  # named in both: the last one
    assert ("extends",) not in raw.positions


# -- merge --------------------------------------------------------------------------------------


def test_merge_follows_the_rule_and_positions_follow_the_data():
    base = RawScenario.from_mapping(
        {"run": {"seed": 1, "replications": 2}, "sites": [{"name": "x", "p": {"a": 1}}]}, "base"
    )
    over = RawScenario.from_mapping(
        {"run": {"seed": 5}, "sites": [{"name": "x", "p": {}}, {"name": "y"}]}, "over"
    )
    base.merge(over)
    assert base.to_dict() == {
        "run": {"seed": 5, "replications": 2},
        "sites": [{"name": "x", "p": {}}, {"name": "y"}],
    }
    sources = {path: where.source for path, where in base.positions.items()}
    assert sources == {
        ("run",): "over",
        ("run", "seed"): "over",
        ("run", "replications"): "base",
        ("sites",): "over",
        ("sites", "x"): "over",
        ("sites", "x", "name"): "over",
        ("sites", "x", "p"): "over",  # replaced by {}: base's p.a is gone
        ("sites", "y"): "over",
        ("sites", "y", "name"): "over",
    }


def test_the_merge_rule_reports_what_it_replaced():
    base = {"a": {"x": 1, "y": [1]}, "items": [{"name": "n", "v": {"w": 1}}], "keep": 1}
    override = {"a": {"y": [2]}, "items": [{"name": "n", "v": {}}, {"name": "m"}]}
    _, replaced = deep_merge(base, override)
    assert replaced == {("a", "y"), ("items", "n", "name"), ("items", "n", "v")}
    assert deep_merge({"a": 1}, {})[1] == {()}  # {} at the top clears everything


# -- override -----------------------------------------------------------------------------------


def test_override_by_name_and_by_index_records_the_named_path():
    raw = baseline()
    index = [s["name"] for s in raw.to_dict()["forces"]["sites"]].index("erbil")
    raw.override(("forces", "sites", index, "personnel", "trainers"), 11, "by index")
    assert at(raw, TRAINERS) == 11
    assert raw.positions[TRAINERS] == Position("by index")
    raw.override("forces.sites.erbil.personnel.trainers", 12)
    assert at(raw, TRAINERS) == 12
    assert raw.positions[TRAINERS] == Position(PYTHON)
    raw.override(f"forces.sites.{index}.personnel.advisers", 7)
    assert at(raw, ("forces", "sites", "erbil", "personnel", "advisers")) == 7
    raw.override("forces.roles.0", "mentors")
    assert raw.to_dict()["forces"]["roles"][0] == "mentors"
    assert ("forces", "roles", 0) in raw.positions


def test_renaming_an_item_by_set_moves_its_keys_to_the_new_name():
    raw = baseline()
    raw.override_text("forces.sites.ne_syria={name: north_east, country: syria}")
    raw.override("forces.sites.north_east.personnel", {"advisers": 3})
    sites = raw.to_dict()["forces"]["sites"]
    assert {"name": "north_east", "country": "syria", "personnel": {"advisers": 3}} in sites
    assert "ne_syria" not in [s["name"] for s in sites]
    assert not [p for p in raw.positions if p[:3] == ("forces", "sites", "ne_syria")]
    new = ("forces", "sites", "north_east")
    assert str(raw.positions[new]).startswith("--set forces.sites.ne_syria=")
    assert raw.positions[(*new, "personnel", "advisers")] == Position(PYTHON)
    with pytest.raises(ScenarioError) as caught:
        raw.override("forces.sites.ne_syria.personnel.advisers", 1)
    assert "no list item 'ne_syria'" in problem_of(caught)[2]


def test_a_typed_override_of_a_mapping_and_a_list_is_used_as_given():
    raw = baseline()
    raw.override(
        "border.response.handling_days", {"distribution": "fixed", "value": 2.0}, "notebook"
    )
    raw.override(("forces", "residual_roles"), ("trainers", "advisers"))
    raw.override("metadata.description", "7")  # text stays text: nothing is parsed
    data = raw.to_dict()
    assert data["border"]["response"]["handling_days"] == {"distribution": "fixed", "value": 2.0}
    assert data["forces"]["residual_roles"] == ["trainers", "advisers"]
    assert data["metadata"]["description"] == "7"
    handling = ("border", "response", "handling_days")
    assert raw.positions[(*handling, "value")] == Position("notebook")
    assert (*handling, "mean") not in raw.positions
    scenario = raw.validate()
    assert scenario.forces.residual_roles == ["trainers", "advisers"]


def test_override_text_parses_the_value_as_set_does():
    raw = baseline()
    raw.override_text("clock.end_date=2028-06-30")
    raw.override_text("metadata.description='7'")
    assert at(raw, ("clock", "end_date")) == dt.date(2028, 6, 30)
    assert at(raw, ("metadata", "description")) == "7"
    assert raw.positions[("clock", "end_date")] == Position("--set clock.end_date=2028-06-30")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # a section the files leave to its defaults: the hint says how to set it
        ("threats.modulation.coalition_iraq.effect", "not in the files (its defaults apply)"),
        ("forces.sites.erbil.personel.trainers", "no such key in the scenario; did you mean"),
        (("forces", "roles", 9), "use an index from 0 to 3"),
        ("run.seed.x", "is an int, not a mapping or a list"),
        ("run..seed", "empty key in 'run..seed'"),
        ((), "empty key in ''"),
    ],
)
def test_an_override_that_finds_nothing_says_what_there_is(path, expected):
    with pytest.raises(ScenarioError) as caught:
        baseline().override(path, 1, "here")
    where, _, message = problem_of(caught)
    assert where == "here" and expected in message


# -- mappings given in Python -------------------------------------------------------------------


def test_a_mapping_gets_the_cross_field_checks_with_its_label():
    data = baseline().to_dict()
    data["clock"]["end_date"] = dt.date(2024, 12, 31)
    with pytest.raises(ScenarioError) as caught:
        RawScenario.from_mapping(data, "my_notebook").validate()
    where, path, message = problem_of(caught)
    assert (where, path) == ("my_notebook", "clock.end_date")
    assert "must come after start_date" in message


def test_a_mapping_names_the_key_of_a_schema_problem():
    data = baseline().to_dict()
    next(s for s in data["forces"]["sites"] if s["name"] == "erbil")["persnnel"] = {}
    with pytest.raises(ScenarioError) as caught:
        RawScenario.from_mapping(data).validate()
    assert problem_of(caught) == (
        PYTHON,
        "forces.sites.erbil.persnnel",
        "unknown key 'persnnel'; did you mean 'personnel'?",
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([1, 2], "expected a mapping of keys, found a list"),
        ({"items": [{"name": "a"}, {"name": "a"}]}, "duplicate item name 'a'"),
        ({("a", "b"): 1}, "keys must be plain words"),
    ],
)
def test_a_mapping_is_refused_where_a_file_would_be(data, expected):
    with pytest.raises(ScenarioError) as caught:
        RawScenario.from_mapping(data)
    assert expected in problem_of(caught)[2]


def test_a_mapping_that_contains_itself_is_refused():
    loop: dict[str, Any] = {}
    loop["a"] = loop
    with pytest.raises(ScenarioError) as caught:
        RawScenario.from_mapping(loop)
    assert "nested more than 32 levels deep" in problem_of(caught)[2]


# -- copies and views ---------------------------------------------------------------------------


def test_a_copy_is_independent_both_ways():
    original = baseline()
    before = (original.to_dict(), dict(original.positions))
    twin = original.copy()
    twin.override_text("forces.sites.erbil.personnel.trainers=1")
    twin.merge(RawScenario.from_mapping({"run": {"seed": 9}}))
    assert (original.to_dict(), dict(original.positions)) == before
    original.override("forces.sites.erbil.personnel.trainers", 2)
    assert at(twin, TRAINERS) == 1 and at(twin, ("run", "seed")) == 9


def test_no_view_or_input_changes_the_scenario():
    given_value = {"distribution": "fixed", "value": 2.0}
    raw = baseline()
    raw.override("border.response.handling_days", given_value)
    given_value["value"] = -1.0
    raw.to_dict()["border"]["response"]["handling_days"]["value"] = -2.0
    assert at(raw, ("border", "response", "handling_days", "value")) == 2.0
    with pytest.raises(TypeError):
        raw.positions[("run",)] = Position("x")  # type: ignore[index]


# -- sweeps -------------------------------------------------------------------------------------


def _sweep(folder: Path, path: str, values: list[Any]) -> Path:
    sweep = folder / "sweep.yaml"
    body = {
        "sweep": {
            "name": "s",
            "scenario": os.path.relpath(BASELINE, folder),
            "design": "grid",
            "replications": 2,
            "parameters": [{"path": path, "values": values}],
        }
    }
    sweep.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return sweep


def test_sweep_values_are_set_as_they_are(tmp_path):
    plan = plan_sweep(_sweep(tmp_path, "metadata.description", ["true", "7", "2026-01-01"]))
    assert [s.metadata.description for s in plan.scenarios.values()] == ["true", "7", "2026-01-01"]
    plan = plan_sweep(_sweep(tmp_path, "forces.phases.phase_2.start_date", ["2026-12-01"]))
    assert plan.scenarios[0] == load_scenario(
        BASELINE, ["forces.phases.phase_2.start_date=2026-12-01"]
    )
    assert config_hash(plan.scenarios[0]) != config_hash(plan.base)


def test_a_bad_sweep_value_is_shown_where_the_sweep_names_its_parameter(tmp_path):
    sweep = _sweep(tmp_path, "forces.lift.airlift.lifts_per_day", [1, -2, 2])
    with pytest.raises(ScenarioError) as caught:
        plan_sweep(sweep)
    [problem] = caught.value.problems
    line = next(i for i, text in enumerate(sweep.read_text().splitlines(), 1) if "path:" in text)
    assert problem.position.source == str(sweep) and problem.position.line == line
    assert problem.path == ("forces", "lift", "airlift", "lifts_per_day")
    assert problem.message.endswith("(got -2) (design point 1)")


# -- properties ---------------------------------------------------------------------------------

NAMES = ("x", "y", "z")


def shaped(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Trees where a key always holds the same kind of value (a number, a plain list, a
    mapping, a list of named items), so that merging never changes a value's kind."""
    keys: dict[str, st.SearchStrategy[Any]] = {
        "a": st.integers(0, 3),
        "b": st.integers(0, 3),
        "roles": st.lists(st.integers(0, 3), max_size=3),
    }
    if depth > 0:
        inner = shaped(depth - 1)
        keys["m"] = inner
        names = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True)
        keys["items"] = names.flatmap(
            lambda ns: st.tuples(*(inner.map(lambda d, n=n: {**d, "name": n}) for n in ns))
        ).map(list)
    return st.fixed_dictionaries({}, optional=keys).filter(bool)  # type: ignore[arg-type]


def merged(*trees: RawScenario) -> RawScenario:
    result = trees[0].copy()
    for tree in trees[1:]:
        result.merge(tree)
    return result


@given(shaped(2), shaped(2), shaped(2))
def test_merge_is_associative_for_data_and_positions(a, b, c):
    a, b, c = (RawScenario.from_mapping(t, s) for t, s in ((a, "A"), (b, "B"), (c, "C")))
    left, right = merged(merged(a, b), c), merged(a, merged(b, c))
    assert left.to_dict() == right.to_dict()
    assert dict(left.positions) == dict(right.positions)


@cache
def leaves() -> list[str]:
    """Dotted paths of the baseline's whole numbers (list items by name or index)."""
    found = []

    def visit(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                visit(value, (*path, str(key)))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                name = item.get("name") if isinstance(item, dict) else None
                visit(item, (*path, name if isinstance(name, str) else str(index)))
        elif type(node) is int:
            found.append(".".join(path))

    visit(_baseline().to_dict(), ())
    return found


@given(st.lists(st.tuples(st.sampled_from(leaves()), st.integers(0, 1000)), max_size=6))
def test_typed_and_text_overrides_agree_and_leave_the_original_alone(overrides):
    original = baseline()
    before = original.to_dict()
    typed, text = original.copy(), original.copy()
    for path, value in overrides:
        typed.override(path, value)
        text.override_text(f"{path}={value}")
    assert typed.to_dict() == text.to_dict()
    assert typed.positions.keys() == text.positions.keys()
    assert original.to_dict() == before

"""Exploratory overrides: glob paths (linked values), factors and shifts (``Scale``,
``Shift``, text ``key*=f`` and ``key+=n``), in Python, on the command line and in sweeps,
checked against values worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import sim
from sim.config.errors import ScenarioError
from sim.config.load import config_hash
from sim.config.overrides import described
from sim.config.relative import Scale, Shift
from sim.experiment.runner import resolve_scenario
from sim.experiment.sweep_plan import plan_sweep, points_table

BASELINE = "scenarios/baseline.yaml"
ISIS = ["al_walid_isis", "al_qaim_isis", "jazira_isis", "sinjar_isis", "rabia_isis"]
RATES = [0.05, 0.08, 0.06, 0.03, 0.02]  # configs/threats/baseline.yaml


def _processes(scenario):
    return {p.name: p for p in scenario.threats.processes}


def _erbil(scenario):
    return next(site for site in scenario.forces.sites if site.name == "erbil")


def test_a_glob_sets_every_match_and_only_those():
    scenario = sim.load_scenario(BASELINE, {"threats.processes.*_isis.decay_per_day": 0.2})
    processes = _processes(scenario)
    hawkes = [name for name in processes if name.endswith("_isis")]
    assert len(hawkes) == 8 and all(processes[n].decay_per_day == 0.2 for n in hawkes)
    assert processes["al_qaim_aq"].kind == "poisson"  # has no decay_per_day: not matched


def test_a_factor_keeps_the_schemas_kind_of_number_not_the_files():
    key = "threats.modulation.local_presence.scale_km"  # a float the file writes as 100
    from_file = sim.load_scenario(BASELINE, {key: Scale(1.234)})
    from_object, _ = resolve_scenario(sim.load_scenario(BASELINE), {key: Scale(1.234)})
    assert from_file.threats.modulation.local_presence.scale_km == pytest.approx(123.4)
    assert from_object == from_file
    units = sim.load_scenario(BASELINE, {"border.sectors.al_qaim.response_units": Scale(1.25)})
    al_qaim = next(s for s in units.border.sectors if s.name == "al_qaim")
    assert al_qaim.response_units == 3  # 2 × 1.25 = 2.5: halves away from zero


def test_a_pattern_ending_in_a_star_is_refused_as_ambiguous_with_a_factor():
    with pytest.raises(ScenarioError, match="may not end with"):
        sim.load_scenario(BASELINE, {"threats.processes.al_qaim_isis.decay_per_d*": 0.1})
    scaled = sim.load_scenario(BASELINE, ["threats.processes.al_qaim_isis.decay_per_day*=2"])
    assert _processes(scaled)["al_qaim_isis"].decay_per_day == pytest.approx(0.2)


def test_a_factor_scales_each_value_from_its_own():
    scenario = sim.load_scenario(
        BASELINE, {"threats.processes.*_isis.background_rate_per_day": Scale(1.5)}
    )
    got = [_processes(scenario)[n].background_rate_per_day for n in ISIS]
    assert got == pytest.approx([1.5 * r for r in RATES], rel=1e-12)


def test_text_forms_scale_and_shift_and_keep_the_kind_of_value():
    scenario = sim.load_scenario(
        BASELINE,
        [
            "forces.phases.phase_2.start_date+=-45",
            "forces.sites.erbil.personnel.trainers*=1.5",
            "run.replications+=5",
        ],
    )
    phase_2 = next(p for p in scenario.forces.phases if p.name == "phase_2")
    assert phase_2.start_date == dt.date(2026, 7, 18)  # 1 September 2026 less 45 days
    trainers = _erbil(scenario).personnel["trainers"]
    base = sim.load_scenario(BASELINE)
    assert trainers == round(1.5 * _erbil(base).personnel["trainers"])
    assert isinstance(trainers, int)
    assert scenario.run.replications == base.run.replications + 5


def test_a_scenario_object_scales_values_its_files_left_to_defaults():
    base = sim.load_scenario(BASELINE)
    resolved, _ = resolve_scenario(base, {"forces.phases.phase_2.start_date": Shift(30)})
    assert next(p for p in resolved.forces.phases if p.name == "phase_2").start_date == dt.date(
        2026, 10, 1
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("threats.processes.*.rate_per_dayy=2", "did you mean 'rate_per_day'"),
        ("threats.processes.*_isis.actor*=2", "scales numbers; the value here is str 'isis'"),
        ("forces.phases.phase_2.start_date+=1.5", "shifts a date by whole days, not 1.5"),
        ("run.seed*=twice", "a factor must be a number"),
        ("threats.processes.*_isis.background_rate_per_day*=-1", "background_rate_per_day"),
        ("forces.phases.phase_2.start_dat+=30", "no such key in the scenario; did you mean"),
        ("forces.phases.phase_2.start_date+=1000000000", "out of the calendar"),
        ("forces.phases.phase_2.start_date+=99999999999999999999999", "out of the calendar"),
        ("border.sectors.al_qaim.response_units*=1.0e+308", "gives inf, out of range"),
    ],
)
def test_bad_relative_overrides_name_the_key_and_say_why(override, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace("*", r"\*")):
        sim.load_scenario(BASELINE, [override])


def test_the_manifest_records_relative_overrides_as_text_that_replays_them():
    texts = described({"a.b": Scale(2), "c.d": Shift(-3), "e": 1, "f": Scale(1e-5)})
    assert texts == ["a.b*=2", "c.d+=-3", "e=1", "f*=1.0e-05"]
    factor = 0.9626085578577414  # as a sampler draws it: every digit must replay
    key = "threats.processes.*_isis.background_rate_per_day"
    assert sim.load_scenario(BASELINE, described({key: Scale(factor)})) == sim.load_scenario(
        BASELINE, {key: Scale(factor)}
    )
    replayed = sim.load_scenario(BASELINE, ["forces.sites.erbil.personnel.trainers*=2"])
    given = sim.load_scenario(BASELINE, {"forces.sites.erbil.personnel.trainers": Scale(2)})
    assert replayed == given


SWEEP = """\
sweep:
  name: exploratory
  scenario: {base}
  design: lhs
  samples: 6
  replications: 1
  seed: 4
  parameters:
    - name: isis_rate
      path: threats.processes.*_isis.background_rate_per_day
      apply: scale
      range: [0.5, 2.0]
    - name: slip
      path: forces.phases.phase_2.start_date
      apply: shift
      range: [-90, 90]
      integer: true
    - name: decays
      path:
        - threats.processes.al_qaim_isis.decay_per_day
        - threats.processes.jazira_isis.decay_per_day
      range: [0.05, 0.2]
"""


def test_a_sweep_scales_shifts_and_links_and_names_its_columns(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(base=_relative_baseline(tmp_path)))
    plan = plan_sweep(path)
    assert list(plan.points.columns) == ["point", "isis_rate", "slip", "decays"]
    for row in plan.points.itertuples():
        processes = _processes(plan.scenarios[row.point])
        rates = [processes[n].background_rate_per_day for n in ISIS]
        assert rates == pytest.approx([row.isis_rate * r for r in RATES], rel=1e-12)
        phase_2 = next(p for p in plan.scenarios[row.point].forces.phases if p.name == "phase_2")
        assert phase_2.start_date == dt.date(2026, 9, 1) + dt.timedelta(days=row.slip)
        assert processes["al_qaim_isis"].decay_per_day == row.decays
        assert processes["jazira_isis"].decay_per_day == row.decays
        assert processes["sinjar_isis"].decay_per_day == 0.1  # not linked
    written = tmp_path / "points.parquet"
    written.write_bytes(points_table(plan))
    schema = pq.read_schema(written)
    mapping = json.loads(schema.metadata[b"withdrawal_sim.parameters"])
    assert mapping["decays"] == {
        "path": [
            "threats.processes.al_qaim_isis.decay_per_day",
            "threats.processes.jazira_isis.decay_per_day",
        ],
        "apply": "set",
    }
    assert schema.field("slip").metadata[b"apply"] == b"shift"
    assert json.loads(schema.field("isis_rate").metadata[b"path"]) == [
        "threats.processes.*_isis.background_rate_per_day"
    ]


def test_a_sweep_parameter_with_several_paths_needs_a_name(tmp_path):
    path = tmp_path / "sweep.yaml"
    text = SWEEP.format(base=_relative_baseline(tmp_path))
    path.write_text(text.replace("    - name: decays\n      path:", "    - path:"))
    with pytest.raises(ScenarioError, match="give a name"):
        plan_sweep(path)


def _relative_baseline(folder: Path) -> str:
    """The baseline by a path relative to ``folder``, as a sweep file must name it."""
    return os.path.relpath(Path(__file__).resolve().parents[1] / BASELINE, folder)


def test_sweep_seed_and_set_change_the_sweep_and_are_recorded(tmp_path):
    from click.testing import CliRunner

    from sim.cli import main
    from sim.experiment.manifest import read_manifest
    from sim.experiment.sweep import load_sweep_results

    base = tmp_path / "base.yaml"
    base.write_text(f"extends: {_relative_baseline(tmp_path)}\nclock: {{end_date: 2025-12-31}}\n")
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(base="base.yaml").replace("samples: 6", "samples: 2"))
    out = tmp_path / "out"
    options = ["--executor", "serial", "-q", "--kpi", "incidents", "--out", str(out)]
    scaled = "threats.processes.*_aq.rate_per_day*=3"
    result = CliRunner().invoke(
        main, ["sweep", str(path), "--seed", "11", "--set", scaled, *options]
    )
    assert result.exit_code == 0, result.output
    manifest = read_manifest(out, "sweep")
    assert manifest.root_seed == 11 and manifest.sweep["seed"] == 11
    assert manifest.overrides == [scaled]
    ran = plan_sweep(path, seed=11, overrides=[scaled])
    assert manifest.base_config_hash == config_hash(ran.base) != config_hash(plan_sweep(path).base)
    points = pd.read_parquet(out / "points.parquet")  # the design drawn with the new seed
    pd.testing.assert_frame_equal(points, ran.points)
    assert not points.equals(plan_sweep(path).points)
    kpis = load_sweep_results(out)
    assert set(kpis["seed"]) == set(sim.evaluate(plan_sweep(path).base, 1, seed=11)["seed"])
    # the base the points came from has the al-Qaeda rates tripled
    plan = plan_sweep(path, seed=11, overrides=[scaled])
    rates = {n: p.rate_per_day for n, p in _processes(plan.base).items() if n.endswith("_aq")}
    assert rates == pytest.approx({"al_qaim_aq": 0.03, "al_walid_aq": 0.024}, rel=1e-12)
    assert (out / "analysis" / "panels_incidents.png").read_bytes()[:4] == b"\x89PNG"
    resumed = CliRunner().invoke(main, ["sweep", str(path), "--resume", *options])
    assert resumed.exit_code == 2
    assert f"it started with --seed 11 --set {scaled}" in resumed.output
    checked = CliRunner().invoke(main, ["validate", str(path), "--set", "run.seedd=3"])
    assert checked.exit_code == 2 and "--set run.seedd=3: run.seedd" in checked.output


@pytest.mark.parametrize("name", ["incidents", "missed", "sector", "in_iraq"])
def test_a_sweep_parameter_named_like_a_result_column_is_refused_before_running(tmp_path, name):
    path = tmp_path / "sweep.yaml"
    path.write_text(
        SWEEP.format(base=_relative_baseline(tmp_path)).replace("name: decays", f"name: {name}")
    )
    with pytest.raises(
        ScenarioError, match=f"parameters.{name}.name: '{name}' is a column of the results"
    ):
        plan_sweep(path)


def test_two_parameters_that_reach_one_key_are_refused(tmp_path):
    path = tmp_path / "sweep.yaml"
    text = SWEEP.format(base=_relative_baseline(tmp_path))
    ours = "threats.processes.al_qaim_isis.background_rate_per_day"  # isis_rate's too
    path.write_text(text.replace("threats.processes.al_qaim_isis.decay_per_day", ours))
    message = rf"parameters.decays.path: parameter 'decays' moves {ours}, which 'isis_rate'"
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        plan_sweep(path)


def test_one_parameter_reaching_a_key_by_two_paths_is_refused(tmp_path):
    path = tmp_path / "sweep.yaml"
    text = SWEEP.format(base=_relative_baseline(tmp_path))
    both = "threats.processes.*_isis.decay_per_day"  # al_qaim_isis again, besides its own path
    path.write_text(text.replace("threats.processes.jazira_isis.decay_per_day", both))
    with pytest.raises(
        ScenarioError, match=r"reaches threats\.processes\.al_qaim_isis\.decay_per_day"
    ):
        plan_sweep(path)

"""Sweeps: every design kind from the CLI, exact Sobol indices, and resuming."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bounded import run_cli
from click.testing import CliRunner

from sim.analysis.sensitivity import indices
from sim.cli import main
from sim.experiment.sweep import load_sweep_results, point_dir

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def _extending_baseline(path: Path, end_date: str) -> Path:
    """A scenario at ``path``: the baseline (by a relative path, as ``extends`` requires)
    ending at ``end_date``, so points run quickly."""
    parent = os.path.relpath(BASELINE, path.parent)
    path.write_text(f"extends: {parent}\nclock: {{end_date: {end_date}}}\n")
    return path


def _base(tmp_path: Path) -> Path:
    """The baseline, ending once Phase 2 is over."""
    return _extending_baseline(tmp_path / "base.yaml", "2026-10-15")


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"sweep:\n  scenario: base.yaml\n{body}")
    _base(tmp_path)
    return path


def test_grid_sweep_from_the_cli_writes_points_kpis_and_curves(tmp_path):
    sweep = _write(
        tmp_path,
        """\
  name: grid
  design: grid
  replications: 2
  parameters:
    - path: forces.lift.airlift.lifts_per_day
      values: [1, 2, 4]
    - path: forces.phases.phase_2.reduce.erbil.advisers
      values: [0, 80]
""",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "sweep",
            str(sweep),
            "--out",
            str(out),
            "--executor",
            "serial",
            "-q",
            "--kpi",
            "complete_day_phase_1",
        ],
    )
    assert result.exit_code == 0, result.output
    points = pd.read_parquet(out / "points.parquet")
    assert len(points) == 6 and list(points.columns) == [
        "point",
        "forces_lift_airlift_lifts_per_day",
        "forces_phases_phase_2_reduce_erbil_advisers",
    ]
    kpis = load_sweep_results(out)
    assert len(kpis) == 6 * 2
    # more airlift sorties a day finish Phase 1 sooner: its 13 airlifts take 13 days at one a
    # day and 7 at two (at four, the convoys to Syria take longer than the airlift)
    by_lifts = kpis.groupby("forces_lift_airlift_lifts_per_day")["complete_day_phase_1"].mean()
    assert list(by_lifts) == sorted(by_lifts, reverse=True)
    assert by_lifts[1] - by_lifts[2] == pytest.approx(13 - 7)
    assert (out / "analysis" / "heatmap_complete_day_phase_1.png").read_bytes()[:4] == b"\x89PNG"


def test_sobol_indices_of_a_linear_kpi_match_their_exact_values(tmp_path):
    # final_in_iraq = 150 trainers + the three keep levels in Erbil, exactly; with uniform
    # inputs the first-order and total indices are Var(X_i) / Σ Var(X_j): ranges 100, 200 and
    # 100 give 1/6, 2/3 and 1/6.
    sweep = _write(
        tmp_path,
        """\
  name: linear
  design: sobol
  samples: 64
  replications: 1
  seed: 3
  parameters:
    - {path: forces.phases.phase_2.reduce.erbil.advisers, range: [0, 100], integer: true}
    - {path: forces.phases.phase_2.reduce.erbil.force_protection, range: [0, 200], integer: true}
    - {path: forces.phases.phase_2.reduce.erbil.support, range: [0, 100], integer: true}
""",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "sweep",
            str(sweep),
            "--out",
            str(out),
            "--executor",
            "process",
            "-j",
            "2",
            "-q",
            "--kpi",
            "final_in_iraq",
        ],
    )
    assert result.exit_code == 0, result.output
    kpis = load_sweep_results(out)
    params = [c for c in kpis.columns if c.startswith("forces_")]
    assert (kpis["final_in_iraq"] == 150 + kpis[params].sum(axis=1)).all()
    found = indices(out, "final_in_iraq").set_index("parameter")
    exact = pd.Series([1 / 6, 2 / 3, 1 / 6], index=params)
    for name, value in exact.items():
        assert abs(found.loc[name, "S1"] - value) <= found.loc[name, "S1_conf"], name
        assert abs(found.loc[name, "ST"] - value) <= found.loc[name, "ST_conf"], name
    assert (out / "analysis" / "indices_final_in_iraq.csv").is_file()
    over_time = pd.read_csv(out / "analysis" / "indices_over_time_incidents.csv")
    assert set(over_time["parameter"]) == set(params) and over_time["date"].nunique() > 1


def test_a_bad_design_point_is_refused_before_anything_runs(tmp_path):
    sweep = _write(
        tmp_path,
        """\
  name: bad
  design: grid
  parameters:
    - path: forces.lift.airlift.lifts_per_day
      values: [1, -2]
""",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(out)])
    assert result.exit_code == 2
    assert "lifts_per_day" in result.output and "design point 1" in result.output
    assert not out.exists()


def test_a_misspelt_sweep_key_names_the_line(tmp_path):
    sweep = _write(tmp_path, "  name: x\n  desing: grid\n  parameters: []\n")
    result = CliRunner().invoke(main, ["sweep", str(sweep)])
    assert result.exit_code == 2
    assert "sweep.yaml:4:3: sweep.desing: unknown key 'desing'; did you mean 'design'?" in (
        result.output
    )


def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    sweep = _write(
        tmp_path,
        """\
  name: resume
  design: grid
  replications: 6
  parameters:
    - path: threats.processes.al_qaim_isis.background_rate_per_day
      values: [0.05, 0.1, 0.2, 0.4]
""",
    )

    def command(out, *extra):
        return [
            sys.executable,
            "-m",
            "sim",
            "sweep",
            str(sweep),
            "--out",
            str(out),
            "--executor",
            "serial",
            "-q",
            *extra,
        ]

    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (point_dir(killed, 1) / "kpis.parquet").is_dir():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert subprocess.run(command(killed, "--resume")).returncode == 0
    whole = tmp_path / "whole"
    assert subprocess.run(command(whole)).returncode == 0
    for table in ("kpis", "daily", "posture"):
        pd.testing.assert_frame_equal(
            load_sweep_results(killed, table), load_sweep_results(whole, table)
        )


def _spec(design: str, **extra):
    from sim.config.schema.sweep import Sweep

    return Sweep.model_validate(
        {
            "name": "d",
            "scenario": "x.yaml",
            "design": design,
            "seed": 5,
            "parameters": [
                {"path": "a.b", "range": [0, 10]},
                {"path": "a.c", "range": [1, 2], "integer": True},
            ],
            **extra,
        }
    )


def test_latin_hypercube_puts_one_point_in_every_stratum():
    from sim.experiment.designs import design_points

    points = design_points(_spec("lhs", samples=20))
    assert len(points) == 20
    strata = sorted((points["a_b"] // 0.5).astype(int))  # 20 equal strata of [0, 10)
    assert strata == list(range(20))
    assert set(points["a_c"]) <= {1, 2}
    assert points.equals(design_points(_spec("lhs", samples=20))), "seeded, so reproducible"


def test_morris_and_sobol_designs_have_salibs_sizes():
    from sim.experiment.designs import design_points

    assert len(design_points(_spec("morris", samples=5))) == 5 * (2 + 1)
    assert len(design_points(_spec("sobol", samples=8))) == 8 * (2 + 2)


def test_sobol_needs_a_power_of_two():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="power of 2"):
        _spec("sobol", samples=10)


DESIGNS = {
    "grid": """\
  design: grid
  parameters:
    - {path: forces.sites.erbil.personnel.trainers, range: [0, 400], levels: 3, integer: true}
    - {path: threats.processes.al_qaim_isis.branching_ratio, values: [0.3, 0.6]}
""",
    "lhs": """\
  design: lhs
  samples: 5
  parameters:
    - {path: forces.sites.erbil.personnel.trainers, range: [0, 400], integer: true}
    - {path: threats.processes.al_qaim_isis.branching_ratio, range: [0.3, 0.6]}
""",
    "sobol": """\
  design: sobol
  samples: 2
  parameters:
    - {path: forces.sites.erbil.personnel.trainers, range: [0, 400], integer: true}
    - {path: threats.processes.al_qaim_isis.branching_ratio, range: [0.3, 0.6]}
""",
    "morris": """\
  design: morris
  samples: 2
  parameters:
    - {path: forces.sites.erbil.personnel.trainers, range: [0, 400], integer: true}
    - {path: forces.lift.airlift.lifts_per_day, range: [1, 4], integer: true}
""",
}
INDEX_COLUMNS = {"sobol": ["S1", "S1_conf", "ST", "ST_conf"], "morris": ["mu_star", "sigma"]}
DEFAULT_KPIS = ("incidents", "severity_unstopped", "final_in_iraq")


@pytest.mark.parametrize("design", DESIGNS)
def test_every_design_kind_runs_and_is_analysed_from_the_cli(tmp_path, design):
    # one year (Phase 1 only): each sweep takes a few seconds; an integer parameter in each,
    # and only integer ones in the Morris design (its sample once reached SALib as int64)
    _extending_baseline(tmp_path / "year.yaml", "2025-12-31")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"sweep:\n  name: every_{design}\n  scenario: year.yaml\n{DESIGNS[design]}")
    out = tmp_path / "out"
    done = run_cli("sweep", sweep, "-n", "2", "--out", out, "--executor", "serial", "-q")
    assert done.code == 0 and not done.stderr, done.stderr
    points = pd.read_parquet(out / "points.parquet")
    assert points["forces_sites_erbil_personnel_trainers"].dtype == "int64"
    analysis = out / "analysis"
    means = pd.read_csv(analysis / "points_mean.csv")
    assert len(means) == len(points) and means[list(DEFAULT_KPIS)].notna().all().all()
    if design in INDEX_COLUMNS:
        figures = [f"indices_{kpi}.png" for kpi in DEFAULT_KPIS]
        figures.append("indices_over_time_incidents.png")
        columns = INDEX_COLUMNS[design]
        tables = {kpi: pd.read_csv(analysis / f"indices_{kpi}.csv") for kpi in DEFAULT_KPIS}
        tables["over_time"] = pd.read_csv(analysis / "indices_over_time_incidents.csv")
        for name, table in tables.items():
            values = table[columns].to_numpy(float)
            # an index is defined (finite) or, for an output that does not vary, NaN in full
            defined = np.isfinite(values).all(axis=1)
            assert (defined | np.isnan(values).all(axis=1)).all(), name
        # trainers stay in Erbil to the end: final_in_iraq moves with them, so it is defined
        final = tables["final_in_iraq"].set_index("parameter")
        assert np.isfinite(final[columns].to_numpy(float)).all()
        assert final.loc["forces_sites_erbil_personnel_trainers", columns[0]] > 0
    else:
        kind = "heatmap" if design == "grid" else "scatter"
        figures = [f"{kind}_{kpi}.png" for kpi in DEFAULT_KPIS]
    for name in figures:
        assert (analysis / name).read_bytes()[:4] == b"\x89PNG", name
    assert done.seconds < 60


def test_a_typo_in_a_sweep_path_is_one_problem_with_a_suggestion(tmp_path):
    base = os.path.relpath(ROOT / "scenarios" / "baseline.yaml", tmp_path)
    sweep = tmp_path / "typo.yaml"
    sweep.write_text(
        f"sweep:\n  name: typo\n  scenario: {base}\n  design: grid\n  replications: 2\n"
        "  parameters:\n    - path: forces.sites.erbil.personel.trainers\n"
        "      values: [1, 2, 3]\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(sweep)], capture_output=True, text=True
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "did you mean 'personnel'?" in line and "(every design point (3))" in line

"""Every shipped scenario validates and runs from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_the_library_has_the_stories_the_article_names():
    names = {p.stem for p in LIBRARY}
    assert {
        "baseline",
        "full_withdrawal_2025",
        "repositioning",
        "coalition_leaves_syria",
        "isis_resurgence",
        "coordination_breakdown",
        "five_year_plan_slips",
    } <= names


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_scenario_runs_from_the_cli(path, tmp_path):
    out = tmp_path / path.stem
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(path),
            "-n",
            "2",
            "--seed",
            "3",
            "--out",
            str(out),
            "--executor",
            "serial",
            "-q",
            "--no-plots",
        ],
    )
    assert result.exit_code == 0, result.output
    run = sim.load_results(out)
    assert run.manifest.status == "complete" and run.name == path.stem
    assert len(run.kpis) == 2 and len(run.incidents) > 0


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_scenario_is_documented(path):
    readme = (ROOT / "scenarios" / "README.md").read_text()
    assert f"`{path.name}`" in readme
    scenario = sim.load_scenario(path)
    assert scenario.metadata.description and scenario.metadata.sources


def test_full_withdrawal_leaves_no_one_in_iraq_by_2026():
    scenario = sim.load_scenario(ROOT / "scenarios" / "full_withdrawal_2025.yaml")
    tables = sim.simulate(scenario, 0, 1)
    posture = tables["posture"]
    assert posture.loc[posture["date"] >= "2026-01-01", "in_iraq"].max() == 0


def test_resurgence_raises_incidents_against_the_baseline():
    base = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    surge = sim.load_scenario(ROOT / "scenarios" / "isis_resurgence.yaml")
    count = lambda s: sum(len(sim.simulate(s, r, 1)["incidents"]) for r in range(3))  # noqa: E731
    assert count(surge) > 1.5 * count(base)

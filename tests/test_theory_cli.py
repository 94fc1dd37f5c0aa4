"""Every validation scenario is an ordinary scenario file: it runs from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main

VALIDATION = Path(__file__).resolve().parent.parent / "scenarios" / "validation"
FILES = sorted(VALIDATION.glob("*.yaml"))


def test_the_four_validation_scenarios_are_shipped():
    assert {f.stem for f in FILES} >= {"poisson", "nhpp", "hawkes", "mmk"}


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_validation_scenario_runs_from_the_cli(path, tmp_path):
    out = tmp_path / "run"
    args = ["run", str(path), "-n", "2", "--seed", "1", "--out", str(out)]
    args += ["--executor", "serial", "--no-plots", "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert out.is_dir() and any(out.iterdir())

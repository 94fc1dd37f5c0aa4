"""A run killed part-way resumes to exactly the tables of an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from runs import BASELINE, SHORT, run_command

import sim
from sim.experiment.runner import RunError


def _command(out: Path, *extra: str, executor: tuple[str, ...] = ("--executor", "serial")):
    return run_command("--seed", 5, *executor, *extra, out=out)


def _committed(out: Path) -> int:
    folder = out / "kpis.parquet"
    return len(list(folder.glob("part-*.parquet"))) if folder.is_dir() else 0


@pytest.mark.parametrize(
    "executor", [("--executor", "serial"), ("--executor", "process", "--jobs", "2")]
)
def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path, executor):
    killed = tmp_path / "killed"
    command = _command(killed, executor=executor)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _committed(killed) < 2:
        assert proc.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(2.5)  # pool workers of the killed run notice within a second and exit
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running"
    # every file under a final name is a complete Parquet file
    for part in killed.glob("*.parquet/part-*.parquet"):
        pq.read_metadata(part)
    done = sim.load_results(killed).kpis["replication"].nunique()
    assert 0 < done < 24

    resumed = subprocess.run(
        _command(killed, "--resume", executor=executor), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    whole = tmp_path / "whole"
    subprocess.run(_command(whole), check=True, capture_output=True)

    a, b = sim.load_results(killed), sim.load_results(whole)
    assert a.manifest.status == "complete"
    assert a.tables == b.tables
    for name in a.tables:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), obj=name)
    assert not list(killed.rglob("*.tmp"))


def test_resume_refuses_a_changed_scenario(tmp_path):
    out = tmp_path / "run"
    scenario = sim.load_scenario(BASELINE, [SHORT])
    sim.run_experiment(scenario, 2, 1, out=out, executor="serial", progress=False)
    changed = sim.load_scenario(BASELINE, [SHORT, "forces.lift.airlift.lifts_per_day=3"])
    with pytest.raises(RunError, match="scenario changed"):
        sim.run_experiment(changed, 4, 1, out=out, resume=True, executor="serial")


def test_resume_via_cli_with_changed_scenario_exits_2(tmp_path):
    out = tmp_path / "run"
    first = subprocess.run(_command(out, "-n", "2"), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        _command(
            out,
            "--resume",
            "--set",
            "run.seed=1",
            "--set",
            "forces.lift.convoy.capacity_personnel=99",
        ),
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2
    assert "scenario changed" in again.stderr and "Traceback" not in again.stderr


def test_existing_run_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "run"
    scenario = sim.load_scenario(BASELINE, [SHORT])
    sim.run_experiment(scenario, 1, 1, out=out, executor="serial", progress=False)
    with pytest.raises(RunError, match="already exists and holds a run"):
        sim.run_experiment(scenario, 1, 1, out=out, executor="serial", progress=False)

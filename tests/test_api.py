"""The Python API as exploratory tools drive it: ``sim.evaluate`` in memory (the same numbers
as a run folder, serial or forked, from a script without a ``__main__`` guard, inside a
daemonic worker), overrides as mappings and typed values, one validation path for every way
to make a Scenario, and bad calls that raise a clear error and leave nothing on disk."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.config.overrides import plain
from sim.experiment.errors import RunError

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHORT = {"clock.end_date": "2025-12-31"}  # a year: quick, and phase 1 inside it


def test_evaluate_gives_the_kpis_a_run_folder_holds(tmp_path):
    scenario = sim.load_scenario(BASELINE, overrides=SHORT)
    kpis = sim.evaluate(scenario, 6, 4)
    run = sim.run_experiment(scenario, 6, 4, executor="serial", out=tmp_path / "run")
    stored = sim.load_results(run).kpis.sort_values("replication").reset_index(drop=True)
    assert kpis.equals(stored[kpis.columns])
    assert list(kpis.columns[:2]) == ["replication", "seed"] and (kpis["seed"] == 4).all()


def test_evaluate_forked_equals_serial_and_selects_kpis():
    serial = sim.evaluate(BASELINE, 5, 2, overrides=SHORT, kpis=["incidents", "undetected"])
    forked = sim.evaluate(BASELINE, 5, 2, overrides=SHORT, kpis=["incidents", "undetected"], jobs=2)
    assert list(serial.columns) == ["replication", "seed", "incidents", "undetected"]
    assert serial.equals(forked)


def _in_daemon(queue):
    """A multiprocessing pool's worker is daemonic and may not have children: evaluate
    must run there in the worker itself."""
    frame = sim.evaluate(BASELINE, 3, 2, overrides=SHORT, kpis=["incidents"], jobs=2)
    queue.put(frame["incidents"].tolist())


def test_evaluate_inside_a_daemonic_worker_runs_there():
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=_in_daemon, args=(queue,), daemon=True)
    worker.start()
    got = queue.get(timeout=120)
    worker.join(30)
    expected = sim.evaluate(BASELINE, 3, 2, overrides=SHORT, kpis=["incidents"])
    assert got == expected["incidents"].tolist() and worker.exitcode == 0


def test_a_script_without_a_main_guard_can_use_jobs(tmp_path):
    """The README's pattern saved as a plain script: no ``if __name__ == "__main__":``."""
    script = tmp_path / "explore.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sim
            for seed in (1, 2):
                frame = sim.evaluate({str(BASELINE)!r}, 4, seed,
                                     overrides={{"clock.end_date": "2025-12-31"}}, jobs=2)
                print(seed, int(frame["incidents"].sum()))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["1", "2"]
    assert sorted(os.listdir(tmp_path)) == ["explore.py"]  # nothing written


def test_overrides_as_a_mapping_pairs_or_text_agree():
    forms = [
        {"run.seed": 3, "clock.end_date": dt.date(2026, 6, 30)},
        [("run.seed", np.int64(3)), ("clock.end_date", np.datetime64("2026-06-30"))],
        ["run.seed=3", "clock.end_date=2026-06-30"],
    ]
    loaded = [sim.load_scenario(BASELINE, overrides=form) for form in forms]
    assert loaded[0] == loaded[1] == loaded[2]
    assert loaded[0].run.seed == 3 and loaded[0].clock.end_date == dt.date(2026, 6, 30)
    assert sim.load_scenario(BASELINE, overrides="run.seed=5").run.seed == 5  # one text


def test_plain_values():
    assert plain(np.float32(0.5)) == 0.5 and type(plain(np.int16(2))) is int
    assert plain(np.array([1, 2])) == [1, 2] and plain((1, np.int8(2))) == [1, 2]
    assert plain(np.datetime64("2026-01-02")) == dt.date(2026, 1, 2)
    assert plain(dt.datetime(2026, 1, 2)) == dt.date(2026, 1, 2)
    noon = dt.datetime(2026, 1, 2, 12)
    assert plain(noon) is noon  # the schema refuses it, saying why


def test_overrides_apply_to_a_scenario_object_and_the_manifest_says_so(tmp_path):
    scenario = sim.load_scenario(BASELINE, overrides=SHORT)
    run = sim.run_experiment(
        scenario, 2, 1, executor="serial", out=tmp_path / "r", overrides={"run.replications": 7}
    )
    manifest = sim.load_results(run).manifest
    assert manifest.overrides == ["run.replications=7"]
    assert manifest.config["run"]["replications"] == 7


def test_every_way_to_make_a_scenario_runs_the_same_checks():
    scenario = sim.load_scenario(BASELINE)
    assert sim.Scenario.model_validate(scenario.model_dump()) == scenario
    assert sim.Scenario.model_validate(scenario.model_dump(mode="json")) == scenario
    copy = scenario.model_copy(update={"run": {"replications": 9, "seed": 2}})
    assert copy.run.replications == 9 and copy.clock == scenario.clock


def _shares(total_first: float) -> dict:
    data = sim.load_scenario(BASELINE).model_dump(mode="json")
    data["threats"]["incident_types"][0]["share"] = total_first
    return data


def _unknown_sector() -> dict:
    data = sim.load_scenario(BASELINE).model_dump(mode="json")
    data["threats"]["processes"][0]["sector"] = "atlantis"
    return data


BAD_CALLS = {
    "overrides not a mapping or list": (
        lambda: sim.load_scenario(BASELINE, overrides=42),
        "overrides must be a mapping of dotted keys to values",
    ),
    "override pair of one": (
        lambda: sim.load_scenario(BASELINE, overrides=[("run.seed",)]),
        "each override is 'dotted.key=value' text or a (dotted.key, value) pair",
    ),
    "override text without =": (
        lambda: sim.load_scenario(BASELINE, overrides="run.seed"),
        "override run.seed: (top level): expected override dotted.key=value",
    ),
    "misspelt override key": (
        lambda: sim.load_scenario(BASELINE, overrides={"run.sed": 3}),
        "did you mean 'seed'",
    ),
    "override out of range": (
        lambda: sim.load_scenario(BASELINE, overrides={"run.seed": -1}),
        "run.seed",
    ),
    "override date before start": (
        lambda: sim.load_scenario(
            BASELINE, overrides={"clock.end_date": np.datetime64("2024-01-01")}
        ),
        "end_date 2024-01-01 must come after start_date",
    ),
    "override date and time": (
        lambda: sim.load_scenario(
            BASELINE, overrides={"clock.end_date": dt.datetime(2027, 1, 1, 12)}
        ),
        "expected a date (YYYY-MM-DD), got a date and time",
    ),
    "dict with shares not summing to 1": (
        lambda: sim.Scenario.model_validate(_shares(0.9)),
        "threats.incident_types: shares must sum to 1 (they sum to 1.2)",
    ),
    "dict with an unknown sector": (
        lambda: sim.Scenario.model_validate(_unknown_sector()),
        "atlantis",
    ),
    "dict that is not a mapping": (
        lambda: sim.Scenario.model_validate([1, 2]),
        "expected a mapping of keys, found a list",
    ),
    "copy with a misspelt section": (
        lambda: sim.load_scenario(BASELINE).model_copy(update={"clok": {}}),
        "unknown key 'clok'; did you mean 'clock'?",
    ),
    "copy with dates out of order": (
        lambda: sim.load_scenario(BASELINE).model_copy(
            update={"clock": {"start_date": "2025-01-01", "end_date": "2024-01-01"}}
        ),
        "must come after start_date",
    ),
    "zero replications": (
        lambda: sim.run_experiment(BASELINE, 0, 1, executor="serial"),
        "replications must be a whole number from 1",
    ),
    "negative seed": (
        lambda: sim.run_experiment(BASELINE, 2, -1, executor="serial"),
        "seed must be a whole number from 0",
    ),
    "unknown executor": (
        lambda: sim.run_experiment(BASELINE, 2, 1, executor="threads"),
        "unknown executor 'threads' (choose from serial, process, dask)",
    ),
    "bad override on a Scenario object": (
        lambda: sim.run_experiment(
            sim.load_scenario(BASELINE), 2, 1, executor="serial", overrides={"run.sed": 1}
        ),
        "did you mean 'seed'",
    ),
    "evaluate an unknown KPI": (
        lambda: sim.evaluate(BASELINE, 2, 1, kpis=["incidnets"]),
        "unknown KPI(s) 'incidnets'",
    ),
    "evaluate with zero jobs": (
        lambda: sim.evaluate(BASELINE, 2, 1, jobs=0),
        "jobs must be a whole number from 1",
    ),
    "evaluate with a float count": (
        lambda: sim.evaluate(BASELINE, 2.5, 1),
        "replications must be a whole number from 1",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_a_bad_call_says_what_is_wrong_and_writes_nothing(case, tmp_path, monkeypatch):
    call, says = BAD_CALLS[case]
    monkeypatch.chdir(tmp_path)
    with pytest.raises((sim.ScenarioError, ValueError)) as caught:
        call()
    message = str(caught.value)
    assert says in message, message
    assert "--set" not in message  # a Python caller wrote no --set
    assert "\n" not in message.strip() or isinstance(caught.value, sim.ScenarioError)
    assert os.listdir(tmp_path) == []


def test_argument_errors_are_value_errors_and_run_errors():
    with pytest.raises(ValueError) as caught:
        sim.evaluate(BASELINE, 0, 1)
    assert isinstance(caught.value, RunError)  # the command line's one-line exit 2


def test_run_experiment_from_a_script_without_a_guard_says_what_to_do(tmp_path):
    """run_experiment's pool starts workers from a forkserver, which import the script
    again; without the guard Python forbids it, and the error says how to fix the script."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sim\n"
        f"sim.run_experiment({str(BASELINE)!r}, 4, 1, jobs=2, out='run',\n"
        "                   overrides={'clock.end_date': '2025-12-31'})\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "unguarded.py runs at its top level" in last
    assert 'if __name__ == "__main__":' in last and "sim.evaluate" in last
    assert sorted(os.listdir(tmp_path)) == ["unguarded.py"]


def test_counts_from_a_sampler_may_be_numpy_integers():
    frame = sim.evaluate(BASELINE, np.int64(2), np.int32(3), overrides=SHORT, jobs=np.int64(1))
    assert len(frame) == 2 and (frame["seed"] == 3).all()

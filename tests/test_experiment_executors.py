"""Results do not depend on where replications run: serial, a process pool, or Dask."""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.experiment.lifecycle import chunks

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHORT = ["clock.end_date=2026-12-31"]


def _tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    run = sim.load_results(run_dir)
    return {name: run.table(name) for name in run.tables}


def assert_same_tables(a: Path, b: Path) -> None:
    left, right = _tables(a), _tables(b)
    assert sorted(left) == sorted(right)
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)
    # the files too, as written by each executor's workers: two runs, so each its own run_id
    stored = {run: sim.load_results(run) for run in (a, b)}
    for name in left:
        files = {run: results.arrow(name) for run, results in stored.items()}
        for run, table in files.items():
            assert set(table.column("run_id").to_pylist()) <= {run.name}, (name, run)
        assert files[a].drop_columns(["run_id"]).equals(files[b].drop_columns(["run_id"])), name


def _run(tmp_path: Path, label: str, **kwargs) -> Path:
    scenario = sim.load_scenario(BASELINE, SHORT)
    return sim.run_experiment(scenario, 6, 11, out=tmp_path / label, progress=False, **kwargs)


def test_chunks_are_consecutive_and_bounded():
    assert chunks([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    assert chunks([5, 1, 2, 7], 3) == [[1, 2], [5], [7]]


def test_serial_pool_and_dask_local_cluster_give_identical_tables(tmp_path):
    serial = _run(tmp_path, "serial", executor="serial")
    pooled = _run(tmp_path, "pool", executor="process", jobs=2)
    assert_same_tables(serial, pooled)
    pytest.importorskip("distributed")
    dask = _run(tmp_path, "dask", executor="dask", jobs=2)
    assert_same_tables(serial, dask)
    kpis = sim.load_results(serial).kpis
    assert kpis["replication"].tolist() == list(range(6))
    assert kpis["incidents"].nunique() > 1, "replications must differ"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_on_a_real_dask_scheduler_with_two_workers(tmp_path):
    pytest.importorskip("distributed")
    dask = shutil.which("dask", path=str(Path(sys.executable).parent))
    assert dask, "the dask command comes with the dask extra"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from distributed import Client

        deadline = time.monotonic() + 60
        with Client(address, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < 2:
                assert time.monotonic() < deadline, "workers did not join"
                time.sleep(0.2)
        out = tmp_path / "remote"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "sim",
                "run",
                str(BASELINE),
                "-n",
                "4",
                "--seed",
                "11",
                "--executor",
                "dask",
                "--scheduler",
                address,
                "--out",
                str(out),
                "-q",
                "--no-plots",
                "--set",
                SHORT[0],
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        manifest = sim.load_results(out).manifest
        assert manifest.status == "complete"
        assert manifest.executor == "dask" and manifest.scheduler == address
        local = _run(tmp_path, "local", executor="serial")
        reference = _tables(local)
        remote = _tables(out)
        for name in remote:
            expected = reference[name][reference[name]["replication"] < 4].reset_index(drop=True)
            pd.testing.assert_frame_equal(remote[name], expected, obj=name)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _watched_worker(owner: int) -> None:
    from sim.experiment.executors import _exit_with

    _exit_with(owner, every=0.05)
    time.sleep(60)


def test_a_pool_worker_exits_when_its_run_is_killed():
    # a killed run cannot shut its pool down; its workers must not linger (or keep writing)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker = multiprocessing.get_context("spawn").Process(target=_watched_worker, args=(owner.pid,))
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()
    owner.kill()
    owner.wait()
    worker.join(timeout=10)
    assert worker.exitcode == 1


def test_a_target_ci_run_uses_one_pool_for_all_its_batches(tmp_path, monkeypatch):
    from sim.experiment import executors

    pools = []

    class Counted(executors.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(executors, "ProcessPoolExecutor", Counted)
    run_dir = _run(
        tmp_path,
        "ci",
        executor="process",
        jobs=2,
        target_ci={"incidents": 1e-9},
        max_replications=18,
    )
    run = sim.load_results(run_dir)
    assert run.manifest.completed_replications == 18  # three batches of six
    assert run.manifest.stop_reason.startswith("max replications (18)")
    assert len(pools) == 1


def test_an_executor_is_entered_before_use_and_shut_down_by_the_outermost_exit():
    from sim.experiment.errors import RunError
    from sim.experiment.executors import Executor

    executor = Executor("serial")
    with pytest.raises(RuntimeError, match="enter the executor"):
        next(executor.map(abs, [-1]))
    with executor:
        with executor:  # run_experiment's own `with` inside a caller's: nothing changes
            assert list(executor.map(abs, [-1, -2])) == [1, 2]
        assert list(executor.map(abs, [-3])) == [3]
    assert Executor.of(executor) is executor
    assert Executor("process", jobs=3).stages_parts and Executor("serial").jobs >= 1
    assert not Executor("dask", scheduler="tcp://127.0.0.1:1").stages_parts  # not connected
    with pytest.raises(RunError, match="goes with the dask executor"):
        Executor("process", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(RunError, match="jobs must be a whole number"):
        Executor("process", jobs=0)

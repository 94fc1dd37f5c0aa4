"""Experiment-scale measurements: peak memory as replications grow, serial vs pooled speed."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import BASELINE, CLI, run_measured
from sim.experiment.manifest import RunManifest, read_manifest


def _command(n: int, out: Path, *options: str) -> list[str]:
    """``withdrawal-sim run`` of ``n`` baseline replications into ``out``, quiet, no plots."""
    args = [*CLI, "run", str(BASELINE), "-n", str(n), "--seed", "1", "--out", str(out)]
    return [*args, "-q", "--no-plots", *options]


def peak_memory(small: int = 1_000, large: int = 10_000) -> dict[str, float]:
    """Peak resident memory (MiB, whole process tree) of baseline runs of two sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        t_small, m_small = run_measured(_command(small, Path(tmp) / "small", "--jobs", "2"))
        t_large, m_large = run_measured(_command(large, Path(tmp) / "large", "--jobs", "2"))
    return {
        f"peak_mib_{small}": m_small,
        f"peak_mib_{large}": m_large,
        "memory_ratio": round(m_large / m_small, 3),
        f"seconds_{small}": round(t_small, 1),
        f"seconds_{large}": round(t_large, 1),
    }


def _cli_run(n: int, folder: Path, *options: str) -> tuple[float, RunManifest]:
    """One ``withdrawal-sim run`` in a fresh process: (wall seconds, its manifest)."""
    out = folder / f"run-{len(list(folder.glob('run-*')))}"
    began = time.perf_counter()
    subprocess.run(_command(n, out, *options), check=True, capture_output=True)
    wall = time.perf_counter() - began
    return wall, read_manifest(out, "run")


SERIAL = ("--executor", "serial")
POOL = ("--executor", "process", "--jobs", "2")
DASK = ("--executor", "dask", "--jobs", "2")


def _rounds(n: int, folder: Path, executors: list[tuple[str, ...]], rounds: int) -> list[list]:
    """``rounds`` rounds that run every executor in turn, so that a change in the machine's
    load over the minutes this takes falls on all of them alike; each run is (wall seconds,
    run seconds, share of the run spent writing).

    Wall time includes the interpreter and imports; run time is the manifest's
    ``elapsed_seconds``, from the start of the run to its last committed chunk (a local
    Dask cluster's start included, its shutdown not).
    """
    out: list[list] = [[] for _ in executors]
    for _ in range(rounds):
        for runs, options in zip(out, executors, strict=True):
            wall, manifest = _cli_run(n, folder, *options)
            elapsed = manifest.elapsed_seconds
            runs.append((wall, elapsed, manifest.write_seconds / elapsed))
    return out


def _ratios(a: list, b: list, column: int, scale: float = 1.0) -> list[float]:
    """a[i] / (scale × b[i]) for one column of the runs, round by round."""
    return [x[column] / (scale * y[column]) for x, y in zip(a, b, strict=True)]


def _median_ratio(a: list, b: list, column: int, scale: float = 1.0) -> float:
    return round(float(np.median(_ratios(a, b, column, scale))), 3)


def throughput(n: int = 200, longer: int = 1_000) -> dict[str, float]:
    """Serial, 2-process pool and local Dask on ``n`` replications (five rounds of fresh CLI
    runs), and serial against pool on a ``longer`` run (two rounds), where start-up weighs
    less. Ratios are medians of the ratios within each round; rates are medians."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        serial, pool, dask = _rounds(n, folder, [SERIAL, POOL, DASK], rounds=5)
        serial_long, pool_long = _rounds(longer, folder, [SERIAL, POOL], rounds=2)

    efficiency = _ratios(serial, pool, 1, scale=2)

    def rate(runs: list) -> float:
        return round(n / float(np.median([r[1] for r in runs])), 2)

    return {
        "replications": n,
        "serial_per_s": rate(serial),
        "pool2_per_s": rate(pool),
        "dask2_per_s": rate(dask),
        "parallel_efficiency": round(float(np.median(efficiency)), 3),
        "parallel_efficiency_range": f"{min(efficiency):.2f}–{max(efficiency):.2f}",
        "parallel_efficiency_wall": _median_ratio(serial, pool, 0, scale=2),
        f"parallel_efficiency_{longer}": _median_ratio(serial_long, pool_long, 1, scale=2),
        "dask_over_pool_time": _median_ratio(dask, pool, 1),
        "dask_over_pool_wall": _median_ratio(dask, pool, 0),
        "write_share_serial": round(float(np.median([r[2] for r in serial])), 3),
        "write_share_pool": round(float(np.median([r[2] for r in pool])), 3),
    }

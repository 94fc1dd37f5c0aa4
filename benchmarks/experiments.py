"""Experiment-scale measurements: peak memory as replications grow, serial vs pooled speed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import sim
from benchmarks.common import BASELINE, CLI, run_measured


def _run(n: int, out: Path, *extra: str) -> tuple[float, int]:
    return run_measured(
        [
            *CLI,
            "run",
            str(BASELINE),
            "-n",
            str(n),
            "--seed",
            "1",
            "--out",
            str(out),
            "-q",
            "--no-plots",
            *extra,
        ]
    )


def peak_memory(small: int = 1_000, large: int = 10_000) -> dict[str, float]:
    """Peak resident memory (MiB, whole process tree) of baseline runs of two sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        t_small, m_small = _run(small, Path(tmp) / "small", "--jobs", "2")
        t_large, m_large = _run(large, Path(tmp) / "large", "--jobs", "2")
    return {
        f"peak_mib_{small}": m_small,
        f"peak_mib_{large}": m_large,
        "memory_ratio": round(m_large / m_small, 3),
        f"seconds_{small}": round(t_small, 1),
        f"seconds_{large}": round(t_large, 1),
    }


def _timed_run(n: int, out: Path, *extra: str) -> tuple[float, float]:
    """Run in-process; return (elapsed seconds from the manifest, share of it spent writing)."""
    run_dir = sim.run_experiment(
        BASELINE,
        n,
        1,
        out=out,
        progress=False,
        plots=False,
        **dict(zip(extra[::2], extra[1::2], strict=True)),
    )
    manifest = sim.load_results(run_dir).manifest
    return manifest["elapsed_seconds"], manifest["write_seconds"] / manifest["elapsed_seconds"]


def throughput(n: int = 200, longer: int = 1_000) -> dict[str, float]:
    """Replications per second serial, on a 2-process pool and on a local Dask cluster; the
    pool's parallel efficiency also on a ``longer`` run, where start-up weighs less."""
    with tempfile.TemporaryDirectory() as tmp:
        t_serial, write_share = _timed_run(n, Path(tmp) / "serial", "executor", "serial")
        t_pool, _ = _timed_run(n, Path(tmp) / "pool", "executor", "process", "jobs", 2)
        t_dask, _ = _timed_run(n, Path(tmp) / "dask", "executor", "dask", "jobs", 2)
        t_serial_long, _ = _timed_run(longer, Path(tmp) / "serial_long", "executor", "serial")
        t_pool_long, _ = _timed_run(
            longer, Path(tmp) / "pool_long", "executor", "process", "jobs", 2
        )
    serial, pooled = n / t_serial, n / t_pool
    return {
        "replications": n,
        "serial_per_s": round(serial, 2),
        "pool2_per_s": round(pooled, 2),
        "dask2_per_s": round(n / t_dask, 2),
        "parallel_efficiency": round(pooled / (2 * serial), 3),
        f"parallel_efficiency_{longer}": round(t_serial_long / (2 * t_pool_long), 3),
        "dask_over_pool_time": round(t_dask / t_pool, 3),
        "write_share_serial": round(write_share, 3),
    }

"""Experiment-scale measurements: peak memory as replications grow, serial vs pooled speed."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import BASELINE, CLI, run_measured


def _run(n: int, out: Path, *extra: str) -> tuple[float, int]:
    return run_measured(
        [*CLI, "run", str(BASELINE), "-n", str(n), "--seed", "1", "--out", str(out), "-q",
         "--no-plots", *extra]
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


def throughput(n: int = 200) -> dict[str, float]:
    """Replications per second serial and on a 2-process pool, and the parallel efficiency."""
    with tempfile.TemporaryDirectory() as tmp:
        t_serial, _ = _run(n, Path(tmp) / "serial", "--executor", "serial")
        t_pool, _ = _run(n, Path(tmp) / "pool", "--jobs", "2")
    serial, pooled = n / t_serial, n / t_pool
    return {
        "replications": n,
        "serial_per_s": round(serial, 2),
        "pool2_per_s": round(pooled, 2),
        "parallel_efficiency": round(pooled / (2 * serial), 3),
    }

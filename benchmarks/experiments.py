"""Experiment-scale measurements: peak memory as replications grow, serial vs pooled speed."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

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


def _cli_run(n: int, folder: Path, *options: str) -> tuple[float, dict]:
    """One ``withdrawal-sim run`` in a fresh process: (wall seconds, its manifest)."""
    out = folder / f"run-{len(list(folder.glob('run-*')))}"
    args = [*CLI, "run", str(BASELINE), "-n", str(n), "--seed", "1", "--out", str(out)]
    began = time.perf_counter()
    subprocess.run([*args, "-q", "--no-plots", *options], check=True, capture_output=True)
    wall = time.perf_counter() - began
    return wall, json.loads((out / "manifest.json").read_text())


def _best(n: int, folder: Path, *options: str, repeat: int = 5) -> tuple[float, float, float]:
    """Best of ``repeat`` fresh runs: (wall seconds, run seconds, share of it spent writing).

    Wall time includes the interpreter and imports; run time is the manifest's
    ``elapsed_seconds``, from the start of the run to its last committed chunk. The best run
    is the least disturbed by whatever else the machine is doing.
    """
    runs = [_cli_run(n, folder, *options) for _ in range(repeat)]
    wall = min(w for w, _ in runs)
    manifest = min((m for _, m in runs), key=lambda m: m["elapsed_seconds"])
    elapsed = manifest["elapsed_seconds"]
    return wall, elapsed, manifest["write_seconds"] / elapsed


def throughput(n: int = 200, longer: int = 1_000) -> dict[str, float]:
    """Serial, 2-process pool and local Dask on ``n`` replications (best of five fresh CLI
    runs each), and the pool's efficiency on a ``longer`` run (best of two), where start-up
    weighs less."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        serial = _best(n, folder, "--executor", "serial")
        pool = _best(n, folder, "--executor", "process", "--jobs", "2")
        dask = _best(n, folder, "--executor", "dask", "--jobs", "2")
        serial_long = _best(longer, folder, "--executor", "serial", repeat=2)
        pool_long = _best(longer, folder, "--executor", "process", "--jobs", "2", repeat=2)
    return {
        "replications": n,
        "serial_per_s": round(n / serial[1], 2),
        "pool2_per_s": round(n / pool[1], 2),
        "dask2_per_s": round(n / dask[1], 2),
        "parallel_efficiency": round(serial[1] / (2 * pool[1]), 3),
        "parallel_efficiency_wall": round(serial[0] / (2 * pool[0]), 3),
        f"parallel_efficiency_{longer}": round(serial_long[1] / (2 * pool_long[1]), 3),
        "dask_over_pool_time": round(dask[1] / pool[1], 3),
        "dask_over_pool_wall": round(dask[0] / pool[0], 3),
        "write_share_serial": round(serial[2], 3),
        "write_share_pool": round(pool[2], 3),
    }

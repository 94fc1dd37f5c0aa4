"""Real `withdrawal-sim run` processes for the crash, concurrency and damage tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

import sim

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHORT = "clock.end_date=2026-12-31"


def run_command(*extra: str | Path, out: Path | None = None, n: int | None = 24) -> list[str]:
    """``python -m sim run`` of the shortened baseline, quiet and without figures."""
    command = [sys.executable, "-m", "sim", "run", str(BASELINE), "-q", "--no-plots"]
    command += ["--set", SHORT]
    if n is not None:
        command += ["-n", str(n)]
    if out is not None:
        command += ["--out", str(out)]
    return command + [str(e) for e in extra]


def committed(run_dir: Path) -> int:
    """Chunks committed so far (lines of the commit journal)."""
    journal = run_dir / "commits.jsonl"
    return journal.read_bytes().count(b"\n") if journal.is_file() else 0


def wait_for_commits(proc: subprocess.Popen, run_dir: Path, chunks: int, timeout=120.0) -> bool:
    """Wait until ``chunks`` are committed; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while committed(run_dir) < chunks:
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the run committed nothing in time"
        time.sleep(0.01)
    return True


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def assert_same_tables(run_dir: Path, reference: Path) -> None:
    """Every table of ``run_dir`` equals ``reference``'s, row for row."""
    a, b = sim.load_results(run_dir), sim.load_results(reference)
    assert a.tables == b.tables
    assert a.kpis["replication"].is_unique
    for name in a.tables:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), obj=name)

"""``sim.evaluate`` inside the workers of the tools that drive it: joblib's loky processes and
Dask's worker processes give the numbers the calling process gives, with ``jobs=2`` too
(a pool where one may start, the calling process where not)."""

from __future__ import annotations

import pandas as pd
import pytest

import sim

BASELINE = "scenarios/baseline.yaml"
KPIS = ["incidents", "missed", "below_threshold_day"]


def _evaluate(seed: int, jobs: int) -> pd.DataFrame:
    return sim.evaluate(BASELINE, 2, seed=seed, kpis=KPIS, jobs=jobs)


@pytest.fixture(scope="module")
def expected() -> dict[int, pd.DataFrame]:
    return {seed: _evaluate(seed, 1) for seed in (1, 2)}


def test_joblib_loky_workers(expected):
    joblib = pytest.importorskip("joblib")
    calls = [joblib.delayed(_evaluate)(seed, jobs) for seed in (1, 2) for jobs in (1, 2)]
    results = joblib.Parallel(n_jobs=2, backend="loky")(calls)
    for (seed, _), got in zip([(s, j) for s in (1, 2) for j in (1, 2)], results, strict=True):
        pd.testing.assert_frame_equal(got, expected[seed])


def test_dask_worker_processes(expected):
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        futures = {
            (seed, jobs): client.submit(_evaluate, seed, jobs, pure=False)
            for seed in (1, 2)
            for jobs in (1, 2)
        }
        for (seed, _), future in futures.items():
            pd.testing.assert_frame_equal(future.result(timeout=120), expected[seed])

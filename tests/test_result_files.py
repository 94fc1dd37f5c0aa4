"""Result files as other tools read them: missing values are null (DuckDB's avg and count
skip them, as pandas' mean does NaN), dates have one unit whoever reads them, and every
column carries its unit and meaning in the Parquet field metadata."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import sim
from sim.tables import DATE, column_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files") / "run"
    return sim.run_experiment(
        ROOT / "scenarios" / "baseline.yaml",
        4,
        2,
        executor="serial",
        out=folder,
        overrides={"clock.end_date": "2025-12-31"},
    )


def _sql(run: Path, table: str, query: str) -> list[tuple]:
    source = f"read_parquet('{run}/{table}.parquet/*.parquet')"
    return duckdb.sql(query.format(t=source)).fetchall()


def test_duckdb_averages_waits_as_pandas_does(run):
    waits = sim.load_results(run).incidents["wait_days"]
    assert waits.isna().any() and waits.notna().any()  # both kinds are there to test
    [(average, counted, rows)] = _sql(
        run, "incidents", "select avg(wait_days), count(wait_days), count(*) from {t}"
    )
    assert average == pytest.approx(waits.mean(), rel=1e-12)
    assert (counted, rows) == (waits.notna().sum(), len(waits))


def test_dates_have_one_unit_for_pandas_pyarrow_and_duckdb(run):
    frame = sim.load_results(run).incidents
    assert str(frame["date"].dtype) == DATE == "datetime64[ms]"
    part = next((run / "incidents.parquet").glob("*.parquet"))
    assert str(pq.read_schema(part).field("date").type) == "timestamp[ms]"
    [(first,)] = _sql(run, "incidents", "select min(date) from {t}")
    assert first == frame["date"].min().to_pydatetime()


def test_every_column_says_its_unit_and_meaning(run):
    for table in ("incidents", "kpis", "daily", "forces"):
        part = next((run / f"{table}.parquet").glob("*.parquet"))
        for field in pq.read_schema(part):
            documented = column_of(table, field.name)
            assert documented is not None, (table, field.name)
            assert field.metadata[b"unit"].decode() == documented.unit
            assert field.metadata[b"description"].decode() == documented.description

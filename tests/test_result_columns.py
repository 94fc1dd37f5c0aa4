"""The columns that let other tools read many runs at once: every table of a run folder says
its ``scenario`` and ``run_id`` (and a sweep point's its ``point``), sectors and sites are
ordered categories in the scenario's own order, and what a posture row's day means next to
the KPI ``below_threshold_day``."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sim
from sim.experiment.store import RunStore
from sim.experiment.sweep import load_sweep_results, point_dir
from sim.experiment.tasks import simulate_chunk
from sim.tables import RUN_LABELS, TABLES

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
RESURGENCE = ROOT / "scenarios" / "isis_resurgence.yaml"
AFTER_PHASE_2 = {"clock.end_date": "2026-10-15"}  # in Iraq below 500 on day 615 (docs/model.md)
LABEL = pa.dictionary(pa.int32(), pa.string())


def _run(path: Path, out: Path, replications: int, **overrides: object) -> Path:
    return sim.run_experiment(
        path,
        replications,
        2,
        executor="serial",
        out=out,
        overrides={**AFTER_PHASE_2, **overrides},
        progress=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two runs of the baseline (same seed: the same numbers, two runs) and one of another
    scenario, in folders of their own."""
    root = tmp_path_factory.mktemp("labels")
    return {
        "first": _run(BASELINE, root / "baseline" / "first", 3),
        "again": _run(BASELINE, root / "baseline" / "again", 3),
        "other": _run(RESURGENCE, root / "isis_resurgence" / "other", 2),
    }


def _parts(run: Path, table: str) -> list[Path]:
    return sorted((run / f"{table}.parquet").glob("part-*.parquet"))


def _distinct(part: Path, column: str) -> set:
    """The values of ``column`` in one part (none in a part without rows)."""
    return set(pq.read_table(part, columns=[column]).column(column).to_pylist())


def _expected_counts(runs: dict[str, Path]) -> dict[tuple[str, str], int]:
    """(scenario, run_id) -> incidents, from each run loaded on its own."""
    counts = {}
    for run in runs.values():
        loaded = sim.load_results(run)
        counts[(loaded.name, run.name)] = len(loaded.incidents)
    return counts


def test_duckdb_over_a_glob_of_several_runs_keeps_them_apart(runs):
    expected = _expected_counts(runs)
    assert len(expected) == 3
    first, again = (expected[("baseline", n)] for n in ("first", "again"))
    assert first == again > 0, "same scenario and seed: the same incidents, in two runs"
    globs = ", ".join(f"'{run}/incidents.parquet/*.parquet'" for run in runs.values())
    rows = duckdb.sql(
        f"select scenario, run_id, count(*) from read_parquet([{globs}]) group by all"
    ).fetchall()
    assert {(scenario, run_id): n for scenario, run_id, n in rows} == expected
    described = duckdb.sql(f"describe select scenario, run_id from read_parquet([{globs}])")
    assert [row[1] for row in described.fetchall()] == ["VARCHAR", "VARCHAR"]


def test_pandas_concat_of_several_runs_keeps_them_apart(runs):
    frames = [pd.read_parquet(run / "incidents.parquet") for run in runs.values()]
    joined = pd.concat(frames, ignore_index=True)
    counts = joined.groupby(["scenario", "run_id"], observed=True).size()
    assert counts.to_dict() == _expected_counts(runs)
    # one run's labels are categories of one value each
    assert frames[0]["run_id"].cat.categories.tolist() == ["first"]
    assert frames[0]["scenario"].cat.categories.tolist() == ["baseline"]


def test_every_table_of_a_run_starts_with_its_labels(runs):
    run = runs["first"]
    for table in [*TABLES, "kpis"]:
        for part in _parts(run, table):
            schema = pq.read_schema(part)
            assert schema.names[:3] == ["scenario", "run_id", "replication"], (table, part)
            rows = pq.read_metadata(part).num_rows
            for name, value in (("scenario", "baseline"), ("run_id", "first")):
                field = schema.field(name)
                assert field.type == LABEL, (table, name)
                assert field.metadata[b"unit"].decode() == RUN_LABELS[name].unit
                assert field.metadata[b"description"].decode() == RUN_LABELS[name].description
                assert _distinct(part, name) == ({value} if rows else set()), (table, name)
            assert "point" not in schema.names


def test_load_results_gives_the_runs_own_columns_and_arrow_the_files(runs):
    loaded = sim.load_results(runs["first"])
    for table in loaded.tables:
        assert not set(RUN_LABELS) & set(loaded.table(table).columns), table
    assert loaded.arrow("kpis").column_names[:2] == ["scenario", "run_id"]


def test_arrow_refuses_unknown_columns_and_takes_one_name(runs):
    run = sim.load_results(next(iter(runs.values())))
    assert run.arrow("incidents", "sector").column_names == ["sector"]
    assert run.arrow("incidents", ["sector"]).num_rows == len(run.incidents)
    with pytest.raises(KeyError, match="no column 'nocol'; columns: scenario, run_id"):
        run.arrow("incidents", ["sector", "nocol"])


def test_a_resumed_run_writes_the_same_run_id(tmp_path):
    run = _run(BASELINE, tmp_path / "interrupted", 3)
    damaged = _parts(run, "incidents")[1]
    damaged.unlink()  # its chunk runs again on resume
    sim.run_experiment(
        BASELINE,
        None,
        None,
        executor="serial",
        out=run,
        resume=True,
        overrides=AFTER_PHASE_2,
        progress=False,
    )
    assert sim.load_results(run).manifest.sessions[-1].repaired
    assert damaged.is_file()
    for table in [*TABLES, "kpis"]:
        for part in _parts(run, table):
            assert _distinct(part, "run_id") <= {"interrupted"}, (table, part)
    assert {run_id for part in _parts(run, "kpis") for run_id in _distinct(part, "run_id")} == {
        "interrupted"
    }


def test_tables_sent_back_to_the_run_are_labelled_by_its_store(tmp_path):
    # a remote Dask worker sends its tables back: they name their scenario, and the run's
    # own store adds its run_id when it writes them
    scenario = sim.load_scenario(BASELINE, AFTER_PHASE_2)
    tables = simulate_chunk(scenario, 2, [0], ["kpis", "daily"])
    assert tables["kpis"].column_names[:2] == ["scenario", "replication"]
    store = RunStore(tmp_path / "remote")
    store.create()
    store.save(0, 0, tables)
    written = store.read_arrow("daily")
    assert written.column_names[:3] == ["scenario", "run_id", "replication"]
    assert written.column("run_id").unique().to_pylist() == ["remote"]
    assert written.column("scenario").unique().to_pylist() == ["baseline"]


def test_sweep_points_say_their_point_and_the_sweeps_run_id(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(
        f"extends: {os.path.relpath(BASELINE, tmp_path)}\nclock: {{end_date: 2025-10-01}}\n"
    )
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        "sweep:\n  scenario: base.yaml\n  name: labels\n  design: grid\n  replications: 2\n"
        "  parameters:\n    - {path: forces.lift.airlift.lifts_per_day, values: [1, 2]}\n"
    )
    out = sim.run_sweep(sweep, executor="serial", out=tmp_path / "swept", progress=False)
    for point in (0, 1):
        for table in ("kpis", "posture", "daily"):
            for part in _parts(point_dir(out, point), table):
                read = pq.read_table(part)
                assert read.column_names[:4] == ["scenario", "run_id", "point", "replication"]
                assert read.column("scenario").unique().to_pylist() == ["baseline"]
                assert read.column("run_id").unique().to_pylist() == ["swept"]
                assert read.column("point").unique().to_pylist() == [point]
                assert read.schema.field("point").metadata[b"unit"] == b"index"
    rows = duckdb.sql(
        f"select point, count(*) from read_parquet('{out}/points/*/kpis.parquet/*.parquet') k "
        f"join read_parquet('{out}/points.parquet') p using (point) group by point order by point"
    ).fetchall()
    assert rows == [(0, 2), (1, 2)]
    kpis = load_sweep_results(out)
    assert list(kpis.columns).count("point") == 1
    assert not {"scenario", "run_id"} & set(kpis.columns)
    assert kpis.groupby("point").size().to_dict() == {0: 2, 1: 2}


def _names(run: Path) -> tuple[list[str], list[str]]:
    """The run's sectors and sites, in its scenario's order."""
    scenario = sim.load_results(run).scenario
    return [s.name for s in scenario.border.sectors], [s.name for s in scenario.forces.sites]


ORDERED = {  # table -> column -> sectors or sites (and in_transit)
    "incidents": {"sector": "sectors"},
    "daily": {"sector": "sectors"},
    "forces": {"site": "sites+"},
    "movements": {"origin": "sites", "destination": "sites"},
}


def test_sectors_and_sites_read_as_ordered_categories_in_the_scenarios_order(runs):
    run = runs["first"]
    sectors, sites = _names(run)
    assert sectors != sorted(sectors) and sites != sorted(sites)  # the order is the config's
    order = {"sectors": sectors, "sites": sites, "sites+": [*sites, "in_transit"]}
    loaded = sim.load_results(run)
    for table, columns in ORDERED.items():
        read = pd.read_parquet(run / f"{table}.parquet")
        for column, names in columns.items():
            expected = pd.CategoricalDtype(order[names], ordered=True)
            assert read[column].dtype == expected, (table, column)
            assert loaded.table(table)[column].dtype == expected, (table, column)
            for part in _parts(run, table):  # every name, used in that part or not
                field = pq.read_schema(part).field(column)
                assert pa.types.is_dictionary(field.type) and field.type.ordered
                stored = pq.read_table(part, columns=[column]).column(column).chunk(0)
                assert stored.dictionary.to_pylist() == order[names]


def test_grouping_by_sector_follows_the_border_and_duckdb_counts_the_same(runs):
    run = runs["first"]
    sectors, _ = _names(run)
    incidents = sim.load_results(run).incidents
    by_sector = incidents.groupby("sector").size()  # pandas 3: observed categories only
    assert by_sector.index.tolist() == [s for s in sectors if s in set(incidents["sector"])]
    rows = duckdb.sql(
        f"select sector, count(*) from read_parquet('{run}/incidents.parquet/*.parquet') "
        "group by sector"
    ).fetchall()
    assert dict(rows) == by_sector.to_dict()


def _first_below(posture: pd.DataFrame, threshold: float) -> pd.Series:
    """Per replication, the day of the first posture row with in_iraq below ``threshold``."""
    below = posture[posture["in_iraq"] < threshold]
    return below.groupby("replication")["day"].min()


def test_posture_shows_the_drop_below_the_threshold_at_the_next_record_time(runs):
    loaded = sim.load_results(runs["first"])
    threshold = loaded.scenario.forces.in_iraq_threshold_personnel
    kpi = loaded.kpis.set_index("replication")["below_threshold_day"]
    from_posture = _first_below(loaded.posture, threshold)
    # the baseline's last Phase 2 airlift leaves on day 615: the KPI says 615, and the
    # posture row of day 615 is the state before it, so posture first shows it on day 616
    assert kpi.tolist() == [615.0] * 3
    assert from_posture.tolist() == [616.0] * 3
    assert (from_posture == np.floor(kpi) + 1).all()


@pytest.mark.parametrize("interval", [1.0, 7.0, 0.25])
def test_the_relation_holds_for_any_record_interval(interval):
    scenario = sim.load_scenario(
        BASELINE, {**AFTER_PHASE_2, "clock.record_interval_days": interval}
    )
    tables = sim.simulate(scenario, 0, 2)
    kpi = tables["kpis"]["below_threshold_day"].item()
    days = tables["posture"]["day"].to_numpy()
    threshold = scenario.forces.in_iraq_threshold_personnel
    [seen] = _first_below(tables["posture"], threshold).tolist()
    assert seen == days[np.searchsorted(days, kpi, side="right")]  # the next record time


def test_a_posture_that_starts_below_the_threshold_is_below_on_day_0():
    scenario = sim.load_scenario(
        BASELINE, {**AFTER_PHASE_2, "forces.in_iraq_threshold_personnel": 10_000}
    )
    tables = sim.simulate(scenario, 0, 2)
    assert tables["kpis"]["below_threshold_day"].item() == 0.0
    assert _first_below(tables["posture"], 10_000).tolist() == [0.0]

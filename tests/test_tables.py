"""Tables travel as numpy columns (names as ``Labels``), are joined into Arrow tables and
written to Parquet without pandas: what a reader gets back must be what ``simulate`` gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config.load import load_scenario
from sim.experiment.store import RunStore
from sim.model.results import Results, SchemaMismatch
from sim.model.world import World, simulate_columns
from sim.tables import (
    KPI_COLUMNS,
    KPI_SCHEMA,
    PER_PHASE,
    PER_SECTOR,
    PHASE_KPI,
    SCHEMA,
    SECTOR_KPI,
    TABLES,
    Labels,
    to_arrow,
    to_frames,
)

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
REPOSITIONING = BASELINE.with_name("repositioning.yaml")


def dtype_of(values: np.ndarray | Labels) -> str:
    """The schema's name for a column's type (``str`` for names)."""
    return "str" if isinstance(values, Labels) else str(values.dtype)


def schema_problems(part: str, table: str, columns: dict) -> list[str]:
    """How a part's table differs from ``sim.tables.SCHEMA`` (``Results`` adds the
    ``replication`` column of every table, so no part makes it)."""
    declared = {c: col.dtype for c, col in SCHEMA[table].items() if c != "replication"}
    produced = {c: dtype_of(v) for c, v in columns.items()}
    return (
        [f"{part} makes {table}.{c}, not in sim.tables" for c in produced if c not in declared]
        + [
            f"sim.tables has {table}.{c}, {part} does not make it"
            for c in declared
            if c not in produced
        ]
        + [
            f"{part} makes {table}.{c} as {produced[c]}, sim.tables says {declared[c]}"
            for c in declared
            if c in produced and produced[c] != declared[c]
        ]
    )


@pytest.mark.parametrize("path", [BASELINE, REPOSITIONING])
def test_every_part_records_what_the_schema_declares(path):
    # each table has one owner, which makes exactly the schema's columns with its dtypes
    world = World(load_scenario(path), 0, 3)
    world.env.run(until=world.scenario.horizon_days)
    results = Results(0, 3)
    problems, owners, kpis = [], {}, set()
    for part in world.recording:
        before, known = set(results.tables), set(results.kpis)
        part.record(results)
        for table in set(results.tables) - before:
            owners[table] = type(part).__name__
            problems += schema_problems(owners[table], table, results.tables[table])
        kpis |= {k for k in set(results.kpis) - known if not k.startswith((PER_PHASE, PER_SECTOR))}
    assert problems == []
    assert set(owners) == set(SCHEMA), f"tables nobody records: {set(SCHEMA) - set(owners)}"
    assert kpis | {"replication", "seed"} == set(KPI_COLUMNS)
    scenario = world.scenario
    assert results.kpis.keys() - set(KPI_COLUMNS) == {
        *(f"complete_day_{p.name}" for p in scenario.forces.phases),
        *(f"incidents_per_100km_year_{s.name}" for s in scenario.border.sectors),
    }


def test_every_column_has_a_unit_and_a_meaning():
    columns = [c for table in SCHEMA.values() for c in table.values()]
    every = [*columns, *KPI_SCHEMA.values(), PHASE_KPI, SECTOR_KPI]
    assert all(c.unit and c.description for c in every)


def test_a_column_missing_from_the_schema_is_named():
    results = Results(0, 1)
    columns = simulate_columns(load_scenario(BASELINE), 0, 1)
    for name in TABLES:
        results.add_table(name, {c: v for c, v in columns[name].items() if c != "replication"})
    results.tables["incidents"]["distance_km"] = np.zeros(len(columns["incidents"]["day"]))
    del results.tables["incidents"]["severity"]
    with pytest.raises(SchemaMismatch, match=r"'incidents'.*\['distance_km'\].*\['severity'\]"):
        results.columns()


def test_labels_of_strings_round_trip():
    labels = Labels.of(["erbil", "baghdad", "erbil"])
    assert labels.names == ("baghdad", "erbil")
    assert np.array(labels.names)[labels.codes].tolist() == ["erbil", "baghdad", "erbil"]
    assert labels.equals("erbil").tolist() == [True, False, True]
    assert labels.equals("kuwait").tolist() == [False, False, False]


def test_parts_with_different_names_join_by_name():
    parts = [
        {"policy": {"rule": Labels.of(["hold_a", "hold_b"]), "day": np.array([1.0, 2.0])}},
        {"policy": {"rule": Labels.of(["hold_c", "hold_a"]), "day": np.array([3.0, 4.0])}},
        {"policy": {"rule": Labels.of([]), "day": np.array([])}},
    ]
    table = to_arrow(parts)["policy"]
    assert table.column("rule").to_pylist() == ["hold_a", "hold_b", "hold_c", "hold_a"]
    assert table.column("day").to_pylist() == [1.0, 2.0, 3.0, 4.0]


@pytest.fixture(scope="module")
def parts():
    scenario = load_scenario(BASELINE)
    return [simulate_columns(scenario, rep, 5) for rep in range(3)]


def test_frames_have_the_documented_dtypes(parts):
    frames = to_frames(parts)
    for name, schema in TABLES.items():
        assert {c: str(t) for c, t in frames[name].dtypes.items()} == schema, name
    assert {c: str(frames["kpis"][c].dtype) for c in KPI_COLUMNS} == KPI_COLUMNS


def test_parquet_round_trip_gives_back_the_frames(parts, tmp_path):
    store = RunStore(tmp_path / "run")
    store.create()
    store.write_chunk(0, 1, to_arrow(parts[:2]))
    store.write_chunk(2, 2, to_arrow(parts[2:]))
    assert store.completed() == {0, 1, 2}
    frames = to_frames(parts)
    for name in [*TABLES, "kpis"]:
        read = store.read_table(name)
        pd.testing.assert_frame_equal(read, frames[name], check_exact=True, obj=name)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 1000])
def test_arrow_builders_match_pyarrow(n):
    import pyarrow as pa

    from sim.arrow import decoded, from_numpy, strings

    rng = np.random.default_rng(n)
    flags = rng.random(n) < 0.5
    counts = rng.integers(-5, 5, n)
    values = rng.random(n)
    values[::3] = np.nan
    seconds = rng.integers(0, 10**9, n).astype("datetime64[s]")
    seconds[::4] = np.datetime64("NaT")
    assert from_numpy(flags, pa.bool_()).equals(pa.array(flags))
    assert from_numpy(counts, pa.int64()).equals(pa.array(counts))
    floats = from_numpy(values, pa.float64())
    # NaN is no value: null, as pyarrow makes it from pandas, which DuckDB's avg skips
    assert floats.equals(pa.array(values, type=pa.float64(), from_pandas=True))
    assert floats.null_count == len(values[::3])
    np.testing.assert_array_equal(floats.to_numpy(zero_copy_only=False), values)
    stamps = from_numpy(seconds, pa.timestamp("ms"))
    assert stamps.equals(pa.array(seconds, type=pa.timestamp("ms"), from_pandas=True))
    assert stamps.null_count == len(seconds[::4])
    names = ["Ninawa", "al-Qa'im", "Rabī'a", ""]
    assert strings(names).to_pylist() == names
    codes = rng.integers(0, len(names), n)
    assert decoded(codes, names).to_pylist() == [names[c] for c in codes]


def test_workers_write_parquet_without_importing_pandas(tmp_path):
    # pandas costs a third of a worker's start-up; the task path must not need it
    code = f"""
import sys
from pathlib import Path
from sim.config.load import load_scenario
from sim.experiment.tasks import Chunk, run_chunk
scenario = load_scenario({str(BASELINE)!r})
run_chunk(Chunk(scenario, 1, [0, 1], Path({str(tmp_path)!r})))
assert "pandas" not in sys.modules, "the worker path imported pandas"
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == sorted(
        f"{t}.parquet" for t in [*TABLES, "kpis"]
    )

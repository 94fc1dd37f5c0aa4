"""Properties of the tables a replication produces, reproducibility and the config round trip,
on generated scenarios."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis_profiles import examples
from strategies import build, scenarios, simulate_data

from sim.config.load import load_scenario, scenario_to_yaml
from sim.model.world import simulate
from sim.tables import KPI_COLUMNS, TABLES


def _dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {column: str(dtype) for column, dtype in frame.dtypes.items()}


@settings(max_examples=examples(30))
@given(scenarios())
def test_tables_have_exactly_the_documented_columns_and_dtypes(data):
    _, tables = simulate_data(data)
    assert set(tables) == {*TABLES, "kpis"}
    for name, schema in TABLES.items():
        assert _dtypes(tables[name]) == schema, name
        assert list(tables[name].columns) == list(schema), name  # in the documented order
    phases = {f"complete_day_{p['name']}": "float64" for p in data["forces"].get("phases", [])}
    sectors = {
        f"incidents_per_100km_year_{s['name']}": "float64" for s in data["border"]["sectors"]
    }
    assert _dtypes(tables["kpis"]) == {**KPI_COLUMNS, **phases, **sectors}
    assert list(tables["kpis"].columns) == [*KPI_COLUMNS, *phases, *sectors]
    assert len(tables["kpis"]) == 1
    for name, frame in tables.items():
        assert (frame["replication"] == 0).all(), name


@settings(max_examples=examples(30))
@given(scenarios())
def test_same_scenario_and_seed_give_identical_tables(data):
    scenario = build(data)
    a = simulate(scenario, 2, 5)
    b = simulate(build(data), 2, 5)  # a fresh Scenario object, too
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


@settings(max_examples=examples(30))
@given(scenarios())
def test_resolved_scenario_round_trips_through_yaml(data):
    scenario = build(data)
    text = scenario_to_yaml(scenario)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resolved.yaml"
        path.write_text(text, encoding="utf-8")
        again = load_scenario(path)
    assert again == scenario
    assert scenario_to_yaml(again) == text


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_daily_counts_add_up_to_the_incidents(data):
    _, tables = simulate_data(data)
    inc, daily = tables["incidents"], tables["daily"]
    assert daily["incidents"].sum() == len(inc)
    by_sector = daily.groupby("sector")["incidents"].sum()
    expected = inc["sector"].value_counts()
    for sector in by_sector.index:
        assert by_sector[sector] == expected.get(sector, 0), sector
    outcomes = ["interdicted", "missed", "undetected", "pending"]
    assert (daily[outcomes].sum(axis=1) == daily["incidents"]).all()
    for outcome in outcomes:
        assert daily[outcome].sum() == (inc["outcome"] == outcome).sum(), outcome
    assert np.isclose(daily["severity"].sum(), inc["severity"].sum())


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_daily_rows_cover_every_interval_and_sector(data):
    scenario, tables = simulate_data(data)
    daily, posture = tables["daily"], tables["posture"]
    sectors = [s["name"] for s in data["border"]["sectors"]]
    assert len(daily) == (len(posture) - 1) * len(sectors)
    assert (daily["day"].unique() == posture["day"].to_numpy()[1:]).all()
    assert posture["day"].iloc[0] == 0.0
    assert posture["day"].iloc[-1] == scenario.horizon_days
    assert (np.diff(posture["day"]) > 0).all()


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_utilisation_is_a_fraction_and_backlog_is_not_negative(data):
    _, tables = simulate_data(data)
    daily = tables["daily"]
    assert (daily["utilisation"] >= -1e-9).all(), daily["utilisation"].min()
    assert (daily["utilisation"] <= 1 + 1e-9).all(), daily["utilisation"].max()
    assert (daily["backlog"] >= 0).all()
    assert (daily["intensity_per_day"] >= 0).all()


@settings(max_examples=examples(30))
@given(scenarios())
def test_kpis_agree_with_the_tables(data):
    _, tables = simulate_data(data)
    k = tables["kpis"].iloc[0]
    inc, posture, policy = tables["incidents"], tables["posture"], tables["policy"]
    assert k["incidents"] == len(inc)
    for outcome in ("interdicted", "missed", "undetected"):
        assert k[outcome] == (inc["outcome"] == outcome).sum(), outcome
    assert k["final_in_iraq"] == posture["in_iraq"].iloc[-1]
    assert k["repositioning_triggers"] == (policy["action"] == "hold").sum()
    assert k["max_backlog"] == (tables["daily"]["backlog"].max() if len(tables["daily"]) else 0)
    moves = tables["movements"]
    per_day = moves.groupby(np.floor(moves["depart_day"] + 1e-9))["personnel"].sum()
    assert k["peak_moved_per_day"] == (per_day.max() if len(per_day) else 0)
    for _, row in tables["phases"].iterrows():
        pd.testing.assert_series_equal(
            pd.Series([k[f"complete_day_{row['phase']}"]]), pd.Series([row["complete_day"]])
        )
    threshold = data["forces"]["in_iraq_threshold_personnel"]
    below = posture.loc[posture["in_iraq"] < threshold, "day"]
    if below.empty:
        # it may still have dipped between snapshots, while a move within Iraq was in transit
        assert np.isnan(k["below_threshold_day"]) or k["below_threshold_day"] > 0
    else:
        assert k["below_threshold_day"] <= below.iloc[0]
    if np.isnan(k["below_threshold_day"]):
        assert below.empty

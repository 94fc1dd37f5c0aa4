"""Calibration from event data (docs/calibration.md): likelihoods against hand formulas and
finite differences, interval coverage and model choice on series of known parameters drawn by
an independent construction (``sim.calibration.synthetic``), a simulate → export → calibrate
→ run round trip, and one clear error for every kind of bad export."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.optimize import approx_fprime
from threadpoolctl import threadpool_limits

import sim
from sim.calibration.events import read_events
from sim.calibration.fitting import Series, hawkes_fit, hawkes_loglik, poisson_fit
from sim.calibration.synthetic import hawkes_series
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
FIVE_YEARS = 5 * 365.25


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def test_the_hawkes_likelihood_by_hand_and_its_gradient():
    series = Series(np.array([1.0, 2.5, 2.6, 7.0]), 10.0, (5.0,))
    background, n, beta = np.array([0.3, 0.2]), 0.4, 0.7
    value, gradient = hawkes_loglik(series, background, n, beta)
    t = series.times
    excitation = [sum(math.exp(-beta * (t[i] - t[j])) for j in range(i)) for i in range(4)]
    mu = [0.3, 0.3, 0.3, 0.2]
    by_hand = sum(math.log(m + n * beta * a) for m, a in zip(mu, excitation, strict=True))
    by_hand -= 0.3 * 5 + 0.2 * 5 + n * sum(1 - math.exp(-beta * (10 - x)) for x in t)
    assert value == pytest.approx(by_hand, rel=1e-12)

    def f(x: np.ndarray) -> float:
        return hawkes_loglik(series, x[:2], x[2], x[3])[0]

    numeric = approx_fprime(np.array([0.3, 0.2, n, beta]), f, 1e-7)
    assert gradient == pytest.approx(numeric, rel=1e-4)


def test_without_excitation_the_hawkes_likelihood_is_the_poisson_one():
    series = Series(np.sort(np.random.default_rng(1).uniform(0, 100, 40)), 100.0)
    fit = poisson_fit(series)
    rate = fit.estimates["mu"]
    assert rate == pytest.approx(0.4)
    assert hawkes_loglik(series, np.array([rate]), 0.0, 1.0)[0] == pytest.approx(fit.loglik)


def test_profile_intervals_cover_the_truth_and_the_bias_is_small():
    """20 five-year series (μ 0.1, n 0.4, β 0.1): a correct 95% interval misses more than four
    of them with probability 0.016; the full study (50 × 3 sectors) is
    scripts/calibration_coverage.py."""
    truth = (0.1, 0.4, 0.1)
    rng = np.random.default_rng(7)
    fits = [
        hawkes_fit(Series(hawkes_series(*truth, FIVE_YEARS, rng), FIVE_YEARS)) for _ in range(20)
    ]
    for name, value in zip(("mu", "n", "beta"), truth, strict=True):
        covered = sum(f.intervals[name][0] <= value <= f.intervals[name][1] for f in fits)
        assert covered >= 16, (name, covered)
        if name != "beta":
            mean = np.mean([f.estimates[name] for f in fits])
            assert abs(mean - value) < 0.15 * value, (name, mean)


def test_bootstrap_correction_removes_the_bias_it_estimates():
    """The correction is n_bc = 2 n̂ − mean(n̂*) over bootstrap series drawn from the fit: an
    MLE biased low is moved up on every series (and μ down, the mean rate held), to within
    its profile interval; on the baseline's al_qaim (μ 0.08, n 0.4, β 0.1) the corrected
    mean is nearer the truth than the MLE's over 12 series."""
    truth = (0.08, 0.4, 0.1)
    rng = np.random.default_rng(11)
    fits = [
        hawkes_fit(
            Series(hawkes_series(*truth, FIVE_YEARS, rng), FIVE_YEARS), seed=k, bias_replicates=30
        )
        for k in range(12)
    ]
    shifts = np.array([[f.estimates[p] - f.mle[p] for p in ("mu", "n")] for f in fits])
    assert (shifts[:, 0] < 0).mean() >= 0.75 and (shifts[:, 1] > 0).mean() >= 0.75, shifts
    for f in fits:
        for name, (low, high) in f.intervals.items():
            assert low <= f.estimates[name] <= high, (name, f.estimates, f.intervals)
    corrected = np.mean([f.estimates["n"] for f in fits])
    assert abs(corrected - 0.4) < abs(np.mean([f.mle["n"] for f in fits]) - 0.4)


def test_a_fit_on_a_bound_is_not_corrected():
    """On Poisson series the MLE may put n on 0 or β on its upper bound (seeds 2 and 0 here),
    where the bootstrap's estimates are one-sided: the MLE stands. An interior fit (seed 3)
    is corrected."""

    def fit(seed: int):
        rng = np.random.default_rng(seed)
        times = np.sort(rng.uniform(0, FIVE_YEARS, 200))
        return hawkes_fit(Series(times, FIVE_YEARS), intervals=False, bias_replicates=10)

    on_zero, on_fast, interior = fit(2), fit(0), fit(3)
    assert "n" in on_zero.on_bound and on_zero.estimates == on_zero.mle
    assert on_fast.on_bound == ["beta"] and on_fast.estimates == on_fast.mle
    assert interior.on_bound == [] and interior.estimates != interior.mle


def test_aic_tells_poisson_from_hawkes():
    rng = np.random.default_rng(3)
    mu, n, beta = 0.1, 0.4, 0.1
    hawkes = poisson = 0
    for _ in range(30):
        s = Series(hawkes_series(mu, n, beta, FIVE_YEARS, rng), FIVE_YEARS)
        hawkes += hawkes_fit(s, intervals=False).aic < poisson_fit(s).aic
        flat = rng.uniform(0, FIVE_YEARS, rng.poisson(mu / (1 - n) * FIVE_YEARS))
        s = Series(np.sort(flat), FIVE_YEARS)
        poisson += poisson_fit(s).aic <= hawkes_fit(s, intervals=False).aic
    assert hawkes >= 26 and poisson >= 26, (hawkes, poisson)


# -- the round trip -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    run = sim.run_experiment(
        sim.load_scenario(BASELINE), 40, 5, executor="serial", out=folder / "base"
    )
    runner = CliRunner()
    for fmt, name in (("acled", "events.csv"), ("ucdp-ged", "ged.csv")):
        result = runner.invoke(
            main, ["export-events", str(run), "--format", fmt, "--out", str(folder / name)]
        )
        assert result.exit_code == 0, result.output
    return folder, run


def test_export_columns_say_synthetic(exported):
    folder, run = exported
    acled = pd.read_csv(folder / "events.csv")
    ged = pd.read_csv(folder / "ged.csv")
    assert acled["notes"].str.startswith("SYNTHETIC").all()
    assert ged["source_article"].str.startswith("SYNTHETIC").all()
    loaded = sim.load_results(run)
    first = loaded.incidents[loaded.incidents["replication"] == 0]
    activity = loaded.activity[loaded.activity["replication"] == 0]
    assert len(acled) == len(ged) == len(first) + len(activity)
    assert (acled["country"] == "Iraq").sum() == len(first)
    events = read_events(folder / "ged.csv", "ucdp-ged")
    assert events["single_day"].all() and len(events) == len(ged)


def test_simulate_export_calibrate_run_comes_back(exported, tmp_path):
    folder, run = exported
    result = CliRunner().invoke(
        main,
        [
            "calibrate", str(folder / "events.csv"), "--format", "acled",
            "--scenario", str(BASELINE), "--out", str(tmp_path / "fitted.yaml"),
            "--report", str(tmp_path / "report"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fits = pd.read_csv(tmp_path / "report" / "fits.csv")
    assert {"process", "sector", "actor", "model", "parameter", "estimate"} <= set(fits.columns)
    assert (tmp_path / "report" / "qq.png").stat().st_size > 10_000
    raw = sim.RawScenario.from_file(BASELINE)
    fitted = sim.RawScenario.from_file(tmp_path / "fitted.yaml").to_dict()["threats"]
    raw.override("threats", fitted)
    calibrated = sim.run_experiment(raw.validate(), 40, 9, executor="serial", out=tmp_path / "c")
    years = sim.load_scenario(BASELINE).horizon_days / 365.25
    original = sim.load_results(run).kpis["incidents"].mean() / years
    again = sim.load_results(calibrated).kpis["incidents"].to_numpy() / years
    low, high = np.quantile(again, [0.025, 0.975])
    assert low <= original <= high, (low, original, high)


# -- bad exports ------------------------------------------------------------------------------

HEADER = (
    "event_id_cnty,event_date,time_precision,event_type,sub_event_type,actor1,assoc_actor_1,"
    "actor2,iso,admin1,admin2,admin3,latitude,longitude,geo_precision,fatalities"
)
ROW = "IRQ1,2025-03-01,1,Battles,Armed clash,Islamic State (Iraq),,,368,Anbar,,,34.4,41.0,1,0"
GED_HEADER = (
    "id,type_of_violence,side_a,side_b,where_prec,date_prec,date_start,date_end,"
    "latitude,longitude,best,low,high"
)


def _with(column: str, value: str) -> str:
    names, cells = HEADER.split(","), ROW.split(",")
    cells[names.index(column)] = value
    return f"{HEADER}\n{ROW}\n{','.join(cells)}\n"


BAD = [
    ("missing_column", HEADER.replace("event_date,", "") + "\n", "acled", ":1:", "event_date"),
    ("bad_date", _with("event_date", "2025-13-40"), "acled", ":3:2:", "is not a date"),
    ("latitude_out_of_range", _with("latitude", "95.0"), "acled", ":3:13:", "latitude"),
    ("longitude_not_a_number", _with("longitude", "east"), "acled", ":3:14:", "longitude"),
    ("precision_not_whole", _with("geo_precision", "1.5"), "acled", ":3:15:", "whole number"),
    ("header_only", HEADER + "\n", "acled", "events.csv", "no events"),
    ("wrong_delimiter", HEADER.replace(",", ";") + "\n" + ROW.replace(",", ";") + "\n",
     "acled", ":1", "separated by ';'"),
    ("empty_file", "", "acled", "events.csv", "not a CSV export"),
    ("ged_multi_day_only",
     f"{GED_HEADER}\n1,2,IS,,1,1,2025-03-01,2025-03-05,34.4,41.0,1,1,1\n",
     "ucdp-ged", "events.csv", "no events left after the filters (1 dated to more than one day)"),
    ("outside_the_border", _with("latitude", "30.0").replace(ROW + "\n", ""), "acled",
     "events.csv", "too far from the border"),
    ("not_utf8", None, "acled", "events.csv", "not UTF-8"),
    ("ged_as_acled", f"{GED_HEADER}\n1,2,IS,,1,1,2025-03-01,2025-03-01,34.4,41.0,1,1,1\n",
     "acled", ":1", "not an acled export: missing column(s) event_id_cnty"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "fmt", "where", "says"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_export_is_one_line_exit_2_and_writes_nothing(tmp_path, case, text, fmt, where, says):
    events = tmp_path / "events.csv"
    if text is None:
        events.write_bytes(HEADER.encode() + b"\n" + ROW.encode("utf-16"))
    else:
        events.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "calibrate", str(events), "--format", fmt, "--scenario", str(BASELINE),
            "--out", str(tmp_path / "fitted.yaml"), "--report", str(tmp_path / "report"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert where in lines[0] and says in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "fitted.yaml").exists() and not (tmp_path / "report").exists()


def test_a_bad_filters_file_points_at_its_line(tmp_path):
    filters = tmp_path / "filters.yaml"
    filters.write_text("filters:\n  max_border_km: 50\n  actor: {isis: [daesh]}\n")
    events = tmp_path / "events.csv"
    events.write_text(f"{HEADER}\n{ROW}\n")
    result = CliRunner().invoke(
        main,
        [
            "calibrate", str(events), "--format", "acled", "--scenario", str(BASELINE),
            "--out", str(tmp_path / "f.yaml"), "--report", str(tmp_path / "r"),
            "--filters", str(filters),
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"{filters}:3:3: filters.actor" in result.output, result.output


def test_the_example_is_reproduced_by_its_commands_and_runs(tmp_path, monkeypatch):
    """examples/README.md: calibrating the synthetic export gives the committed threats file
    byte for byte, and the scenario that extends it is valid."""
    examples = ROOT / "examples"
    monkeypatch.chdir(examples)
    result = CliRunner().invoke(
        main,
        [
            "calibrate", "synthetic_acled.csv", "--format", "acled",
            "--scenario", "../scenarios/baseline.yaml", "--out", str(tmp_path / "fitted.yaml"),
            "--report", str(tmp_path / "report"), "--filters", "filters.yaml",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fitted.yaml").read_text() == (examples / "threats_fitted.yaml").read_text()
    assert pd.read_csv(examples / "synthetic_acled.csv")["notes"].str.startswith("SYNTHETIC").all()
    scenario = sim.load_scenario(examples / "calibrated.yaml")
    assert all(not p.modulated for p in scenario.threats.processes)

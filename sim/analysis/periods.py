"""KPIs by period: before the first phase, between phases, after the last (or periods the
user gives), counted from the incidents table, and paired comparisons of them.

A total over the whole run grows with the horizon, so a scenario's gap does too; rates per
month within periods tied to the drawdown's own dates do not. Periods are cut at the
reference scenario's scheduled phase start dates and applied to every run compared, so
runs are compared over the same calendar spans (a scenario whose phases move is compared
with the reference's periods, which is the question "what differs in that span").
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.summary import LEVEL, comparison_row, pairing
from sim.experiment.errors import RunError
from sim.experiment.results import RunResults

MONTH_DAYS = 365.25 / 12
UNSTOPPED = ("missed", "undetected")
PERIOD_KPIS = {
    "incidents_per_month": "incidents a month in the period",
    "unstopped_per_month": "missed or undetected incidents a month in the period",
    "severity_unstopped_per_month": "severity (notional) of those a month in the period",
}
"""KPI by period -> its definition (unit: a month is 365.25 / 12 days)."""


@dataclass(frozen=True)
class Period:
    """A named span [start_day, end_day) in days from the scenario's start."""

    name: str
    start_day: float
    end_day: float

    @property
    def months(self) -> float:
        return (self.end_day - self.start_day) / MONTH_DAYS


def _day(scenario, date: dt.date) -> float:
    return float((date - scenario.clock.start_date).days)


def phase_periods(run: RunResults) -> list[Period]:
    """Cut the run's clock at each phase's scheduled start date inside it: "before
    phase_1", "phase_1 to phase_2", …, "after phase_2"."""
    scenario = run.scenario
    horizon = scenario.horizon_days
    cuts = sorted(
        (_day(scenario, phase.start_date), phase.name)
        for phase in scenario.forces.phases
        if 0.0 < _day(scenario, phase.start_date) < horizon
    )
    if not cuts:
        return [Period("whole run", 0.0, horizon)]
    periods = [Period(f"before {cuts[0][1]}", 0.0, cuts[0][0])]
    for (start, name), (end, following) in itertools.pairwise(cuts):
        periods.append(Period(f"{name} to {following}", start, end))
    periods.append(Period(f"after {cuts[-1][1]}", cuts[-1][0], horizon))
    return [p for p in periods if p.end_day > p.start_day]


PERIOD_FORM = re.compile(r"^(?P<name>[^=]+)=(?P<start>[\d-]+)\.\.(?P<end>[\d-]+)$")


def parse_period(text: str, run: RunResults) -> Period:
    """A period given as ``NAME=YYYY-MM-DD..YYYY-MM-DD`` (end exclusive), inside the run's
    clock; a one-line RunError otherwise."""
    match = PERIOD_FORM.match(text.strip())
    if not match:
        raise RunError(f"--period {text!r}: expected NAME=YYYY-MM-DD..YYYY-MM-DD")
    try:
        start, end = (dt.date.fromisoformat(match[k]) for k in ("start", "end"))
    except ValueError as exc:
        raise RunError(f"--period {text!r}: {exc}") from None
    clock = run.scenario.clock
    if not clock.start_date <= start < end <= clock.end_date:
        raise RunError(
            f"--period {text!r}: must be a non-empty span within the run's clock, "
            f"{clock.start_date} to {clock.end_date}"
        )
    return Period(match["name"].strip(), _day(run.scenario, start), _day(run.scenario, end))


def chosen_periods(texts: list[str] | None, reference: RunResults) -> list[Period]:
    """The periods given as ``NAME=START..END`` texts, or the reference's phase periods."""
    return [parse_period(t, reference) for t in texts] if texts else phase_periods(reference)


def period_kpis(run: RunResults, periods: list[Period]) -> pd.DataFrame:
    """One row per replication and period: ``PERIOD_KPIS``, from the incidents table (every
    replication appears, with zeros where a period had no incidents)."""
    incidents = run.table("incidents")
    replications = np.sort(run.kpis["replication"].unique())
    day = incidents["day"].to_numpy(float)
    unstopped = incidents["outcome"].isin(UNSTOPPED).to_numpy()
    severity = incidents["severity"].to_numpy(float)
    rows = []
    for period in periods:
        inside = (day >= period.start_day) & (day < period.end_day)
        keys = incidents["replication"].to_numpy()[inside]
        frame = pd.DataFrame(
            {
                "replication": keys,
                "incidents": 1,
                "unstopped": unstopped[inside].astype(int),
                "severity": np.where(unstopped[inside], severity[inside], 0.0),
            }
        )
        sums = frame.groupby("replication").sum().reindex(replications, fill_value=0)
        rows.append(
            pd.DataFrame(
                {
                    "replication": replications,
                    "period": period.name,
                    "months": period.months,
                    "incidents_per_month": sums["incidents"].to_numpy() / period.months,
                    "unstopped_per_month": sums["unstopped"].to_numpy() / period.months,
                    "severity_unstopped_per_month": sums["severity"].to_numpy() / period.months,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _dates(run: RunResults, period: Period) -> dict[str, str]:
    """The period's first day and the day after its last, as ISO dates."""
    start = run.scenario.clock.start_date
    return {
        "start": (start + dt.timedelta(days=period.start_day)).isoformat(),
        "end": (start + dt.timedelta(days=period.end_day)).isoformat(),
    }


def distinct(periods: list[Period]) -> list[Period]:
    """``periods``, refused if two share a name (their rows could not be told apart)."""
    names = [p.name for p in periods]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RunError(
            f"--period: each period needs its own name; {', '.join(twice)} is given twice"
        )
    return periods


def compare_periods(
    runs: list[RunResults], periods: list[Period] | None = None, level: float = LEVEL
) -> pd.DataFrame:
    """Every period KPI of every run against the first, paired replication by replication
    where the runs share a root seed (``summary.pairing``), per period."""
    reference = runs[0]
    periods = distinct(periods or phase_periods(reference))
    ref = period_kpis(reference, periods).set_index(["period", "replication"])
    rows = []
    for other in runs[1:]:
        pair = pairing(reference, other)
        own = period_kpis(other, periods).set_index(["period", "replication"])
        for period in periods:
            a_all, b_all = ref.loc[period.name], own.loc[period.name]
            if pair.pairable:
                common = a_all.index.intersection(b_all.index)
                a_all, b_all = a_all.loc[common], b_all.loc[common]
            for kpi in PERIOD_KPIS:
                a, b = a_all[kpi].to_numpy(float), b_all[kpi].to_numpy(float)
                names = (reference.name, other.name)
                row = comparison_row(
                    a,
                    b,
                    pair,
                    level,
                    *names,
                    period=period.name,
                    kpi=kpi,
                    **_dates(reference, period),
                )
                if row:
                    rows.append(row)
    return pd.DataFrame(rows)

"""``calibrate``: an export and a scenario in, a threats file and a report folder out.

Read the export (``events``), keep and place its events (``filters``), fit every candidate
model to each process's events (``choice``), write the threats file (``threats_file``),
``fits.csv``, the figures and ``summary.md`` (``report``). The threats file is checked by
laying it over the scenario and validating the result before anything is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import ValidationError
from threadpoolctl import threadpool_limits

from sim.analysis.figures import save_figure
from sim.calibration import report
from sim.calibration.choice import ProcessFits, choose_breaks, fit_process, residuals
from sim.calibration.events import FormatName, read_events
from sim.calibration.filters import Filters, Selection, select
from sim.calibration.fitting import Series
from sim.calibration.threats_file import threats_file
from sim.config.errors import Position, Problem, ScenarioError
from sim.config.pydantic_errors import problems_from_validation
from sim.config.raw import RawScenario
from sim.config.schema.common import Strict
from sim.config.yaml_source import read_yaml
from sim.experiment.store import atomic_write_bytes

HOLDOUT_SHARE = 0.2
# ONE_BLAS_THREAD: scipy's L-BFGS-B calls BLAS on vectors of three numbers; a multi-threaded
# OpenBLAS made each call 5-10 times slower (measured: 29 ms against 5 ms a fit on this 2-core
# machine), so the fits run with one BLAS thread (threadpoolctl).


@dataclass(frozen=True)
class Calibration:
    """What ``calibrate`` wrote and fitted."""

    threats: Path
    report: Path
    fitted: list[ProcessFits]
    selection: Selection


class FiltersFile(Strict):
    """A filters file: one ``filters:`` mapping."""

    filters: Filters


def load_filters(path: str | Path | None) -> Filters:
    """Filters from a YAML file with a ``filters:`` mapping (problems name its lines), or
    the defaults without one."""
    if path is None:
        return Filters()
    path = Path(path)
    if not path.is_file():
        raise ScenarioError([Problem(Position(str(path)), (), "file not found")])
    data, positions = read_yaml(path, str(path))
    try:
        return FiltersFile.model_validate(data).filters
    except ValidationError as exc:
        raise ScenarioError(
            problems_from_validation(exc, data, positions, Position(str(path)), FiltersFile)
        ) from None


def _quarters(start: dt.date, horizon: float) -> list[float]:
    """Days from ``start`` of the first days of the quarters inside the window."""
    found, year, month = [], start.year, 1
    while True:
        day = (dt.date(year, month, 1) - start).days
        if day >= horizon - 1:
            return found
        if day > 0:
            found.append(float(day))
        year, month = (year + 1, 1) if month == 10 else (year, month + 3)


def _series(selection: Selection, filters: Filters) -> dict[str, Series]:
    """Each process's event times, with its breakpoints (given, or chosen per process)."""
    groups = selection.events.groupby("process", sort=False)
    horizon = selection.horizon
    if filters.breakpoints == "auto":
        candidates = _quarters(selection.start, horizon)
        return {
            name: Series(t, horizon, choose_breaks(t, horizon, candidates))
            for name, t in ((name, g["day"].to_numpy()) for name, g in groups)
        }
    breaks = tuple(float((b - selection.start).days) for b in filters.breakpoints)
    breaks = tuple(b for b in breaks if 0.0 < b < horizon)
    return {name: Series(g["day"].to_numpy(), horizon, breaks) for name, g in groups}


def _fit_all(
    selection: Selection, filters: Filters, places: dict[str, str]
) -> tuple[list[ProcessFits], dict]:
    series = _series(selection, filters)
    if filters.holdout_from:
        split = float((filters.holdout_from - selection.start).days)
    else:
        split = (1.0 - HOLDOUT_SHARE) * selection.horizon
    fitted = []
    for name, s in series.items():
        rows = selection.events[selection.events["process"] == name]
        candidates = fit_process(s, split, filters.seed)
        fits = ProcessFits(
            name,
            str(rows["sector"].iloc[0]),
            places.get(name, ""),
            str(rows["actor"].iloc[0]),
            len(s.times),
            candidates,
            np.empty(0),
        )
        fits.residuals = residuals(fits.chosen, s)
        fits.breaks = s.breaks
        fitted.append(fits)
    return fitted, series


def _shares(selection: Selection, filters: Filters) -> dict[str, float] | None:
    if not filters.types:
        return None
    kinds = selection.events["type"]
    counted = kinds[kinds != ""]
    if counted.empty:
        return None
    return {kind: float((counted == kind).mean()) for kind in filters.types}


def calibrate(
    events: str | Path,
    format_name: FormatName,
    scenario: str | Path,
    out: str | Path,
    report_dir: str | Path,
    filters: Filters | str | Path | None = None,
) -> Calibration:
    """Fit the threat processes of ``scenario`` to the export ``events`` (module docstring)."""
    events, out, report_dir = Path(events), Path(out), Path(report_dir)
    raw = RawScenario.from_file(Path(scenario))
    spec = raw.validate()
    chosen = filters if isinstance(filters, Filters) else load_filters(filters)
    table = read_events(events, format_name)
    selection = select(table, chosen, spec, str(events), format_name)
    places = {p.name: p.place for p in spec.threats.processes if p.place}
    with threadpool_limits(limits=1, user_api="blas"):  # see ONE_BLAS_THREAD
        fitted, series = _fit_all(selection, chosen, places)
    header = _header(events, format_name, selection, chosen, scenario)
    text = threats_file(
        scenario=spec,
        fitted=fitted,
        shares=_shares(selection, chosen),
        header=header,
        start=selection.start,
    )
    raw.override("threats", yaml.safe_load(text)["threats"])
    raw.validate()  # the file must make a valid scenario before it is written
    report_dir.mkdir(parents=True, exist_ok=True)
    _write_report(report_dir, fitted, series, selection, header)
    atomic_write_bytes(out, text.encode("utf-8"))
    return Calibration(out, report_dir, fitted, selection)


def _header(events: Path, format_name: str, selection: Selection, filters: Filters, scenario):
    last = selection.start + dt.timedelta(days=int(selection.horizon) - 1)
    dropped = ", ".join(f"{n:,} {why}" for why, n in selection.dropped.items() if n) or "none"
    return [
        f"FITTED by withdrawal-sim calibrate from {events.name} ({format_name}) for {scenario}",
        f"events {selection.start.isoformat()} to {last.isoformat()}: "
        f"{len(selection.events):,} kept; dropped: {dropped}",
        "filters: " + filters.model_dump_json(exclude_defaults=False),
        "Each process: the model with the lowest AIC; Hawkes estimates bias-corrected by a",
        "parametric bootstrap, 95% profile-likelihood intervals in its comment. Fitted rates",
        "are observed rates, so the processes are not modulated.",
    ]


def _write_report(folder: Path, fitted, series, selection: Selection, header) -> None:
    table = report.fits_table(fitted)
    atomic_write_bytes(folder / "fits.csv", table.to_csv(index=False).encode("utf-8"))
    save_figure(report.qq_figure(fitted), folder / "qq.png")
    save_figure(report.rate_figure(fitted, series, selection.start), folder / "rates.png")
    lines = ["# Calibration summary", "", *header, ""]
    lines += [
        "| process | events | chosen | ΔAIC of the others | KS p | hold-out score | on a bound |"
    ]
    lines += ["|---|---|---|---|---|---|---|"]
    for fits in fitted:
        others = ", ".join(
            f"{c.fit.model} {fits.delta_aic(c.fit):+.1f}"
            for c in fits.candidates
            if c.fit is not fits.chosen
        )
        score = next(c.holdout_score for c in fits.candidates if c.fit is fits.chosen)
        bound = ", ".join(fits.chosen.on_bound) or "-"
        lines.append(
            f"| {fits.process} | {fits.events} | {fits.chosen.model} | {others or '-'} | "
            f"{report.ks_pvalue(fits):.3g} | {score:.3f} | {bound} |"
        )
    lines += ["", "![QQ](qq.png)", "", "![Rates](rates.png)", ""]
    atomic_write_bytes(folder / "summary.md", "\n".join(lines).encode("utf-8"))

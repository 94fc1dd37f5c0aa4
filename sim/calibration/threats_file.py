"""The calibrated threats file: a complete ``threats:`` section a scenario can extend.

It holds the scenario's actors, incident types (their shares FITTED when event types are
mapped), one process per fitted series with the model AIC chose, and the scenario's
modulation, displacement and start. Each fitted value is labelled FITTED in a comment with
its 95% interval; the header records the export, its date range, the filters and the
evidence. Fitted processes are ``modulated: false``: the observed rates already contain
whatever presence, capacity and the wall did in the window, so modulating them again would
count those twice (docs/calibration.md). Cross-excitation is not fitted (one series per
process cannot separate it from a clustered background), so ``excitation`` is empty.
"""

from __future__ import annotations

import datetime as dt

import yaml

from sim.calibration.choice import ProcessFits
from sim.config.schema import Scenario

KIND = {"poisson": "poisson", "nhpp": "nhpp", "hawkes": "hawkes", "hawkes_piecewise": "hawkes"}


def _flow(mapping: dict) -> str:
    return yaml.safe_dump(mapping, default_flow_style=True, width=10_000, sort_keys=False).strip()


def _interval(fit, name: str) -> str:
    low, high = fit.intervals.get(name, (float("nan"), float("nan")))
    estimate, mle = fit.estimates[name], fit.mle[name]
    corrected = f" (MLE {mle:.4g})" if f"{mle:.4g}" != f"{estimate:.4g}" else ""
    return f"{name} {estimate:.4g} [{low:.3g}, {high:.3g}]{corrected}"


def process_entry(fits: ProcessFits, start: dt.date) -> dict:
    """The process's scenario entry for its chosen model."""
    breaks = [start + dt.timedelta(days=round(day)) for day in fits.breaks]
    fit = fits.chosen
    where = {"sector": fits.sector} if fits.sector else {"place": fits.place}
    entry = {"name": fits.process, **where, "actor": fits.actor, "kind": KIND[fit.model]}
    entry["modulated"] = False
    backgrounds = [v for k, v in fit.estimates.items() if k.startswith("mu")]
    steps = None
    if len(backgrounds) > 1:
        dates = [start, *breaks]
        base = max(backgrounds)  # multipliers of the largest: within 0..1
        steps = [
            {"date": d.isoformat(), "value": round(float(v / base), 6)}
            for d, v in zip(dates, backgrounds, strict=True)
        ]
    level = max(backgrounds)
    if entry["kind"] == "hawkes":
        entry["background_rate_per_day"] = round(float(level), 8)
        entry["branching_ratio"] = round(float(fit.estimates["n"]), 6)
        entry["decay_per_day"] = round(float(fit.estimates["beta"]), 6)
        if steps:
            entry["background_steps"] = steps
    else:
        entry["rate_per_day"] = round(float(level), 8)
        if steps:
            entry["steps"] = steps
    return entry


def threats_section(
    scenario: Scenario, fitted: list[ProcessFits], shares: dict[str, float] | None
) -> dict:
    """The ``threats`` mapping without processes (they are written with their comments)."""
    threats = scenario.threats.model_dump(mode="json", exclude_none=True)
    actors = list(dict.fromkeys([*threats["actors"], *(f.actor for f in fitted)]))
    types = threats["incident_types"]
    if shares:
        for kind in types:
            kind["share"] = round(shares.get(kind["name"], 0.0), 6)
    return {
        "actors": actors,
        "incident_types": types,
        "excitation": [],
        "shocks": [],
        "displacement": threats["displacement"],
        "start": threats["start"],
        "modulation": threats["modulation"],
    }


def threats_file(
    *,
    scenario: Scenario,
    fitted: list[ProcessFits],
    shares: dict[str, float] | None,
    header: list[str],
    start: dt.date,
) -> str:
    """The text of the calibrated threats file."""
    lines = [f"# {line}" for line in header]
    body = yaml.safe_dump(
        {"threats": threats_section(scenario, fitted, shares)}, sort_keys=False, width=100
    )
    lines.append(body.rstrip("\n"))
    lines.append("  processes:")
    for fits in fitted:
        fit = fits.chosen
        evidence = ", ".join(_interval(fit, name) for name in fit.estimates)
        bound = f"; ON A BOUND: {', '.join(fit.on_bound)}" if fit.on_bound else ""
        lines.append(
            f"    # FITTED {fit.model} from {fits.events} events, AIC {fit.aic:.1f}: "
            f"{evidence}{bound}"
        )
        entry = process_entry(fits, start)
        lines.append(f"    - {_flow(entry)}")
    if shares:
        lines.append(
            "# incident_types shares FITTED: "
            + ", ".join(f"{k} {v:.3f}" for k, v in shares.items())
        )
    return "\n".join(lines) + "\n"

"""EMA Workbench adapter: a scenario as an EMA ``Model`` whose uncertainties are scenario keys
(set, scaled or shifted, one or several linked) and whose outcomes are KPIs.

Install with ``pip install "withdrawal-sim[ema]"`` (EMA Workbench 2.5 on Python 3.11; 3.x
needs Python 3.12). Nothing here is imported by ``import sim``.

Each experiment runs ``sim.evaluate``: in the worker's own process, nothing on disk, and
every experiment with the same root seed, so experiments share their random numbers and
differ only by their parameters (common random numbers). Outcomes are therefore the same
whichever evaluator runs them: ``SequentialEvaluator``, ``MultiprocessingEvaluator`` (whose
daemonic workers ``evaluate`` never asks for a pool) or a Dask-backed one.

Uncertainties are given as the parameters of a sweep file (``sim.config.schema.sweep``),
as mappings or ``Parameter`` objects::

    {"name": "isis_rate", "path": "threats.processes.*_isis.background_rate_per_day",
     "apply": "scale", "range": [0.5, 2.0]}                       # a multiplier
    {"name": "phase_2_slip", "path": "forces.phases.phase_2.start_date",
     "apply": "shift", "range": [-180, 180], "integer": True}     # a date, in days
    {"path": "threats.modulation.coordination.effect", "range": [0.1, 0.7]}
    {"name": "surge", "path": "run.x", "values": ["a", "b"]}        # categorical

A ``range`` becomes a ``RealParameter`` (an ``IntegerParameter`` with ``integer``), a list
of ``values`` a ``CategoricalParameter``; the EMA name is the parameter's column name.

With pandas 3, EMA 2.5's PRIM fails on integer uncertainties (``TypeError: Invalid value
'26.5' for dtype 'int64'`` when it peels a box edge between two whole numbers):
``analysis_frame(experiments)`` gives the experiments as PRIM and the other analyses need
them, integers as floats and without EMA's bookkeeping columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from sim.config.errors import Position, Problem, ScenarioError
from sim.config.overrides import Overrides
from sim.config.pydantic_errors import problems_from_validation
from sim.config.relative import RelativeError
from sim.config.schema import Scenario
from sim.config.schema.sweep import Parameter
from sim.experiment.errors import ArgumentError
from sim.experiment.evaluate import evaluate
from sim.experiment.lifecycle import check_counts, whole
from sim.experiment.runner import chosen_kpis, kpi_names, resolve_scenario

if TYPE_CHECKING:
    import pandas as pd
    from ema_workbench import Model

Statistic = Literal["mean", "median", "std", "min", "max"]
STATISTICS = ("mean", "median", "std", "min", "max")


class ScenarioFunction:
    """The function an EMA ``Model`` calls: parameter values in, one statistic of each KPI
    over the replications out. A plain object of plain data, so that it pickles to EMA's
    worker processes."""

    def __init__(
        self,
        scenario: Scenario,
        parameters: Sequence[Parameter],
        outcomes: Sequence[str],
        replications: int,
        seed: int,
        statistic: Statistic,
    ) -> None:
        self.scenario = scenario
        self.parameters = list(parameters)
        self.outcomes = list(outcomes)
        self.replications = replications
        self.seed = seed
        self.statistic = statistic

    def overrides(self, values: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """The scenario overrides that give each parameter its value in ``values``."""
        pairs: list[tuple[str, Any]] = []
        for parameter in self.parameters:
            value = values[parameter.column]
            try:
                pairs += parameter.overrides(value)
            except RelativeError as exc:
                where = Position(f"uncertainty {parameter.column}")
                raise ScenarioError([Problem(where, (), str(exc))]) from None
        return pairs

    def __call__(self, **values: Any) -> dict[str, float]:
        """Run the replications at ``values`` and summarise each KPI."""
        kpis = evaluate(
            self.scenario,
            self.replications,
            self.seed,
            overrides=self.overrides(values),
            kpis=self.outcomes,
        )
        summary = kpis[self.outcomes].astype(float).agg(self.statistic)
        return {name: float(summary[name]) for name in self.outcomes}


def scenario_model(
    scenario: Scenario | str | Path,
    uncertainties: Sequence[Parameter | Mapping[str, Any]],
    outcomes: Sequence[str] | None = None,
    *,
    replications: int = 10,
    seed: int | None = None,
    statistic: Statistic = "mean",
    overrides: Overrides = (),
    name: str | None = None,
) -> Model:
    """An EMA Workbench ``Model`` of ``scenario``.

    Parameters
    ----------
    scenario
        A ``Scenario`` or a scenario file.
    uncertainties
        Sweep-file parameters (module docstring): each a name, a dotted path (several paths
        or a glob are linked), ``apply`` (``set``, ``scale``, ``shift``) and a ``range`` or
        ``values``. Every one is tried on the scenario at its bounds before EMA runs.
    outcomes
        KPI names, each a ``ScalarOutcome`` (default: every KPI of the scenario).
    replications, seed
        Replications per experiment and their root seed (default: the scenario's), the same
        for every experiment.
    statistic
        ``mean`` (missing values skipped), ``median``, ``std``, ``min`` or ``max``.
    overrides
        Applied to the scenario first, as for ``sim.evaluate``.
    name
        The model's name (default: the scenario's, in CamelCase).

    Returns
    -------
    ema_workbench.Model
        With ``uncertainties`` and ``outcomes`` set; ``model.function`` is a
        ``ScenarioFunction``.

    Raises
    ------
    ScenarioError
        The scenario, an override, or an uncertainty is invalid (also at its bounds).
    ArgumentError
        A ``ValueError``: bad counts, an unknown KPI or statistic, or a bad model name.
    """
    _require_ema()
    replications, seed = whole(replications), whole(seed)
    check_counts(replications=replications, seed=seed)
    base, _ = resolve_scenario(scenario, overrides)
    if statistic not in STATISTICS:
        raise ArgumentError(f"statistic must be one of {', '.join(STATISTICS)}, not {statistic!r}")
    chosen = _outcomes(base, outcomes)
    parameters = _parameters(uncertainties)
    clash = sorted({p.column for p in parameters} & set(kpi_names(base)))
    if clash:
        raise ArgumentError(f"uncertainty {clash[0]!r} is named like a KPI; rename it")
    function = ScenarioFunction(
        base, parameters, chosen, replications, base.run.seed if seed is None else seed, statistic
    )
    _try_bounds(function)
    return _model(name or base.metadata.name, function)


def _model(name: str, function: ScenarioFunction) -> Model:
    from ema_workbench import Model, ScalarOutcome

    label = "".join(part.title() for part in name.split("_")) if "_" in name else name.title()
    if not label.isalnum():
        raise ArgumentError(f"an EMA model name is letters, digits and _ only, not {name!r}")
    model = Model(label, function=function)
    model.uncertainties = [_ema_parameter(p) for p in function.parameters]
    model.outcomes = [ScalarOutcome(k) for k in function.outcomes]
    return model


def _require_ema() -> None:
    try:
        import ema_workbench  # noqa: F401
    except ImportError:
        raise ImportError(
            'sim.ema needs EMA Workbench: pip install -e ".[ema]" (2.5 on Python 3.11)'
        ) from None


def _outcomes(scenario: Scenario, outcomes: Sequence[str] | None) -> list[str]:
    chosen = chosen_kpis(scenario, outcomes)
    if not chosen:
        names = ", ".join(kpi_names(scenario))
        raise ArgumentError(f"unknown KPI(s) (none given); KPIs: {names}")
    return chosen


def _parameters(uncertainties: Sequence[Parameter | Mapping[str, Any]]) -> list[Parameter]:
    """The uncertainties as validated ``Parameter`` objects, problems named by position."""
    if isinstance(uncertainties, Mapping | str) or not isinstance(uncertainties, Sequence):
        raise ArgumentError("uncertainties must be a list of parameters (mappings or Parameter)")
    parameters, problems = [], []
    for index, given in enumerate(uncertainties):
        if isinstance(given, Parameter):
            parameters.append(given)
            continue
        where = Position(f"uncertainty {index}")
        try:
            parameters.append(Parameter.model_validate(given))
        except ValidationError as exc:
            data = given if isinstance(given, Mapping) else {}
            problems += problems_from_validation(exc, data, {}, where, Parameter)
    if problems:
        raise ScenarioError(problems)
    for p in parameters:
        if p.integer and p.range and math.ceil(p.range[0]) > math.floor(p.range[1]):
            raise ArgumentError(f"uncertainty {p.column!r}: no whole number in {list(p.range)}")
    columns = [p.column for p in parameters]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice or not parameters:
        raise ArgumentError(
            f"uncertainty names must be unique, found {', '.join(twice)} twice"
            if twice
            else "give at least one uncertainty"
        )
    return parameters


def _try_bounds(function: ScenarioFunction) -> None:
    """Validate the scenario at each value ``_tried`` gives each uncertainty (the others at
    their lows), so that a bad path or range fails here, not in experiment 517."""
    lows = {p.column: _tried(p)[0] for p in function.parameters}
    for parameter in function.parameters:
        for end in _tried(parameter):
            resolve_scenario(function.scenario, function.overrides({**lows, parameter.column: end}))


def _tried(parameter: Parameter) -> list[Any]:
    """Every category, or the two ends of the range (whole for an integer parameter) and,
    for a real one, a value between that is not whole (a date shift needs whole days)."""
    if parameter.values is not None:
        return list(parameter.values)
    low, high = parameter.range or (math.nan, math.nan)
    if parameter.integer:
        return [math.ceil(low), math.floor(high)]
    return [low, high, low + (high - low) / 3]


def _ema_parameter(parameter: Parameter) -> Any:
    from ema_workbench import CategoricalParameter, IntegerParameter, RealParameter

    if parameter.values is not None:
        return CategoricalParameter(parameter.column, list(parameter.values))
    low, high = _tried(parameter)[:2]
    if parameter.integer:
        return IntegerParameter(parameter.column, low, high)
    return RealParameter(parameter.column, low, high)


EMA_COLUMNS = ("scenario", "policy", "model")


def analysis_frame(experiments: pd.DataFrame) -> pd.DataFrame:
    """The uncertainty columns of EMA's ``experiments``, whole numbers as floats, for PRIM
    and feature scoring (module docstring: pandas 3 refuses a float box edge in an integer
    column).

    Parameters
    ----------
    experiments
        The experiments ``perform_experiments`` returned.

    Returns
    -------
    pandas.DataFrame
        One column per uncertainty, without ``scenario``, ``policy`` and ``model``.
    """
    frame = experiments.drop(columns=[c for c in EMA_COLUMNS if c in experiments])
    integers = frame.select_dtypes("integer").columns
    return frame.astype(dict.fromkeys(integers, "float64"))

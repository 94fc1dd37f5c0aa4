"""A sweep's plan: the sweep file read and checked, its design points, and every point's
validated scenario, before anything runs (``withdrawal-sim validate`` stops here).

Planning is kept apart from running (``sim.experiment.sweep``), as EMA Workbench keeps the
problem and its sampling apart from execution.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from sim.config.errors import Omitted, Position, Problem, ScenarioError, position_of
from sim.config.load import config_hash
from sim.config.overrides import Overrides, apply_overrides, plain
from sim.config.pydantic_errors import problems_from_validation
from sim.config.raw import RawScenario
from sim.config.relative import RelativeError
from sim.config.schema import Scenario
from sim.config.schema.sweep import Parameter, Sweep, SweepFile
from sim.config.yaml_source import read_yaml
from sim.experiment.designs import design_points


def read_sweep(path: str | Path) -> tuple[Sweep, dict[str, Position]]:
    """Read and validate a sweep file (problems name the file, line and key), and where it
    names each parameter's path (by column): problems with a parameter's values are shown
    there."""
    path = Path(path)
    if not path.is_file():
        what = "a folder, not a sweep file" if path.is_dir() else "file not found"
        raise ScenarioError([Problem(Position(str(path)), (), what)])
    data, positions = read_yaml(path, str(path))
    try:
        sweep = SweepFile.model_validate(data).sweep
    except ValidationError as exc:
        raise ScenarioError(
            problems_from_validation(exc, data, positions, Position(str(path)), SweepFile)
        ) from None
    key = ("sweep", "parameters")
    named = {  # list items are keyed by their name, if they have one, as in every position
        p.column: position_of((*key, p.name or i, "path"), positions, Position(str(path)))
        for i, p in enumerate(sweep.parameters)
    }
    return sweep, named


def point_scenarios(
    sweep: Sweep, base: RawScenario, points: pd.DataFrame, named: dict[str, Position]
) -> dict[int, Scenario]:
    """The validated scenario of every point: a copy of the base with the point's values
    set as the sweep file gives them (typed, not read again as YAML text). Problems are
    reported together, each once with the design points it affects (a typo in a path is one
    problem, not one a point), at the line of the sweep file that names the parameter."""
    scenarios: dict[int, Scenario] = {}
    affected: dict[Problem, list[int]] = {}
    columns = [p.column for p in sweep.parameters]
    for row in points.itertuples(index=False):
        values = dict(zip(["point", *columns], row, strict=True))
        point = base.copy()
        try:
            for p in sweep.parameters:
                for key, change in _overrides(p, plain(values[p.column]), named[p.column]):
                    point.override(key, change, named[p.column])
            scenarios[values["point"]] = point.validate()
        except ScenarioError as exc:
            for problem in exc.problems:
                if not isinstance(problem, Omitted):
                    affected.setdefault(problem, []).append(values["point"])
    if affected:
        raise ScenarioError(
            [
                Problem(p.position, p.path, f"{p.message} ({_points(found, len(points))})")
                for p, found in affected.items()
            ]
        )
    return scenarios


def _overrides(parameter: Parameter, value: Any, at: Position) -> list[tuple[str, Any]]:
    try:
        return parameter.overrides(value)
    except RelativeError as exc:
        raise ScenarioError([Problem(at, (), str(exc))]) from None


def _points(found: list[int], total: int) -> str:
    if len(found) == total:
        return f"every design point ({total})"
    shown = ", ".join(map(str, found[:5])) + (", …" if len(found) > 5 else "")
    return f"design point{'s' if len(found) > 1 else ''} {shown}"


def sweep_hash(sweep: Sweep, base: Scenario) -> str:
    """The sweep (its replications aside) and its base: a resume must find the same. A
    parameter's ``name`` and ``apply`` at their defaults are left out, so sweeps started
    before those fields existed keep their hash."""
    dumped = sweep.model_dump(mode="json", exclude={"replications"})
    for parameter in dumped["parameters"]:
        if parameter.get("name") is None:
            parameter.pop("name", None)
        if parameter.get("apply") == "set":
            parameter.pop("apply", None)
    payload = {"sweep": dumped, "base": config_hash(base)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class SweepPlan:
    """A sweep file checked end to end: its base scenario and every point's scenario."""

    sweep: Sweep
    base_path: Path
    base: Scenario
    points: pd.DataFrame
    scenarios: dict[int, Scenario]


def plan_sweep(path: str | Path, seed: int | None = None, overrides: Overrides = ()) -> SweepPlan:
    """Read a sweep file, find and validate its base scenario and every design point, as
    ``run_sweep`` does before running and ``withdrawal-sim validate`` without running.

    ``seed`` replaces the file's ``seed`` (the design's sample and the replications' root);
    ``overrides`` change the base scenario before any point is made from it."""
    sweep, named = read_sweep(path)
    if seed is not None:
        sweep = sweep.model_copy(update={"seed": seed})
    at, key = Position(str(path)), ("sweep", "scenario")
    try:
        base_path = (Path(path).parent / sweep.scenario).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ScenarioError([Problem(at, key, f"cannot resolve: {exc}")]) from None
    if not base_path.is_file():
        raise ScenarioError([Problem(at, key, f"base scenario not found: {base_path}")])
    raw = RawScenario.from_file(base_path)  # read once for the base and every point
    apply_overrides(raw, overrides)
    base = raw.validate()
    _check_columns(sweep, base, named)
    _check_overlaps(sweep, raw, named)
    points = design_points(sweep)
    return SweepPlan(sweep, base_path, base, points, point_scenarios(sweep, raw, points, named))


def _check_columns(sweep: Sweep, base: Scenario, named: dict[str, Position]) -> None:
    """Refuse a parameter named like a KPI or a column of a table its points are joined to
    (``load_sweep_results`` would give two columns of one name)."""
    from sim.experiment.runner import kpi_names
    from sim.tables import SCHEMA

    taken = set(kpi_names(base)).union(*(columns for columns in SCHEMA.values()))
    problems = [
        Problem(named[p.column], _key(sweep, p, "name"), f"{p.column!r} is a column of the results")
        for p in sweep.parameters
        if p.column in taken
    ]
    if problems:
        raise ScenarioError(problems)


def _key(sweep: Sweep, parameter: Parameter, field: str) -> tuple:
    """A parameter's key path in the sweep file (list items by name, else by index)."""
    item = parameter.name or sweep.parameters.index(parameter)
    return ("sweep", "parameters", item, field)


def _check_overlaps(sweep: Sweep, raw: RawScenario, named: dict[str, Position]) -> None:
    """Refuse two parameters that reach one key (``a.b`` and ``*.b``): the later would
    silently undo the earlier at every point."""
    owner: dict[tuple, str] = {}
    problems = []
    for p in sweep.parameters:
        own: set[tuple] = set()
        for path in p.paths:
            try:
                targets = raw.targets(path, named[p.column])
            except ScenarioError:
                continue  # a path that finds nothing: the points' check reports it
            for target in targets:
                key = ".".join(map(str, target))
                if target in own:  # a factor or shift would apply twice
                    message = f"parameter {p.column!r} reaches {key} by two of its paths"
                elif target in owner:
                    message = (
                        f"parameter {p.column!r} moves {key}, which {owner[target]!r} moves too"
                    )
                else:
                    own.add(target)
                    continue
                problems.append(Problem(named[p.column], _key(sweep, p, "path"), message))
        owner.update(dict.fromkeys(own, p.column))
    if problems:
        raise ScenarioError(problems)


def points_table(plan: SweepPlan) -> bytes:
    """``points.parquet``: one row per point, a column per parameter, each column's field
    metadata giving its dotted ``path`` (JSON list) and ``apply``, so that the safe column
    names lead back to the scenario keys (the schema metadata maps them all at once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(plan.points, preserve_index=False)
    mapping = {p.column: {"path": p.paths, "apply": p.apply} for p in plan.sweep.parameters}
    fields = []
    for field in table.schema:
        spec = mapping.get(field.name)
        if spec is None:
            meta = {"description": "design point number, as in points/p<number>"}
        else:
            how = {"set": "value set at", "scale": "factor on", "shift": "shift of"}[spec["apply"]]
            meta = {
                "path": json.dumps(spec["path"]),
                "apply": spec["apply"],
                "description": f"{how} {', '.join(spec['path'])}",
            }
        fields.append(field.with_metadata(meta))
    schema = pa.schema(fields, metadata={"withdrawal_sim.parameters": json.dumps(mapping)})
    buffer = pa.BufferOutputStream()
    pq.write_table(table.cast(schema), buffer)
    return buffer.getvalue().to_pybytes()

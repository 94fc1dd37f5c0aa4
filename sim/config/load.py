"""From a scenario file (with ``extends:`` and ``--set`` overrides) to a validated Scenario.

Loading happens in three passes, each reporting every problem it finds, never a traceback:
1. read YAML files and merge them (``extends`` resolved depth first, cycles and missing
   files reported at the ``extends`` key), then apply ``--set dotted.key=value`` overrides;
2. validate types and ranges with the pydantic schema;
3. check what spans several fields (dates in order, names that must exist, shares).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.config.checks import semantic_problems
from sim.config.errors import (
    PathKey,
    Position,
    Problem,
    ScenarioError,
    position_of,
    suggestion,
)
from sim.config.merge import deep_merge
from sim.config.pydantic_errors import problems_from_validation
from sim.config.schema import Scenario
from sim.config.yaml_source import item_key, read_yaml

Positions = dict[PathKey, Position]


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _resolve_file(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], Positions]:
    shown = _shown(path)
    data, positions = read_yaml(path, shown)
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ScenarioError(
            [Problem(Position(shown, 1, 1), (), f"expected a mapping of keys, found a {kind}")]
        )
    parents = data.pop("extends", None)
    if parents is None:
        return data, positions
    at = positions.get(("extends",), Position(shown))
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ScenarioError([Problem(at, ("extends",), "expected a relative path or a list")])
    merged: dict[str, Any] = {}
    merged_positions: Positions = {}
    for parent in parents:
        target = (path.parent / parent).resolve()
        if target in chain:
            cycle = " -> ".join(_shown(p) for p in (*chain, target))
            raise ScenarioError([Problem(at, ("extends",), f"extends cycle: {cycle}")])
        if not target.is_file():
            raise ScenarioError(
                [Problem(at, ("extends",), f"extended file not found: {_shown(target)}")]
            )
        parent_data, parent_positions = _resolve_file(target, (*chain, target))
        merged = deep_merge(merged, parent_data)
        merged_positions.update(parent_positions)
    merged_positions.update({k: v for k, v in positions.items() if k != ("extends",)})
    return (deep_merge(merged, data) if data else merged), merged_positions


def apply_override(data: dict[str, Any], expression: str, positions: Positions) -> None:
    where = Position(f"--set {expression}")
    key, sep, raw = expression.partition("=")
    if not sep or not key.strip():
        raise ScenarioError([Problem(where, (), "expected --set dotted.key=value")])
    parts = key.strip().split(".")
    if not all(parts):
        raise ScenarioError([Problem(where, (), f"empty key in '{key.strip()}'")])
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    except (ValueError, TypeError, OverflowError):  # e.g. 2025-13-45, a date YAML cannot build
        value = raw
    node: Any = data
    path: list[str | int] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if last:
                node[part] = value
            elif part not in node:
                raise ScenarioError(
                    [Problem(where, (*path, part), "no such key in the scenario to set below")]
                )
            else:
                node = node[part]
            path.append(part)
        elif isinstance(node, list):
            index = _list_index(node, part)
            if index is None:
                raise ScenarioError([Problem(where, (*path, part), _no_item(node, part))])
            if last:
                node[index] = value
                path.append(item_key(value, index))
            else:
                path.append(item_key(node[index], index))
                node = node[index]
        else:
            kind = type(node).__name__
            article = "an" if kind[0] in "aeiou" else "a"
            raise ScenarioError(
                [Problem(where, tuple(path), f"is {article} {kind}, not a mapping or a list")]
            )
    # What the file said below the replaced value no longer exists: point there at --set.
    for stale in [p for p in positions if p[: len(path)] == tuple(path)]:
        del positions[stale]
    positions[tuple(path)] = where


def _no_item(items: list[Any], part: str) -> str:
    if items and all(isinstance(item_key(item, i), str) for i, item in enumerate(items)):
        names = ", ".join(str(item_key(item, i)) for i, item in enumerate(items))
        return f"no list item '{part}'{suggestion(part, names.split(', '))} (items: {names})"
    if not items:
        return f"no list item '{part}' (the list is empty)"
    return f"no list item '{part}' (use an index from 0 to {len(items) - 1})"


def _list_index(items: list[Any], part: str) -> int | None:
    for index, item in enumerate(items):
        if item_key(item, index) == part:
            return index
    if part.isdigit() and int(part) < len(items):
        return int(part)
    return None


def load_raw(path: str | Path, overrides: Sequence[str] = ()) -> tuple[dict[str, Any], Positions]:
    """Merged, overridden but not yet validated data, and where each key came from."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError([Problem(Position(_shown(path)), (), "file not found")])
    data, positions = _resolve_file(path.resolve(), (path.resolve(),))
    for expression in overrides:
        apply_override(data, expression, positions)
    return data, positions


def validate_data(data: Any, positions: Positions, default: Position) -> Scenario:
    """Validate merged data; raise ``ScenarioError`` listing every problem."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(exc, data, positions, default)) from None
    problems = [
        Problem(position_of(p, positions, default), p, message)
        for p, message in semantic_problems(scenario)
    ]
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Load, merge, override and validate a scenario file."""
    data, positions = load_raw(path, overrides)
    return validate_data(data, positions, Position(_shown(Path(path))))


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML that loads back to an equal Scenario."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def config_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved model configuration (the ``run`` defaults excluded)."""
    payload = scenario.model_dump(mode="json", exclude={"run"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

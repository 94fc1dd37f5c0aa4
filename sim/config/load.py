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
import stat
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
    clip,
    position_of,
    suggestion,
)
from sim.config.merge import deep_merge
from sim.config.pydantic_errors import problems_from_validation
from sim.config.schema import Scenario
from sim.config.schema.common import YAML_SUFFIXES
from sim.config.yaml_bounds import MAX_FILES, Budget, refuse
from sim.config.yaml_source import item_key, parse_value, read_yaml

Positions = dict[PathKey, Position]
MAX_SHOWN_SET = 100  # characters of a --set option quoted in its problems


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # elsewhere, or a loop of symbolic links
        return str(path)


def _not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a scenario file ("not found", ...), or ``None``."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "not found"
    except OSError as exc:  # a loop of symbolic links, a name too long
        return f"cannot be opened ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


def _extended(folder: Path, parent: str, at: Position) -> Path:
    """The file that ``extends: parent`` names, from ``folder``. Only relative paths to YAML
    files are followed, so a scenario cannot make the tool read (and quote) any file of the
    system; a refused path is a problem at the ``extends`` key."""
    key = ("extends",)
    name = clip(parent, 80)
    if not parent.strip() or "\0" in parent:
        raise refuse(at, key, "an empty path, or one with a NUL character")
    if Path(parent).is_absolute():
        raise refuse(at, key, f"'{name}' is an absolute path; give a path relative to this file")
    if Path(parent).suffix.lower() not in YAML_SUFFIXES:
        raise refuse(at, key, f"'{name}' is not a .yaml or .yml file")
    try:
        target = (folder / parent).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        raise refuse(at, key, f"cannot resolve '{name}' (a loop of symbolic links?)") from None
    if target.suffix.lower() not in YAML_SUFFIXES:
        raise refuse(at, key, f"'{name}' leads to {_shown(target)}, not a .yaml or .yml file")
    return target


def _resolve_file(
    path: Path, chain: tuple[Path, ...], budget: Budget
) -> tuple[dict[str, Any], Positions]:
    shown = _shown(path)
    data, positions = read_yaml(path, shown, budget)
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
        target = _extended(path.parent, parent, at)
        if target in chain:
            cycle = " -> ".join(_shown(p) for p in (*chain, target))
            raise ScenarioError([Problem(at, ("extends",), f"extends cycle: {cycle}")])
        missing = _not_a_file(target)
        if missing:
            message = f"extended file {missing}: {_shown(target)}"
            raise ScenarioError([Problem(at, ("extends",), message)])
        budget.files -= 1
        if budget.files < 0:
            raise ScenarioError(
                [Problem(at, ("extends",), f"more than {MAX_FILES} files to read (extends)")]
            )
        parent_data, parent_positions = _resolve_file(target, (*chain, target), budget)
        merged = deep_merge(merged, parent_data)
        merged_positions.update(parent_positions)
    merged_positions.update({k: v for k, v in positions.items() if k != ("extends",)})
    return (deep_merge(merged, data) if data else merged), merged_positions


def apply_override(
    data: dict[str, Any], expression: str, positions: Positions, budget: Budget | None = None
) -> None:
    where = Position(f"--set {clip(expression, MAX_SHOWN_SET)}")
    key, sep, raw = expression.partition("=")
    if not sep or not key.strip():
        raise ScenarioError([Problem(where, (), "expected --set dotted.key=value")])
    parts = key.strip().split(".")
    if not all(parts):
        raise ScenarioError([Problem(where, (), f"empty key in '{clip(key.strip(), 80)}'")])
    value = parse_value(raw, where, tuple(parts), budget or Budget())
    node: Any = data
    path: list[str | int] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if last:
                node[part] = value
            elif part not in node:
                hint = suggestion(part, [k for k in node if isinstance(k, str)])
                raise ScenarioError(
                    [Problem(where, (*path, part), f"no such key in the scenario{hint}")]
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
    missing = _not_a_file(path)
    if missing:
        raise ScenarioError([Problem(Position(_shown(path)), (), f"file {missing}")])
    budget = Budget()
    data, positions = _resolve_file(path.resolve(), (path.resolve(),), budget)
    for expression in overrides:
        apply_override(data, expression, positions, budget)
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


def file_kind(path: str | Path) -> str:
    """``"sweep"`` for a sweep file (a mapping with a top-level ``sweep`` key), else
    ``"scenario"``. A file that cannot be read as a mapping counts as a scenario file, so
    that loading it reports why."""
    path = Path(path)
    if _not_a_file(path):
        return "scenario"
    try:
        data, _ = read_yaml(path, _shown(path))
    except ScenarioError:
        return "scenario"
    return "sweep" if isinstance(data, dict) and "sweep" in data else "scenario"


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML that loads back to an equal Scenario."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def config_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved model configuration (the ``run`` defaults excluded)."""
    payload = scenario.model_dump(mode="json", exclude={"run"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

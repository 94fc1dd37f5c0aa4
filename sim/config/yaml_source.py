"""Reading YAML safely while remembering where every key stands.

``yaml.safe_load`` forgets line numbers, and error messages need them. This module composes
the node tree with PyYAML's safe loader, builds plain Python values from it, and records
the position of every key under its path. Duplicate keys, which PyYAML accepts silently, are
reported as errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.config.errors import PathKey, Position, Problem, ScenarioError


def item_key(item: Any, index: int) -> str | int:
    """How a list item is named in a path: its ``name`` if it has one, else its index."""
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return item["name"]
    return index


def read_yaml(path: Path, shown: str) -> tuple[Any, dict[PathKey, Position]]:
    """Load ``path``; return its data and the position of every key, shown as ``shown``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [Problem(Position(shown), (), f"not UTF-8 text ({exc.reason})")]
        ) from None
    try:
        loader = yaml.SafeLoader(text)  # the reader rejects control characters here
    except yaml.YAMLError as exc:
        raise ScenarioError([_malformed(exc, shown)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([Problem(Position(shown, 1, 1), (), "the file is empty")])
        positions: dict[PathKey, Position] = {}
        problems: list[Problem] = []
        data = _build(loader, node, (), shown, positions, problems)
    except yaml.YAMLError as exc:
        raise ScenarioError([_malformed(exc, shown)]) from None
    except RecursionError:
        raise ScenarioError(
            [Problem(Position(shown), (), "nested too deeply to be a scenario")]
        ) from None
    finally:
        loader.dispose()
    if problems:
        raise ScenarioError(problems)
    return data, positions


_UNCLOSED = {
    "while parsing a flow sequence": "a '[' that is not closed",
    "while parsing a flow mapping": "a '{' that is not closed",
    "while scanning a quoted scalar": "a quoted string that is not closed",
}


def _at(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "an unknown place"


def _malformed(exc: yaml.YAMLError, shown: str) -> Problem:
    """A YAML syntax error, placed where the reader should look.

    An unclosed bracket or quote is found far from where it opens (often at the next key or
    the end of the file), so those errors point at the opening and say where parsing failed.
    """
    problem = getattr(exc, "problem", None) or str(exc)
    problem_mark = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context in _UNCLOSED and context_mark is not None:
        where = Position(shown, context_mark.line + 1, context_mark.column + 1)
        message = f"{_UNCLOSED[context]} ({problem} at {_at(problem_mark)})"
    else:
        mark = problem_mark or context_mark
        where = Position(shown, mark.line + 1, mark.column + 1) if mark else Position(shown)
        message = problem
        if context and context_mark is not None and context_mark is not problem_mark:
            message += f" ({context} at {_at(context_mark)})"
    return Problem(where, (), f"malformed YAML: {message}")


def _scalar(
    loader: yaml.SafeLoader, node: yaml.Node, path: PathKey, where: Position, problems: list
) -> Any:
    """Construct a scalar; a value YAML recognises but cannot build (2025-13-45) is a problem."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        problems.append(Problem(where, path, f"cannot read {node.value!r}: {exc}"))
        return None


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: PathKey,
    shown: str,
    positions: dict[PathKey, Position],
    problems: list[Problem],
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            where = Position(shown, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(where, path, "keys must be plain words"))
                continue
            before = len(problems)
            key = _scalar(loader, key_node, path, where, problems)
            if len(problems) > before:
                continue
            if not isinstance(key, str | int | float | bool):
                problems.append(Problem(where, path, "keys must be plain words"))
                continue
            if key in result:
                problems.append(Problem(where, (*path, key), "duplicate key"))
                continue
            positions[(*path, key)] = where
            result[key] = _build(loader, value_node, (*path, key), shown, positions, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, child in enumerate(node.value):
            items.append(_build(loader, child, (*path, index), shown, positions, problems))
        named: set[str | int] = set()
        for index, (child, item) in enumerate(zip(node.value, items, strict=True)):
            key = item_key(item, index)
            where = Position(shown, child.start_mark.line + 1, child.start_mark.column + 1)
            if key in named:  # merging by name would silently fold the two items into one
                problems.append(Problem(where, (*path, key), f"duplicate item name '{key}'"))
            named.add(key)
            positions.setdefault((*path, key), where)
            if key != index:  # re-key the positions recorded under the index
                for sub in [p for p in positions if p[: len(path) + 1] == (*path, index)]:
                    positions[(*path, key, *sub[len(path) + 1 :])] = positions.pop(sub)
        return items
    where = Position(shown, node.start_mark.line + 1, node.start_mark.column + 1)
    return _scalar(loader, node, path, where, problems)

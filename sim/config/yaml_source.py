"""Reading YAML safely, within bounds, while remembering where every key stands.

``yaml.safe_load`` forgets line numbers, and error messages need them. This module reads a
file of bounded size, composes its node tree with the bounded composer of ``yaml_bounds``
(so an alias bomb, a huge string or deep nesting is refused early, at its line), builds
plain Python values from it, and records the position of every key under its path.
Duplicate keys, which PyYAML accepts silently, are reported as errors. ``--set`` values go
through the same bounds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.reader import Reader

from sim.config.errors import PathKey, Position, Problem, ScenarioError, clip
from sim.config.yaml_bounds import (
    MAX_FILE_BYTES,
    MAX_SCALAR_CHARS,
    BoundedLoader,
    Budget,
    refuse,
)

Positions = dict[PathKey, Position]
_STR = "tag:yaml.org,2002:str"


def item_key(item: Any, index: int) -> str | int:
    """How a list item is named in a path: its ``name`` if it has one, else its index."""
    if isinstance(item, Mapping) and isinstance(item.get("name"), str):
        return item["name"]
    return index


def read_yaml(path: Path, shown: str, budget: Budget | None = None) -> tuple[Any, Positions]:
    """Load ``path``; return its data and the position of every key, shown as ``shown``.

    The file's size is checked before it is read, and no more than the limit is read
    whatever the size claims (files under ``/proc`` claim 0 bytes).
    """
    too_big = f"the file is larger than {MAX_FILE_BYTES:,} bytes (1 MiB), the limit"
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise refuse(Position(shown), (), too_big)
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise refuse(Position(shown), (), f"cannot read the file ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(Position(shown), (), too_big)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        where = Position(shown, raw.count(b"\n", 0, exc.start) + 1, exc.start - line_start + 1)
        raise refuse(where, (), f"not UTF-8 text ({exc.reason})") from None
    return parse_yaml(text, shown, budget or Budget())


def parse_yaml(text: str, shown: str, budget: Budget) -> tuple[Any, Positions]:
    """The data of YAML ``text`` (a file's, shown as ``shown``) and its keys' positions."""
    bad = Reader.NON_PRINTABLE.search(text)
    if bad:
        at = bad.start()
        line_start = text.rfind("\n", 0, at) + 1
        where = Position(shown, text.count("\n", 0, at) + 1, at - line_start + 1)
        code = f"U+{ord(bad.group()):04X}"
        raise refuse(where, (), f"malformed YAML: control character {code} is not allowed")
    loader = BoundedLoader(text, shown, budget)
    try:
        node = loader.get_single_node()
        if node is None:
            raise refuse(Position(shown, 1, 1), (), "the file is empty")
        positions: Positions = {}
        problems: list[Problem] = []
        data = _build(loader, node, (), shown, positions, problems)
    except yaml.YAMLError as exc:
        raise ScenarioError([_malformed(exc, shown)]) from None
    finally:
        loader.dispose()
    if problems:
        raise ScenarioError(problems)
    return data, positions


def parse_value(raw: str, where: Position, at: PathKey, budget: Budget) -> Any:
    """A ``--set`` value read as YAML, within the files' bounds; text that is not valid YAML
    stays text. Problems point at ``where`` under the key path ``at``."""
    if len(raw) > MAX_SCALAR_CHARS:
        raise refuse(where, at, f"a value of {len(raw):,} characters; at most {MAX_SCALAR_CHARS:,}")
    if Reader.NON_PRINTABLE.search(raw):
        return raw
    loader = BoundedLoader(raw, where.source, budget)
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        value = None if node is None else _build(loader, node, (), where.source, {}, problems)
    except yaml.YAMLError:
        return raw
    except ScenarioError as exc:
        problems = exc.problems
    finally:
        loader.dispose()
    if problems:
        raise ScenarioError(
            [dataclasses.replace(p, position=where, path=(*at, *p.path)) for p in problems]
        )
    return value


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
    Only PyYAML's description is kept, never the excerpt of the file it can quote.
    """
    problem = clip(getattr(exc, "problem", None) or type(exc).__name__, 200)
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
            message += f" ({clip(context, 200)} at {_at(context_mark)})"
    return Problem(where, (), f"malformed YAML: {message}")


def _scalar(loader: BoundedLoader, node: yaml.Node) -> Any:
    """Construct a scalar. A value YAML recognises but cannot build (2025-13-45) stays the
    text it is: the schema then reports it where it stands (``2025-13-45`` is no date), along
    with every other problem of the file, instead of hiding them."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, OverflowError):
        return node.value


def _item_name(loader: BoundedLoader, node: yaml.Node) -> str | None:
    """The ``name`` a list item's mapping will have once built (see ``item_key``), read
    from its node, so that everything below the item is recorded under its name at once."""
    if not isinstance(node, yaml.MappingNode):
        return None
    loader.flatten_mapping(node)  # a name may come from a merge key (<<)
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and (key_node.tag, key_node.value) == (
            _STR,
            "name",
        ):
            is_text = isinstance(value_node, yaml.ScalarNode) and value_node.tag == _STR
            return value_node.value if is_text else None
    return None


def _where(shown: str, node: yaml.Node) -> Position:
    return Position(shown, node.start_mark.line + 1, node.start_mark.column + 1)


def _build(
    loader: BoundedLoader,
    node: yaml.Node,
    path: PathKey,
    shown: str,
    positions: Positions,
    problems: list[Problem],
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        merged = loader.merged.get(id(node), 0)
        result: dict[Any, Any] = {}
        overridable: set[Any] = set()  # keys whose value came from a merge key (<<)
        for index, (key_node, value_node) in enumerate(node.value):
            where = _where(shown, key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(where, path, "keys must be plain words"))
                continue
            key = _scalar(loader, key_node)
            if not isinstance(key, str | int | float | bool):
                problems.append(Problem(where, path, "keys must be plain words"))
                continue
            if key in result and key not in overridable:
                problems.append(Problem(where, (*path, key), "duplicate key"))
                continue
            if index < merged:
                overridable.add(key)
            else:
                overridable.discard(key)
            positions[(*path, key)] = where
            result[key] = _build(loader, value_node, (*path, key), shown, positions, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        named: set[str | int] = set()
        for index, child in enumerate(node.value):
            name = _item_name(loader, child)
            key = index if name is None else name
            where = _where(shown, child)
            if key in named:  # merging by name would silently fold the two items into one
                problems.append(Problem(where, (*path, key), f"duplicate item name '{key}'"))
            named.add(key)
            positions.setdefault((*path, key), where)
            items.append(_build(loader, child, (*path, key), shown, positions, problems))
        return items
    return _scalar(loader, node)

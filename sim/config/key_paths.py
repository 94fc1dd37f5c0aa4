"""Finding a key of a scenario's data by its path, as ``--set`` and sweeps address it.

A path is dotted text (``forces.sites.erbil.personnel.trainers``) or a sequence of keys (for
keys with a dot, or indices given as numbers). List items are found by their ``name`` or
by index, and are named by their ``name`` in the path returned, as in every position and
problem. A step that finds nothing is a problem that says what there is instead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

from sim.config.errors import Position, Problem, ScenarioError, clip, dotted, suggestion
from sim.config.yaml_source import item_key

Step = str | int
KeyPath = str | Sequence[Step]


def keys_of(path: KeyPath, where: Position) -> tuple[Step, ...]:
    """The keys of ``path``; an empty key is a problem at ``where``."""
    keys = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
    if not keys or "" in keys:
        text = path if isinstance(path, str) else dotted(keys)
        raise ScenarioError([Problem(where, (), f"empty key in '{clip(text, 80)}'")])
    return keys


Walked = tuple[list[Any], list[Step], list[Step]]


def walk(data: Any, keys: tuple[Step, ...], where: Position) -> Walked:
    """The mappings and lists along ``keys`` (the last is where the value goes), the key or
    index to take in each, and the path so far with list items by name. Every key must exist
    except the last one of a mapping (which is then added)."""
    nodes: list[Any] = []
    steps: list[Step] = []
    named: list[Step] = []
    node = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, dict):
            if not last and key not in node:
                raise ScenarioError(
                    [Problem(where, (*named, key), _absent(node, steps, keys, depth))]
                )
            step, name = key, key
        elif isinstance(node, list):
            index = _list_index(node, key)
            if index is None:
                raise ScenarioError([Problem(where, (*named, key), _no_item(node, key))])
            step, name = index, item_key(node[index], index)
        else:
            kind = type(node).__name__
            article = "an" if kind[0] in "aeiou" else "a"
            raise ScenarioError(
                [Problem(where, tuple(named), f"is {article} {kind}, not a mapping or a list")]
            )
        nodes.append(node)
        steps.append(step)
        named.append(name)
        if not last:
            node = node[step]
    return nodes, steps, named


def _absent(node: dict, steps: list[Step], keys: tuple[Step, ...], depth: int) -> str:
    """Why a key on the way is missing: a section the files leave to its defaults (then set
    it whole), or no such key at all (with the nearest one)."""
    unknown = unknown_key(node, steps, keys[depth])
    if unknown:
        return unknown
    rest = dotted(keys[depth + 1 :])
    return (
        f"not in the files (its defaults apply): set it whole, e.g. "
        f"--set {dotted(keys[: depth + 1])}={{{rest}: VALUE}}"
    )


def unknown_key(node: dict, steps: list[Step], key: Step) -> str | None:
    """ "No such key" (with the nearest one) for a ``key`` the mapping ``node`` at ``steps``
    lacks and the schema does not allow there; None if the schema allows it (the files
    leave it to its default)."""
    from sim.config.pydantic_errors import allowed_keys

    allowed = allowed_keys(tuple(steps))
    if key in allowed:
        return None
    known = {k for k in node if isinstance(k, str)} | set(allowed)
    return f"no such key in the scenario{suggestion(str(key), sorted(known))}"


def _list_index(items: list[Any], key: Step) -> int | None:
    for index, item in enumerate(items):
        if item_key(item, index) == key:
            return index
    if isinstance(key, str) and key.isdigit() and int(key) < len(items):
        return int(key)
    if isinstance(key, int) and 0 <= key < len(items):
        return key
    return None


def _no_item(items: list[Any], key: Step) -> str:
    if items and all(isinstance(item_key(item, i), str) for i, item in enumerate(items)):
        names = ", ".join(str(item_key(item, i)) for i, item in enumerate(items))
        return f"no list item '{key}'{suggestion(str(key), names.split(', '))} (items: {names})"
    if not items:
        return f"no list item '{key}' (the list is empty)"
    return f"no list item '{key}' (use an index from 0 to {len(items) - 1})"


GLOB = frozenset("*?[")


def is_pattern(keys: tuple[Step, ...]) -> bool:
    """Whether a path has a glob step (``*``, ``?``, ``[...]``, as in ``fnmatch``)."""
    return any(isinstance(k, str) and GLOB & set(k) for k in keys)


def expand(data: Any, keys: tuple[Step, ...], where: Position) -> list[tuple[Step, ...]]:
    """The paths, list items by name, of the existing keys that ``keys`` matches: a glob step
    matches every key (or list item name) of its mapping (or list) that ``fnmatch`` accepts,
    other steps must exist. Matching nothing is a problem: a pattern stands for what the
    scenario has and never creates keys."""
    found: list[tuple[Step, ...]] = []
    _expand(data, keys, (), found)
    if not found:
        raise ScenarioError([Problem(where, keys, f"matches no key{_nearest(data, keys)}")])
    return found


def _nearest(data: Any, keys: tuple[Step, ...]) -> str:
    """Where matching stops: the longest start of ``keys`` that matches, and what is there."""
    for end in range(len(keys) - 1, 0, -1):
        found: list[tuple[Step, ...]] = []
        _expand(data, keys[:end], (), found)
        if found:
            names = sorted({str(n) for f in found for n in _names(_node(data, f))})
            return f": {dotted(keys[:end])} has {', '.join(names[:20]) or 'no keys'}" + suggestion(
                str(keys[end]), names
            )
    return ""


def _node(data: Any, named: tuple[Step, ...]) -> Any:
    for key in named:
        data = data[key] if isinstance(data, dict) else data[_list_index(data, key)]
    return data


def _names(node: Any) -> list[Step]:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return [item_key(v, i) for i, v in enumerate(node)]
    return []


def _expand(node: Any, keys: tuple[Step, ...], named: tuple[Step, ...], found: list) -> None:
    if not keys:
        found.append(named)
        return
    key, rest = keys[0], keys[1:]
    if isinstance(node, dict):
        children = [(k, k, v) for k, v in node.items()]
    elif isinstance(node, list):
        children = [(i, item_key(v, i), v) for i, v in enumerate(node)]
    else:
        return
    pattern = isinstance(key, str) and bool(GLOB & set(key))
    for step, name, child in children:
        if _matches(key, pattern, step, name):
            _expand(child, rest, (*named, name), found)


def _matches(key: Step, pattern: bool, step: Step, name: Step) -> bool:
    if pattern:
        return fnmatch.fnmatchcase(str(name), str(key))
    return name == key or str(step) == str(key)

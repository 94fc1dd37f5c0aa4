"""A scenario before validation: its data and where each key came from, kept together.

Error messages name the file, line and key of every problem, so each key's position has to
follow the data through every change: ``extends`` (merging files), ``--set`` and sweep
values (overriding one key), renaming a list item (which moves every key below it). One
object owns both and offers only those changes, so the two cannot drift apart; the same
object serves files, ``--set``, sweeps and mappings built in Python, which get the same
checks and readable errors as files (positions ``<python>`` or the caller's label).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from sim.config.checks import semantic_problems
from sim.config.errors import (
    PathKey,
    Position,
    Problem,
    ScenarioError,
    clip,
    position_of,
)
from sim.config.files import EXTENDS, extended, not_a_file, shown
from sim.config.key_paths import (
    KeyPath,
    Step,
    expand,
    is_pattern,
    keys_of,
    unknown_key,
    walk,
)
from sim.config.merge import deep_merge
from sim.config.pydantic_errors import problems_from_validation, value_types
from sim.config.relative import Relative, RelativeError, Scale, Shift
from sim.config.schema import Scenario
from sim.config.yaml_bounds import MAX_DEPTH, MAX_FILES, Budget, refuse
from sim.config.yaml_source import Positions, item_key, parse_value, read_yaml

PYTHON = "<python>"  # the source of data given in Python, unless the caller names it
MAX_SHOWN_SET = 100  # characters of a --set option quoted in its problems


class RawScenario:
    """A scenario's merged, overridden but not yet validated data, and every key's position.

    Build one with ``from_file`` or ``from_mapping``; change it with ``override`` (typed
    values, glob paths, ``Scale``/``Shift``), ``override_text`` (``--set`` text) or
    ``merge``; ``validate`` gives the ``Scenario`` or raises ``ScenarioError`` with every
    problem at its file and line.

    No node of the data is changed in place: an override copies the mappings and lists
    along its path and a merge builds new ones, so ``copy`` shares the nodes and costs one
    dictionary of positions.

    Parameters
    ----------
    source
        What problems without a position of their own name (default ``<python>``).
    """

    def __init__(self, source: str = PYTHON) -> None:
        """An empty scenario; problems that have no position of their own show ``source``."""
        self._source = source
        self._data: dict[Any, Any] = {}
        self._positions: Positions = {}
        self._budget = Budget()  # what reading (files, then --set values) may still cost

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> RawScenario:
        """The scenario of ``path``, its ``extends`` followed depth first (the parents merged
        in order, then the file on top); cycles, missing and refused files are problems at
        the ``extends`` key. One ``Budget`` bounds every file read and later ``--set`` value."""
        path = Path(path)
        missing = not_a_file(path)
        if missing:
            raise ScenarioError([Problem(Position(shown(path)), (), f"file {missing}")])
        target = path.resolve()
        return cls._resolved(target, (target,), Budget())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = PYTHON) -> RawScenario:
        """A scenario given in Python (copied, so later changes to ``data`` do not leak in);
        every key's position is ``source``."""
        where = Position(source)
        if not isinstance(data, Mapping):
            kind = type(data).__name__
            raise ScenarioError([Problem(where, (), f"expected a mapping of keys, found a {kind}")])
        raw = cls(source)
        raw._data = _tree(data, (), where, raw._positions)
        return raw

    @classmethod
    def _resolved(cls, path: Path, chain: tuple[Path, ...], budget: Budget) -> RawScenario:
        own, parents, at = cls._read(path, budget)
        if not parents:
            return own
        merged = cls(own._source)
        merged._budget = budget
        for parent in parents:
            target = _parent_file(path.parent, parent, at, chain, budget)
            merged.merge(cls._resolved(target, (*chain, target), budget))
        if own._data:  # a file of nothing but ``extends`` is its parents (``{}`` would clear)
            merged.merge(own)
        return merged

    @classmethod
    def _read(cls, path: Path, budget: Budget) -> tuple[RawScenario, list[str], Position]:
        """One file, without its ``extends`` entry, and that entry's paths and position."""
        raw = cls(shown(path))
        data, positions = read_yaml(path, raw._source, budget)
        if not isinstance(data, dict):
            kind = type(data).__name__
            where = Position(raw._source, 1, 1)
            raise ScenarioError([Problem(where, (), f"expected a mapping of keys, found a {kind}")])
        parents = data.pop("extends", None)
        at = positions.get(EXTENDS, Position(raw._source))
        raw._data, raw._budget = data, budget
        raw._positions = {p: w for p, w in positions.items() if p[:1] != EXTENDS}
        if parents is None:
            return raw, [], at
        if isinstance(parents, str):
            parents = [parents]
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise ScenarioError([Problem(at, EXTENDS, "expected a relative path or a list")])
        return raw, parents, at

    # -- read-only views ------------------------------------------------------------------------

    @property
    def source(self) -> str:
        """The file (relative to the working directory) or label the scenario came from."""
        return self._source

    @property
    def positions(self) -> Mapping[PathKey, Position]:
        """Where each key path came from (list items by name), as a read-only view."""
        return MappingProxyType(self._positions)

    def to_dict(self) -> dict[Any, Any]:
        """A copy of the data, the caller's to change."""
        return copy.deepcopy(self._data)

    # -- changes --------------------------------------------------------------------------------

    def copy(self) -> RawScenario:
        """An independent scenario: changing either leaves the other as it was."""
        twin = RawScenario(self._source)
        twin._data = self._data  # shared: no node is changed in place
        twin._positions = dict(self._positions)
        twin._budget = dataclasses.replace(self._budget)
        return twin

    def merge(self, other: RawScenario) -> None:
        """Lay ``other`` over this scenario by the merge rule of ``extends``. Where ``other``
        replaces a value, the positions below it go (they describe what no longer exists);
        every key ``other`` gives takes ``other``'s position."""
        self._data, replaced = deep_merge(self._data, other._data)
        self._positions = {
            path: where
            for path, where in self._positions.items()
            if not any(path[:end] in replaced for end in range(len(path) + 1))
        }
        self._positions.update(other._positions)

    def override(self, path: KeyPath, value: Any, at: Position | str = PYTHON) -> None:
        """Set the value at ``path`` (dotted text or a sequence of keys; list items by name or
        index) to a copy of ``value``, as given: no text is parsed. The key and everything
        below it take the position ``at``; what stood below it before is forgotten.

        A path with glob steps (``threats.processes.*_isis.base_rate_per_day``) sets every
        existing key it matches (linked values); a ``Scale`` or ``Shift`` value changes each
        key's own value (``sim.config.relative``)."""
        where = at if isinstance(at, Position) else Position(at)
        self._set(keys_of(path, where), value, where)

    def override_text(self, expression: str, label: str = "--set") -> None:
        """Apply ``dotted.key=value`` (a ``--set`` option, or an override text given in Python,
        named by ``label`` in problems): the value is read as YAML within the bounds of the
        files (text that is not YAML stays text). ``key*=factor`` scales and ``key+=amount``
        shifts the key's own value (days for a date); keys may have glob steps."""
        where = Position(f"{label} {clip(expression, MAX_SHOWN_SET)}")
        key, sep, text = expression.partition("=")
        key = key.strip()
        relative: type[Scale] | type[Shift] | None = None
        if key.endswith("+"):
            relative, key = Shift, key[:-1]
        elif key.endswith("*") and not key.endswith(".*") and key != "*":
            relative, key = Scale, key[:-1]
        if not sep or not key:
            raise ScenarioError([Problem(where, (), f"expected {label} dotted.key=value")])
        keys = keys_of(key, where)
        value = parse_value(text, where, keys, self._budget)
        if relative is not None:
            try:
                value = relative(_number_text(value))
            except RelativeError as exc:
                raise ScenarioError([Problem(where, keys, str(exc))]) from None
        self._set(keys, value, where)

    def value_at(self, path: KeyPath) -> Any:
        """A copy of the value the files (and overrides so far) give at ``path``."""
        where = Position(self._source)
        unset = "not in the files (its default applies)"
        return copy.deepcopy(self._given(keys_of(path, where), where, unset)[0])

    def targets(self, path: KeyPath, at: Position | str = PYTHON) -> list[tuple[Step, ...]]:
        """The keys an override of ``path`` would set, list items by name: every match of
        a pattern, or the one key (whether or not the files give it)."""
        where = at if isinstance(at, Position) else Position(at)
        return self._targets(keys_of(path, where), where)

    def _targets(self, keys: tuple[Step, ...], where: Position) -> list[tuple[Step, ...]]:
        if is_pattern(keys):
            return expand(self._data, keys, where)
        return [tuple(walk(self._data, keys, where)[2])]

    def _set(self, keys: tuple[Step, ...], value: Any, where: Position) -> None:
        last = str(keys[-1])
        if last.endswith("*") and last != "*":
            shown = clip(last, 40)
            message = (
                f"a pattern's last key may not end with * (in text, '{shown}=' is a factor "
                f"on '{shown[:-1]}'): use ? or [...] there, or a bare *"
            )
            raise ScenarioError([Problem(where, keys, message)])
        for target in self._targets(keys, where):
            new = value
            if isinstance(value, Scale | Shift):
                new = self._relative(target, value, where)
            self._replace(target, new, where)

    def _given(
        self, keys: tuple[Step, ...], where: Position, unset: str
    ) -> tuple[Any, list[Step], list[Step]]:
        """The value the files give at ``keys``, with its steps and its path (list items by
        name). A key they leave to its default is the problem ``unset``; a key the schema
        does not have is "no such key", with the nearest one."""
        nodes, steps, named = walk(self._data, keys, where)
        if isinstance(nodes[-1], dict) and steps[-1] not in nodes[-1]:
            message = unknown_key(nodes[-1], steps[:-1], steps[-1]) or unset
            raise ScenarioError([Problem(where, tuple(named), message)])
        return nodes[-1][steps[-1]], steps, named

    def _relative(self, keys: tuple[Step, ...], change: Relative, where: Position) -> Any:
        unset = (
            f"not in the files (its default applies): {change} needs the value to change, "
            "so set the key first"
        )
        base, steps, named = self._given(keys, where, unset)
        whole = value_types(tuple(steps)) == {"integer"}  # the schema's type, not the file's
        try:
            return change.applied(base, whole)
        except RelativeError as exc:
            raise ScenarioError([Problem(where, tuple(named), f"{change} {exc}")]) from None

    def _replace(self, keys: tuple[Step, ...], value: Any, where: Position) -> None:
        nodes, steps, named = walk(self._data, keys, where)
        old = tuple(named)
        if isinstance(nodes[-1], list):  # an item may be renamed: its keys move
            named[-1] = item_key(value, steps[-1])
        new = tuple(named)
        added: Positions = {new: where}
        replacement = _tree(value, new, where, added)
        for node, step in zip(reversed(nodes), reversed(steps), strict=True):
            node = copy.copy(node)
            node[step] = replacement
            replacement = node
        self._data = replacement
        self._positions = {
            path: position
            for path, position in self._positions.items()
            if path[: len(old)] != old and path[: len(new)] != new
        }
        self._positions.update(added)

    # -- validation -----------------------------------------------------------------------------

    def validate(self) -> Scenario:
        """The validated scenario: the schema, then the checks across fields; raises
        ``ScenarioError`` with every problem, each at its key's position."""
        default = Position(self._source)
        try:
            scenario = Scenario.schema_validate(self._data)
        except ValidationError as exc:
            problems = problems_from_validation(exc, self._data, self._positions, default)
            raise ScenarioError(problems) from None
        problems = [
            Problem(position_of(path, self._positions, default), path, message)
            for path, message in semantic_problems(scenario)
        ]
        if problems:
            raise ScenarioError(problems)
        return scenario


def _number_text(value: Any) -> Any:
    """A number YAML 1.1 reads as text (``1e3``, ``1e-05``) as the number it means."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _parent_file(
    folder: Path, parent: str, at: Position, chain: tuple[Path, ...], budget: Budget
) -> Path:
    """The file an ``extends`` entry names, once it is known to be allowed, a file, not in
    a cycle and within the number of files one scenario may read."""
    target = extended(folder, parent, at)
    if target in chain:
        raise refuse(at, EXTENDS, f"extends cycle: {' -> '.join(map(shown, (*chain, target)))}")
    missing = not_a_file(target)
    if missing:
        raise refuse(at, EXTENDS, f"extended file {missing}: {shown(target)}")
    budget.files -= 1
    if budget.files < 0:
        raise refuse(at, EXTENDS, f"more than {MAX_FILES} files to read (extends)")
    return target


def _tree(value: Any, path: PathKey, where: Position, positions: Positions) -> Any:
    """A copy of ``value`` made of dicts and lists, every key below ``path`` recorded at
    ``where``. Refuses what a YAML file could not hold (keys that are not plain words,
    two list items of one name, nesting deeper than files may go, a loop)."""
    problems: list[Problem] = []
    copied = _copy(value, path, where, positions, problems, 0)
    if problems:
        raise ScenarioError(problems)
    return copied


def _copy(
    value: Any,
    path: PathKey,
    where: Position,
    positions: Positions,
    problems: list[Problem],
    depth: int,
) -> Any:
    if depth > MAX_DEPTH:
        raise refuse(where, path, f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool):
                problems.append(Problem(where, path, "keys must be plain words"))
                continue
            positions[(*path, key)] = where
            result[key] = _copy(item, (*path, key), where, positions, problems, depth + 1)
        return result
    if isinstance(value, list | tuple):
        items = []
        seen: set[str | int] = set()
        for index, item in enumerate(value):
            key = item_key(item, index)
            if key in seen:
                problems.append(Problem(where, (*path, key), f"duplicate item name '{key}'"))
            seen.add(key)
            positions.setdefault((*path, key), where)
            items.append(_copy(item, (*path, key), where, positions, problems, depth + 1))
        return items
    return copy.deepcopy(value)

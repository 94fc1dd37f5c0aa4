"""What a scenario changes: the merged configuration values that differ from the reference's,
by dotted path.

Scenarios are built by ``extends`` and overrides, so the file of a scenario says little on
its own; what matters to a reader is the resolved difference. Lists of named items
(phases, sites, processes, rules) are matched by name, so a changed rate reads
``threats.processes[al_qaim_isis].background_rate_per_day`` and not a list index; an item
only one side has is one change. The scenario's metadata (name, description, sources) and
the run settings (replications, seed, executor) are not changes of the question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

IGNORED = ("metadata", "run")
ABSENT = "(absent)"


@dataclass(frozen=True)
class Change:
    """One dotted path and its value in the reference and in the scenario."""

    path: str
    reference: Any
    scenario: Any


def _named(items: Any) -> dict[str, Any] | None:
    """A list of mappings that all have distinct names, keyed by name; else None."""
    if not isinstance(items, list) or not items:
        return None
    if not all(isinstance(item, Mapping) and isinstance(item.get("name"), str) for item in items):
        return None
    names = [item["name"] for item in items]
    return dict(zip(names, items, strict=True)) if len(set(names)) == len(names) else None


def _ignored(path: str) -> bool:
    return any(path == p or path.startswith(p + ".") for p in IGNORED)


def _walk(path: str, a: Any, b: Any, out: list[Change]) -> None:
    if _ignored(path):
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in dict.fromkeys([*a, *b]):
            child = f"{path}.{key}" if path else str(key)
            _walk(child, a.get(key, ABSENT), b.get(key, ABSENT), out)
        return
    named_a, named_b = _named(a), _named(b)
    if named_a is not None and named_b is not None:
        for name in dict.fromkeys([*named_a, *named_b]):
            _walk(f"{path}[{name}]", named_a.get(name, ABSENT), named_b.get(name, ABSENT), out)
        return
    if a != b:
        out.append(Change(path, a, b))


def config_changes(reference: Mapping, scenario: Mapping) -> list[Change]:
    """Every leaf (or named item, or unmatched list) whose value differs, in the order of
    the configuration."""
    out: list[Change] = []
    _walk("", reference, scenario, out)
    return out


def grouped(changes: list[Change]) -> list[str]:
    """The changed paths with named items folded: ``threats.processes[…].background_steps
    ×3`` for the same key changed in three processes, in order of first appearance."""
    counts: dict[str, int] = {}
    for change in changes:
        pattern = re.sub(r"\[[^\]]*\]", "[…]", change.path)
        counts[pattern] = counts.get(pattern, 0) + 1
    return [p if n == 1 else f"{p} ×{n}" for p, n in counts.items()]


def describe(value: Any, limit: int = 80) -> str:
    """A value as one short line for a table."""
    if isinstance(value, Mapping) and "name" in value:
        text = f"{value['name']} ({len(value)} settings)"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""The one merge rule behind ``extends:`` (and ``RawScenario.merge``).

Mappings merge key by key, recursively; an empty mapping ``{}`` replaces instead, which is
how a file says "nothing here" (a phase that keeps no one at a site). Lists whose items all
have a ``name`` merge item by item, matched by name (new names are appended in order).
Every other value, lists included, is replaced by the overriding one.

Besides the merged value, the merge tells where the override replaced a value of the base:
what the base said below those paths no longer holds, so its positions must go too.
"""

from __future__ import annotations

import copy
from typing import Any

from sim.config.errors import PathKey


def _named(items: Any) -> bool:
    return isinstance(items, list) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in items
    )


def deep_merge(base: Any, override: Any) -> tuple[Any, set[PathKey]]:
    """``override`` laid over ``base`` (neither is modified), and the paths where a value of
    ``base`` was replaced (list items named by their ``name``, as in positions)."""
    replaced: set[PathKey] = set()
    return _merge(base, override, (), replaced), replaced


def _merge(base: Any, override: Any, at: PathKey, replaced: set[PathKey]) -> Any:
    if isinstance(base, dict) and isinstance(override, dict) and override:
        merged = {key: copy.deepcopy(value) for key, value in base.items()}
        for key, value in override.items():
            if key in merged:
                merged[key] = _merge(merged[key], value, (*at, key), replaced)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if _named(base) and _named(override) and base and override:
        items = [copy.deepcopy(item) for item in base]
        index = {item["name"]: i for i, item in enumerate(items)}
        for item in override:
            name = item["name"]
            if name in index:
                items[index[name]] = _merge(items[index[name]], item, (*at, name), replaced)
            else:
                index[name] = len(items)
                items.append(copy.deepcopy(item))
        return items
    replaced.add(at)
    return copy.deepcopy(override)

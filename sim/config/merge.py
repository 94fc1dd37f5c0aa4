"""The one merge rule behind ``extends:`` and ``--set``.

Mappings merge key by key, recursively; an empty mapping ``{}`` replaces instead, which is
how a file says "nothing here" (a phase that keeps no one at a site). Lists whose items all
have a ``name`` merge item by item, matched by name (new names are appended in order).
Every other value, lists included, is replaced by the overriding one.
"""

from __future__ import annotations

import copy
from typing import Any


def _named(items: Any) -> bool:
    return isinstance(items, list) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in items
    )


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` laid over ``base`` (neither is modified)."""
    if isinstance(base, dict) and isinstance(override, dict) and override:
        merged = {key: copy.deepcopy(value) for key, value in base.items()}
        for key, value in override.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    if _named(base) and _named(override) and base and override:
        merged_items = [copy.deepcopy(item) for item in base]
        index = {item["name"]: i for i, item in enumerate(merged_items)}
        for item in override:
            if item["name"] in index:
                i = index[item["name"]]
                merged_items[i] = deep_merge(merged_items[i], item)
            else:
                index[item["name"]] = len(merged_items)
                merged_items.append(copy.deepcopy(item))
        return merged_items
    return copy.deepcopy(override)

"""JSON Schemas (draft 2020-12) of scenario and sweep files as they are written, for editors.

Both are derived from the pydantic models, so they follow every change to the schema.

A scenario file is usually *partial*: it ``extends:`` other files, and the merge rule
(``sim.config.merge``) fills in the rest. So the scenario file schema keeps every type,
enumeration, range, pattern, description and ``additionalProperties: false`` of the models
(what editors need for completion and to flag typos) but drops ``required``, except where
merging cannot fill a gap:

- an item of a *named* list (sites, phases, lift, processes, sectors...: lists whose items
  have a ``name``) merges with the item of the same name, so it needs only its ``name``;
- an item of any other list (schedule steps) replaces the whole list, so it stays complete;
- a choice of variants told apart by a key (``kind:`` of processes and signals,
  ``distribution:`` of durations and severities) accepts a partial item: with the key, the
  item must fit that variant; without it (``{name: x, modulated: false}`` laid over a
  process of the base file), it must fit at least one variant.

Whether the merged result is complete is the loader's check (``withdrawal-sim validate``).
A sweep file is never merged, so its schema is the model's, whole, with the cross-field
rules JSON Schema can state (``values`` or ``range``; ``samples`` for sampled designs).
"""

from __future__ import annotations

import copy
from typing import Any

from sim.config.schema import Scenario
from sim.config.schema.sweep import SweepFile

DRAFT = "https://json-schema.org/draft/2020-12/schema"
RELATIVE_YAML_PATTERN = r"^(?![/\\])(?![A-Za-z]:)[^\x00]*\.[yY][aA]?[mM][lL]$"
"""A relative path to a .yaml or .yml file (what ``extends:`` and ``sweep.scenario`` take)."""

# How a part of a file is written:
PARTIAL = "partial"  # merged over what the extended files say: nothing is required
NAMED = "named"  # an item of a named list: only its name is required
COMPLETE = "complete"  # replaces what was there: as required as the model says

_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def scenario_file_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file as written (``extends:``, partial files)."""
    source = Scenario.model_json_schema()
    schema = _Transform(source.pop("$defs", {})).root(source, PARTIAL)
    extends_path = {"type": "string", "minLength": 1, "pattern": RELATIVE_YAML_PATTERN}
    properties = {
        "extends": {
            "title": "Extends",
            "description": "The file(s) this one is laid over, relative to this file: a path "
            "or a list of paths to .yaml or .yml files, merged in order (later files win, "
            "this file last). Mappings merge key by key; lists of items with a `name` merge "
            "item by item; other values are replaced.",
            "anyOf": [extends_path, {"type": "array", "minItems": 1, "items": extends_path}],
        },
        **schema["properties"],
    }
    return {
        "$schema": DRAFT,
        "title": "withdrawal-sim scenario file",
        "description": "A scenario file as written: usually partial, completed by the files "
        "it `extends`. Every key is optional here; `withdrawal-sim validate FILE` checks that "
        "the merged scenario is complete and consistent.",
        **{k: v for k, v in schema.items() if k not in ("title", "description", "properties")},
        "properties": properties,
    }


def sweep_file_schema() -> dict[str, Any]:
    """The JSON Schema of a sweep file (a ``sweep:`` mapping; never merged, so complete)."""
    source = SweepFile.model_json_schema()
    schema = _Transform(source.pop("$defs", {})).root(source, COMPLETE)
    sweep = schema["$defs"]["Sweep"]
    sweep["properties"]["scenario"]["pattern"] = RELATIVE_YAML_PATTERN
    sweep["allOf"] = [
        {
            "if": {"properties": {"design": {"const": "grid"}}},
            "then": {
                "properties": {
                    "parameters": {
                        "items": {"anyOf": [{"required": ["values"]}, {"required": ["levels"]}]}
                    }
                }
            },
            "else": {
                "required": ["samples"],
                "properties": {"parameters": {"items": {"required": ["range"]}}},
            },
        }
    ]
    parameter = schema["$defs"]["Parameter"]
    parameter["oneOf"] = [
        {"required": ["values"], "properties": {"values": {"type": "array"}}},
        {"required": ["range"], "properties": {"range": {"type": "array"}}},
    ]
    parameter["description"] += " Give either `values` or `range`."
    return {
        "$schema": DRAFT,
        "title": "withdrawal-sim sweep file",
        "description": "A sweep: a base scenario, parameters addressed by dotted paths (as "
        "in --set) and a design. `withdrawal-sim validate FILE` also checks the base scenario "
        "and every design point.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def _named_list_items(items: dict[str, Any], defs: dict[str, Any]) -> bool:
    """Whether the items of a list (in the pydantic schema) all need a ``name``: such lists
    merge item by item (``sim.config.merge``)."""
    variants = items.get("oneOf") or items.get("anyOf") or [items]
    for variant in variants:
        ref = variant.get("$ref", "")
        target = defs.get(ref.removeprefix("#/$defs/"), variant) if ref else variant
        if "name" not in target.get("required", ()):
            return False
    return True


class _Transform:
    """Copies a pydantic JSON Schema, each definition in the mode(s) it is reached in."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.source = defs
        self.defs: dict[str, Any] = {}
        self.names: dict[tuple[str, str], str] = {}

    def root(self, schema: dict[str, Any], mode: str) -> dict[str, Any]:
        result = self.node(schema, mode)
        if self.defs:
            result["$defs"] = dict(sorted(self.defs.items()))
        return result

    def ref(self, name: str, mode: str) -> str:
        """The definition of ``name`` in ``mode``: the model's name for its first mode, with
        the mode appended for others (a model reached both merged and complete)."""
        key = (name, mode)
        if key not in self.names:
            taken = any(n == name for n, _ in self.names)
            self.names[key] = f"{name}_{mode}" if taken else name
            self.defs[self.names[key]] = {}  # reserved: a definition may refer to itself
            self.defs[self.names[key]] = self.node(self.source[name], mode)
        return f"#/$defs/{self.names[key]}"

    def node(self, schema: Any, mode: str) -> Any:
        if not isinstance(schema, dict):
            return schema  # true / false
        out = {key: copy.deepcopy(value) for key, value in schema.items()}
        # below an object: merged key by key (a mapping), unless this replaces what was there
        inner = COMPLETE if mode == COMPLETE else PARTIAL
        if "$ref" in schema:
            out["$ref"] = self.ref(schema["$ref"].removeprefix("#/$defs/"), mode)
        if "properties" in schema:
            out["properties"] = {k: self.node(v, inner) for k, v in schema["properties"].items()}
            if mode == NAMED and "name" in schema["properties"]:
                out["required"] = ["name"]
            elif mode != COMPLETE:
                out.pop("required", None)
        if "discriminator" in schema and mode != COMPLETE:
            # A partial item may leave out the discriminating key (the extended file gave
            # it) or match several variants: any variant it fits will do. With the key, only
            # that variant fits, as each variant's key is a constant.
            out.pop("discriminator")
            out["anyOf"] = out.pop("oneOf")
        for key in _SCHEMA_LISTS:
            if key in out:
                out[key] = [self.node(v, mode) for v in out[key]]
        if "items" in schema:
            if mode != COMPLETE and _named_list_items(schema["items"], self.source):
                out["items"] = self.node(schema["items"], NAMED)
            else:
                out["items"] = self.node(schema["items"], COMPLETE)  # replaces the list
        for key in _SCHEMA_VALUES:
            if key in schema and key != "items":
                out[key] = self.node(schema[key], inner)
        patterns = schema.get("patternProperties")
        if patterns and len(patterns) == 1 and "additionalProperties" not in schema:
            # dict[Name, X]: check the keys themselves (a misspelt or capitalised key is
            # an error, as for the loader), rather than leave keys that miss the pattern free.
            pattern, values = next(iter(patterns.items()))
            del out["patternProperties"]
            out["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
            out["additionalProperties"] = self.node(values, inner)
        elif patterns:
            out["patternProperties"] = {k: self.node(v, inner) for k, v in patterns.items()}
        return out

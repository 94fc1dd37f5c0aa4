"""Turning pydantic's validation errors into problems with key paths, lines and hints."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.config.errors import (
    MAX_ECHO_CHARS,
    PathKey,
    Position,
    Problem,
    clip,
    echo,
    position_of,
    suggestion,
)
from sim.config.schema import Scenario
from sim.config.yaml_source import item_key

_TAGS = ("kind", "distribution")


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _branches(node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    ref = node.get("$ref")
    if ref:
        node = root["$defs"][ref.rsplit("/", 1)[-1]]
    for union in ("oneOf", "anyOf", "allOf"):
        if union in node:
            return [b for option in node[union] for b in _branches(option, root)]
    return [node]


def allowed_keys(loc: tuple[str | int, ...], model: type[BaseModel] = Scenario) -> set[str]:
    """The keys ``model``'s schema allows in the mapping at ``loc`` (pydantic's loc)."""
    root = _schema(model)
    return {
        key
        for node in _nodes(loc, root)
        for b in _branches(node, root)
        for key in b.get("properties", {})
    }


def value_types(loc: tuple[str | int, ...], model: type[BaseModel] = Scenario) -> set[str]:
    """The JSON types ``model``'s schema allows for the value at ``loc`` (``integer``,
    ``number``, …; ``null`` left out), over every branch of a union."""
    root = _schema(model)
    types = {b.get("type") for node in _nodes(loc, root) for b in _branches(node, root)}
    return {t for t in types if t not in (None, "null")}


def _nodes(loc: tuple[str | int, ...], root: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema nodes that may describe the value at ``loc``."""
    nodes = [root]
    for part in loc:
        following: list[dict[str, Any]] = []
        for node in nodes:
            for branch in _branches(node, root):
                props = branch.get("properties", {})
                if isinstance(part, str) and part in props:
                    following.append(props[part])
                elif isinstance(part, int) and "items" in branch:
                    following.append(branch["items"])
                elif isinstance(part, str) and isinstance(branch.get("additionalProperties"), dict):
                    following.append(branch["additionalProperties"])
                elif isinstance(part, str) and branch.get("patternProperties"):
                    following.extend(branch["patternProperties"].values())  # dict[Name, ...]
                elif isinstance(part, str) and any(
                    props.get(tag, {}).get("const") == part for tag in _TAGS
                ):
                    following.append(branch)
        nodes = following
    return nodes


def named_path(loc: tuple[str | int, ...], data: Any) -> PathKey:
    """pydantic's loc as a path of the scenario: list items by name, union tags dropped."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(item_key(node[part], part))
            node = node[part]
        elif isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and any(node.get(tag) == part for tag in _TAGS):
            continue
        else:
            path.append(part)
            node = None
    return tuple(path)


YAML_TEXT_NUMBER = re.compile(r"[-+]?[0-9]+(\.[0-9]*)?[eE][0-9]+")
"""A number in exponent form that YAML 1.1 (PyYAML) reads as text: without a dot or without
a sign in the exponent (``1e300``, ``1.5e3``)."""


def _yaml_float(text: str) -> str:
    """The same number written so that YAML reads it as one (``1.0e+300``)."""
    mantissa, _, exponent = text.strip().lower().partition("e")
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}e+{exponent}"


def _tag_name(ctx: dict[str, Any]) -> str:
    return str(ctx.get("discriminator", "kind")).strip("'\"")


def _message(error: dict[str, Any], model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        allowed = allowed_keys(tuple(error["loc"][:-1]), model)
        return f"unknown key '{clip(key, MAX_ECHO_CHARS)}'{suggestion(key, allowed)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        given = clip(str(ctx.get("tag", "")), MAX_ECHO_CHARS)
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        return (
            f"unknown {_tag_name(ctx)} '{given}'{suggestion(given, expected)} "
            f"(expected one of: {', '.join(expected)})"
        )
    if kind == "union_tag_not_found":
        given = error.get("input")
        hint = ""
        if isinstance(given, dict) and any(isinstance(key, bool) for key in given):
            hint = " (YAML reads an unquoted on, off, yes or no as true or false: quote such a key)"
        return f"needs a '{_tag_name(error.get('ctx', {}))}' key{hint}"
    given = error.get("input")
    message = error["msg"].removeprefix("Value error, ")
    message = f"{message[0].lower()}{message[1:]}"
    numeric = kind.startswith(("float", "int"))
    if numeric and isinstance(given, str) and YAML_TEXT_NUMBER.fullmatch(given.strip()):
        return f"{message} (got {echo(given)}: YAML reads it as text; write {_yaml_float(given)})"
    if not isinstance(given, dict | list):
        return f"{message} (got {echo(given)})"
    if kind == "value_error":  # a check of the whole mapping, which it names already
        return message
    return f"{message} (got {type(given).__name__})"


def problems_from_validation(
    exc: ValidationError,
    data: Any,
    positions: dict[PathKey, Position],
    default: Position,
    model: type[BaseModel] = Scenario,
) -> list[Problem]:
    problems = []
    for error in exc.errors():
        path = named_path(tuple(error["loc"]), data)
        if error["type"] == "union_tag_invalid":  # point at the tag itself, not its mapping
            path = (*path, _tag_name(error.get("ctx", {})))
        problems.append(
            Problem(position_of(path, positions, default), path, _message(error, model))
        )
    return problems

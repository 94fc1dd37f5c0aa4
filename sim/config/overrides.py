"""Overrides given in Python: a mapping of dotted keys to values, a sequence of
``"dotted.key=value"`` texts or ``(dotted.key, value)`` pairs, one text, or None.

Keys may have glob steps (``threats.processes.*_isis.decay_per_day``: every match gets the
value, linked), and a value may be relative to the scenario's own: ``Scale(1.5)`` (text
``key*=1.5``) or ``Shift(90)`` (text ``key+=90``, days for a date), from
``sim.config.relative``.

Texts are read as ``--set`` reads them (the value as YAML); values given as Python objects
are taken as they are, made plain first: numpy scalars become Python numbers, arrays and
tuples lists, and a ``datetime64``, a pandas ``Timestamp`` or a ``datetime`` at midnight a
date. Problems name the override (``override run.seed``), not ``--set``, since the caller
wrote Python.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from sim.config.errors import Position, Problem, ScenarioError
from sim.config.raw import RawScenario
from sim.config.relative import Scale, Shift

Overrides: TypeAlias = Mapping[str, Any] | Sequence[str | tuple[str, Any]] | str | None
ORIGIN = "override"


class SetOptions(tuple):
    """``--set`` options as the command line got them: their problems name ``--set``."""


def plain(value: Any) -> Any:
    """``value`` as the schema reads it (module docstring); anything else unchanged."""
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalar or array
        if str(value.dtype).startswith("datetime64"):
            return plain(value.astype("datetime64[us]").tolist())
        return plain(value.tolist())
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date()
        return value  # refused by the schema with its own message (a date and time)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def _pairs(overrides: Overrides) -> list[str | tuple[str, Any]]:
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    if isinstance(overrides, Sequence):
        return list(overrides)
    kind = type(overrides).__name__
    raise ScenarioError(
        [
            Problem(
                Position(ORIGIN),
                (),
                f"overrides must be a mapping of dotted keys to values, or a list of "
                f"'dotted.key=value' texts or (key, value) pairs, not a {kind}",
            )
        ]
    )


def apply_overrides(raw: RawScenario, overrides: Overrides) -> None:
    """Apply ``overrides`` to ``raw`` in order (the module docstring says which forms)."""
    label = "--set" if isinstance(overrides, SetOptions) else ORIGIN
    for item in _pairs(overrides):
        if isinstance(item, str):
            raw.override_text(item, label=label)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            key, value = item
            raw.override(key, plain(value), at=f"{ORIGIN} {key}")
        else:
            shown = repr(item)[:60]
            raise ScenarioError(
                [
                    Problem(
                        Position(ORIGIN),
                        (),
                        "each override is 'dotted.key=value' text or a (dotted.key, value) "
                        f"pair, not {shown}",
                    )
                ]
            )


def described(overrides: Overrides) -> list[str]:
    """The overrides as ``key=value`` texts for a manifest (values given as objects in JSON,
    dates as ISO text)."""
    out = []
    for item in _pairs(overrides):
        if isinstance(item, str):
            out.append(item)
        else:
            key, value = item
            if isinstance(value, Scale | Shift):
                out.append(f"{key}{value}")
            else:
                out.append(f"{key}={json.dumps(plain(value), default=str)}")
    return out

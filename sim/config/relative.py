"""Overrides relative to the scenario's own value: a factor (``Scale``) or an amount
(``Shift``: days for a date), for exploratory parameters that move several values together.

One "ISIS rate" uncertainty scales the base rate of every ISIS process by one factor, each
from its own value; a "Phase 2 slips" uncertainty moves a date by a number of days. Both
read the value the files give (a key left to its default has none to scale) and keep its
kind: a key the schema types as a whole number stays whole (rounded to the nearest, halves
away from zero), any other number is a float (``scale_km: 100`` scaled by 1.234 is 123.4),
and a date stays a date.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np


class RelativeError(ValueError):
    """A relative override that cannot apply to the value it meets (the message says why)."""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise RelativeError(f"{what} must be a number, not {type(value).__name__} {value!r:.40}")
    if not math.isfinite(float(value)):
        raise RelativeError(f"{what} must be finite, not {value}")
    return float(value)


def _whole_or_float(base: int | float, value: float, whole: bool | None) -> int | float:
    """``value`` kept whole where the key is (``whole``; unknown: where ``base`` is)."""
    if not math.isfinite(value):
        raise RelativeError(f"gives {value}, out of range")
    if whole or (whole is None and isinstance(base, int)):
        return int(math.copysign(math.floor(abs(value) + 0.5), value))
    return float(value)


def text(value: float) -> str:
    """``value`` as the shortest text that reads back (as YAML) to the same float."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    shown = repr(value)
    mantissa, e, exponent = shown.partition("e")
    if e and "." not in mantissa:  # YAML 1.1 reads 1e-05 as text, 1.0e-05 as a number
        shown = f"{mantissa}.0e{exponent}"
    return shown


@dataclass(frozen=True)
class Scale:
    """Multiply the number at a key (or at every key a pattern matches) by ``factor``.

    Parameters
    ----------
    factor
        A finite number; text form ``key*=factor``.
    """

    factor: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "factor", _number(self.factor, "a factor") + 0.0)  # no -0.0

    def applied(self, base: Any, whole: bool | None = None) -> Any:
        """``base`` times the factor; whole if the key is (``whole``, else if ``base`` is)."""
        if isinstance(base, bool) or not isinstance(base, int | float):
            raise RelativeError(f"scales numbers; the value here is {_kind(base)}")
        return _whole_or_float(base, base * self.factor, whole)

    def __str__(self) -> str:
        return f"*={text(self.factor)}"


@dataclass(frozen=True)
class Shift:
    """Add ``amount`` to the value at a key (or at every key a pattern matches): whole days
    to a date, or a number to a number.

    Parameters
    ----------
    amount
        A finite number (whole for a date); text form ``key+=amount``.
    """

    amount: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _number(self.amount, "a shift") + 0.0)

    def applied(self, base: Any, whole: bool | None = None) -> Any:
        """``base`` moved by the amount: a date by whole days, a number by the amount (whole
        if the key is: ``whole``, else if ``base`` is)."""
        date = _date(base)
        if date is not None:
            if not self.amount.is_integer():
                raise RelativeError(
                    f"shifts a date by whole days, not {text(self.amount)} "
                    "(a sweep or EMA parameter: give it integer: true)"
                )
            try:
                return date + dt.timedelta(days=int(self.amount))
            except OverflowError:
                raise RelativeError(f"moves {date} out of the calendar") from None
        if isinstance(base, bool) or not isinstance(base, int | float):
            raise RelativeError(f"shifts dates and numbers; the value here is {_kind(base)}")
        return _whole_or_float(base, base + self.amount, whole)

    def __str__(self) -> str:
        return f"+={text(self.amount)}"


Relative = Scale | Shift


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _kind(value: Any) -> str:
    if isinstance(value, dict | list):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return f"{type(value).__name__} {value!r:.40}"

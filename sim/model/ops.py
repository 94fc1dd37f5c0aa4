"""The arithmetic a formula needs, over one value or over many at once.

Every rate, factor and level of the model is written once, as a function of an ``Ops``:
``SCALAR`` (``math``, ``min``, ``max``, a conditional) evaluates it at each candidate
incident while the run goes, ``ARRAY`` (numpy) over many values at once: all the record
times once the run is over, or every sector when the forces change (local presence). Both
paths evaluate the same expression in the same order, so they agree to the last bit
wherever only ``+ − × /``, ``min``, ``max`` and a selection are involved; ``math.cos`` and
``np.cos`` (and ``exp``) may differ by one unit in the last place, which the recorded
series tolerate (tests/test_recorder.py).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

Values = float | np.ndarray
"""A float on the scalar path; on the array path, an array with one value per record time."""


class Stepwise(Protocol):
    """A piecewise-constant function of the day (``signals.StepFunction``)."""

    def __call__(self, day: float) -> float: ...

    def on(self, days: np.ndarray) -> np.ndarray: ...


def _select(condition: bool, if_true: float, if_false: float) -> float:
    return if_true if condition else if_false


def _step_on(function: Stepwise, days: np.ndarray) -> np.ndarray:
    return function.on(days)


@dataclass(frozen=True, slots=True)
class Ops:
    """The functions a formula may call; each formula receives one of the two below."""

    cos: Callable[[Values], Values]
    exp: Callable[[Values], Values]
    maximum: Callable[[Values, Values], Values]
    minimum: Callable[[Values, Values], Values]
    where: Callable[[Values, Values, Values], Values]  # (condition, if true, if false)
    step: Callable[[Stepwise, Values], Values]  # its value that day


SCALAR = Ops(
    cos=math.cos, exp=math.exp, maximum=max, minimum=min, where=_select, step=operator.call
)
ARRAY = Ops(
    cos=np.cos,
    exp=np.exp,
    maximum=np.maximum,
    minimum=np.minimum,
    where=np.where,
    step=_step_on,
)

"""Problems in scenario files, phrased so that a person can act on them.

Every problem names the file, the dotted key path, the line and column of that key and
what was expected. Paths name list items by their ``name`` where they have one
(``forces.sites.erbil.personnel``), because indices shift when files are merged.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PathKey = tuple[str | int, ...]
_LINE_BREAKING = {"Cc", "Zl", "Zp"}  # control characters, line and paragraph separators


@dataclass(frozen=True)
class Position:
    """Where a key stands: a file and a 1-based line and column, or a ``--set`` option."""

    source: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.source
        return f"{self.source}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    position: Position
    path: PathKey
    message: str

    def __str__(self) -> str:
        where = dotted(self.path) or "(top level)"
        return one_line(f"{self.position}: {where}: {self.message}")


class ScenarioError(Exception):
    """A scenario that cannot be loaded; ``problems`` holds one entry per mistake."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped, so one problem is
    always one line of output."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in _LINE_BREAKING
        else ch
        for ch in text
    )


def dotted(path: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in path)


def suggestion(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest of ``choices``, or '' when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def position_of(path: PathKey, positions: dict[PathKey, Position], default: Position) -> Position:
    """The position of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        found = positions.get(path[:end])
        if found is not None:
            return found
    return default

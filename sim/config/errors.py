"""Problems in scenario files, phrased so that a person can act on them.

Every problem names the file, the dotted key path, the line and column of that key and
what was expected. Paths name list items by their ``name`` where they have one
(``forces.sites.erbil.personnel``), because indices shift when files are merged.

A hostile file can hold thousands of mistakes and keys or values megabytes long, so what
is printed is bounded: text echoed from a file is clipped, and an error lists its first
``MAX_PROBLEMS_SHOWN`` problems followed by one line counting the rest.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PathKey = tuple[str | int, ...]
_LINE_BREAKING = {"Cc", "Zl", "Zp"}  # control characters, line and paragraph separators
MAX_PROBLEMS_SHOWN = 50  # enough to fix a file in one pass, few enough to read
MAX_ECHO_CHARS = 60  # a value or key quoted from a file
MAX_LINE_CHARS = 1_000  # one printed problem, whatever it quotes


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
        where = dotted(clip(str(part), MAX_ECHO_CHARS) for part in self.path) or "(top level)"
        return one_line(clip(f"{self.position}: {where}: {self.message}", MAX_LINE_CHARS))


@dataclass(frozen=True)
class Omitted(Problem):
    """Stands for the problems past ``MAX_PROBLEMS_SHOWN``: one line that counts them."""

    count: int = 0

    def __str__(self) -> str:
        return f"... and {self.count:,} more problem{'s' if self.count > 1 else ''}"


def omitted(count: int) -> Omitted:
    return Omitted(Position(""), (), f"{count:,} more problems", count)


class ScenarioError(Exception):
    """A scenario, override or data file that cannot be loaded; its text is one line a
    problem, each naming its source (file and line, ``override KEY``, ``--set …``) and key.

    Parameters
    ----------
    problems
        One ``Problem`` per mistake.

    Attributes
    ----------
    problems : list of Problem
        The first ``MAX_PROBLEMS_SHOWN`` problems, then an ``Omitted`` counting the others.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        listed = [p for p in problems if not isinstance(p, Omitted)]
        hidden = sum(p.count for p in problems if isinstance(p, Omitted))
        hidden += max(0, len(listed) - MAX_PROBLEMS_SHOWN)
        self.problems: list[Problem] = listed[:MAX_PROBLEMS_SHOWN]
        if hidden:
            self.problems.append(omitted(hidden))
        super().__init__("\n".join(str(p) for p in self.problems))


def clip(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def echo(value: object) -> str:
    """``repr`` of a value read from a file, clipped: quoted, never the whole of it."""
    return clip(repr(value), MAX_ECHO_CHARS)


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

"""Reading ACLED and UCDP GED exports into one table of events, checked cell by cell.

Each format is read by its own column names (extra columns are ignored). A problem names
the file, the row (the line of the file) and the column, e.g.
``events.csv:12:3: event_date: '2024-13-40' is not a date``, and the command exits 2: a
missing column, an unparsable date or number, a coordinate out of range, an empty file or
one whose header has a single column (the wrong delimiter).

The normalised table has one row per event: ``row`` (line in the file), ``event_id``,
``date``, ``time_precision`` (ACLED ``time_precision``; GED ``date_prec``), ``geo_precision``
(ACLED ``geo_precision``; GED ``where_prec``), ``latitude``, ``longitude``, ``actors`` (the
actor columns joined by " | ", for the actor patterns), ``event_type`` (ACLED
``event_type``; GED ``type_of_violence``), ``fatalities`` (ACLED ``fatalities``; GED
``best``) and ``single_day`` (GED: ``date_start`` equals ``date_end``; ACLED: always).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sim.config.errors import Position, Problem, ScenarioError, echo

FormatName = Literal["acled", "ucdp-ged"]
MAX_FILE_BYTES = 500 * 1024 * 1024  # an ACLED export of the whole Middle East is ~300 MB
DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%m/%d/%Y")


@dataclass(frozen=True)
class Format:
    """An export's own column names for what calibration reads."""

    name: str
    required: tuple[str, ...]
    event_id: str
    date: str
    time_precision: str
    geo_precision: str
    actors: tuple[str, ...]
    event_type: str
    fatalities: str
    end_date: str | None = None
    either: tuple[str, ...] = ()  # at least one of these


ACLED = Format(
    name="acled",
    required=(
        "event_id_cnty",
        "event_date",
        "time_precision",
        "event_type",
        "sub_event_type",
        "actor1",
        "assoc_actor_1",
        "actor2",
        "admin1",
        "admin2",
        "admin3",
        "latitude",
        "longitude",
        "geo_precision",
        "fatalities",
    ),
    event_id="event_id_cnty",
    date="event_date",
    time_precision="time_precision",
    geo_precision="geo_precision",
    actors=("actor1", "assoc_actor_1", "actor2"),
    event_type="event_type",
    fatalities="fatalities",
    either=("iso", "country"),
)
GED = Format(
    name="ucdp-ged",
    required=(
        "id",
        "type_of_violence",
        "side_a",
        "side_b",
        "where_prec",
        "date_prec",
        "date_start",
        "date_end",
        "latitude",
        "longitude",
        "best",
        "low",
        "high",
    ),
    event_id="id",
    date="date_start",
    time_precision="date_prec",
    geo_precision="where_prec",
    actors=("side_a", "side_b"),
    event_type="type_of_violence",
    fatalities="best",
    end_date="date_end",
)
FORMATS: dict[str, Format] = {"acled": ACLED, "ucdp-ged": GED}


class EventFile:
    """One export being read: raises ``ScenarioError`` with file, row and column."""

    def __init__(self, path: Path, spec: Format) -> None:
        self.path, self.spec = path, spec
        self.columns: list[str] = []

    def fail(self, row: int | None, column: str | None, message: str) -> ScenarioError:
        col = self.columns.index(column) + 1 if column in self.columns else None
        where = Position(str(self.path), row, col) if row is not None else Position(str(self.path))
        return ScenarioError([Problem(where, (column,) if column else (), message)])

    def frame(self) -> pd.DataFrame:
        """The file's cells as text, after the checks that need no column."""
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise self.fail(None, None, f"cannot read the file ({exc.strerror})") from None
        if size > MAX_FILE_BYTES:
            raise self.fail(None, None, f"{size:,} bytes; at most {MAX_FILE_BYTES:,}")
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as handle:
                table = pd.read_csv(handle, dtype=str, keep_default_na=False, na_filter=False)
        except UnicodeDecodeError as exc:
            raise self.fail(None, None, f"not UTF-8 text ({exc.reason})") from None
        except (pd.errors.EmptyDataError, pd.errors.ParserError, csv.Error) as exc:
            raise self.fail(None, None, f"not a CSV export: {str(exc).splitlines()[0]}") from None
        self.columns = [str(c) for c in table.columns]
        self._check_columns()
        if table.empty:
            raise self.fail(None, None, "no events: the file has a header and no rows")
        return table

    def _check_columns(self) -> None:
        spec, columns = self.spec, set(self.columns)
        if len(self.columns) == 1:
            guess = next((d for d in ";\t|" if d in self.columns[0]), None)
            hint = f" (separated by {guess!r}? exports are comma-separated)" if guess else ""
            raise self.fail(1, None, f"the header has a single column{hint}")
        missing = [c for c in spec.required if c not in columns]
        if spec.either and not columns & set(spec.either):
            missing.append(" or ".join(spec.either))
        if missing:
            raise self.fail(
                1, None, f"not an {spec.name} export: missing column(s) {', '.join(missing)}"
            )

    def dates(self, table: pd.DataFrame, column: str) -> np.ndarray:
        out = np.empty(len(table), dtype="datetime64[D]")
        for i, text in enumerate(table[column]):
            out[i] = np.datetime64(self._date(text.strip(), i, column), "D")
        return out

    def _date(self, text: str, i: int, column: str) -> dt.date:
        for pattern in DATE_FORMATS:
            try:
                return dt.datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        raise self.fail(i + 2, column, f"{echo(text)} is not a date (e.g. 2024-01-15)")

    def numbers(
        self, table: pd.DataFrame, column: str, low: float, high: float, whole: bool = False
    ) -> np.ndarray:
        values = pd.to_numeric(table[column].str.strip(), errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values) | (values < low) | (values > high)
        if whole:
            bad |= np.isfinite(values) & (values != np.round(values))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            kind = "a whole number" if whole else "a number"
            raise self.fail(
                i + 2, column, f"{echo(table[column].iloc[i])} is not {kind} in {low:g}..{high:g}"
            )
        return values


def read_events(path: str | Path, format_name: FormatName) -> pd.DataFrame:
    """The export at ``path`` as the normalised table (module docstring)."""
    if format_name not in FORMATS:
        raise ValueError(f"unknown format {format_name!r} (known: {', '.join(FORMATS)})")
    spec = FORMATS[format_name]
    source = EventFile(Path(path), spec)
    table = source.frame()
    dates = source.dates(table, spec.date)
    single = np.ones(len(table), dtype=bool)
    if spec.end_date:
        single = source.dates(table, spec.end_date) == dates
    return pd.DataFrame(
        {
            "row": np.arange(2, len(table) + 2),
            "event_id": table[spec.event_id].to_numpy(),
            "date": dates,
            "time_precision": source.numbers(table, spec.time_precision, 1, 5, whole=True),
            "geo_precision": source.numbers(table, spec.geo_precision, 1, 7, whole=True),
            "latitude": source.numbers(table, "latitude", -90.0, 90.0),
            "longitude": source.numbers(table, "longitude", -180.0, 180.0),
            "actors": table[list(spec.actors)].agg(" | ".join, axis=1).to_numpy(),
            "event_type": table[spec.event_type].str.strip().to_numpy(),
            "fatalities": source.numbers(table, spec.fatalities, 0, 1e7),
            "single_day": single,
        }
    )

"""The result store: one folder per run, written so that a crash never loses finished work
and a damaged or foreign file is never read as a result.

Layout of ``results/<scenario>/<run-id>/``::

    manifest.json              provenance and status (written atomically)
    commits.jsonl              one line per finished chunk: every part's size and checksum
    .lock                      the writer's lock (sim.experiment.lock)
    <table>.parquet/           one Parquet dataset per table, readable with
        part-000000-000009.parquet   pandas.read_parquet(run_dir / "<table>.parquet")

A sweep's points are run folders too, at ``<sweep>/points/p000000/`` (``point_dir``).
Every part a store writes carries the run's labels in its first columns (``sim.tables.
RUN_LABELS``): the ``scenario`` comes with the tables from where they were simulated, and the
store adds what its own folder says (``run_labels``): ``run_id``, the run folder's name (the
sweep folder's for a point, with ``point``). A resume writes into the same folder, so into
the same ``run_id``.

Each chunk of replications is written table by table, each part to a hidden temporary
name (``stage_chunk``, by the worker that simulated it when it shares the disk), renamed
into place by the run's process, then recorded in the journal (``commit_chunk``): a chunk
is done exactly when its journal line exists (``sim.experiment.journal``). Parquet readers
skip hidden files, so a partial file is never visible under a final name.

A store only ever deletes names it writes itself (staged parts, parts of its own tables
that no journal line names), and only in a folder it created (``create``) and holds the
lock of.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sim.experiment.errors import RunError
from sim.experiment.journal import (
    JOURNAL,
    PART,
    STAGED,
    Commit,
    DamagedRun,
    Part,
    append_commit,
    conflicts,
    damaged,
    digest_bytes,
    read_journal,
    rewrite_journal,
)
from sim.experiment.lock import LOCK, FolderLock

if TYPE_CHECKING:  # imported where used: a pool's parent only renames parts
    import pandas as pd
    import pyarrow as pa

COMMIT_TABLE = "kpis"
FILTERED_COLUMNS = ("replication", "day", "start_day", "depart_day")
POINTS_FOLDER = "points"
POINT_FOLDER = re.compile(r"p(\d{6,})")


class Terminated(KeyboardInterrupt):
    """The run's process was asked to stop (SIGTERM): handled like an interrupt."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def parquet_bytes(table: pa.Table) -> memoryview:
    """One table part as Parquet, with encodings chosen for speed (docs/performance.md).

    Only names, the replication number and a sweep's point are dictionary-encoded (floats
    and counts rarely repeat enough to pay for a dictionary; a dictionary array, such as
    the sectors, is written with its own dictionary, kept whole and in order), statistics
    are kept for the columns readers filter on, and pages are compressed with LZ4.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [
        f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)
    ]
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="lz4",
        use_dictionary=[*names, "replication", "point"],
        write_statistics=[c for c in FILTERED_COLUMNS if c in table.column_names],
    )
    return memoryview(sink.getvalue())  # no copy: written and hashed from Arrow's buffer


def check_own_folder(folder: Path) -> None:
    """Refuse a folder the store would write or clean that is a link, a link's child, or
    not a folder: it could lead outside the run folder, or belong to someone else."""
    linked = folder.is_symlink() or folder.parent.is_symlink()
    if linked or (folder.exists() and not folder.is_dir()):
        raise RunError(f"{folder} is not a folder of this run's own; not touching it")


def part_name(first: int, last: int) -> str:
    return f"part-{first:06d}-{last:06d}.parquet"


def point_dir(sweep_dir: Path, point: int) -> Path:
    """The run folder of a sweep's design point."""
    return sweep_dir / POINTS_FOLDER / f"p{point:06d}"


def run_labels(run_dir: Path) -> dict[str, str | int]:
    """The labels a store at ``run_dir`` gives its tables: ``run_id``, the run folder's name,
    or for a sweep's point (a ``point_dir`` with no manifest of its own) the sweep folder's
    name and the ``point``."""
    folder = Path(os.path.abspath(run_dir))
    point = POINT_FOLDER.fullmatch(folder.name)
    if point and folder.parent.name == POINTS_FOLDER and not (folder / "manifest.json").exists():
        return {"run_id": folder.parent.parent.name, "point": int(point[1])}
    return {"run_id": folder.name}


@dataclass(frozen=True)
class Staged:
    """A chunk written under hidden temporary names, waiting to be committed."""

    token: str
    parts: tuple[Part, ...]  # with their final names, sizes and checksums
    seconds: float  # spent writing them

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(p.table for p in self.parts)

    @staticmethod
    def name(first: int, last: int, token: str) -> str:
        """The hidden temporary name of a part (Parquet readers skip it)."""
        return f".{part_name(first, last)}.{token}.tmp"


class RunStore:
    """Reads and writes one run folder."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.write_seconds = 0.0  # time spent writing parts (by any process), for the manifest
        self._frozen: list[Commit] | None = None

    @property
    def manifest_path(self) -> Path:
        return self.run_dir / "manifest.json"

    @cached_property
    def labels(self) -> dict[str, str | int]:
        """What this store adds to every table it writes (``run_labels``)."""
        return run_labels(self.run_dir)

    def create(self) -> None:
        """Claim a new folder: it must not exist (two runs can never share one)."""
        try:
            self.run_dir.parent.mkdir(parents=True, exist_ok=True)
            self.run_dir.mkdir()
        except FileExistsError:
            if not self.run_dir.parent.is_dir():
                raise RunError(f"cannot create {self.run_dir}: a part of it is a file") from None
            if not self.run_dir.is_dir():
                raise RunError(f"{self.run_dir} exists and is not a folder") from None
            what = "a run" if self.manifest_path.exists() else "files this run did not write"
            raise RunError(
                f"{self.run_dir} already exists and holds {what}; a new run needs a new "
                "folder (use --resume to finish a run in it)"
            ) from None
        except OSError as exc:
            raise RunError(f"cannot create {self.run_dir}: {exc.strerror}") from None

    def lock(self) -> FolderLock:
        return FolderLock(self.run_dir)

    def remove(self) -> None:
        """Delete a folder this store created and wrote nothing lasting to (a failed start)."""
        if not self.run_dir.is_dir():
            return
        own = {"manifest.json", JOURNAL, LOCK}
        for path in self.run_dir.iterdir():
            if path.name in own or STAGED.match(path.name):
                path.unlink()
            elif path.is_dir() and path.name.endswith(".parquet"):
                self._discard_in(path, keep=set())
                with contextlib.suppress(OSError):
                    path.rmdir()
        with contextlib.suppress(OSError):  # anything else there is not ours to delete
            self.run_dir.rmdir()

    def write_chunk(self, first: int, last: int, tables: dict[str, pa.Table]) -> None:
        """Write one chunk's tables and commit them (``stage_chunk`` then ``commit_chunk``)."""
        self.commit_chunk(first, last, self.stage_chunk(first, last, tables))

    def save(self, first: int, last: int, chunk: dict[str, pa.Table] | Staged) -> None:
        """Keep a finished chunk: commit what a worker staged, or write what it sent back."""
        if isinstance(chunk, Staged):
            self.commit_chunk(first, last, chunk)
        else:
            self.write_chunk(first, last, chunk)

    def stage_chunk(self, first: int, last: int, tables: dict[str, pa.Table]) -> Staged:
        """Write one chunk's tables under hidden temporary names of its own.

        Pool workers stage their own chunks, so encoding Parquet runs in parallel; only the
        process that owns the run commits. The names are unique, so a worker left over from
        a killed run can never write over a part that a resumed run is about to commit.
        Each table is written with the store's ``labels``.
        """
        from sim.tables import with_labels

        began = time.perf_counter()
        token = uuid.uuid4().hex[:12]
        parts = []
        for table, data in tables.items():
            folder = self.run_dir / f"{table}.parquet"
            folder.mkdir(exist_ok=True)
            payload = parquet_bytes(with_labels(data, self.labels))
            with open(folder / Staged.name(first, last, token), "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            size, digest = payload.nbytes, digest_bytes(payload)
            parts.append(Part(table, part_name(first, last), size, digest))
        return Staged(token, tuple(parts), time.perf_counter() - began)

    def commit_chunk(self, first: int, last: int, staged: Staged) -> None:
        """Rename a staged chunk into place, then record it: the chunk is then complete."""
        if COMMIT_TABLE not in staged.tables:
            raise RuntimeError(f"chunk {first}-{last} staged without its '{COMMIT_TABLE}' table")
        self.write_seconds += staged.seconds
        for part in staged.parts:
            folder = self.run_dir / f"{part.table}.parquet"
            os.replace(folder / Staged.name(first, last, staged.token), folder / part.name)
        append_commit(self.run_dir, Commit(first, last, staged.parts))

    def commits(self) -> list[Commit]:
        return self._frozen if self._frozen is not None else read_journal(self.run_dir)

    def freeze(self) -> None:
        """Read every table from the commits as they are now, so tables read later agree
        with each other even while a resume adds chunks (a reader's snapshot)."""
        self._frozen = read_journal(self.run_dir)

    def completed(self) -> set[int]:
        """Replications whose chunk is committed."""
        return {rep for commit in self.commits() for rep in commit.replications}

    def problems(self) -> list[str]:
        """What is wrong with the committed parts, one line each (empty when intact)."""
        commits = self.commits()
        return [why for _, why in conflicts(commits)] + [
            f"{part.label}: {problem}" for _, part, problem in damaged(self.run_dir, commits)
        ]

    def recover(self, tables: Iterable[str]) -> list[str]:
        """Before resuming (lock held): drop chunks with a missing or damaged part, or that
        conflict with others (their replications run again), and remove the store's own
        files that no commit names, in the folders of ``tables`` (the tables this kind of
        run writes) only. Returns what it dropped."""
        commits = self.commits()
        bad = {id(commit): why for commit, why in conflicts(commits)}
        for commit, part, problem in damaged(self.run_dir, commits):
            bad.setdefault(id(commit), f"{part.label}: {problem}")
        kept = [c for c in commits if id(c) not in bad]
        names = {(p.table, p.name) for c in kept for p in c.parts}
        for table in tables:
            folder = self.run_dir / f"{table}.parquet"
            check_own_folder(folder)
            if folder.is_dir():
                self._discard_in(folder, keep={n for t, n in names if t == table})
        rewrite_journal(self.run_dir, kept)  # also drops a torn last line
        return [
            f"{reason}: replications {c.first}-{c.last} run again"
            for c in commits
            if (reason := bad.get(id(c)))
        ]

    @staticmethod
    def _discard_in(folder: Path, keep: set[str]) -> None:
        """Remove the store's own files in a table folder, except the parts in ``keep``."""
        for path in folder.iterdir():
            if STAGED.match(path.name) or (PART.match(path.name) and path.name not in keep):
                if path.is_dir() and not path.is_symlink():
                    raise RunError(f"{path} is a folder where a part belongs; remove it by hand")
                path.unlink()

    def table_names(self) -> list[str]:
        return sorted({part.table for commit in self.commits() for part in commit.parts})

    def table_parts(self, name: str) -> list[Path]:
        """The committed parts of table ``name``, checked against the journal."""
        commits = self.commits()
        parts = [p for c in commits for p in c.parts if p.table == name]
        if not parts:
            raise KeyError(f"{self.run_dir} has no table '{name}' (has: {self.table_names()})")
        problems = [why for _, why in conflicts(commits)]
        problems += [f"{p.label}: {why}" for p in parts if (why := p.problem(self.run_dir))]
        if problems:
            raise DamagedRun(
                f"{self.run_dir} is damaged ({len(problems)} problem(s), first: {problems[0]}); "
                "'withdrawal-sim verify' lists them, --resume runs their replications again"
            )
        return [p.path(self.run_dir) for p in sorted(parts, key=lambda p: p.name)]

    def read_arrow(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """The committed parts of table ``name`` (``columns`` only, if given), checked."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        # part by part: pyarrow's dataset layer costs up to a second to import, cold
        parts = [pq.ParquetFile(path).read(columns=columns) for path in self.table_parts(name)]
        return pa.concat_tables(parts)

    def read_table(self, name: str) -> pd.DataFrame:
        """The committed parts of table ``name`` as a DataFrame sorted by replication: the
        run's own rows, without its labels (the same in every row; ``read_arrow`` keeps
        them)."""
        from sim.tables import DATE, RUN_LABELS, TABLES

        frame = self.read_arrow(name).to_pandas().drop(columns=list(RUN_LABELS), errors="ignore")
        # dates are timestamp[ms] in the files, so pandas, pyarrow and DuckDB read one unit;
        # parts written before that (timestamp[s] in memory, ms in Parquet) read the same
        for column, dtype in TABLES.get(name, {}).items():
            if dtype == DATE and column in frame:
                frame[column] = frame[column].astype(DATE)
        order = [c for c in ("replication", "day", "incident", "lift") if c in frame.columns]
        return frame.sort_values(order, kind="stable").reset_index(drop=True) if order else frame

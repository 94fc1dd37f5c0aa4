"""The result store: one folder per run, written so that a crash never loses finished work.

Layout of ``results/<scenario>/<run-id>/``::

    manifest.json              provenance and status (written atomically)
    <table>.parquet/           one Parquet dataset per table, readable with
        part-000000-000009.parquet   pandas.read_parquet(run_dir / "<table>.parquet")

Each chunk of replications is written table by table, each part to a hidden temporary
name (``stage_chunk``, by the worker that simulated it when it shares the disk), then renamed
into place by the run's process (``commit_chunk``); ``kpis`` goes last, so a chunk counts as
done exactly when its ``kpis`` part exists. Parquet readers skip hidden files, so a partial
file is never visible under a final name. Resuming deletes the parts of unfinished chunks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.experiment.provenance import now_iso

if TYPE_CHECKING:  # imported where used: a pool's parent only renames parts
    import pandas as pd
    import pyarrow as pa

COMMIT_TABLE = "kpis"
FILTERED_COLUMNS = ("replication", "day", "start_day", "depart_day")
_PART = re.compile(r"^part-(\d{6})-(\d{6})\.parquet$")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(payload, indent=2, default=str) + "\n").encode())


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write one table part, with encodings chosen for speed (docs/performance.md).

    Only names and the replication number are dictionary-encoded (floats and counts rarely
    repeat enough to pay for a dictionary), statistics are kept for the columns readers
    filter on, and pages are compressed with LZ4.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [f.name for f in table.schema if pa.types.is_string(f.type)]
    pq.write_table(
        table,
        path,
        compression="lz4",
        use_dictionary=[*names, "replication"],
        write_statistics=[c for c in FILTERED_COLUMNS if c in table.column_names],
    )


def part_name(first: int, last: int) -> str:
    return f"part-{first:06d}-{last:06d}.parquet"


@dataclass(frozen=True)
class Staged:
    """A chunk written under hidden temporary names, waiting to be committed."""

    token: str
    tables: tuple[str, ...]
    seconds: float  # spent writing them

    @staticmethod
    def name(first: int, last: int, token: str) -> str:
        """The hidden temporary name of a part (Parquet readers skip it)."""
        return f".{part_name(first, last)}.{token}.tmp"


class RunStore:
    """Reads and writes one run folder."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.write_seconds = 0.0  # time spent writing parts (by any process), for the manifest

    @property
    def manifest_path(self) -> Path:
        return self.run_dir / "manifest.json"

    def read_manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest_path.read_text())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.manifest_path, manifest)

    @contextlib.contextmanager
    def recording_status(self, manifest: dict[str, Any]):
        """Mark the manifest 'interrupted' or 'failed' (and write it) if the body raises."""
        try:
            yield
        except KeyboardInterrupt:
            manifest.update(status="interrupted", finished_at=now_iso())
            self.write_manifest(manifest)
            raise
        except BaseException:
            manifest.update(status="failed", finished_at=now_iso())
            self.write_manifest(manifest)
            raise

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
        """
        began = time.perf_counter()
        token = uuid.uuid4().hex[:12]
        for table, data in tables.items():
            folder = self.run_dir / f"{table}.parquet"
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / Staged.name(first, last, token)
            write_parquet(data, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        return Staged(token, tuple(tables), time.perf_counter() - began)

    def commit_chunk(self, first: int, last: int, staged: Staged) -> None:
        """Rename a staged chunk into place, ``kpis`` last: the chunk is then complete."""
        if COMMIT_TABLE not in staged.tables:
            raise RuntimeError(f"chunk {first}-{last} staged without its '{COMMIT_TABLE}' table")
        self.write_seconds += staged.seconds
        name = part_name(first, last)
        for table in sorted(staged.tables, key=lambda t: t == COMMIT_TABLE):
            folder = self.run_dir / f"{table}.parquet"
            os.replace(folder / Staged.name(first, last, staged.token), folder / name)

    def completed(self) -> set[int]:
        """Replications whose chunk is complete."""
        done: set[int] = set()
        folder = self.run_dir / f"{COMMIT_TABLE}.parquet"
        if folder.is_dir():
            for path in folder.iterdir():
                match = _PART.match(path.name)
                if match:
                    done.update(range(int(match[1]), int(match[2]) + 1))
        return done

    def discard_unfinished(self) -> None:
        """Remove temporary files and parts of chunks that never committed."""
        committed = {
            p.name for p in (self.run_dir / f"{COMMIT_TABLE}.parquet").glob("part-*.parquet")
        }
        for folder in self.run_dir.glob("*.parquet"):
            for path in folder.iterdir():
                if path.name.endswith(".tmp") or path.name not in committed:
                    path.unlink()

    def table_names(self) -> list[str]:
        return sorted(p.name.removesuffix(".parquet") for p in self.run_dir.glob("*.parquet"))

    def read_table(self, name: str) -> pd.DataFrame:
        folder = self.run_dir / f"{name}.parquet"
        if not folder.exists():
            raise KeyError(f"{self.run_dir} has no table '{name}' (has: {self.table_names()})")
        import pandas as pd

        from sim.tables import DATE, TABLES

        frame = pd.read_parquet(folder)
        # Parquet keeps timestamps in milliseconds at the coarsest; the tables use seconds
        for column, dtype in TABLES.get(name, {}).items():
            if dtype == DATE and column in frame:
                frame[column] = frame[column].astype(DATE)
        order = [c for c in ("replication", "day", "incident", "lift") if c in frame.columns]
        return frame.sort_values(order, kind="stable").reset_index(drop=True) if order else frame

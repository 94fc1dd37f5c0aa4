"""The commit journal of a result store: which parts are finished, and what their bytes are.

A chunk of replications counts as finished exactly when its line is in ``commits.jsonl``:
the line lists every table's part with its size and BLAKE2b digest, and is appended (and
fsynced) only after every part was renamed into place. So:

- a crash before the line leaves parts that no line names: resuming removes them;
- a part deleted, truncated or with a flipped byte no longer matches its line: loading
  refuses it, ``withdrawal-sim verify`` names it, and resuming runs its replications again;
- a torn last line (killed while appending) names nothing and is dropped.

Only the process holding the run folder's lock (``sim.experiment.lock``) writes the journal.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

JOURNAL = "commits.jsonl"
PART = re.compile(r"^part-(\d{6})-(\d{6})\.parquet$")
STAGED = re.compile(r"^\.part-(\d{6})-(\d{6})\.parquet\.[0-9a-f]{12}\.tmp$")
_READ_BLOCK = 1 << 20


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def digest_file(path: Path) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK):
            hasher.update(block)
    return hasher.hexdigest()


@dataclass(frozen=True)
class Part:
    """One committed file: the table it belongs to, its size and digest."""

    table: str
    name: str
    size: int
    blake2b: str

    def path(self, root: Path) -> Path:
        return root / f"{self.table}.parquet" / self.name

    def problem(self, root: Path) -> str | None:
        """What is wrong with this part on disk, or None when it is intact."""
        path = self.path(root)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return "missing"
        if size != self.size:
            return f"size {size} bytes, committed {self.size}"
        if digest_file(path) != self.blake2b:
            return "contents changed since it was committed (checksum mismatch)"
        return None


@dataclass(frozen=True)
class Commit:
    """One chunk: replications ``first`` to ``last`` and the part of every table."""

    first: int
    last: int
    parts: tuple[Part, ...]

    @property
    def replications(self) -> range:
        return range(self.first, self.last + 1)

    def to_json(self) -> str:
        parts = {
            p.table: {"name": p.name, "size": p.size, "blake2b": p.blake2b} for p in self.parts
        }
        return json.dumps({"first": self.first, "last": self.last, "parts": parts})

    @staticmethod
    def from_json(line: str) -> Commit:
        record = json.loads(line)
        first, last = int(record["first"]), int(record["last"])
        parts = tuple(
            Part(str(table), str(p["name"]), int(p["size"]), str(p["blake2b"]))
            for table, p in record["parts"].items()
        )
        for part in parts:
            match = PART.match(part.name)
            if not match or (int(match[1]), int(match[2])) != (first, last):
                raise ValueError(f"part name {part.name!r} does not match {first}-{last}")
        if not 0 <= first <= last:
            raise ValueError(f"bad replication range {first}-{last}")
        return Commit(first, last, parts)


class JournalError(ValueError):
    """A journal line that is not the last and cannot be read: the folder was tampered with."""


def read_journal(root: Path) -> list[Commit]:
    """Every commit in ``root``'s journal; a torn last line is ignored."""
    path = root / JOURNAL
    if not path.is_file():
        return []
    lines = path.read_bytes().split(b"\n")
    commits = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            commits.append(Commit.from_json(line.decode()))
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            if number == len(lines):  # no newline after it: a write cut short
                break
            raise JournalError(f"{path}: line {number} cannot be read ({exc})") from None
    return commits


def append_commit(root: Path, commit: Commit) -> None:
    """Append one commit line and make it durable."""
    with open(root / JOURNAL, "ab") as handle:
        handle.write(commit.to_json().encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def rewrite_journal(root: Path, commits: Iterable[Commit]) -> None:
    """Replace the journal (atomically) by ``commits``: used to drop damaged chunks."""
    tmp = root / f".{JOURNAL}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(b"".join(c.to_json().encode() + b"\n" for c in commits))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / JOURNAL)


def damaged(root: Path, commits: Iterable[Commit]) -> Iterator[tuple[Commit, Part, str]]:
    """Every committed part that is missing or differs from what was committed."""
    for commit in commits:
        for part in commit.parts:
            problem = part.problem(root)
            if problem is not None:
                yield commit, part, problem

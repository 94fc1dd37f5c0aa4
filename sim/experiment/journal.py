"""The commit journal of a result store: which parts are finished, and what their bytes are.

A chunk of replications counts as finished exactly when its line is in ``commits.jsonl``:
the line lists every table's part with its size and BLAKE2b digest, and is appended (and
fsynced) only after every part was renamed into place. So:

- a crash before the line leaves parts that no line names: resuming removes them;
- a part deleted, truncated or with a flipped byte no longer matches its line: loading
  refuses it, ``withdrawal-sim verify`` names it, and resuming runs its replications again;
- a torn last line (killed while appending) names nothing and is dropped.

Only the process holding the run folder's lock (``sim.experiment.lock``) writes the journal.
A folder may come from someone else, so the journal is read as untrusted input: bounded in
size, table names that are identifiers, ranges within the replication limit, and never a
link; parts are checked without following links or reading anything but regular files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sim.config.limits import MAX_REPLICATIONS

JOURNAL = "commits.jsonl"
MAX_JOURNAL_BYTES = 256 << 20  # ~200,000 chunks of eight tables; a real run has far fewer
MAX_LINE_BYTES = 64 << 10
TABLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PART = re.compile(r"^part-(\d{6})-(\d{6})\.parquet$")
STAGED = re.compile(r"^\.part-(\d{6})-(\d{6})\.parquet\.[0-9a-f]{12}\.tmp$")
_READ_BLOCK = 1 << 20


def digest_bytes(data: bytes | memoryview) -> str:
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

    @property
    def label(self) -> str:
        """How problems name the part: ``<table>.parquet/<part>``."""
        return f"{self.table}.parquet/{self.name}"

    def problem(self, root: Path) -> str | None:
        """What is wrong with this part on disk, or None when it is intact. Never follows a
        link and reads nothing but a regular file (a link to /dev/zero must not hang us)."""
        path = self.path(root)
        try:
            info = path.parent.lstat()
            if not stat.S_ISDIR(info.st_mode):
                return f"{path.parent.name} is not a folder"
            info = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return "missing"
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size != self.size:
            return f"size {info.st_size} bytes, committed {self.size}"
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
        if not 0 <= first <= last < MAX_REPLICATIONS:
            raise ValueError(f"bad replication range {first}-{last}")
        parts = tuple(
            Part(str(table), str(p["name"]), int(p["size"]), str(p["blake2b"]))
            for table, p in record["parts"].items()
        )
        for part in parts:
            if not TABLE.match(part.table):
                raise ValueError(f"table name {part.table[:80]!r} is not an identifier")
            match = PART.match(part.name)
            if not match or (int(match[1]), int(match[2])) != (first, last):
                raise ValueError(f"part name {part.name[:80]!r} does not match {first}-{last}")
        return Commit(first, last, parts)


class DamagedRun(RuntimeError):
    """Committed results that are missing or changed on disk."""


class JournalError(DamagedRun):
    """A journal that cannot be read (a bad line before the last, a link, a huge file)."""


def read_journal(root: Path) -> list[Commit]:
    """Every commit in ``root``'s journal; a torn last line is ignored."""
    path = root / JOURNAL
    try:
        info = path.lstat()
    except FileNotFoundError:
        return []
    if not stat.S_ISREG(info.st_mode):
        raise JournalError(f"{path}: not a regular file")
    if info.st_size > MAX_JOURNAL_BYTES:
        raise JournalError(f"{path}: larger than {MAX_JOURNAL_BYTES >> 20} MiB")
    commits = []
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")  # bounded above
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            if len(line) > MAX_LINE_BYTES:
                raise ValueError("line too long")
            commits.append(Commit.from_json(line.decode()))
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            if number == len(lines):  # no newline after it: a write cut short
                break
            raise JournalError(f"{path}: line {number} cannot be read ({exc})") from None
    return commits


def conflicts(commits: list[Commit]) -> Iterator[tuple[Commit, str]]:
    """Commits that cannot stand beside the earlier ones: replications committed twice, or a
    table the others have missing (a journal edited by hand, or by someone else)."""
    tables = {part.table for commit in commits for part in commit.parts}
    seen: set[int] = set()
    for commit in commits:
        missing = tables - {part.table for part in commit.parts}
        if missing:
            yield commit, f"replications {commit.first}-{commit.last} lack {sorted(missing)}"
        elif seen.intersection(commit.replications):
            yield commit, f"replications {commit.first}-{commit.last} are committed twice"
        else:
            seen.update(commit.replications)


def append_commit(root: Path, commit: Commit) -> None:
    """Append one commit line and make it durable (never through a link)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
    with os.fdopen(os.open(root / JOURNAL, flags, 0o644), "ab") as handle:
        handle.write(commit.to_json().encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def rewrite_journal(root: Path, commits: Iterable[Commit]) -> None:
    """Replace the journal (atomically) by ``commits``: used to drop damaged chunks."""
    tmp = root / f".{JOURNAL}.{uuid.uuid4().hex[:12]}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW  # a new file, never a link
    try:
        with os.fdopen(os.open(tmp, flags, 0o644), "wb") as handle:
            handle.write(b"".join(c.to_json().encode() + b"\n" for c in commits))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, root / JOURNAL)
    finally:
        tmp.unlink(missing_ok=True)


def damaged(root: Path, commits: Iterable[Commit]) -> Iterator[tuple[Commit, Part, str]]:
    """Every committed part that is missing or differs from what was committed."""
    for commit in commits:
        for part in commit.parts:
            problem = part.problem(root)
            if problem is not None:
                yield commit, part, problem

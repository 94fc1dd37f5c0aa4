"""What a run records about itself: the code that ran, package versions, the time.

``code_identity`` names the code by what it *is*, not by a version string that nobody
bumps: a hash of the package's own source files, plus the git commit of the checkout the
package was imported from when there is one. A resume compares the hash with the run's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

PACKAGES = ("withdrawal-sim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "scipy")
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


@cache
def source_hash(package: Path = PACKAGE_DIR) -> str:
    """SHA-256 over the package's Python files (relative names and contents, in order)."""
    hasher = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        hasher.update(path.relative_to(package).as_posix().encode() + b"\0")
        hasher.update(path.read_bytes() + b"\0")
    return hasher.hexdigest()


def code_identity() -> dict[str, str | None]:
    """The running code: its source hash and the commit of the checkout it came from."""
    return {"source_hash": source_hash(), "git_commit": git_commit(PACKAGE_DIR)}


def git_commit(where: Path) -> str | None:
    """The commit of the repository that tracks ``where``, with ``+dirty`` if anything
    differs from it, untracked files included (they can be code that ran). None when
    ``where`` is not tracked (an installed copy inside some other repository's tree)."""
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "."],
            cwd=where,
            capture_output=True,
            timeout=5,
        )
        if tracked.returncode != 0:
            return None
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

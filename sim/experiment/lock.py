"""One writer per result folder: an exclusive OS lock held for a whole run or resume.

The lock is ``fcntl.flock`` on ``<folder>/.lock``: the kernel releases it when the holder
exits or is killed, so a crashed run never leaves a stale lock, and a second writer (another
run with the same ``--out``, a second ``--resume``) is refused at once with the holder's pid,
host and start time, which the holder writes into the lock file.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import stat
import time
from pathlib import Path
from types import TracebackType

from sim.experiment.errors import RunError
from sim.experiment.provenance import now_iso

LOCK = ".lock"
RETRIES = 10


class FolderInUse(RunError):
    """Another process is writing this folder."""


class FolderLock:
    """``with FolderLock(folder):`` holds the folder's writer lock for the block."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.folder / LOCK

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:  # a link, a folder
            raise RunError(f"cannot lock {self.folder}: {self.path.name} {exc.strerror}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)  # a FIFO, or a hard link to someone's file: never truncate it
            raise RunError(f"cannot lock {self.folder}: {self.path.name} is not a file of its own")
        for attempt in range(RETRIES):  # a reader's brief probe (is_locked) is not a holder
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == RETRIES - 1:
                    os.close(fd)
                    raise FolderInUse(f"{self.folder} is in use by {holder(self.folder)}") from None
                time.sleep(0.01)
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": now_iso()}
        os.write(fd, json.dumps(info).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def holder(folder: Path) -> str:
    """Who holds ``folder``'s lock, as the holder wrote it (or 'another process')."""
    try:
        path = Path(folder) / LOCK
        if path.is_symlink() or not path.is_file():
            return "another process"
        with open(path, "rb") as handle:
            info = json.loads(handle.read(1000))
        return (
            f"pid {int(info['pid'])} on {str(info['host'])[:100]} since {str(info['since'])[:40]}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def is_locked(folder: Path) -> bool:
    """Whether a process holds ``folder``'s lock now (checked without taking it for long)."""
    path = Path(folder) / LOCK
    if path.is_symlink() or not path.is_file():
        return False
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False

"""Which files a scenario may name, and how their paths are shown in messages.

``extends:`` follows only relative paths to YAML files, so a scenario cannot make the tool
read (and quote) any file of the system; every refusal is a problem at the ``extends`` key.
"""

from __future__ import annotations

import stat
from pathlib import Path

from sim.config.errors import Position, clip
from sim.config.schema.common import YAML_SUFFIXES
from sim.config.yaml_bounds import refuse

EXTENDS = ("extends",)


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, as typed otherwise."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # elsewhere, or a loop of symbolic links
        return str(path)


def not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a scenario file ("not found", ...), or ``None``."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "not found"
    except OSError as exc:  # a loop of symbolic links, a name too long
        return f"cannot be opened ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


def extended(folder: Path, parent: str, at: Position) -> Path:
    """The file that ``extends: parent`` names, from ``folder``, or a refusal at ``at``."""
    name = clip(parent, 80)
    if not parent.strip() or "\0" in parent:
        raise refuse(at, EXTENDS, "an empty path, or one with a NUL character")
    if Path(parent).is_absolute():
        message = f"'{name}' is an absolute path; give a path relative to this file"
        raise refuse(at, EXTENDS, message)
    if Path(parent).suffix.lower() not in YAML_SUFFIXES:
        raise refuse(at, EXTENDS, f"'{name}' is not a .yaml or .yml file")
    try:
        target = (folder / parent).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        raise refuse(at, EXTENDS, f"cannot resolve '{name}' (a loop of symbolic links?)") from None
    if target.suffix.lower() not in YAML_SUFFIXES:
        raise refuse(at, EXTENDS, f"'{name}' leads to {shown(target)}, not a .yaml or .yml file")
    return target

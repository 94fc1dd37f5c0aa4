"""Reading a folder's ``manifest.json`` as untrusted input.

Run folders travel: a colleague's results, a download. Everything that reads a manifest
goes through ``read_manifest``, which refuses what this version cannot have written (no
manifest, bad JSON, an unknown ``manifest_version``, a run where a sweep was expected,
missing keys, a scenario name that is not an identifier and so could name a path) with one
line that says what the folder is and what to do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from sim.experiment.executors import RunError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
MAX_MANIFEST_BYTES = 16 << 20
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
REQUIRED = {
    "run": {
        "scenario": str,
        "config": dict,
        "config_hash": str,
        "root_seed": int,
        "replications": int,
        "status": str,
    },
    "sweep": {"sweep": dict, "sweep_hash": str, "root_seed": int, "replications": int},
}
Kind = Literal["run", "sweep"]


def manifest_kind(manifest: dict[str, Any]) -> Kind:
    return "sweep" if manifest.get("kind") == "sweep" else "run"


def read_manifest(folder: str | Path, kind: Kind | None = "run") -> dict[str, Any]:
    """The validated manifest of ``folder`` (a run, a sweep, or either when ``kind=None``)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise RunError(f"{folder} is not a folder")
    if not path.is_file():
        raise RunError(f"{folder} is not a run or sweep folder (no {MANIFEST})")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise RunError(f"{path}: larger than {MAX_MANIFEST_BYTES >> 20} MiB; not a manifest")
    try:
        manifest = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise RunError(f"{path}: expected a JSON object")
    version = manifest.get("manifest_version")
    if version != MANIFEST_VERSION:
        raise RunError(
            f"{path}: manifest_version {str(version)[:20]!s} is not one this withdrawal-sim "
            f"reads ({MANIFEST_VERSION}); rerun the scenario with this version"
        )
    found = manifest_kind(manifest)
    if kind is not None and found != kind:
        hint = "read it with sim.load_sweep_results" if found == "sweep" else "pass a sweep folder"
        raise RunError(f"{folder} is a {found} folder, not a {kind} folder; {hint}")
    for key, expected in REQUIRED[found].items():
        value = manifest.get(key)
        if not isinstance(value, expected) or isinstance(value, bool):
            raise RunError(f"{path}: '{key}' is missing or not a {expected.__name__}")
    if found == "run" and not NAME.match(manifest["scenario"]):
        raise RunError(f"{path}: scenario name {manifest['scenario'][:80]!r} is not an identifier")
    return manifest

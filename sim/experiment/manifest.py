"""Reading a folder's ``manifest.json`` as untrusted input.

Run folders travel: a colleague's results, a download. Everything that reads a manifest
goes through ``read_manifest``, which refuses what this version cannot have written (no
manifest, bad JSON, an unknown ``manifest_version``, a run where a sweep was expected,
missing keys, a scenario name that is not an identifier and so could name a path) with one
line that says what the folder is and what to do.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any, Literal

from sim.config.limits import MAX_REPLICATIONS, MAX_SEED, MAX_SWEEP_POINTS
from sim.experiment.errors import RunError
from sim.experiment.provenance import code_identity, now_iso, source_hash, versions

MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
MAX_MANIFEST_BYTES = 16 << 20
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
COMMON = {
    "root_seed": int,
    "replications": int,
    "status": str,
    "code": dict,
    "sessions": list,
}
REQUIRED = {
    "run": {"scenario": str, "config": dict, "config_hash": str},
    "sweep": {"sweep": dict, "sweep_hash": str, "points": int},
}
BOUNDS = {
    "root_seed": (0, MAX_SEED),
    "replications": (1, MAX_REPLICATIONS),
    "points": (1, MAX_SWEEP_POINTS),
}
OPTIONAL = {
    "target_ci": dict,
    "max_replications": int,
    "elapsed_seconds": float | int,
    "write_seconds": float | int,
    "versions": dict,
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
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RunError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
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
    for key, expected in {**COMMON, **REQUIRED[found]}.items():
        value = manifest.get(key)
        if not isinstance(value, expected) or isinstance(value, bool):
            raise RunError(f"{path}: '{key}' is missing or not a {expected.__name__}")
    for key, (low, high) in BOUNDS.items():
        if key in manifest and not (
            isinstance(manifest[key], int) and low <= manifest[key] <= high
        ):
            raise RunError(f"{path}: '{key}' must be a whole number from {low} to {high:,}")
    for key, expected in OPTIONAL.items():
        if manifest.get(key) is not None and not isinstance(manifest[key], expected):
            raise RunError(f"{path}: '{key}' is not a {expected.__name__}")
    if not all(isinstance(session, dict) for session in manifest["sessions"]):
        raise RunError(f"{path}: 'sessions' must be a list of objects")
    if found == "run" and not NAME.match(manifest["scenario"]):
        raise RunError(f"{path}: scenario name {manifest['scenario'][:80]!r} is not an identifier")
    return manifest


def new_manifest(**fields: Any) -> dict[str, Any]:
    """A new run's or sweep's manifest: ``fields`` plus the version, the code that runs and
    the package versions; status 'running', no session yet."""
    code = code_identity()
    return {
        "manifest_version": MANIFEST_VERSION,
        **fields,
        "code": code,
        "git_commit": code["git_commit"],
        "versions": versions(),
        "status": "running",
        "sessions": [],
    }


def check_resumable(
    manifest: dict, folder: Path, replications: int | None, allow_code_change: bool
) -> None:
    """Refuse to resume unless the target asked for (if any) is the manifest's own and the
    code is the running code (or ``allow_code_change``, then recorded in ``manifest``). The
    caller checks first what identifies the experiment (its hash, its seed)."""
    kind = manifest_kind(manifest)
    if replications is not None and replications != manifest["replications"]:
        each = " per point" if kind == "sweep" else ""
        raise RunError(
            f"cannot resume {folder}: its target is {manifest['replications']} replications"
            f"{each}, not {replications} (leave out -n to finish it)"
        )
    ran, now = manifest["code"].get("source_hash"), source_hash()
    changed = _changed_versions(manifest.get("versions") or {})
    if changed and not allow_code_change:
        raise RunError(
            f"cannot resume {folder}: packages changed since it started ({changed}); start a "
            f"new {kind}, or pass --allow-code-change to mix results of both versions"
        )
    if changed:
        manifest.setdefault("code_changes", []).append({"at": now_iso(), "packages": changed})
        manifest["versions"] = versions()
    if ran != now:
        if not allow_code_change:
            raise RunError(
                f"cannot resume {folder}: the model code changed since it started (source hash "
                f"{str(ran)[:12]} vs {now[:12]}); start a new {kind}, or pass "
                "--allow-code-change to mix results of both versions"
            )
        manifest.setdefault("code_changes", []).append({"at": now_iso(), "from": ran, "to": now})
        manifest["code"] = code_identity()


def _changed_versions(recorded: dict) -> str:
    """The recorded package versions that differ from those installed, as 'name a -> b'."""
    installed = versions()
    return ", ".join(
        f"{name} {str(recorded[name])[:40]} -> {installed[name]}"
        for name in sorted(installed)
        if name in recorded and recorded[name] != installed[name]
    )


def new_session(executor: str, jobs: int, scheduler: str | None) -> dict[str, Any]:
    """What a start or resume records about where and with which code it runs."""
    return {
        "executor": executor,
        "jobs": jobs,
        "scheduler": scheduler,
        **code_identity(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def open_session(manifest: dict, session: dict, *, fresh: bool, repaired: list[str]) -> None:
    """Record that a start or resume begins: the session, and the status 'running'."""
    session.update(kind="start" if fresh else "resume", started_at=now_iso(), repaired=repaired)
    manifest["sessions"].append(session)
    manifest.update(
        status="running",
        started_at=manifest.get("started_at") or now_iso(),
        **{key: session[key] for key in ("executor", "jobs", "scheduler")},  # the latest
    )
    manifest.pop("finished_at", None)


def close_session(manifest: dict, session: dict, seconds: float) -> None:
    """Record that a session ended with every target reached: status 'complete'."""
    session.update(finished_at=now_iso(), seconds=round(seconds, 3))
    manifest.update(
        status="complete",
        finished_at=now_iso(),
        elapsed_seconds=round(manifest.get("elapsed_seconds", 0.0) + seconds, 3),
    )

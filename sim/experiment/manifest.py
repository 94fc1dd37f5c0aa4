"""A folder's ``manifest.json``: typed (pydantic), versioned, and read as untrusted input.

Run folders travel: a colleague's results, a download. Everything that reads a manifest
goes through ``read_manifest``, which refuses what this version cannot have written (no
manifest, bad JSON, an unknown ``manifest_version``, a run where a sweep was expected,
missing keys or keys of the wrong type, counts out of bounds, a scenario name that is not an
identifier and so could name a path) with one line that says what the folder is and what
to do, and returns a ``RunManifest`` or ``SweepManifest`` that readers use by attribute.

The JSON layout is that of version 2 (a run's manifest has no ``kind`` key, a sweep's says
``"kind": "sweep"``): folders written before these classes existed load as they are, and
keys they have that these classes do not know (``figures``) are ignored.
"""

from __future__ import annotations

import json
import os
import socket
from abc import abstractmethod
from pathlib import Path
from types import UnionType
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Literal,
    Self,
    Union,
    get_args,
    get_origin,
    overload,
)

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.config.limits import MAX_JOBS, MAX_REPLICATIONS, MAX_SEED, MAX_SWEEP_POINTS
from sim.experiment import provenance
from sim.experiment.errors import RunError
from sim.experiment.provenance import code_identity, now_iso
from sim.experiment.store import atomic_write_bytes

if TYPE_CHECKING:
    from sim.experiment.executors import Executor

MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
MAX_MANIFEST_BYTES = 16 << 20
NAME = r"^[a-z][a-z0-9_]{0,63}$"
Kind = Literal["run", "sweep"]
Status = Literal["running", "complete", "interrupted", "terminated", "failed"]
Replications = Annotated[int, Field(ge=1, le=MAX_REPLICATIONS)]
BOUNDS = {  # the keys whose bounds a refusal names
    "root_seed": (0, MAX_SEED),
    "replications": (1, MAX_REPLICATIONS),
    "max_replications": (1, MAX_REPLICATIONS),
    "points": (1, MAX_SWEEP_POINTS),
    "jobs": (1, MAX_JOBS),
}


class _Record(BaseModel):
    """Strict types (JSON has no implicit conversions to undo); unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


class Code(_Record):
    """The code that ran: ``provenance.code_identity``."""

    source_hash: str | None = None
    git_commit: str | None = None


class CodeChange(_Record):
    """A resume that accepted other code or packages (``--allow-code-change``)."""

    at: str
    packages: str | None = None  # 'name a -> b, ...' when packages changed
    from_: str | None = Field(None, alias="from")  # source hashes when the code changed
    to: str | None = None


class Session(_Record):
    """One start or resume: where and with which code it ran, what it ran and repaired."""

    kind: Literal["start", "resume"]
    executor: str
    jobs: Annotated[int, Field(ge=1, le=MAX_JOBS)]
    scheduler: str | None = None
    source_hash: str | None = None
    git_commit: str | None = None
    host: str | None = None  # not recorded by sweeps before 2026-12
    pid: int | None = None
    started_at: str
    found: Status | None = None  # a resume: the status it found
    repaired: list[str] = []
    finished_at: str | None = None
    seconds: float | None = None
    replications_run: int | None = None

    @classmethod
    def begin(cls, executor: Executor, found: Status | None) -> Session:
        """A session starting now, in this process (``found``: None for a start)."""
        return cls(
            kind="start" if found is None else "resume",
            executor=executor.kind,
            jobs=executor.jobs,
            scheduler=executor.scheduler,
            **code_identity(),
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=now_iso(),
            found=found,
        )

    @property
    def changed_nothing(self) -> bool:
        """A resume of a complete run that found nothing to run or repair."""
        return self.found == "complete" and not self.replications_run and not self.repaired


class Manifest(_Record):
    """What runs and sweeps both record: the target, the code, the sessions, the status."""

    noun: ClassVar[Kind]
    subject: ClassVar[str]  # what a changed digest means, for the refusal to resume

    manifest_version: int = MANIFEST_VERSION
    root_seed: Annotated[int, Field(ge=0, le=MAX_SEED)]
    replications: Replications  # the target (per point for a sweep)
    status: Status
    code: Code
    git_commit: str | None = None
    versions: dict[str, str] | None = None
    sessions: list[Session]
    started_at: str | None = None
    finished_at: str | None = None
    executor: str | None = None  # those of the latest session
    jobs: Annotated[int, Field(ge=1, le=MAX_JOBS)] | None = None
    scheduler: str | None = None
    completed_replications: int | None = None  # committed (over every point, for a sweep)
    elapsed_seconds: float = 0.0  # summed over sessions
    write_seconds: float = 0.0  # spent writing parts, summed over the processes that did
    error: str | None = None
    code_changes: list[CodeChange] = []

    @property
    @abstractmethod
    def digest(self) -> str:
        """The hash that identifies what runs: a resume must find the same."""

    @classmethod
    def new(cls, **fields: Any) -> Self:
        """A new run's or sweep's manifest: ``fields``, and the code and packages running."""
        identity = code_identity()
        return cls(
            **fields,
            status="running",
            sessions=[],
            code=Code(**identity),
            git_commit=identity["git_commit"],
            versions=provenance.versions(),
        )

    def open(self, session: Session) -> None:
        """Record that ``session`` begins: status 'running', its executor on top."""
        self.sessions.append(session)
        self.status = "running"
        self.started_at = self.started_at or session.started_at
        self.executor, self.jobs, self.scheduler = session.executor, session.jobs, session.scheduler
        self.finished_at = None

    def close(self, session: Session, seconds: float, status: Status) -> None:
        """Record that the latest session ended with ``status`` after ``seconds``."""
        session.finished_at = self.finished_at = now_iso()
        session.seconds = round(seconds, 3)
        self.status = status
        self.elapsed_seconds = round(self.elapsed_seconds + seconds, 3)

    def check_code(self, folder: Path, allow_code_change: bool) -> None:
        """Refuse to resume with other code or packages than those that started it, unless
        ``allow_code_change`` (then recorded in ``code_changes``)."""
        kind, allow = self.noun, "--allow-code-change to mix results of both versions"
        changed = _changed_versions(self.versions or {})
        if changed and not allow_code_change:
            raise RunError(
                f"cannot resume {folder}: packages changed since it started ({changed}); start "
                f"a new {kind}, or pass {allow}"
            )
        if changed:
            self.code_changes.append(CodeChange(at=now_iso(), packages=changed))
            self.versions = provenance.versions()
        ran, now = self.code.source_hash, provenance.source_hash()
        if ran != now:
            if not allow_code_change:
                raise RunError(
                    f"cannot resume {folder}: the model code changed since it started (source "
                    f"hash {str(ran)[:12]} vs {now[:12]}); start a new {kind}, or pass {allow}"
                )
            self.code_changes.append(CodeChange(at=now_iso(), from_=ran, to=now))
            self.code = Code(**code_identity())

    def write(self, folder: Path) -> None:
        """Replace ``folder``'s manifest with this one, atomically (what identifies the run
        or sweep first, as version 2 has always had it)."""
        data = self.model_dump(mode="json", by_alias=True)
        first = ["manifest_version", *(k for k in data if k not in Manifest.model_fields)]
        data = {key: data[key] for key in [*first, *(k for k in data if k not in first)]}
        atomic_write_bytes(folder / MANIFEST, (json.dumps(data, indent=2) + "\n").encode())


class RunManifest(Manifest):
    """A run: one scenario, its resolved configuration, and how the run stopped."""

    noun: ClassVar[Kind] = "run"
    subject: ClassVar[str] = "the scenario"

    scenario: Annotated[str, Field(pattern=NAME)]
    description: str | None = None
    config_hash: str
    config: dict[str, Any]
    source: str | None = None  # the scenario file, if it was given as one
    overrides: list[str] = []
    target_ci: dict[str, float] | None = None
    max_replications: Replications | None = None
    stop_reason: str | None = None
    ci_halfwidths: dict[str, float] | None = None

    @property
    def digest(self) -> str:
        """The configuration's hash: a resume must find the same."""
        return self.config_hash


class SweepManifest(Manifest):
    """A sweep: the sweep file as resolved, its base scenario, the tables kept per point."""

    noun: ClassVar[Kind] = "sweep"
    subject: ClassVar[str] = "the sweep or its scenario"

    kind: Literal["sweep"] = "sweep"
    sweep: dict[str, Any]
    sweep_hash: str
    base_scenario: str | None = None
    base_config_hash: str | None = None
    overrides: list[str] = []
    points: Annotated[int, Field(ge=1, le=MAX_SWEEP_POINTS)]
    tables: list[str] = []

    @property
    def digest(self) -> str:
        """The hash of the sweep and its base scenario: a resume must find the same."""
        return self.sweep_hash


MODELS: dict[Kind, type[RunManifest] | type[SweepManifest]] = {
    "run": RunManifest,
    "sweep": SweepManifest,
}


@overload
def read_manifest(folder: str | Path, kind: Literal["run"] = "run") -> RunManifest: ...
@overload
def read_manifest(folder: str | Path, kind: Literal["sweep"]) -> SweepManifest: ...
@overload
def read_manifest(folder: str | Path, kind: None) -> RunManifest | SweepManifest: ...
def read_manifest(folder: str | Path, kind: Kind | None = "run") -> RunManifest | SweepManifest:
    """The validated manifest of ``folder`` (a run, a sweep, or either when ``kind=None``)."""
    folder = Path(folder)
    path = folder / MANIFEST
    data = _load_json(folder, path)
    version = data.get("manifest_version")
    if version != MANIFEST_VERSION:
        raise RunError(
            f"{path}: manifest_version {str(version)[:20]!s} is not one this withdrawal-sim "
            f"reads ({MANIFEST_VERSION}); rerun the scenario with this version"
        )
    found: Kind = "sweep" if data.get("kind") == "sweep" else "run"
    if kind is not None and found != kind:
        hint = "read it with sim.load_sweep_results" if found == "sweep" else "pass a sweep folder"
        raise RunError(f"{folder} is a {found} folder, not a {kind} folder; {hint}")
    model = MODELS[found]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = min((_refusal(model, error) for error in exc.errors()), key=lambda r: r[0])
        raise RunError(f"{path}: {first[1]}") from None


def _load_json(folder: Path, path: Path) -> dict[str, Any]:
    """The manifest's JSON object, read within bounds (size, nesting)."""
    if not folder.is_dir():
        raise RunError(f"{folder} is not a folder")
    if not path.is_file():
        raise RunError(f"{folder} is not a run or sweep folder (no {MANIFEST})")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise RunError(f"{path}: larger than {MAX_MANIFEST_BYTES >> 20} MiB; not a manifest")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RunError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object")
    return data


def _refusal(model: type[Manifest], error: Any) -> tuple[int, str]:
    """One validation error as (rank, message): a missing or mistyped key is said first,
    then a count out of bounds, then other keys, sessions, and the scenario name."""
    loc, kind = error["loc"], error["type"]
    key = str(loc[0])
    field = model.model_fields.get(key)
    if key in BOUNDS and kind in ("greater_than_equal", "less_than_equal"):
        low, high = BOUNDS[key]
        return 1, f"'{key}' must be a whole number from {low} to {high:,}"
    if kind == "string_pattern_mismatch" and key == "scenario":
        return 4, f"scenario name {str(error['input'])[:80]!r} is not an identifier"
    if key == "sessions" and len(loc) == 2 and kind == "model_type":
        return 3, "'sessions' must be a list of objects"
    if len(loc) == 1 and field is not None and kind != "literal_error":
        name = _type_name(field.annotation)
        if field.is_required():
            return 0, f"'{key}' is missing or not a {name}"
        return 2, f"'{key}' is not a {name}"
    where = ".".join(str(part) for part in loc)
    return 2, f"'{where}': {error['msg'][:200]}"


def _type_name(annotation: Any) -> str:
    """The JSON-ish name of a field's type, for a refusal: int, str, dict, list."""
    if get_origin(annotation) in (Union, UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    origin = get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, BaseModel):
        return "dict"
    return getattr(origin, "__name__", str(origin))


def _changed_versions(recorded: dict[str, str]) -> str:
    """The recorded package versions that differ from those installed, as 'name a -> b'."""
    installed = provenance.versions()
    return ", ".join(
        f"{name} {recorded[name][:40]} -> {installed[name]}"
        for name in sorted(installed)
        if name in recorded and recorded[name] != installed[name]
    )

"""``withdrawal-sim verify``: is a run or sweep folder whole, and what is wrong if not.

It reads what a run committed (``commits.jsonl``) and checks every part's size and
checksum, then says, one line each, what is missing or changed, what is left over from an
interrupted write, whether the run reached its target, and whether another process is
writing it now. ``--resume`` repairs what it reports: damaged parts are run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sim.experiment.journal import PART, STAGED, JournalError
from sim.experiment.lock import holder, is_locked
from sim.experiment.manifest import SweepManifest, read_manifest
from sim.experiment.provenance import source_hash
from sim.experiment.store import RunStore


@dataclass
class Verdict:
    """What ``verify`` found in one folder: problems make it fail, notes do not."""

    folder: Path
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    busy: bool = False  # another process is writing it now

    @property
    def ok(self) -> bool:
        return not self.problems and not self.busy

    @property
    def state(self) -> str:
        return "in progress" if self.busy and not self.problems else "ok" if self.ok else "damaged"


def verify(folder: str | Path) -> Verdict:
    """Check a run or sweep folder (raises ``RunError`` when it is neither)."""
    folder = Path(folder)
    manifest = read_manifest(folder, kind=None)
    verdict = Verdict(folder)
    if is_locked(folder):
        verdict.busy = True
        verdict.notes.append(f"being written now by {holder(folder)}")
    elif manifest.status != "complete":
        verdict.problems.append(
            f"status '{manifest.status}': the run stopped before its end; --resume finishes it"
        )
    if manifest.code.source_hash != source_hash():
        verdict.notes.append("written by other model code than the installed one")
    target = manifest.replications
    if isinstance(manifest, SweepManifest):
        from sim.experiment.sweep import point_dir

        stores = [RunStore(point_dir(folder, p)) for p in range(manifest.points)]
        name = str(manifest.sweep.get("name", "?"))[:80]
        label = f"sweep '{name}', {manifest.points} points"
    else:
        stores = [RunStore(folder)]
        label = f"run of '{manifest.scenario}'"
    parts = 0
    for store in stores:
        prefix = "" if store.run_dir == folder else f"{store.run_dir.relative_to(folder)}/"
        where = f"{prefix.rstrip('/')}: " if prefix else ""
        try:
            commits = store.commits()
        except JournalError as exc:
            verdict.problems.append(str(exc))
            continue
        parts += sum(len(c.parts) for c in commits)
        verdict.problems += [prefix + line for line in store.problems()]
        done = {rep for c in commits for rep in c.replications}
        if len(done) < target:
            line = f"{where}{len(done)} of {target} replications committed"
            (verdict.notes if verdict.busy else verdict.problems).append(line)
        named = {(p.table, p.name) for c in commits for p in c.parts}
        staged, uncommitted = 0, 0
        for path in store.run_dir.glob("*.parquet/*"):
            staged += bool(STAGED.match(path.name))
            table = path.parent.name.removesuffix(".parquet")
            uncommitted += bool(PART.match(path.name)) and (table, path.name) not in named
        if staged or uncommitted:
            verdict.notes.append(
                f"{where}{staged + uncommitted} file(s) of writes interrupted before their "
                "commit (this package never reads them, but pandas.read_parquet on a table "
                "folder would read the visible ones; --resume removes them)"
            )
    verdict.summary = f"{label}, {target} replications, {parts} committed parts"
    return verdict

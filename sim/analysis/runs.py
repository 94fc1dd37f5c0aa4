"""Opening run folders for ``compare`` and ``report``: every refusal is a one-line RunError.

``load_results`` refuses what is not a run folder (no manifest, a sweep, an unknown
manifest version, a config or scenario name that does not validate). What is left to check
here is what the analyses themselves need: the tables they plot, and one horizon across
runs. Runs over different clock spans would be paired date by date and replication by
replication as if they described the same period, and their KPIs (counts over the run,
final values) would differ because of the span alone, so they are refused, not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sim.experiment.errors import RunError
from sim.experiment.results import RunResults, load_results

COMPARE_TABLES = ("kpis", "posture", "daily", "incidents")
REPORT_TABLES = (*COMPARE_TABLES, "forces", "policy")


def horizon(run: RunResults) -> str:
    clock = run.scenario.clock
    return f"{clock.start_date} to {clock.end_date}"


def load_run(run_dir: str | Path, tables: Iterable[str]) -> RunResults:
    """The run in ``run_dir``, refused unless it holds every table in ``tables``."""
    run = load_results(run_dir)
    missing = [name for name in tables if name not in run.tables]
    if missing:
        raise RunError(
            f"{run_dir} holds no {', '.join(missing)} table yet "
            f"(status {run.manifest.status}); finish the run with --resume first"
        )
    return run


def load_runs(run_dirs: Sequence[str | Path], tables: Iterable[str]) -> list[RunResults]:
    """Every run in ``run_dirs``, refused unless all cover the first one's horizon."""
    tables = tuple(tables)
    runs = [load_run(d, tables) for d in run_dirs]
    first = runs[0]
    for other in runs[1:]:
        if horizon(other) != horizon(first):
            raise RunError(
                f"runs over different horizons cannot be compared: {first.run_dir} runs "
                f"{horizon(first)}, {other.run_dir} runs {horizon(other)}; rerun one with "
                "--set clock.start_date=... --set clock.end_date=..."
            )
    return runs


def check_output(
    out: Path, suffixes: tuple[str, ...], kind: str, written_here: Callable[[Path], bool]
) -> None:
    """Refuse an output of ``kind`` (a report, a brief) that does not end in one of
    ``suffixes``; that lies below a run (or sweep) folder's own level, among its tables
    (``RUN/kpis.parquet/x.pdf``: a stray file there breaks every reader of the table); or
    that would replace a file of a run folder other than a previous output of its kind
    (``written_here``). A run folder itself may hold reports and briefs."""
    if out.suffix.lower() not in suffixes:
        forms = " or ".join(f"an {s}" if s == ".html" else f"a {s}" for s in suffixes)
        raise RunError(f"--out {out}: {kind} is {forms} file")
    for folder in out.resolve().parents[1:]:
        if (folder / "manifest.json").is_file():
            raise RunError(
                f"--out {out}: inside the run folder {folder}, among its tables; write it "
                "next to them in the folder itself, or elsewhere"
            )
    if not out.exists():
        return
    if not out.is_file():
        raise RunError(f"--out {out}: exists and is not a file")
    if (out.parent / "manifest.json").is_file() and not written_here(out):
        raise RunError(
            f"--out {out}: would replace a file of the run folder {out.parent} that is not "
            f"{kind}; choose another name"
        )

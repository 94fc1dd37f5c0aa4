"""The ``withdrawal-sim`` command line: thin wrappers over the public API.

Bad input (a scenario that does not validate, a bad option) exits with code 2 and one line
per problem, never a traceback; a failure while running exits with code 1. Heavy libraries
are imported inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from functools import wraps
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.config.limits import MAX_JOBS, MAX_REPLICATIONS, MAX_SEED

if TYPE_CHECKING:
    from sim.experiment.manifest import RunManifest

STARTED = time.perf_counter()  # "in all" counts from here: the interpreter is up

EXIT_USAGE = 2
EXIT_RUNTIME = 1
SET_HELP = (
    "Override a scenario value: dotted.key=value (repeatable), e.g. run.seed=7; key*=F scales "
    "and key+=N shifts its own value (days for a date); glob steps (*) set every match."
)


def _version() -> str:
    try:
        return metadata.version("withdrawal-sim")
    except metadata.PackageNotFoundError:
        return "unknown"


def _friendly_errors(command: Callable) -> Callable:
    """Turn the library's exceptions into messages and exit codes."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        from sim.config.errors import ScenarioError, one_line
        from sim.experiment.errors import ExecutorError, RunError
        from sim.experiment.store import DamagedRun, Terminated

        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise  # a usage mistake: the group prints it (one line, exit 2)
        except ScenarioError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(EXIT_USAGE)
        except RunError as exc:
            click.echo(f"error: {one_line(str(exc))}", err=True)
            sys.exit(EXIT_USAGE)
        except Terminated:
            click.echo("terminated: finished replications are kept; rerun with --resume", err=True)
            sys.exit(143)
        except KeyboardInterrupt:
            click.echo("interrupted: finished replications are kept; rerun with --resume", err=True)
            sys.exit(130)
        except (ExecutorError, DamagedRun) as exc:
            click.echo(f"error: {one_line(str(exc))}", err=True)
            sys.exit(EXIT_RUNTIME)
        except Exception as exc:
            if os.environ.get("WITHDRAWAL_SIM_DEBUG"):
                raise
            click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            click.echo("(set WITHDRAWAL_SIM_DEBUG=1 for the traceback)", err=True)
            sys.exit(EXIT_RUNTIME)

    return wrapper


def _check_kpis(names: tuple[str, ...]) -> None:
    """Refuse KPI names that are not columns of the KPI table, with the closest one."""
    import re

    from sim.config.errors import one_line, suggestion
    from sim.tables import KPI_COLUMNS, PER_PHASE, PER_SECTOR

    for name in names:
        per_name = rf"({PER_PHASE}|{PER_SECTOR})[a-z][a-z0-9_]*"
        if name not in KPI_COLUMNS and not re.fullmatch(per_name, name):
            raise click.BadParameter(
                one_line(
                    f"'{name[:60]}' is not a KPI{suggestion(name, KPI_COLUMNS)} "
                    f"(KPIs: {', '.join(KPI_COLUMNS)}, {PER_PHASE}<phase>, "
                    f"{PER_SECTOR}<sector>)"
                ),
                param_hint="--kpi",
            )


def _parse_targets(values: tuple[str, ...]) -> dict[str, float]:
    targets = {}
    for value in values:
        name, sep, width = value.partition("=")
        try:
            targets[name.strip()] = float(width)
            if not sep or float(width) <= 0:
                raise ValueError
        except ValueError:
            raise click.BadParameter(
                f"expected KPI=HALFWIDTH with a positive number, got '{value}'",
                param_hint="--target-ci",
            ) from None
    return targets


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C stops the run, keeping finished work. Those after it are ignored while the run
    shuts its workers down and records what finished: a terminal, or ``timeout``, may send
    several, and one landing mid-shutdown left workers waiting for ever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM stops a run like Ctrl-C does: the manifest says so, finished work is kept."""
    from sim.experiment.store import Terminated

    # further SIGTERMs (``timeout`` sends one to the process and one to its group) must not
    # kill the shutdown that records what finished; SIGKILL still ends it
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


def _executor_options(command: Callable) -> Callable:
    """--executor, --jobs and --scheduler, shared by every command that runs replications:
    the command receives them as one ``Executor``, and enters it first thing, so that the
    workers start importing the model while this process imports its own modules and reads
    the input."""

    @wraps(command)
    def with_executor(*args, executor: str, jobs: int | None, scheduler: str | None, **kwargs):
        from sim.experiment.executors import Executor

        if scheduler and executor != "dask":
            raise click.UsageError("--scheduler goes with --executor dask")
        signal.signal(signal.SIGTERM, _terminated)
        signal.signal(signal.SIGINT, _interrupted)
        return command(*args, executor=Executor(executor, jobs, scheduler), **kwargs)

    options = [
        click.option(
            "--executor",
            type=click.Choice(["process", "serial", "dask"]),
            default="process",
            show_default=True,
            help="Where replications run.",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1, max=MAX_JOBS),
            help="Worker processes (default: the number of cores).",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Dask scheduler, e.g. tcp://127.0.0.1:8786 "
            "(with --executor dask; default: a local cluster).",
        ),
    ]
    for option in reversed(options):
        with_executor = option(with_executor)
    return with_executor


class _Commands(click.Group):
    """The command group. Usage mistakes (a bad option value, a missing argument) are bad
    input like any other: one line, exit 2, instead of click's usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            from sim.config.errors import one_line

            where = f" (see '{exc.ctx.command_path} --help')" if getattr(exc, "ctx", None) else ""
            click.echo(f"error: {one_line(exc.format_message())}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort as exc:
            interrupted = isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)
            click.echo("interrupted" if interrupted else "aborted", err=True)
            sys.exit(130 if interrupted else EXIT_RUNTIME)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="withdrawal-sim")
def main() -> None:
    """Simulate the coalition drawdown from Iraq and the Iraq–Syria border threat.

    \b
    Quick start:
      withdrawal-sim validate scenarios/*.yaml
      withdrawal-sim run scenarios/baseline.yaml -n 50 --seed 1
    """
    os.environ["MPLBACKEND"] = "Agg"  # the CLI only writes figure files: never a GUI backend


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1, max=MAX_REPLICATIONS),
    help="Replications to run (default: the scenario's run.replications).",
)
@click.option(
    "--seed", type=click.IntRange(min=0, max=MAX_SEED), help="Root seed (default: run.seed)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Run folder (default: results/<scenario>/<run-id>/).",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@_executor_options
@click.option(
    "--resume",
    is_flag=True,
    help="Finish an interrupted run (the latest of this scenario, or --out) with its own "
    "seed and target; damaged parts run again.",
)
@click.option(
    "--allow-code-change",
    is_flag=True,
    help="With --resume: accept model code that changed since the run started (recorded).",
)
@click.option(
    "--target-ci",
    multiple=True,
    metavar="KPI=HALFWIDTH",
    help="Add replications until the KPI's 95% CI half-width is at most HALFWIDTH (repeatable).",
)
@click.option(
    "--max-replications",
    type=click.IntRange(min=1, max=MAX_REPLICATIONS),
    help="Upper bound with --target-ci.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--no-plots", is_flag=True, help="Skip the figures.")
@_friendly_errors
def run(
    scenario,
    replications,
    seed,
    out,
    overrides,
    executor,
    resume,
    allow_code_change,
    target_ci,
    max_replications,
    quiet,
    no_plots,
) -> None:
    """Run SCENARIO and write its tables, manifest and figures.

    \b
    Example:
      withdrawal-sim run scenarios/baseline.yaml -n 100 --seed 1 --jobs 2
      withdrawal-sim run scenarios/baseline.yaml --set forces.lift.airlift.lifts_per_day=2
    """
    with executor:  # first: the workers import the model while this process reads
        from sim.config.overrides import SetOptions
        from sim.experiment.runner import run_experiment

        run_dir = run_experiment(
            scenario,
            replications,
            seed,
            executor=executor,
            out=out,
            overrides=SetOptions(overrides),
            resume=resume,
            allow_code_change=allow_code_change,
            target_ci=_parse_targets(target_ci),
            max_replications=max_replications,
            progress=False if quiet else None,
        )
    from sim.experiment.manifest import read_manifest

    manifest = read_manifest(run_dir, "run")
    session = manifest.sessions[-1]
    for line in session.repaired:  # always said: results were damaged
        click.echo(f"repaired: {line}", err=True)
    drawing = None
    if not no_plots and not session.changed_nothing:
        drawing = _draw_run_figures(run_dir, quiet)
    if not quiet:
        click.echo(_run_summary(run_dir, manifest, drawing))


def _draw_run_figures(run_dir: Path, quiet: bool) -> float:
    """Draw a run's figures into its folder; the seconds it took."""
    if not quiet and sys.stderr.isatty():
        click.echo("drawing figures ...", err=True)
    began = time.perf_counter()
    from sim.analysis.figures import run_figures

    run_figures(run_dir)
    return time.perf_counter() - began


def _run_summary(run_dir: Path, manifest: RunManifest, drawing: float | None) -> str:
    """One line on what the run did, with its timings."""
    m, session = manifest, manifest.sessions[-1]
    if session.changed_nothing:
        return (
            f"{m.scenario}: nothing to do, the run is complete "
            f"({m.completed_replications} replications, seed {m.root_seed}) -> {run_dir}"
        )
    timing = f"{session.seconds:.1f} s running"
    if drawing is not None:
        timing += f", {drawing:.1f} s drawing"
    return (
        f"{m.scenario}: {m.completed_replications} replications, seed {m.root_seed} "
        f"({m.stop_reason}): {timing}, {time.perf_counter() - STARTED:.1f} s in all -> {run_dir}"
    )


PERIOD_OPTION = click.option(
    "--period",
    "periods",
    multiple=True,
    metavar="NAME=START..END",
    help="A period for the by-period KPIs (ISO dates, end exclusive); repeat for more. "
    "Default: cut at the reference's phase start dates.",
)
EXCEED_OPTION = click.option(
    "--exceed",
    multiple=True,
    metavar="KPI>=VALUE",
    help="A threshold for the exceedance probabilities; repeat for more. Default: the "
    "reference's 90th percentile of the peak-window KPIs, and a rule firing at least once.",
)


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for the table and figures (default: a new results/compare/<time>/).",
)
@click.option("--overwrite", is_flag=True, help="Replace the files of an --out that has some.")
@PERIOD_OPTION
@EXCEED_OPTION
@_friendly_errors
def compare(runs, out, overwrite, periods, exceed) -> None:
    """Compare run folders against the first (the reference): KPI tables and figures.

    Runs that share a root seed are compared replication by replication (paired t
    intervals, common random numbers); others by Welch's t test. Also by period (rates a
    month, cut at the reference's phase dates) and as exceedance probabilities.

    \b
    Example:
      withdrawal-sim compare results/baseline/RUN results/full_withdrawal_2025/RUN
    """
    from sim.analysis.comparison import compare as write_comparison

    if len(runs) < 2:
        raise click.UsageError("compare needs at least two run folders")
    if out is None:
        import datetime as dt

        out = f"results/compare/{dt.datetime.now(dt.UTC).strftime('%Y%m%d-%H%M%S-%f')}"
    written = write_comparison(
        list(runs), out, overwrite=overwrite, periods=list(periods), exceed=list(exceed)
    )
    for path in written.values():
        click.echo(f"wrote {path}")


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="HTML file (default: report.html in the first run folder).",
)
@PERIOD_OPTION
@EXCEED_OPTION
@_friendly_errors
def report(runs, out, periods, exceed) -> None:
    """Write one self-contained HTML report (figures embedded) for one or more runs.

    \b
    Example:
      withdrawal-sim report results/baseline/RUN --out baseline.html
      withdrawal-sim report A B --period "winter=2025-12-01..2026-03-01" \\
        --exceed "worst_30d_incidents>=15"
    """
    from sim.analysis.report import report as write_report

    target = out or Path(runs[0]) / "report.html"
    path = write_report(list(runs), target, list(periods), list(exceed))
    click.echo(f"wrote {path}")


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    required=True,
    help="brief.pdf (one A4 page) or brief.html (self-contained).",
)
@_friendly_errors
def brief(runs, out) -> None:
    """Write a one-page brief of one to four runs (the first is the reference).

    The question, the scenarios and what each changes, three or four findings with 95%
    intervals, the key figure, the caveats and the provenance.

    \b
    Example:
      withdrawal-sim brief results/baseline/RUN results/isis_resurgence/RUN --out brief.pdf
    """
    from sim.analysis.brief import brief as write_brief

    click.echo(f"wrote {write_brief(list(runs), out)}")


@main.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1, max=MAX_REPLICATIONS),
    help="Replications per point (default: the sweep's replications).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Sweep folder (default: results/sweeps/<name>/<run-id>/).",
)
@_executor_options
@click.option(
    "--resume", is_flag=True, help="Finish an interrupted sweep; damaged parts run again."
)
@click.option(
    "--allow-code-change",
    is_flag=True,
    help="With --resume: accept model code that changed since the sweep started (recorded).",
)
@click.option(
    "--kpi",
    "kpis",
    multiple=True,
    help="KPIs to analyse (repeatable; default: incidents, severity_unstopped, final_in_iraq).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=MAX_SEED),
    help="Replace the sweep's seed (its sample and every point's root seed).",
)
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP + " (base scenario)"
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@_friendly_errors
def sweep(
    sweep_file,
    replications,
    out,
    executor,
    resume,
    allow_code_change,
    kpis,
    seed,
    overrides,
    quiet,
) -> None:
    """Run every design point of SWEEP_FILE, then write response curves, heatmaps or indices.

    \b
    Example:
      withdrawal-sim sweep scenarios/sweeps/residual_trainers.yaml -n 20
      withdrawal-sim sweep scenarios/sweeps/threat_sobol.yaml --kpi incidents
      withdrawal-sim sweep scenarios/sweeps/threat_uncertainty.yaml --seed 7 \\
        --set "threats.processes.*_aq.rate_per_day*=2"
    """
    with executor:  # first: the workers import the model while this process plans
        _check_kpis(kpis)  # before the sweep runs, not after
        from sim.config.overrides import SetOptions
        from sim.experiment.sweep import run_sweep

        sweep_dir = run_sweep(
            sweep_file,
            replications,
            seed=seed,
            overrides=SetOptions(overrides),
            executor=executor,
            out=out,
            resume=resume,
            allow_code_change=allow_code_change,
            progress=False if quiet else None,
        )
    from sim.experiment.manifest import read_manifest

    for line in read_manifest(sweep_dir, "sweep").sessions[-1].repaired:
        click.echo(f"repaired: {line}", err=True)  # always said: results were damaged
    from sim.analysis.sensitivity import analyse_sweep  # scipy, SALib: only once it ran

    written = analyse_sweep(sweep_dir, list(kpis) or None)
    if not quiet:
        for path in written:
            click.echo(f"wrote {path}")
        click.echo(f"sweep results in {sweep_dir}")


@main.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(file_okay=False))
@_friendly_errors
def verify(folders) -> None:
    """Check that run or sweep folders are whole: every committed part present and
    unchanged (size and checksum), the target reached, nothing left half-written.

    Exits 0 when every folder is whole, 1 when any is damaged, unfinished or being written
    now (one line per problem; --resume repairs them), 2 when a folder is not a run or sweep
    folder.

    \b
    Example:
      withdrawal-sim verify results/baseline/RUN
    """
    from sim.config.errors import one_line
    from sim.experiment.verify import verify as check

    failed = False
    for folder in folders:
        verdict = check(folder)
        click.echo(one_line(f"{verdict.state}: {folder}: {verdict.summary}"))
        for note in verdict.notes:
            click.echo(one_line(f"  note: {note}"))
        for problem in verdict.problems:
            click.echo(one_line(f"  problem: {problem}"))
        failed |= not verdict.ok
    if failed:
        sys.exit(EXIT_RUNTIME)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@_friendly_errors
def validate(files, overrides) -> None:
    """Check scenario and sweep files without running them; report every problem.

    A sweep file (one with a top-level `sweep:` key) is checked with its base scenario and
    every design point; --set changes scenario files and sweeps' base scenarios.

    \b
    Example:
      withdrawal-sim validate scenarios/*.yaml scenarios/sweeps/*.yaml
    """
    from sim.config.errors import ScenarioError
    from sim.config.load import file_kind, load_scenario
    from sim.config.overrides import SetOptions

    problems = []
    for path in files:
        try:
            if file_kind(path) == "sweep":
                from sim.experiment.sweep_plan import plan_sweep

                plan = plan_sweep(path, overrides=SetOptions(overrides))
                click.echo(
                    f"ok: {path} (sweep {plan.sweep.name}: {len(plan.points)} design points)"
                )
            else:
                scenario = load_scenario(path, SetOptions(overrides))
                click.echo(f"ok: {path} ({scenario.metadata.name})")
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)


@main.command()
@click.option(
    "--kind",
    type=click.Choice(["scenario", "sweep"]),
    default="scenario",
    show_default=True,
    help="Describe scenario files or sweep files.",
)
@_friendly_errors
def schema(kind) -> None:
    """Print the JSON Schema of scenario files as written (with `extends:`, usually
    partial) or of sweep files, for editor completion and checks.

    \b
    Example:
      withdrawal-sim schema > scenario.schema.json
      withdrawal-sim schema --kind sweep > sweep.schema.json
    """
    import json

    from sim.config.json_schema import scenario_file_schema, sweep_file_schema

    make = sweep_file_schema if kind == "sweep" else scenario_file_schema
    click.echo(json.dumps(make(), indent=2))


FORMAT_CHOICE = click.Choice(["acled", "ucdp-ged"])


@main.command()
@click.argument("events", type=click.Path(dir_okay=False))
@click.option("--format", "format_name", type=FORMAT_CHOICE, required=True, help="The export.")
@click.option(
    "--scenario",
    type=click.Path(dir_okay=False),
    required=True,
    help="Scenario whose border, sectors and processes the events are fitted to.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    required=True,
    help="The threats file to write (a scenario can extend it).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder for fits.csv, qq.png, rates.png and summary.md.",
)
@click.option(
    "--filters", type=click.Path(dir_okay=False), default=None, help="A YAML file of filters."
)
@_friendly_errors
def calibrate(events, format_name, scenario, out, report_dir, filters) -> None:
    """Fit the threat processes to an ACLED or UCDP GED export (docs/calibration.md).

    Each process (a sector or place, and an actor) is fitted as Poisson, Hawkes with an
    exponential kernel and, with breakpoints in the filters, their piecewise forms; AIC
    chooses; 95% intervals by profile likelihood.

    \b
    Example:
      withdrawal-sim calibrate examples/synthetic_acled.csv --format acled \\
        --scenario scenarios/baseline.yaml --out threats_fitted.yaml --report calibration
    """
    from sim.calibration.pipeline import calibrate as fit

    done = fit(events, format_name, scenario, out, report_dir, filters)
    chosen = ", ".join(f"{f.process} {f.chosen.model}" for f in done.fitted)
    click.echo(
        f"{len(done.selection.events):,} events, {len(done.fitted)} processes ({chosen}) "
        f"-> {done.threats}, report in {done.report}"
    )


@main.command("export-events")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--format", "format_name", type=FORMAT_CHOICE, required=True, help="The export.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="CSV file to write.")
@click.option(
    "--replication", type=click.IntRange(min=0), default=0, show_default=True, help="Which one."
)
@_friendly_errors
def export_events(run_dir, format_name, out, replication) -> None:
    """Write a run's incidents and Syrian-side activity in an export's columns, marked
    synthetic, so they can go through `calibrate` or any tool for those datasets.

    \b
    Example:
      withdrawal-sim export-events results/baseline/RUN --format acled --out events.csv
    """
    from sim.calibration.export import export_events as export

    path = export(run_dir, out, format_name, replication)
    click.echo(f"wrote {path}")

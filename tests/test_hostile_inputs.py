"""Hostile scenario and sweep files through the real command line, bounded in time and memory.

Each case builds its files in a fresh folder and runs ``python -m sim`` there in a child
capped at 4 GiB of address space (``bounded.run_cli``). Every case must be refused the same
way: exit code 2, no traceback, one line (or a stated few) naming the file or option and
the key path, within a few seconds and a few hundred MiB, and with no results folder
written. Alias bombs, huge or hostile files, overflowing numbers, paths that escape, and
sweeps or scenarios too large to run are all in the one table below.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from bounded import ROOT, run_cli

from sim.config.checks import LARGEST_UNIFORM, MAX_SEVERITY, SMALLEST_UNIFORM
from sim.config.schema import LogNormal, Pareto
from sim.model.durations import sampler

BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHORT = "clock.end_date=2026-12-31"
SECONDS = 5.0  # start-up and imports take about a second of that
PEAK_MIB = 300.0
SWEEP_SECONDS = 20.0  # `sweep` imports the analysis stack (scipy, SALib) first: ~4 s
RUN = ("--out", "out", "-n", "1", "--no-plots", "-q", "--executor", "serial")
SWEEP = ("sweep", "sweep.yaml", "--out", "out", "--executor", "serial")

Build = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """A hostile input: files to build, the command, and what its one error line says."""

    id: str
    build: Build
    args: tuple[str, ...]
    where: str  # the start of the error line after "error: " (file or --set option)
    path: str  # the key path named in the line
    fragment: str  # text the message must contain
    lines: int = 1
    seconds: float = SECONDS
    absent: tuple[str, ...] = field(default_factory=tuple)  # text that must not be quoted


def _scenario(body: str, name: str = "bad.yaml") -> Build:
    """A file extending the baseline (by a relative path) with ``body`` laid over it."""

    def build(folder: Path) -> None:
        parent = os.path.relpath(BASELINE, folder)
        (folder / name).write_text(f"extends: {parent}\n{body}", encoding="utf-8")

    return build


def _raw(content: bytes | str, name: str = "bad.yaml") -> Build:
    def build(folder: Path) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)

    return build


def _nothing(folder: Path) -> None:
    """Options alone are hostile: no file to build."""


def _prior_run(folder: Path) -> None:
    """A finished two-replication run of the shortened baseline in ``prior``."""
    command = ["run", str(BASELINE), "-n", "2", "--seed", "1", "--out", "prior", "-q"]
    outcome = run_cli(*command, "--no-plots", "--executor", "serial", "--set", SHORT, cwd=folder)
    assert outcome.code == 0, outcome.stderr


def _both(*builds: Build) -> Build:
    def build(folder: Path) -> None:
        for step in builds:
            step(folder)

    return build


def _link(name: str, target: str) -> Build:
    return lambda folder: (folder / name).symlink_to(target)


def _sparse(name: str, size: int) -> Build:
    """A file of ``size`` bytes written in no time: a YAML start, then a hole."""

    def build(folder: Path) -> None:
        with (folder / name).open("wb") as file:
            file.write(b"metadata: {name: big}\n")
            file.truncate(size)

    return build


def _bomb(levels: int, flow: bool = False) -> str:
    """Nine aliases of the level below at each level: 9**levels values from a few bytes."""
    rows = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "{" + ", ".join(rows) + "}" if flow else "\n".join(rows) + "\n"


def _merge_bomb(levels: int) -> str:
    """The same bomb through merge keys (<<), which PyYAML flattens by copying."""
    rows = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    for i in range(1, levels):
        keys = ", ".join(f"k{j}: *m{i - 1}" for j in range(9))
        rows.append(f"m{i}: &m{i} {{<<: *m{i - 1}, {keys}}}")
    return "\n".join(rows) + "\n"


def _sweep(body: str) -> Build:
    text = f"sweep:\n  name: hostile\n  scenario: base.yaml\n  replications: 1\n{body}"
    return _both(_scenario("", "base.yaml"), _raw(text, "sweep.yaml"))


def _chain(files: int) -> Build:
    """f0.yaml extends f1.yaml, which extends f2.yaml, ... (each one key)."""

    def build(folder: Path) -> None:
        for i in range(files):
            (folder / f"f{i}.yaml").write_text(f"extends: f{i + 1}.yaml\nk{i}: 1\n")
        (folder / f"f{files}.yaml").write_text("end: 1\n")

    return build


def _diamond(levels: int) -> Build:
    """Each file extends the next one four times over: 4**levels reads if nothing stops it."""

    def build(folder: Path) -> None:
        for i in range(levels):
            (folder / f"d{i}.yaml").write_text(f"extends: [{', '.join([f'd{i + 1}.yaml'] * 4)}]\n")
        (folder / f"d{levels}.yaml").write_text("end: 1\n")

    return build


def _process(name: str, fields: str) -> str:
    return f"threats:\n  processes:\n    - {{name: {name}, {fields}}}\n"


def _links(links: list[tuple[str, str, float]]) -> str:
    return "threats:\n  excitation:\n" + "".join(
        f"    - {{source: {a}, target: {b}, branching_ratio: {n}, decay_per_day: 0.1}}\n"
        for a, b, n in links
    )


def _dense(count: int) -> str:
    """``count`` Hawkes processes each exciting every other: a 60 × 60 matrix whose cycles
    are too many to list, so naming the strongest must stop by a budget."""
    processes = "".join(
        f"    - {{name: h{i}, sector: rabia, actor: isis, kind: hawkes, "
        "background_rate_per_day: 0.01, branching_ratio: 0.4, decay_per_day: 0.1}\n"
        for i in range(count)
    )
    links = _links([(f"h{i}", f"h{j}", 0.05) for i in range(count) for j in range(count) if i != j])
    return "threats:\n  processes:\n" + processes + links.removeprefix("threats:\n")


def _severity(kind: str, spec: str) -> str:
    return f"threats:\n  incident_types:\n    - name: {kind}\n      severity: {spec}\n"


V = ("validate", "bad.yaml")
PROCESS = "threats.processes.al_qaim_aq"
CENTURY = "clock: {end_date: 2124-12-31}\n"
MANY_KEYS = "run:\n" + "".join(f"  unknown_{i}: 1\n" for i in range(200))

CASES = [
    # -- bombs and sheer size ----------------------------------------------------------------
    Case(
        "alias_bomb_9_levels",
        _raw(_bomb(9)),
        V,
        "bad.yaml:6:",
        "a5.0",
        "more than 100,000 keys, items and values in all; an alias counts as the whole",
    ),
    Case(
        "alias_bomb_via_set",
        _scenario(""),
        (*V, "--set", f"metadata.description={_bomb(9, flow=True)}"),
        "--set metadata.description={a0: &a0",
        "metadata.description.a5.0",
        "more than 100,000 keys, items and values",
    ),
    Case(
        "merge_key_bomb",
        _raw(_merge_bomb(9)),
        V,
        "bad.yaml:",
        "m",
        "more than 100,000 keys, items and values",
    ),
    Case(
        "recursive_alias",
        _raw("metadata: &m {name: x, again: *m}\n"),
        V,
        "bad.yaml:1:",
        "metadata.again",
        "an alias inside the value it names",
    ),
    Case(
        "aliases_deeper_than_the_limit",
        _raw("a0: &a0 " + "[" * 20 + "1" + "]" * 20 + "\n" + "a1: " + "[" * 20 + "*a0" + "]" * 20),
        V,
        "bad.yaml:2:",
        "a1.0.0",
        "nested more than 32 levels deep",
    ),
    Case(
        "file_of_50_mb",
        _sparse("bad.yaml", 50 << 20),
        V,
        "bad.yaml: ",
        "(top level)",
        "the file is larger than 1,048,576 bytes (1 MiB)",
    ),
    Case(
        "string_of_10_mb",
        _raw("metadata: {name: x, description: " + "x" * (10 << 20) + "}\n"),
        V,
        "bad.yaml: ",
        "(top level)",
        "the file is larger than 1,048,576 bytes",
    ),
    Case(
        "string_of_900_kb",
        _scenario("metadata:\n  description: " + "x" * 900_000 + "\n"),
        V,
        "bad.yaml:3:16:",
        "metadata.description",
        "a text of 900,000 characters; at most 10,000",
    ),
    Case(
        "keys_100k",
        _raw("".join(f"k{i}: 1\n" for i in range(100_000))),
        V,
        "bad.yaml:1001:1:",
        "(top level)",
        "more than 1,000 keys in one mapping",
    ),
    Case(
        "items_150k",
        _scenario("metadata:\n  sources: [" + ", ".join(["s"] * 150_000) + "]\n"),
        V,
        "bad.yaml:3:",
        "metadata.sources.",
        "more than 100,000 keys, items and values",
    ),
    Case(
        "deep_nesting_in_file",
        _scenario("signals: " + "[" * 500 + "]" * 500 + "\n"),
        V,
        "bad.yaml:2:",
        "signals.0.0.0",
        "nested more than 32 levels deep",
    ),
    Case(
        "deep_nesting_via_set",
        _scenario(""),
        (*V, "--set", "signals=" + "{a: " * 200 + "1" + "}" * 200),
        "--set signals={a: {a: ",
        "signals.a.a.a",
        "nested more than 32 levels deep",
    ),
    Case(
        "set_value_of_100k_characters",
        _scenario(""),
        (*V, "--set", "metadata.description=" + "x" * 100_000),
        "--set metadata.description=xxx",
        "metadata.description",
        "a value of 100,000 characters; at most 10,000",
    ),
    Case(
        "too_many_problems",
        _scenario(MANY_KEYS),
        V,
        "bad.yaml:3:3:",
        "run.unknown_0",
        "... and 150 more problems",
        lines=51,
    ),
    Case(
        "non_utf8_bytes",
        _raw(b"metadata:\n  name: caf\xe9\n"),
        V,
        "bad.yaml:2:12:",
        "(top level)",
        "not UTF-8 text",
    ),
    Case(
        "nul_byte",
        _raw(b"metadata:\n  name: a\x00b\n"),
        V,
        "bad.yaml:2:10:",
        "(top level)",
        "control character U+0000 is not allowed",
    ),
    # -- numbers, dates and text ---------------------------------------------------------------
    Case(
        "bool_as_number",
        _scenario(_process("al_qaim_aq", "rate_per_day: true")),
        V,
        "bad.yaml:4:",
        f"{PROCESS}.rate_per_day",
        "input should be a valid number (got True)",
    ),
    Case(
        "numeric_string_as_number",
        _scenario(_process("al_qaim_aq", 'rate_per_day: "3"')),
        V,
        "bad.yaml:4:",
        f"{PROCESS}.rate_per_day",
        "input should be a valid number (got '3')",
    ),
    Case(
        "float_as_integer",
        _scenario("border:\n  sectors:\n    - {name: rabia, response_units: 2.0}\n"),
        V,
        "bad.yaml:4:",
        "border.sectors.rabia.response_units",
        "input should be a valid integer (got 2.0)",
    ),
    Case(
        "timezone_datetime_for_a_date",
        _scenario("clock:\n  end_date: 2026-06-30T23:00:00-05:00\n"),
        V,
        "bad.yaml:3:3:",
        "clock.end_date",
        "expected a date (YYYY-MM-DD), got a date and time",
    ),
    Case(
        "seed_of_2_64_in_file",
        _scenario("run: {seed: 18446744073709551616}\n"),
        V,
        "bad.yaml:2:7:",
        "run.seed",
        "less than or equal to 9223372036854775807",
    ),
    Case(
        "seed_of_2_64_via_set",
        _scenario(""),
        ("run", "bad.yaml", *RUN, "--set", "run.seed=18446744073709551616"),
        "--set run.seed=18446744073709551616:",
        "run.seed",
        "less than or equal to 9223372036854775807",
    ),
    Case(
        "a_billion_replications",
        _scenario("run: {replications: 1000000000}\n"),
        V,
        "bad.yaml:2:7:",
        "run.replications",
        "less than or equal to 1000000",
    ),
    Case(
        "name_of_256_characters",
        _scenario(f"metadata: {{name: {'a' * 256}}}\n"),
        V,
        "bad.yaml:2:12:",
        "metadata.name",
        "at most 64 characters",
    ),
    Case(
        "description_of_5000_characters",
        _scenario(f"metadata: {{description: {'d' * 5000}}}\n"),
        V,
        "bad.yaml:2:12:",
        "metadata.description",
        "at most 2000 characters",
    ),
    Case(
        "key_of_1000_characters",
        _scenario(f"run: {{{'k' * 1000}: 1}}\n"),
        V,
        "bad.yaml:2:7:",
        "run.kkkk",
        "unknown key 'kkkk",
        absent=("k" * 100,),
    ),
    # -- paths that escape -----------------------------------------------------------------------
    Case(
        "absolute_extends",
        _raw(f"extends: {BASELINE}\n"),
        V,
        "bad.yaml:1:1:",
        "extends",
        "is an absolute path; give a path relative to this file",
    ),
    Case(
        "extends_etc_passwd",
        _raw("extends: ../../../../../../../../../../etc/passwd\n"),
        V,
        "bad.yaml:1:1:",
        "extends",
        "is not a .yaml or .yml file",
        absent=("root:",),
    ),
    Case(
        "extends_symlink_to_etc_passwd",
        _both(_link("users.yaml", "/etc/passwd"), _raw("extends: users.yaml\n")),
        V,
        "bad.yaml:1:1:",
        "extends",
        "leads to /etc/passwd, not a .yaml or .yml file",
        absent=("root:",),
    ),
    Case(
        "extends_with_a_nul_character",
        _raw('extends: "base\\0.yaml"\n'),
        V,
        "bad.yaml:1:1:",
        "extends",
        "one with a NUL character",
    ),
    Case(
        "extends_symlink_loop",
        _both(_link("loop.yaml", "loop.yaml"), _raw("extends: loop.yaml\n")),
        V,
        "bad.yaml:1:1:",
        "extends",
        "cannot resolve 'loop.yaml' (a loop of symbolic links?)",
    ),
    Case(
        "extends_a_directory",
        _both(lambda folder: (folder / "dir.yaml").mkdir(), _raw("extends: dir.yaml\n")),
        V,
        "bad.yaml:1:1:",
        "extends",
        "extended file is a directory: dir.yaml",
    ),
    Case(
        "extends_chain_of_40_files",
        _chain(40),
        ("validate", "f0.yaml"),
        "f32.yaml:1:1:",
        "extends",
        "more than 32 files to read",
    ),
    Case(
        "extends_diamond_4_to_the_12",
        _diamond(12),
        ("validate", "d0.yaml"),
        "d",
        "extends",
        "more than 32 files to read",
    ),
    Case(
        "sweep_scenario_absolute",
        _raw(
            "sweep:\n  name: s\n  scenario: /etc/passwd\n  design: grid\n"
            "  parameters: [{path: run.seed, values: [1]}]\n",
            "sweep.yaml",
        ),
        SWEEP,
        "sweep.yaml:3:3:",
        "sweep.scenario",
        "an absolute path",
        seconds=SWEEP_SECONDS,
    ),
    # -- too large to run ----------------------------------------------------------------------
    Case(
        "grid_sweep_of_10_10_points",
        _sweep(
            "  design: grid\n  parameters:\n"
            + "".join(
                f"    - {{path: run.p{i}, values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}}\n"
                for i in range(10)
            )
        ),
        SWEEP,
        "sweep.yaml:1:1:",
        "sweep",
        "the design has 10,000,000,000 points; at most 10,000",
        seconds=SWEEP_SECONDS,
    ),
    Case(
        "sobol_sweep_of_2_40_samples",
        _sweep(
            "  design: sobol\n  samples: 1099511627776\n  parameters:\n"
            "    - {path: threats.modulation.coordination.effect, range: [0.1, 0.7]}\n"
        ),
        SWEEP,
        "sweep.yaml:1:1:",
        "sweep",
        "the design has 3,298,534,883,328 points",
        seconds=SWEEP_SECONDS,
    ),
    Case(
        "morris_sweep_of_a_billion_trajectories",
        _sweep(
            "  design: morris\n  samples: 1000000000\n  parameters:\n"
            "    - {path: threats.modulation.coordination.effect, range: [0.1, 0.7]}\n"
        ),
        SWEEP,
        "sweep.yaml:1:1:",
        "sweep",
        "the design has 2,000,000,000 points",
        seconds=SWEEP_SECONDS,
    ),
    Case(
        "pareto_alpha_at_the_schema_minimum",
        _scenario(_severity("attack", "{alpha: 1.01}")),
        V,
        "bad.yaml:5:",
        "threats.incident_types.attack.severity.alpha",
        "draws reach about 1e1626, above the limit 1e+300; use an alpha of at least 1.055",
    ),
    Case(
        "lognormal_huge_median",
        _scenario(_severity("infiltration", "{median: 1.0e+290, sigma: 10}")),
        V,
        "bad.yaml:5:",
        "threats.incident_types.infiltration.severity.sigma",
        "use a sigma of at most 2.8",
    ),
    Case(
        "incidents_10_11_in_a_run",
        _scenario(
            CENTURY + _process("al_qaim_aq", "kind: nhpp, rate_per_day: 1000, trend_per_year: 100")
        ),
        ("run", "bad.yaml", *RUN),
        "bad.yaml:",
        "threats.processes",
        "about 2.92e+11 incidents expected in one replication",  # × (1 + 0.6), local presence
    ),
    # -- options and run folders: refused before any replication runs ----------------------
    Case(
        "replications_past_the_limit",
        _nothing,
        ("run", str(BASELINE), *RUN, "-n", "1000000000"),
        "Invalid value for '-n'",
        "1000000000",
        "1<=x<=1000000",
    ),
    Case(
        "seed_past_64_bits",
        _nothing,
        ("run", str(BASELINE), *RUN, "--seed", str(2**64)),
        "Invalid value for '--seed'",
        str(2**64),
        "x<=9223372036854775807",
    ),
    Case(
        "a_million_worker_processes",
        _nothing,
        ("run", str(BASELINE), *RUN, "--jobs", "1000000"),
        "Invalid value for '-j' / '--jobs'",
        "1000000",
        "1<=x<=256",
    ),
    Case(
        "target_ci_without_a_width",
        _nothing,
        ("run", str(BASELINE), *RUN, "--target-ci", "incidents"),
        "Invalid value for --target-ci",
        "expected KPI=HALFWIDTH",
        "got 'incidents'",
    ),
    Case(
        "target_ci_of_an_unknown_kpi",
        _nothing,
        ("run", str(BASELINE), *RUN, "--target-ci", "incidnets=1"),
        "--target-ci names unknown KPI(s)",
        "incidnets",
        "severity_total",
    ),
    Case(
        "out_is_a_users_folder",
        _raw("my notes", name="mine/notes.txt"),
        ("run", str(BASELINE), *RUN[2:], "--out", "mine"),
        "mine already exists and holds files this run did not write",
        "",
        "a new run needs a new folder",
    ),
    Case(
        "out_below_a_file",
        _raw("a file", name="plain"),
        ("run", str(BASELINE), *RUN[2:], "--out", "plain/run"),
        "cannot create plain/run",
        "",
        "a part of it is a file",
    ),
    Case(
        "resume_of_a_folder_that_is_not_a_run",
        _raw("my notes", name="mine/notes.txt"),
        ("run", str(BASELINE), *RUN[2:], "--resume", "--out", "mine"),
        "mine is not a run or sweep folder",
        "",
        "no manifest.json",
    ),
    Case(
        "verify_a_manifest_of_an_unknown_version",
        _raw('{"manifest_version": 99}', name="mine/manifest.json"),
        ("verify", "mine"),
        "mine/manifest.json",
        "manifest_version 99",
        "rerun the scenario with this version",
    ),
    Case(
        "verify_a_manifest_that_is_not_json",
        _raw(b"\x00\xff" * 1000, name="mine/manifest.json"),
        ("verify", "mine"),
        "mine/manifest.json",
        "not valid JSON",
        "",
    ),
    Case(
        "resume_with_fewer_replications_than_the_run",
        _prior_run,
        ("run", str(BASELINE), *RUN[2:], "--set", SHORT, "--resume", "--out", "prior"),
        "cannot resume prior",
        "",
        "its target is 2 replications, not 1",
    ),
    Case(
        "resume_with_another_seed",
        _prior_run,
        (
            "run",
            str(BASELINE),
            *RUN[4:],
            "--set",
            SHORT,
            "--resume",
            "--out",
            "prior",
            "--seed",
            "5",
        ),
        "cannot resume prior",
        "",
        "it uses seed 1, not 5",
    ),
    Case(
        "hawkes_near_critical",
        _scenario(_process("al_qaim_isis", "background_rate_per_day: 10, branching_ratio: 0.9999")),
        ("run", "bad.yaml", *RUN),
        "bad.yaml:",
        "threats.processes",
        "'al_qaim_isis' gives 1.34e+09",  # 10 × (1095 + 7305 burn-in days) / (1 − 0.9999) × 1.6
    ),
    # -- cross-border dynamics: an explosive graph, stacked shocks, a dense matrix ---------------
    Case(
        "excitation_cycle_explodes",
        _scenario(_links([("sinjar_isis", "rabia_isis", 0.9), ("rabia_isis", "sinjar_isis", 0.9)])),
        ("run", "bad.yaml", *RUN),
        "bad.yaml:",
        "threats.excitation",
        "strongest cycle is sinjar_isis → rabia_isis → sinjar_isis",
    ),
    Case(
        "shocks_stack_past_the_limit",
        _scenario(
            "threats:\n  shocks:\n"
            + "".join(
                f"    - {{name: s{i}, trigger: {{kind: date, date: 2026-01-01}}, "
                "processes: [al_qaim_isis], background_multiplier: 100, duration_days: 10}\n"
                for i in range(5)
            )
        ),
        V,
        "bad.yaml:",
        "threats.shocks.s4.background_multiplier",
        "multiply it by 1e+10 at once; at most 1000",
    ),
    Case(
        "shock_names_a_process_twice",
        _scenario(
            "threats:\n  shocks:\n    - {name: s, trigger: {kind: date, date: 2026-01-01}, "
            "processes: [al_qaim_isis, al_qaim_isis], background_multiplier: 3, "
            "duration_days: 10}\n"
        ),
        V,
        "bad.yaml:",
        "threats.shocks.s.processes",
        "'al_qaim_isis' is listed 2 times",
    ),
    Case(
        "shock_trigger_key_read_as_true",
        _scenario(
            "threats:\n  shocks:\n    - {name: s, trigger: {on: date, date: 2026-01-01}, "
            "processes: [al_qaim_isis], duration_days: 10}\n"
        ),
        V,
        "bad.yaml:",
        "threats.shocks.s.trigger",
        "quote such a key",
    ),
    Case(
        "dense_excitation_matrix",
        _scenario(_dense(60)),
        V,
        "bad.yaml:",
        "threats.excitation",
        "spectral radius 3.35",
    ),
]


def test_the_table_is_long_enough():
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input_is_refused_quickly_in_one_line(case: Case, tmp_path: Path):
    case.build(tmp_path)
    outcome = run_cli(*case.args, cwd=tmp_path, timeout=30)
    shown = f"exit {outcome.code}, {outcome.seconds:.1f} s, {outcome.peak_mib:.0f} MiB\n"
    shown += outcome.stderr[:3000]
    assert outcome.code == 2, shown
    assert "Traceback" not in outcome.stderr + outcome.stdout, shown
    lines = outcome.error_lines
    assert len(lines) == case.lines, shown
    first = lines[0]
    assert first.startswith(f"error: {case.where}"), shown
    assert f": {case.path}" in first, shown
    assert case.fragment in outcome.stderr, shown
    assert all(len(line) < 1_100 for line in lines), "an error line quotes too much"
    for text in case.absent:
        assert text not in outcome.stderr, shown
    assert outcome.seconds < case.seconds, shown
    assert outcome.peak_mib < PEAK_MIB, shown
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "results").exists()


# -- the severity bound holds for the draws the model actually makes -----------------------------


def test_extreme_uniforms_are_those_of_the_streams():
    """``BufferedDraws`` moves a draw of 0 to ``SMALLEST_UNIFORM``; numpy's largest is
    ``LARGEST_UNIFORM``: the severity check bounds the values at exactly these draws."""
    import numpy as np

    from sim.streams import BufferedDraws

    class Extremes:
        def random(self, n: int) -> np.ndarray:
            return np.array([0.0, 1.0 - 2.0**-53] * (n // 2))

    draws = BufferedDraws(Extremes(), block=2)
    assert (draws.uniform(), draws.uniform()) == (SMALLEST_UNIFORM, LARGEST_UNIFORM)


@pytest.mark.parametrize(
    "spec",
    [
        Pareto(distribution="pareto", alpha=1.055, x_min=1.0),
        Pareto(distribution="pareto", alpha=2.4, x_min=1e250),
        LogNormal(distribution="lognormal", median=1e290, sigma=2.8),
    ],
    ids=["pareto_smallest_alpha", "pareto_large_x_min", "lognormal_at_the_hint"],
)
def test_severities_that_pass_the_check_stay_below_the_cap(spec):
    from sim.config.checks import _severity

    assert list(_severity(spec, ())) == []
    draw = sampler(spec)
    assert max(draw(SMALLEST_UNIFORM), draw(LARGEST_UNIFORM)) <= MAX_SEVERITY

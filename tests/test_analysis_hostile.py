"""compare, report and a sweep's analysis on hostile or broken folders, through the real CLI.

Run folders travel (a colleague's results, a download), so each case copies real folders
made once for the module, damages or crafts one thing, and runs ``python -m sim`` in a
bounded child. Every case must exit 2 with one line that says what is wrong, no traceback,
in bounded time and memory, and write nothing at all: not in the folders, not outside them.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bounded import run_cli

import sim
from sim.analysis import report as report_module
from sim.experiment.errors import RunError

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SECONDS = 20.0  # a refusal comes before any figure: about 2 s, mostly imports
PEAK_MIB = 800.0  # the CLI with pandas and matplotlib loaded: about 250 MiB

SWEEP = """\
sweep:
  name: tiny
  scenario: year.yaml
  design: grid
  parameters:
    - {path: forces.sites.erbil.personnel.trainers, values: [0, 100]}
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """Real folders: runs 'base' (to 2026-12-31) and 'short' (to 2026-06-30), and a sweep."""
    root = tmp_path_factory.mktemp("made")
    for name, end in (("base", "2026-12-31"), ("short", "2026-06-30")):
        done = run_cli(
            "run", BASELINE, "-n", "4", "--seed", "1", "--executor", "serial", "-q",
            "--no-plots", "--set", f"clock.end_date={end}", "--out", root / name,
        )  # fmt: skip
        assert done.code == 0, done.stderr
    parent = os.path.relpath(BASELINE, root)
    (root / "year.yaml").write_text(f"extends: {parent}\nclock: {{end_date: 2025-06-30}}\n")
    (root / "sweep.yaml").write_text(SWEEP)
    done = run_cli(
        "sweep", root / "sweep.yaml", "-n", "1", "--out", root / "sweep", "--executor", "serial",
        "-q",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    shutil.rmtree(root / "sweep" / "analysis")  # each case's analysis starts afresh
    return root


def _manifest(change: Callable[[dict], object], run: str = "base") -> Callable[[Path], None]:
    """A mutation that edits ``run``'s manifest in place with ``change``."""

    def mutate(work: Path) -> None:
        path = work / run / "manifest.json"
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))

    return mutate


def _escaping_name(run: str) -> Callable[[Path], None]:
    """A scenario name that climbs from any temporary folder to the root and down into the
    test's ``outside`` folder (where the old report wrote its figures)."""

    def mutate(work: Path) -> None:
        target = (work.parent / "outside" / "x").relative_to("/")
        _manifest(_set("../" * 12 + str(target), "scenario"), run)(work)

    return mutate


def _write(relative: str, text: str) -> Callable[[Path], None]:
    def mutate(work: Path) -> None:
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return mutate


def _mkdir(relative: str) -> Callable[[Path], None]:
    return lambda work: (work / relative).mkdir(parents=True)


def _link_analysis_outside(work: Path) -> None:
    (work / "sweep" / "analysis").symlink_to(work.parent / "outside", target_is_directory=True)


def _no_commits(work: Path) -> None:
    (work / "base" / "commits.jsonl").write_text("")


def _pop(*keys: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        node = data
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return change


def _set(value, *keys: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        node = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # {made}, {work} and {outside} are filled in
    mutate: Callable[[Path], None] | None
    fragments: tuple[str, ...]  # each must appear in the one line on stderr


REPORT = ("report", "{work}/base", "--out", "{work}/base/report.html")
COMPARE = ("compare", "{work}/base", "{work}/other", "--out", "{work}/cmp")
SWEEP_RESUME = (
    "sweep", "{made}/sweep.yaml", "-n", "1", "--resume", "--out", "{work}/sweep",
    "--executor", "serial", "-q", "--allow-code-change",  # the code is not what is tested
)  # fmt: skip

CASES = [
    # failure #5: a scenario name that is a path
    Case("report-escaping-name", REPORT, _escaping_name("base"), ("scenario",)),
    Case("compare-escaping-name", COMPARE, _escaping_name("other"), ("scenario", "identifier")),
    Case("report-absolute-name", REPORT, _manifest(_set("/tmp/x", "scenario")), ("'/tmp/x'",)),
    Case(
        "report-huge-name",
        REPORT,
        _manifest(_set("a" * 1_000_000, "scenario")),
        ("not an identifier",),
    ),
    Case("report-name-not-text", REPORT, _manifest(_set(5, "scenario")), ("'scenario'",)),
    # not a run folder
    Case("report-empty-folder", ("report", "{work}/empty"), _mkdir("empty"), ("no manifest",)),
    Case(
        "compare-empty-folder",
        ("compare", "{work}/base", "{work}/empty", "--out", "{work}/cmp"),
        _mkdir("empty"),
        ("no manifest",),
    ),
    Case("report-invalid-json", REPORT, _write("base/manifest.json", "{"), ("not valid JSON",)),
    Case("report-manifest-list", REPORT, _write("base/manifest.json", "[]"), ("JSON object",)),
    Case(
        "report-unknown-version",
        REPORT,
        _manifest(_set(99, "manifest_version")),
        ("manifest_version 99",),
    ),
    Case("report-sweep-folder", ("report", "{work}/sweep"), None, ("sweep folder",)),
    Case(
        "compare-sweep-folder",
        ("compare", "{work}/base", "{work}/sweep", "--out", "{work}/cmp"),
        None,
        ("sweep folder",),
    ),
    Case("report-kind-sweep", REPORT, _manifest(_set("sweep", "kind")), ("sweep folder",)),
    Case("report-no-config", REPORT, _manifest(_pop("config")), ("'config'",)),
    Case("compare-no-config", COMPARE, _manifest(_pop("config"), "other"), ("'config'",)),
    Case("report-no-root-seed", REPORT, _manifest(_pop("root_seed")), ("'root_seed'",)),
    Case("report-no-forces", REPORT, _manifest(_pop("config", "forces")), ("config.forces",)),
    Case(
        "report-bad-end-date",
        REPORT,
        _manifest(_set("soon", "config", "clock", "end_date")),
        ("config.clock.end_date",),
    ),
    Case("report-no-tables", REPORT, _no_commits, ("no kpis",)),
    # runs over different horizons
    Case(
        "compare-horizons",
        ("compare", "{work}/base", "{work}/short", "--out", "{work}/cmp"),
        None,
        ("different horizons", "2026-12-31", "2026-06-30"),
    ),
    Case(
        "report-horizons",
        ("report", "{work}/base", "{work}/short", "--out", "{work}/r.html"),
        None,
        ("different horizons", "2026-12-31", "2026-06-30"),
    ),
    # report outputs that would replace a run's files, or are not HTML
    Case(
        "report-over-manifest",
        ("report", "{work}/base", "--out", "{work}/base/manifest.json"),
        None,
        (".html",),
    ),
    Case(
        "report-not-html",
        ("report", "{work}/base", "--out", "{outside}/r.png"),
        None,
        (".html",),
    ),
    Case(
        "report-over-a-users-file",
        ("report", "{work}/base", "--out", "{work}/base/notes.html"),
        _write("base/notes.html", "<p>my notes</p>"),
        ("not a report",),
    ),
    Case(
        "report-default-is-a-users-file",
        ("report", "{work}/base"),
        _write("base/report.html", "<p>mine</p>"),
        ("not a report",),
    ),
    Case(
        "report-default-is-a-folder",
        ("report", "{work}/base"),
        _mkdir("base/report.html"),
        ("not a file",),
    ),
    # a sweep's analysis: KPI names become file names, analysis/ must stay inside
    Case(
        "sweep-escaping-kpi",
        (*SWEEP_RESUME, "--kpi", "../../outside/x"),
        None,
        ("--kpi", "not a KPI"),
    ),
    Case(
        "sweep-unknown-kpi",
        (*SWEEP_RESUME, "--kpi", "nope"),
        None,
        ("'nope'", "incidents"),
    ),
    Case(
        "sweep-analysis-is-a-link",
        SWEEP_RESUME,
        _link_analysis_outside,
        ("analysis", "not a folder"),
    ),
    Case(
        "sweep-analysis-is-a-file",
        SWEEP_RESUME,
        _write("sweep/analysis", "mine"),
        ("analysis", "not a folder"),
    ),
]


def _snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every path below ``root`` (but ``skip``) with its kind, size and modification time."""
    found = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and path.is_relative_to(skip):
            continue
        info = path.lstat()
        found[str(path.relative_to(root))] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_folder_is_refused_in_one_line_writing_nothing(made, tmp_path, case):
    work, outside = tmp_path / "work", tmp_path / "outside"
    shutil.copytree(made, work, symlinks=True)
    shutil.copytree(made / "base", work / "other")
    outside.mkdir()
    if case.mutate is not None:
        case.mutate(work)
    # a sweep's resume rewrites its own bookkeeping (manifest, journals): that folder may
    # change, but no analysis may appear in it
    sweep = work / "sweep" if case.args[0] == "sweep" else None
    before = _snapshot(tmp_path, sweep)
    args = [a.format(made=made, work=work, outside=outside) for a in case.args]
    done = run_cli(*args)
    assert done.code == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.error_lines) == 1, done.stderr
    line = done.error_lines[0]
    assert line.startswith("error: ") and len(line) < 1000, line
    for fragment in case.fragments:
        assert fragment in line, line
    assert done.seconds < SECONDS and done.peak_mib < PEAK_MIB, (done.seconds, done.peak_mib)
    assert _snapshot(tmp_path, sweep) == before, "nothing written, anywhere"
    if sweep is not None:
        analysis = sweep / "analysis"
        assert not analysis.exists() or analysis.is_symlink() or analysis.is_file()


def test_the_original_escape_writes_nothing_outside(made, tmp_path):
    """Failure #5 as found: ``"scenario": "../../../../tmp/x"`` put report's PNGs in /tmp."""
    run = tmp_path / "run"
    shutil.copytree(made / "base", run)
    marker = f"x{uuid.uuid4().hex[:8]}"
    _manifest(_set(f"../../../../tmp/{marker}", "scenario"), "run")(tmp_path)
    done = run_cli("report", run, "--out", tmp_path / "report.html")
    assert done.code == 2 and "scenario" in done.stderr, done.stderr
    assert not list(Path("/tmp").glob(f"{marker}*")), "written to /tmp"
    assert not (tmp_path / "report.html").exists()


def test_report_makes_no_file_from_a_name_that_got_through(made, tmp_path, monkeypatch):
    """Even a run whose name is a path (one that passed every check) writes only ``out``:
    figures are rendered in memory, never to a file named after the scenario."""
    escaping = tmp_path / "escape"
    escaping.mkdir()
    run = sim.load_results(made / "base")
    run.manifest.scenario = "../" * 12 + str((escaping / "x").relative_to("/"))
    monkeypatch.setattr(report_module, "load_runs", lambda dirs, tables: [run])
    out = tmp_path / "out" / "report.html"
    report_module.report([made / "base"], out)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["escape", "out", "report.html"]


def test_a_report_replaces_a_previous_report_in_the_run_folder(made, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(made / "base", run)
    before = _snapshot(run)
    for _ in range(2):
        done = run_cli("report", run)
        assert done.code == 0, done.stderr
    after = _snapshot(run)
    assert set(after) - set(before) == {"report.html"}
    assert {k: v for k, v in after.items() if k != "report.html"} == before


def test_free_text_in_the_manifest_is_shown_escaped_and_other_types_refused(made, tmp_path):
    """Free text in the manifest (a description, package names) is only shown, escaped; a
    manifest where it is not text is refused in one line."""
    run = tmp_path / "run"
    shutil.copytree(made / "base", run)
    _manifest(_set({"<b>": "<i>1</i>"}, "versions"), "run")(tmp_path)
    _manifest(_set("<em>5</em>", "description"), "run")(tmp_path)
    page = report_module.report([run], tmp_path / "r.html").read_text()
    assert "&lt;b&gt;" in page and "<b>" not in page and "<i>" not in page
    assert "<p>&lt;em&gt;5&lt;/em&gt;</p>" in page
    _manifest(_set(5, "description"), "run")(tmp_path)
    with pytest.raises(RunError, match="'description' is not a str"):
        report_module.report([run], tmp_path / "r.html")
    _manifest(_set({"numpy": [1]}, "versions"), "run")(tmp_path)
    with pytest.raises(RunError, match=r"'versions\.numpy': Input should be a valid string"):
        report_module.report([run], tmp_path / "r.html")

"""Bad scenarios are reported as one line per problem, with file:line, key path and a hint.

Every case is a small file that ``extends:`` the shipped baseline (by a relative path, since
absolute ones are refused) and gets one thing wrong, or a bad ``--set``. The line a problem
must point at is marked in the case's text with ``# <--``; the CLI must exit 2 without a
traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
BASE_TOKEN = "@BASELINE"  # replaced by the baseline's path relative to the test folder
EXTENDS = f"extends: {BASE_TOKEN}\n"
MARK = "# <--"


@dataclass
class Case:
    """A bad scenario: its files (the first is validated), --set options and the expected line."""

    files: dict[str, str]
    path: str  # dotted key path in the message ("(top level)" when there is none)
    where: str | None = None  # "file" (line from MARK) or "--set ..."; None: the first file
    hint: str | None = None  # text the message must contain
    sets: tuple[str, ...] = ()
    line: int | None = None  # when the file cannot carry a marker (an empty file)
    absent: tuple[str, ...] = ()  # text that must not appear (cascading follow-up errors)
    expected_problems: int | None = None


def bad(body: str, path: str, **kwargs) -> Case:
    """A scenario extending the baseline, with ``body`` laid over it."""
    return Case({"bad.yaml": EXTENDS + body}, path, **kwargs)


def _resolved_copy() -> str:
    """The whole baseline resolved into one file (no extends), one key misspelt."""
    from sim.config.load import load_scenario, scenario_to_yaml

    text = scenario_to_yaml(load_scenario(BASELINE))
    assert "  surveillance: 0.45\n" in text
    return text.replace("  surveillance: 0.45\n", "  surveilance: 0.45  # <--\n", 1)


def _repositioning(signal: str, hold: float, release: float) -> str:
    return f"""\
forces:
  repositioning:
    - name: surge
      signal: {signal}
      hold_above: {hold}
      release_below: {release}
"""


CASES: dict[str, Case] = {
    "misspelt_key": bad(
        """\
forces:
  sites:
    - name: erbil
      persnnel: {advisers: 100}  # <--
""",
        "forces.sites.erbil.persnnel",
        hint="unknown key 'persnnel'; did you mean 'personnel'?",
    ),
    "misspelt_key_full_copy": Case(
        {"bad.yaml": "@resolved"},
        "border.sectors.al_qaim.surveilance",
        hint="did you mean 'surveillance'?",
    ),
    "misspelt_key_in_signal": bad(
        """\
signals:
  border_incidents_30d: {kind: incidents, window_days: 30, sector: [rabia]}  # <--
""",
        "signals.border_incidents_30d.sector",
        hint="did you mean 'sectors'?",
    ),
    "string_for_int": bad(
        """\
border:
  sectors:
    - name: al_qaim
      response_units: two  # <--
""",
        "border.sectors.al_qaim.response_units",
        hint="valid integer",
    ),
    "negative_rate": bad(
        """\
threats:
  processes:
    - name: al_qaim_aq
      rate_per_day: -0.5  # <--
""",
        "threats.processes.al_qaim_aq.rate_per_day",
        hint="greater than or equal to 0",
    ),
    "infinite_rate": bad(
        """\
threats:
  processes:
    - name: al_walid_aq
      rate_per_day: .inf  # <--
""",
        "threats.processes.al_walid_aq.rate_per_day",
        hint="finite",
    ),
    "end_before_start": bad(
        """\
clock:
  end_date: 2024-12-31  # <--
""",
        "clock.end_date",
        hint="must come after start_date 2025-01-01",
    ),
    "impossible_date": bad(
        """\
clock:
  end_date: 2027-13-01  # <--
""",
        "clock.end_date",
        hint="month value is outside expected range of 1-12 (got '2027-13-01')",
    ),
    "phase_2_before_phase_1": bad(
        """\
forces:
  phases:
    - name: phase_2
      start_date: 2025-06-01  # <--
""",
        "forces.phases.phase_2.start_date",
        hint="before the previous phase 'phase_1'",
    ),
    "destination_shares": bad(
        """\
forces:
  phases:
    - name: phase_1
      destinations: {erbil: 0.5, ne_syria: 0.25, home: 0.30}  # <--
""",
        "forces.phases.phase_1.destinations",
        hint="shares must sum to 1 (they sum to 1.05)",
    ),
    "unknown_site_in_reduce": bad(
        """\
forces:
  phases:
    - name: phase_2
      reduce:
        erbill: {advisers: 80}  # <--
""",
        "forces.phases.phase_2.reduce.erbill",
        hint="unknown site 'erbill'; did you mean 'erbil'?",
    ),
    "unknown_site_in_destinations": bad(
        """\
forces:
  phases:
    - name: phase_3
      start_date: 2027-03-01
      reduce: {ne_syria: {}}
      destinations:
        hme: 1.0  # <--
""",
        "forces.phases.phase_3.destinations.hme",
        hint="unknown site 'hme'; did you mean 'home'?",
        absent=("no lift asset",),
        expected_problems=1,
    ),
    "keep_level_above_what_exists": bad(
        """\
forces:
  phases:
    - name: phase_2
      reduce:
        erbil:
          advisers: 500  # <--
""",
        "forces.phases.phase_2.reduce.erbil.advisers",
        # Erbil's 100 advisers and the 290 that phase 1 can send it; Syria's never come.
        hint="keeps 500, more than the 390 advisers who can be there",
    ),
    "extends_cycle": Case(
        {
            "a.yaml": "extends: b.yaml\nmetadata: {name: a}\n",
            "b.yaml": "extends: a.yaml  # <--\n",
        },
        "extends",
        where="b.yaml",
        hint="extends cycle: a.yaml -> b.yaml -> a.yaml",
    ),
    "missing_extends_file": Case(
        {"bad.yaml": f"extends:  # <--\n  - {BASE_TOKEN}\n  - variants/nosuch.yaml\n"},
        "extends",
        hint="extended file not found: variants/nosuch.yaml",
    ),
    "malformed_yaml_unclosed_bracket": bad(
        """\
forces:
  roles: [advisers, trainers  # <--
run: {seed: 1}
""",
        "(top level)",
        hint="malformed YAML: a '[' that is not closed",
    ),
    "malformed_yaml_in_extended_file": Case(
        {"bad.yaml": "extends: parent.yaml\n", "parent.yaml": "run:\n  seed: [1, 2  # <--\n"},
        "(top level)",
        where="parent.yaml",
        hint="malformed YAML",
    ),
    "empty_file": Case({"bad.yaml": ""}, "(top level)", line=1, hint="the file is empty"),
    "list_at_top_level": Case(
        {"bad.yaml": "- metadata: {name: x}  # <--\n- clock: {}\n"},
        "(top level)",
        hint="expected a mapping of keys, found a list",
    ),
    "set_unknown_key": bad(
        "",
        "forces.nosuch",
        sets=("forces.nosuch.x=1",),
        where="--set forces.nosuch.x=1",
        hint="no such key",
    ),
    "set_unknown_site": bad(
        "",
        "forces.sites.nosuchsite",
        sets=("forces.sites.nosuchsite.personnel=1",),
        where="--set forces.sites.nosuchsite.personnel=1",
        hint="no list item 'nosuchsite' (items: ain_al_asad, victory",
    ),
    "set_index_out_of_range": bad(
        "",
        "forces.roles.9",
        sets=("forces.roles.9=cooks",),
        where="--set forces.roles.9=cooks",
        hint="use an index from 0 to 3",
    ),
    "set_wrong_type": bad(
        "",
        "forces.sites.erbil.personnel.trainers",
        sets=("forces.sites.erbil.personnel.trainers=ten",),
        where="--set forces.sites.erbil.personnel.trainers=ten",
        hint="valid integer",
    ),
    "set_misspelt_key": bad(
        "",
        "forces.lift.airlift.lift_per_day",
        sets=("forces.lift.airlift.lift_per_day=2",),
        where="--set forces.lift.airlift.lift_per_day=2",
        hint="did you mean 'lifts_per_day'?",
    ),
    "set_below_a_number": bad(
        "",
        "run.seed",
        sets=("run.seed.x=1",),
        where="--set run.seed.x=1",
        hint="is an int, not a mapping",
    ),
    "hawkes_branching_ratio_one": bad(
        """\
threats:
  processes:
    - name: jazira_isis
      branching_ratio: 1.0  # <--
""",
        "threats.processes.jazira_isis.branching_ratio",
        hint="less than 1",
    ),
    "unknown_process_kind": bad(
        """\
threats:
  processes:
    - name: jazira_isis
      kind: hawks  # <--
""",
        "threats.processes.jazira_isis.kind",
        hint="unknown kind 'hawks'; did you mean 'hawkes'? (expected one of: poisson, nhpp",
    ),
    "process_without_kind": bad(
        """\
threats:
  processes:
    - name: rabia_aq  # <--
      sector: rabia
      actor: al_qaeda
      rate_per_day: 0.01
""",
        "threats.processes.rabia_aq",
        hint="needs a 'kind' key",
    ),
    "unknown_distribution": bad(
        """\
border:
  response:
    handling_days: {distribution: gamma, mean: 1.5}  # <--
""",
        "border.response.handling_days.distribution",
        hint="unknown distribution 'gamma' (expected one of: fixed, exponential, lognormal)",
    ),
    "duplicate_key": bad(
        """\
run:
  seed: 1
  seed: 2  # <--
""",
        "run.seed",
        hint="duplicate key",
    ),
    "duplicate_list_item_name": bad(
        """\
border:
  sectors:
    - name: rabia
      response_units: 2
    - name: rabia  # <--
      response_units: 3
""",
        "border.sectors.rabia",
        hint="duplicate item name 'rabia'",
    ),
    "new_site_missing_required_key": bad(
        """\
forces:
  sites:
    - name: kirkuk  # <--
      personnel: {advisers: 10}
""",
        "forces.sites.kirkuk.country",
        hint="required key is missing",
    ),
    "unknown_role_in_site_personnel": bad(
        """\
forces:
  sites:
    - name: erbil
      personnel:
        cooks: 12  # <--
""",
        "forces.sites.erbil.personnel.cooks",
        hint="unknown role 'cooks' (known: advisers, trainers, force_protection, support)",
    ),
    "release_below_not_below_hold_above": bad(
        _repositioning("border_incidents_30d", 5, 5).replace(
            "release_below: 5", "release_below: 5  # <--"
        ),
        "forces.repositioning.surge.release_below",
        hint="must be below hold_above (5)",
    ),
    "repositioning_unknown_signal": bad(
        _repositioning("border_incidnts_30d", 5, 2).replace(
            "signal: border_incidnts_30d", "signal: border_incidnts_30d  # <--"
        ),
        "forces.repositioning.surge.signal",
        hint="unknown signal 'border_incidnts_30d'; did you mean 'border_incidents_30d'?",
    ),
    "phase_condition_unknown_signal": bad(
        """\
forces:
  phases:
    - name: phase_2
      condition:
        signal: quiet  # <--
        below: 3
""",
        "forces.phases.phase_2.condition.signal",
        hint="unknown signal 'quiet'",
    ),
    "incident_type_shares": bad(
        """\
threats:
  incident_types:  # <--
    - name: attack
      share: 0.5
""",
        "threats.incident_types",
        hint="shares must sum to 1 (they sum to 1.2)",
    ),
    "unknown_sector_in_process": bad(
        """\
threats:
  processes:
    - name: rabia_isis
      sector: rabiaa  # <--
""",
        "threats.processes.rabia_isis.sector",
        hint="unknown sector 'rabiaa'; did you mean 'rabia'?",
    ),
}


def _write(folder: Path, name: str, text: str) -> None:
    """Write a case's file, its ``extends`` of the baseline made relative to ``folder``."""
    relative = os.path.relpath(BASELINE, folder)
    (folder / name).write_text(text.replace(BASE_TOKEN, relative), encoding="utf-8")


def _marked_line(text: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if MARK in line]
    assert len(lines) == 1, "each case marks exactly one line"
    return lines[0]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_scenario_is_reported_at_its_key(case: Case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files are shown relative to the working directory
    texts = {}
    for name, text in case.files.items():
        texts[name] = _resolved_copy() if text == "@resolved" else text
        _write(tmp_path, name, texts[name])
    first = next(iter(case.files))
    args = ["validate", first]
    for expression in case.sets:
        args += ["--set", expression]

    result = CliRunner().invoke(main, args)

    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert isinstance(result.exception, SystemExit), result.exception
    if case.where is not None and case.where.startswith("--set"):
        where = f"{case.where}:"
    else:
        name = case.where or first
        line = case.line or _marked_line(texts[name])
        where = f"{name}:{line}:"
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    matching = [e for e in errors if e.startswith(f"error: {where}") and f": {case.path}: " in e]
    assert matching, f"no error at {where} for {case.path}:\n{output}"
    if case.hint:
        assert any(case.hint in e for e in matching), output
    for text in case.absent:
        assert text not in output
    if case.expected_problems is not None:
        assert len(errors) == case.expected_problems, output


def test_at_least_the_required_cases():
    assert len(CASES) >= 22


def test_every_problem_in_a_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        "bad.yaml",
        EXTENDS + "run: {seed: -1, replications: 0}\nclock: {record_interval_days: 0}\n",
    )
    result = CliRunner().invoke(main, ["validate", "bad.yaml"])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    for where, path in [
        ("bad.yaml:2:", "run.seed"),
        ("bad.yaml:2:", "run.replications"),
        ("bad.yaml:3:", "clock.record_interval_days"),
    ]:
        assert any(line.startswith(f"error: {where}") and f": {path}: " in line for line in lines)
    assert len(lines) == 3, result.output


def test_validate_reports_every_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "good.yaml", EXTENDS)
    _write(tmp_path, "bad.yaml", EXTENDS + "run: {sed: 1}\n")
    result = CliRunner().invoke(main, ["validate", "good.yaml", "bad.yaml"])
    assert result.exit_code == 2
    assert "ok: good.yaml (baseline)" in result.output
    assert "error: bad.yaml:2:7: run.sed: unknown key 'sed'; did you mean 'seed'?" in result.output


def test_missing_scenario_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "nosuch.yaml"])
    assert result.exit_code == 2
    assert "nosuch.yaml" in result.output
    assert "Traceback" not in result.output


# -- every shipped scenario validates -----------------------------------------------------------


def shipped_scenarios() -> list[Path]:
    """Every YAML file under scenarios/ that is a scenario (has ``metadata``)."""
    found = []
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "metadata" in data:
            found.append(path)
    return found


def test_shipped_scenarios_are_found():
    assert BASELINE in shipped_scenarios()


def test_every_shipped_scenario_validates():
    paths = shipped_scenarios()
    result = CliRunner().invoke(main, ["validate", *map(str, paths)])
    assert result.exit_code == 0, result.output
    for path in paths:
        assert f"ok: {path}" in result.output


# -- the installed command, outside CliRunner ---------------------------------------------------


def _command() -> str:
    here = Path(sys.executable).parent / "withdrawal-sim"
    found = str(here) if here.exists() else shutil.which("withdrawal-sim")
    if found is None:
        pytest.skip("withdrawal-sim is not installed")
    return found


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WITHDRAWAL_SIM_DEBUG", None)
    return env


def test_command_exits_2_without_traceback(tmp_path):
    _write(tmp_path, "bad.yaml", EXTENDS + "forces:\n  roles: [advisers, trainers\n")
    done = subprocess.run(
        [_command(), "validate", "bad.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.startswith("error: bad.yaml:3:10: (top level): malformed YAML")


def test_run_of_a_bad_scenario_leaves_no_results(tmp_path):
    _write(
        tmp_path,
        "bad.yaml",
        EXTENDS + "threats:\n  processes:\n    - name: al_qaim_aq\n      rate_per_day: -1\n",
    )
    out = tmp_path / "results" / "run"
    done = subprocess.run(
        [_command(), "run", "bad.yaml", "--out", str(out), "-n", "2", "--executor", "serial"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "error: bad.yaml:5:7: threats.processes.al_qaim_aq.rate_per_day" in done.stderr
    assert not out.exists()
    assert not (tmp_path / "results").exists()


def test_an_impossible_date_does_not_hide_the_other_problems(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        "bad.yaml",
        f"extends: {BASE_TOKEN}\nclock:\n  start_date: 2025-02-30\n"
        "forces:\n  lift:\n    - name: airlift\n      lifts_per_dya: 2\n",
    )
    result = CliRunner().invoke(main, ["validate", "bad.yaml"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 2, result.output
    assert "clock.start_date" in lines[0] and "day value is outside expected range" in lines[0]
    assert "did you mean 'lifts_per_day'?" in lines[1]


def test_a_number_yaml_reads_as_text_gets_the_spelling_that_works(tmp_path):
    """PyYAML (YAML 1.1) reads 1e3 and 1.5e2 as text: the message says how to write them."""
    from sim.config.errors import ScenarioError
    from sim.config.load import load_scenario

    base = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(base, ["threats.modulation.local_presence.scale_km=1e3"])
    assert "(got '1e3': YAML reads it as text; write 1.0e+3)" in str(caught.value)
    assert load_scenario(base, ["threats.modulation.local_presence.scale_km=1.0e+3"])

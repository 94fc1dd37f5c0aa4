"""The README's own commands, parsed from README.md (never copied here), run in order in a
copy of the repository as a new user would type them, each checked for its exit code and
the files it promises.

Commands run in a shell whose PATH starts with this environment's ``bin`` (as after
``. .venv/bin/activate``), with the copy's ``.venv`` pointing at this environment so that
``make run`` finds its installation. Placeholders are filled as a user would: ``RUN`` with
the newest run folder of that scenario, ``SCHEDULER_HOST`` with a local Dask scheduler.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
NOT_RUN_HERE = {
    "make test": "it is this test suite",
    "--hypothesis-profile thorough": "the deep property search takes many minutes",
}


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in ``language``."""
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), flags=re.M | re.S)


def commands() -> list[str]:
    """Every command line of the README's ``sh`` blocks, without its trailing comment."""
    lines = []
    for block in blocks("sh"):
        for line in block.splitlines():
            command = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def _project_files() -> list[str]:
    """The files git tracks or, outside a git checkout (an unpacked archive), every file but
    the environment, results and caches."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode == 0:
        return [name.decode() for name in listed.stdout.split(b"\0") if name]
    skip = {".git", ".venv", "results", "__pycache__", ".pytest_cache", ".hypothesis"}
    return [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.is_file() and not skip.intersection(path.relative_to(ROOT).parts)
    ]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The tracked files of the repository, times kept (so make's stamps stay valid)."""
    folder = tmp_path_factory.mktemp("readme") / "withdrawal-sim"
    for name in _project_files():
        source = ROOT / name
        if source.is_file():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (folder / ".venv").symlink_to(BIN.parent)
    return folder


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=40
    ) as cluster:
        yield cluster.scheduler_address


def _newest(folder: Path) -> Path:
    runs = sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file())
    return max(runs, key=lambda p: json.loads((p / "manifest.json").read_text())["started_at"])


def _fill(command: str, clone: Path, scheduler: str) -> str:
    def run_folder(match: re.Match) -> str:
        return str(_newest(clone / "results" / match[1]).relative_to(clone))

    command = re.sub(r"results/(\w+)/RUN\b", run_folder, command)
    return command.replace("tcp://SCHEDULER_HOST:8786", scheduler)


def _make_is_set_up(clone: Path) -> bool:
    """Whether ``make run`` would run at once (its stamp is newer than pyproject.toml)."""
    check = subprocess.run(["make", "-q", ".venv/.installed-run"], cwd=clone)
    return check.returncode == 0


def test_readme_commands_work_as_written(clone, scheduler):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "COMPARE_REPLICATIONS": "4"}
    ran, skipped = [], []
    for line in commands():
        if any(marker in line for marker in NOT_RUN_HERE):
            skipped.append(line)
            continue
        if line.startswith("make ") and not _make_is_set_up(clone):
            pytest.skip("make's installation stamp is missing: run the suite with `make test`")
        command = _fill(line, clone, scheduler)
        before = set(clone.rglob("*"))
        result = subprocess.run(
            ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        new = set(clone.rglob("*")) - before
        _check_promise(line, clone, result.stdout, new)
        ran.append(line)
    assert len(skipped) == len(NOT_RUN_HERE), skipped
    assert any(line.startswith("make run") for line in ran)
    assert any("sweep" in line for line in ran) and any("compare" in line for line in ran)


def _check_promise(line: str, clone: Path, stdout: str, new: set[Path]) -> None:
    """What the README says a command leaves behind is there."""
    if line.startswith(("make run", "withdrawal-sim run")) and "--resume" not in line:
        scenario = re.search(r"scenarios/(\w+)\.yaml", line)
        run = _newest(clone / "results" / (scenario[1] if scenario else "baseline"))
        assert run in new, line
        loaded = sim.load_results(run)
        assert loaded.manifest.status == "complete" and not loaded.problems()
        assert sorted(loaded.tables) == [
            "activity", "daily", "forces", "incidents", "kpis", "movements", "phases", "policy",
            "posture",
        ]  # fmt: skip
        for figure in ("personnel.png", "incidents.png"):
            assert (run / figure).stat().st_size > 10_000, (line, figure)
        if "-n 200" in line:
            assert loaded.manifest.completed_replications == 200
        if "--target-ci" in line:
            assert loaded.manifest.stop_reason == "target confidence intervals met"
    elif "--resume" in line:
        assert "nothing to do, the run is complete" in stdout
    elif line.startswith("withdrawal-sim validate"):
        assert stdout.count("ok: ") >= len(list(clone.glob("scenarios/*.yaml"))) + 3
    elif line.startswith("withdrawal-sim verify"):
        assert stdout.count("ok: ") == len(list((clone / "results" / "baseline").iterdir()))
    elif line.startswith("withdrawal-sim schema"):
        target = clone / line.split(">")[-1].strip()
        assert json.loads(target.read_text())["$schema"].endswith("2020-12/schema")
    elif line.startswith("withdrawal-sim compare"):
        assert any(p.name == "comparison.csv" for p in new)
    elif line.startswith("withdrawal-sim report"):
        assert (clone / "report.html").stat().st_size > 50_000
    elif line.startswith("withdrawal-sim brief"):
        pdf = (clone / "brief.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)) == 1
    elif line.startswith("withdrawal-sim sweep"):
        assert any(p.name == "analysis" for p in new) and any(
            p.name == "points.parquet" for p in new
        )
    elif line.startswith("make compare-all"):
        assert any(p.name == "results.md" and "compare_all" in str(p) for p in new)
        published = (clone / "docs" / "results.md").read_text()
        assert "--replications 4 --seed 20250901" in published and "## Provenance" in published
    else:
        raise AssertionError(f"no promise checked for a README command: {line}")


def test_readme_yaml_examples_validate(clone):
    """The scenario and sweep examples in the README are valid files as shown."""
    scenario, sweep = blocks("yaml")
    (clone / "scenarios" / "readme_example.yaml").write_text(scenario)
    (clone / "scenarios" / "sweeps" / "readme_example.yaml").write_text(sweep)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "validate",
            "readme_example.yaml",
            "sweeps/readme_example.yaml",
        ],
        cwd=clone / "scenarios",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_readme_python_snippets_run_as_scripts(clone):
    """Each snippet saved as a script, as a user would: the run one (with its guard) and the
    evaluate one (without: it needs none)."""
    run, evaluate = blocks("python")
    for number, snippet in enumerate((run, evaluate)):
        script = clone / f"readme_snippet_{number}.py"
        script.write_text(snippet + ("\nprint(kpis.shape)\n" if number else ""))
        result = subprocess.run(
            [sys.executable, str(script)], cwd=clone, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        assert ("(20, 4)" if number else "replication") in result.stdout

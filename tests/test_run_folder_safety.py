"""One writer per run folder, nothing deleted that the run did not write, damage detected,
code changes refused: each with real processes racing or failing as users' would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from runs import assert_same_tables, manifest, run_command, wait_for_commits

import sim
from sim.experiment.errors import RunError
from sim.experiment.journal import read_journal, rewrite_journal
from sim.experiment.provenance import source_hash
from sim.experiment.store import DamagedRun

RACES = 8  # repetitions of every race; each one is a pair of real processes


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Uninterrupted serial runs of seeds 1 and 2 (24 replications each)."""
    root = tmp_path_factory.mktemp("references")
    for seed in (1, 2):
        subprocess.run(
            run_command("--seed", seed, "--executor", "serial", out=root / f"s{seed}"), check=True
        )
    return {1: root / "s1", 2: root / "s2"}


def _start(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        run_command(*args, **kwargs), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _interrupted_copy(reference: Path, target: Path, keep: int) -> Path:
    """A folder as a run killed after ``keep`` chunks leaves it (journal cut, status running,
    later parts on disk but uncommitted)."""
    subprocess.run(["cp", "-r", str(reference), str(target)], check=True)
    rewrite_journal(target, read_journal(target)[:keep])
    data = manifest(target)
    data["status"] = "running"
    (target / "manifest.json").write_text(json.dumps(data))
    return target


def test_two_runs_into_one_folder_never_mix(tmp_path, references):
    for attempt in range(RACES):
        out = tmp_path / f"race{attempt}"
        procs = [_start("--seed", seed, "--jobs", "1", out=out) for seed in (1, 2)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2], results
        loser = next(err for code, err in results if code == 2)
        assert "already exists" in loser or "in use by pid" in loser, loser
        assert len(loser.strip().splitlines()) == 1
        seed = manifest(out)["root_seed"]
        assert_same_tables(out, references[seed])


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path):
    procs = [
        subprocess.Popen(run_command("--seed", 1, "--jobs", "1", n=4), cwd=tmp_path)
        for _ in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    folders = sorted((tmp_path / "results" / "baseline").iterdir())
    assert len(folders) == 3
    for folder in folders:
        assert "-s1-" in folder.name
        assert sim.load_results(folder).kpis["replication"].tolist() == [0, 1, 2, 3]


def test_two_resumes_of_one_folder_never_duplicate(tmp_path, references):
    for attempt in range(RACES):
        out = _interrupted_copy(references[1], tmp_path / f"race{attempt}", keep=2)
        procs = [
            subprocess.Popen(
                run_command("--resume", "--jobs", "1", out=out, n=None),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        codes = sorted(code for code, _ in results)
        # either the second was refused while the first held the folder, or it came after
        # and found nothing to do
        assert codes in ([0, 2], [0, 0]), results
        if codes == [0, 2]:
            loser = next(err for code, err in results if code == 2)
            assert f"{out} is in use by pid" in loser, loser
        assert_same_tables(out, references[1])


def test_a_folder_the_run_did_not_create_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "mine"
    (out / "mydata.parquet").mkdir(parents=True)
    mine = out / "mydata.parquet" / "part-000000-000003.parquet"
    mine.write_bytes(b"the user's own data")
    (out / "x.parquet").write_bytes(b"a file")
    result = subprocess.run(run_command(out=out), capture_output=True, text=True)
    assert result.returncode == 2
    assert "already exists and holds files this run did not write" in result.stderr
    assert sorted(p.name for p in out.rglob("*")) == [
        "mydata.parquet",
        "part-000000-000003.parquet",
        "x.parquet",
    ]
    assert mine.read_bytes() == b"the user's own data"


def test_resume_refuses_other_code_unless_allowed_and_records_it(tmp_path, references):
    out = _interrupted_copy(references[1], tmp_path / "run", keep=3)
    data = manifest(out)
    assert data["code"]["source_hash"] == source_hash()
    data["code"]["source_hash"] = "0" * 64  # as if started by other model code
    (out / "manifest.json").write_text(json.dumps(data))
    refused = subprocess.run(
        run_command("--resume", out=out, n=None), capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert "model code changed since it started" in refused.stderr
    assert "--allow-code-change" in refused.stderr
    assert len(read_journal(out)) == 3, "a refused resume must not touch the run"
    allowed = subprocess.run(
        run_command("--resume", "--allow-code-change", out=out, n=None),
        capture_output=True,
        text=True,
    )
    assert allowed.returncode == 0, allowed.stderr
    recorded = manifest(out)
    assert recorded["code_changes"][0]["from"] == "0" * 64
    assert recorded["code_changes"][0]["to"] == source_hash()
    assert recorded["sessions"][-1]["source_hash"] == source_hash()


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "table,damage",
    [
        ("incidents", "delete"),
        ("kpis", "flip"),
        ("incidents", "flip"),
        ("daily", "truncate"),
    ],
)
def test_damaged_parts_are_refused_named_and_repaired(tmp_path, references, table, damage):
    out = tmp_path / "run"
    subprocess.run(["cp", "-r", str(references[1]), str(out)], check=True)
    part = sorted((out / f"{table}.parquet").glob("part-*.parquet"))[1]
    if damage == "delete":
        part.unlink()
    elif damage == "flip":
        _flip(part, part.stat().st_size // 2)
    else:
        part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(DamagedRun, match=part.name):
        sim.load_results(out).table(table)
    verify = subprocess.run(
        [*run_command()[:3], "verify", str(out)], capture_output=True, text=True
    )
    assert verify.returncode == 1
    assert f"problem: {table}.parquet/{part.name}" in verify.stdout
    resumed = subprocess.run(
        run_command("--resume", out=out, n=None), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"repaired: {table}.parquet/{part.name}" in resumed.stderr
    assert_same_tables(out, references[1])


def test_sigterm_marks_the_run_terminated_and_resume_finishes_it(tmp_path, references):
    out = tmp_path / "run"
    proc = _start("--seed", 1, "--executor", "serial", out=out)
    assert wait_for_commits(proc, out, 1)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    stderr = proc.stderr.read()
    if code == 0:
        pytest.skip("the run finished before SIGTERM arrived")
    assert code == 143 and stderr.strip().splitlines() == [
        "terminated: finished replications are kept; rerun with --resume"
    ]
    assert manifest(out)["status"] == "terminated"
    resumed = subprocess.run(
        run_command("--resume", out=out, n=None), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert_same_tables(out, references[1])


def test_bare_resume_takes_seed_and_target_from_the_run(tmp_path, references):
    proc = subprocess.Popen(
        run_command("--seed", 1, "--executor", "serial"), cwd=tmp_path, stderr=subprocess.PIPE
    )
    (run_dir,) = _wait_for_folder(tmp_path / "results" / "baseline", proc)
    wait_for_commits(proc, run_dir, 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    smaller = subprocess.run(
        run_command("--resume", n=12), cwd=tmp_path, capture_output=True, text=True
    )
    assert smaller.returncode == 2 and "its target is 24 replications, not 12" in smaller.stderr
    seed = subprocess.run(
        run_command("--resume", "--seed", 2, n=None), cwd=tmp_path, capture_output=True, text=True
    )
    assert seed.returncode == 2 and "it uses seed 1, not 2" in seed.stderr
    bare = subprocess.run(
        run_command("--resume", n=None), cwd=tmp_path, capture_output=True, text=True
    )
    assert bare.returncode == 0, bare.stderr
    data = manifest(run_dir)
    assert (data["replications"], data["completed_replications"]) == (24, 24)
    assert_same_tables(run_dir, references[1])
    talkative = [part for part in run_command("--resume", n=None) if part != "-q"]
    again = subprocess.run(talkative, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0
    assert "nothing to do, the run is complete (24 replications, seed 1)" in again.stdout


def _wait_for_folder(parent: Path, proc: subprocess.Popen, timeout: float = 60.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while not (parent.is_dir() and any(parent.iterdir())):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    return list(parent.iterdir())


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda m: m.update(manifest_version=99), "manifest_version 99 is not one"),
        (lambda m: m.pop("config"), "'config' is missing"),
        (lambda m: m.update(scenario="../../../../tmp/x"), "is not an identifier"),
        (lambda m: m.update(kind="sweep"), "is a sweep folder"),
    ],
)
def test_foreign_manifests_are_refused_in_one_line(tmp_path, references, edit, message):
    out = tmp_path / "run"
    subprocess.run(["cp", "-r", str(references[1]), str(out)], check=True)
    data = manifest(out)
    edit(data)
    (out / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(RunError, match=message.replace("(", r"\(")):
        sim.load_results(out)
    verify = subprocess.run(
        [*run_command()[:3], "verify", str(out)], capture_output=True, text=True
    )
    assert verify.returncode == 2
    assert len(verify.stderr.strip().splitlines()) == 1 and "manifest" in verify.stderr


def test_a_failed_start_leaves_no_folder(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        run_command("--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", out=out),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert not out.exists()
    assert os.listdir(tmp_path) == []


def _small_sweep(folder: Path) -> Path:
    """A two-point grid sweep over a shortened baseline, written next to its base file."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "base.yaml"
    relative = os.path.relpath(run_command()[4], folder)
    base.write_text(
        f"extends: {relative}\nmetadata:\n  name: short_base\nclock:\n  end_date: 2026-12-31\n"
    )
    sweep = folder / "sweep.yaml"
    sweep.write_text(
        "sweep:\n  name: tiny\n  scenario: base.yaml\n  design: grid\n  replications: 6\n"
        "  seed: 4\n  parameters:\n    - path: forces.lift.airlift.lifts_per_day\n"
        "      values: [1, 2]\n"
    )
    return sweep


def _sweep_command(sweep: Path, out: Path, *extra: str) -> list[str]:
    return [*run_command()[:3], "sweep", str(sweep), "--out", str(out), "-q", *extra]


def test_sweeps_have_one_writer_and_resume_repairs_damage(tmp_path):
    sweep = _small_sweep(tmp_path / "files")
    whole, out = tmp_path / "whole", tmp_path / "sweep"
    subprocess.run(_sweep_command(sweep, whole, "--executor", "serial"), check=True)
    procs = [
        subprocess.Popen(
            _sweep_command(sweep, out, "--executor", "serial"),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = sorted((p.wait(timeout=120), p.stderr.read()) for p in procs)
    assert [code for code, _ in results] == [0, 2], results
    assert "already exists" in results[1][1] or "in use by pid" in results[1][1]
    part = sorted((out / "points" / "p000001" / "kpis.parquet").glob("part-*"))[0]
    _flip(part, 40)
    verify = subprocess.run(
        [*run_command()[:3], "verify", str(out)], capture_output=True, text=True
    )
    assert verify.returncode == 1 and f"points/p000001/kpis.parquet/{part.name}" in verify.stdout
    resumed = subprocess.run(
        _sweep_command(sweep, out, "--resume", "--executor", "serial"),
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "repaired: point 1: kpis.parquet" in resumed.stderr
    from sim.experiment.sweep import load_sweep_results

    pd.testing.assert_frame_equal(load_sweep_results(out), load_sweep_results(whole))


def test_resume_after_a_real_edit_of_the_model_code_is_refused(tmp_path, references):
    """The package copied, a run started from the copy, a model file edited, then resumed:
    the source hash (of the files that ran, not a version string) tells them apart."""
    package = tmp_path / "package"
    shutil.copytree(
        Path(sim.__file__).parent, package / "sim", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {**os.environ, "PYTHONPATH": str(package)}
    out = _interrupted_copy(references[1], tmp_path / "run", keep=2)
    data = manifest(out)
    data["code"]["source_hash"] = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sim.experiment.provenance import source_hash; print(source_hash())",
        ],
        env=env,
        cwd=tmp_path,  # not the repository: python -m puts the working folder first
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (out / "manifest.json").write_text(json.dumps(data))  # as if the copy had started it
    with open(package / "sim" / "model" / "border.py", "a") as handle:
        handle.write("\n# an edit after the run started\n")
    refused = subprocess.run(
        run_command("--resume", out=out, n=None),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2, refused.stderr
    assert "the model code changed since it started" in refused.stderr
    assert len(read_journal(out)) == 2

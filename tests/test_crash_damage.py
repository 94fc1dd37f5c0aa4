"""Killed at a random moment, then a random committed part of a random table deleted,
truncated or flipped: ``--resume`` must still end with exactly the tables of a run that was
never interrupted. Twenty trials, each with its own random choices (seeded, so a failure
can be replayed by its trial number)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest
from runs import assert_same_tables, run_command, wait_for_commits

from sim.experiment.journal import read_journal

TRIALS = 20
N = 60  # replications: 8 to 20 chunks, so a kill after the first few lands mid-run
EXECUTORS = (("--executor", "serial"), ("--executor", "process", "--jobs", "2"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    subprocess.run(run_command("--seed", 3, "--executor", "serial", out=out, n=N), check=True)
    return out


def _damage(part, how: str, rng: random.Random) -> None:
    data = part.read_bytes()
    if how == "delete":
        part.unlink()
    elif how == "truncate":
        part.write_bytes(data[: rng.randrange(len(data))])
    else:  # flip one bit of one byte
        position = rng.randrange(len(data))
        flipped = bytes([data[position] ^ (1 << rng.randrange(8))])
        part.write_bytes(data[:position] + flipped + data[position + 1 :])


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_damage_resume_equals_uninterrupted(tmp_path, reference, trial):
    rng = random.Random(trial)
    out = tmp_path / "run"
    executor = EXECUTORS[trial % len(EXECUTORS)]
    # its own process group, so the kill takes pool workers too (as an OOM kill of the
    # session or a power cut would; tests/test_experiment_resume.py kills the parent alone)
    proc = subprocess.Popen(
        run_command("--seed", 3, *executor, out=out, n=N),
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert wait_for_commits(proc, out, rng.randint(1, 3)), "the run ended before the kill"
    # a random moment after the first commits: mid-chunk, mid-rename or mid-journal
    time.sleep(rng.uniform(0, 0.05))
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    commits = read_journal(out)
    assert commits, "nothing committed before the kill"
    commit = rng.choice(commits)
    part = rng.choice(commit.parts)
    _damage(part.path(out), rng.choice(["delete", "truncate", "flip"]), rng)

    resumed = subprocess.run(
        run_command("--resume", *executor, out=out, n=None), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert_same_tables(out, reference)
    assert not list(out.rglob("*.tmp")), "staged files left behind"

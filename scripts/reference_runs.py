"""Reference runs for refactoring: every shipped scenario, two seeds, serial and pool.

A change that must not move the model's results is checked by running this before and
after it and comparing every table of every run::

    python scripts/reference_runs.py /tmp/before          # at the old commit
    python scripts/reference_runs.py /tmp/after --compare /tmp/before

It exits 1 and names the run and table when any table differs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (1, 7)
EXECUTORS = ("serial", "process")


def run_all(out: Path, replications: int) -> list[str]:
    """Run every scenario × seed × executor into ``out/<scenario>-s<seed>-<executor>``."""
    names = []
    for scenario in sorted((ROOT / "scenarios").glob("*.yaml")):
        for seed in SEEDS:
            for executor in EXECUTORS:
                name = f"{scenario.stem}-s{seed}-{executor}"
                command = [sys.executable, "-m", "sim", "run", str(scenario), "-q", "--no-plots"]
                command += ["-n", str(replications), "--seed", str(seed)]
                command += ["--executor", executor, "--jobs", "2", "--out", str(out / name)]
                subprocess.run(command, check=True)
                names.append(name)
    return names


def differences(names: list[str], out: Path, reference: Path) -> list[str]:
    """Every (run, table) whose rows differ between ``out`` and ``reference``."""
    import sim

    problems = []
    for name in names:
        new, old = sim.load_results(out / name), sim.load_results(reference / name)
        if new.tables != old.tables:
            problems.append(f"{name}: tables {new.tables} != {old.tables}")
            continue
        for table in new.tables:
            try:
                pd.testing.assert_frame_equal(new.table(table), old.table(table), obj=table)
            except AssertionError as error:
                problems.append(f"{name}/{table}: {str(error).splitlines()[0]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the runs (must not exist)")
    parser.add_argument("--compare", type=Path, help="reference folder of an earlier call")
    parser.add_argument("-n", "--replications", type=int, default=20)
    args = parser.parse_args()
    args.out.mkdir(parents=True)
    names = run_all(args.out, args.replications)
    print(f"{len(names)} runs in {args.out}")
    if args.compare is None:
        return 0
    problems = differences(names, args.out, args.compare)
    for problem in problems:
        print(problem)
    tables = sum(len(list((args.out / n).glob("*/"))) for n in names)
    print(f"{len(names)} runs compared: {'IDENTICAL' if not problems else 'DIFFERENT'}", end="")
    print(f" ({tables} table folders)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

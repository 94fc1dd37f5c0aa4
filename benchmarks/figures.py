"""How long a run's two figures take, in a fresh process, as after ``withdrawal-sim run``.

    python -m benchmarks.figures                 # makes a 200-replication run, 5 rounds
    python -m benchmarks.figures --run DIR -k 9  # an existing run folder, 9 rounds

Each round is a new interpreter that imports ``sim.analysis.figures`` (matplotlib, pandas,
pyarrow), opens the run, builds both figures and encodes them as PNG, as ``run_figures``
does; the wall time of the whole child (interpreter start included) and its split are
printed, best and median over the rounds. The load on the machine is printed too: other
processes on its cores inflate every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import BASELINE, CLI, machine

TARGET_SECONDS = 2.0  # the three run figures of 200 replications (map included), imports too

CHILD = """
import json, sys, time
clock = time.perf_counter
t0 = clock()
from sim.analysis import drawn, figures, map
t1 = clock()
run = drawn.Drawn(sys.argv[1])
for table in drawn.COLUMNS:
    run.drawn(table)
t2 = clock()
made = [figures.personnel_figure(run), figures.incidents_figure(run)]
t3 = clock()
sizes = [len(figures.figure_bytes(fig)) for fig in made]
t4 = clock()
the_map = map.map_figure(run)
map_kib = len(figures.figure_bytes(the_map)) // 1024 if the_map is not None else 0
t5 = clock()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "build": t3 - t2, "draw_and_encode": t4 - t3,
                  "map": t5 - t4, "png_kib": [s // 1024 for s in sizes] + [map_kib]}))
"""


def make_run(replications: int, folder: Path) -> Path:
    subprocess.run(
        [*CLI, "run", str(BASELINE), "-n", str(replications), "--seed", "1", "--no-plots",
         "-q", "--out", str(folder)],
        check=True,
    )  # fmt: skip
    return folder


def rounds(run_dir: Path, k: int) -> list[dict[str, float]]:
    out = []
    for _ in range(k):
        start = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(run_dir)], check=True, capture_output=True, text=True
        )
        split = json.loads(child.stdout)
        split["wall"] = time.perf_counter() - start
        out.append(split)
    return out


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run folder (default: make one)")
    parser.add_argument("-n", "--replications", type=int, default=200)
    parser.add_argument("-k", "--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = args.run or make_run(args.replications, Path(scratch) / "run")
        measured = rounds(run_dir, args.rounds)
    keys = ["wall", "import", "load", "build", "draw_and_encode", "map"]
    best = min(measured, key=lambda m: m["wall"])
    record = {
        "machine": machine(),
        "load_average": os.getloadavg(),
        "best": {k: round(best[k], 3) for k in keys},
        "median": {k: round(statistics.median(m[k] for m in measured), 3) for k in keys},
        "png_kib": best["png_kib"],
        "target_seconds": TARGET_SECONDS,
    }
    print(json.dumps(record, indent=2))
    verdict = "met" if best["wall"] <= TARGET_SECONDS else "MISSED"
    print(f"run figures, fresh process: best {best['wall']:.2f} s, target {TARGET_SECONDS} s: "
          f"{verdict}")  # fmt: skip
    return record


if __name__ == "__main__":
    main()

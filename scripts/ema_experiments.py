"""EMA Workbench on the baseline: 100 Latin-hypercube experiments over five uncertainties (a
multiplier on every ISIS background rate, a Phase 2 date slip in days, linked decay rates,
the coordination effect and the Iraqi capacity effect), run by ``SequentialEvaluator`` and
by ``MultiprocessingEvaluator(n_processes=2)``; the two must give identical outcomes.

    pip install -e ".[ema]"
    python scripts/ema_experiments.py --experiments 100 --replications 4

A plain script on purpose (no ``if __name__ == "__main__":`` guard): on Linux EMA's pool
forks, and ``sim.evaluate`` never starts a pool inside its daemonic workers. (With the
"spawn" start method of macOS and Windows, EMA's own pool needs the guard.) Ranges are
NOTIONAL, around the baseline's values (docs/model.md).
"""

import argparse
import sys
import time

import numpy as np
import pandas as pd

try:
    from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator, perform_experiments
    from ema_workbench.em_framework import sample_uncertainties
except ImportError:
    sys.exit('EMA Workbench is not installed: .venv/bin/pip install -e ".[ema]"')

import sim.ema

UNCERTAINTIES = [
    {
        "name": "isis_rate",
        "path": "threats.processes.*_isis.background_rate_per_day",
        "apply": "scale",
        "range": [0.5, 2.0],
    },
    {
        "name": "phase_2_slip_days",
        "path": "forces.phases.phase_2.start_date",
        "apply": "shift",
        "range": [-180, 180],
        "integer": True,
    },
    {"name": "decay", "path": "threats.processes.*_isis.decay_per_day", "range": [0.04, 0.2]},
    {"name": "coordination", "path": "threats.modulation.coordination.effect", "range": [0.1, 0.7]},
    {"name": "capacity", "path": "threats.modulation.iraqi_capacity.effect", "range": [0.2, 0.8]},
]
OUTCOMES = ["incidents", "missed", "severity_unstopped", "below_threshold_day"]

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--scenario", default="scenarios/baseline.yaml")
parser.add_argument("--experiments", type=int, default=100)
parser.add_argument("--replications", type=int, default=4)
parser.add_argument("--seed", type=int, default=20250901)
args = parser.parse_args()

model = sim.ema.scenario_model(
    args.scenario,
    UNCERTAINTIES,
    OUTCOMES,
    replications=args.replications,
    seed=args.seed,
)
np.random.seed(args.seed)  # EMA's samplers draw from numpy's global generator
designs = sample_uncertainties(model, args.experiments)

results = {}
for label, evaluator in [
    ("SequentialEvaluator", SequentialEvaluator(model)),
    ("MultiprocessingEvaluator(n_processes=2)", MultiprocessingEvaluator(model, n_processes=2)),
]:
    start = time.perf_counter()
    with evaluator:
        results[label] = perform_experiments(model, designs, evaluator=evaluator)
    print(f"{label}: {time.perf_counter() - start:.1f} s", file=sys.stderr)

(first_x, first_y), (second_x, second_y) = results.values()
columns = [u["name"] for u in UNCERTAINTIES]
same_x = first_x[columns].equals(second_x[columns])
same_y = all(np.array_equal(first_y[k], second_y[k], equal_nan=True) for k in OUTCOMES)
print(
    f"{args.experiments} experiments x {args.replications} replications, "
    f"{len(UNCERTAINTIES)} uncertainties: identical experiments {same_x}, "
    f"identical outcomes {same_y}"
)
summary = pd.DataFrame(first_y).describe().loc[["mean", "min", "max"]]
print(summary.round(1).to_string())
sys.exit(0 if same_x and same_y else 1)

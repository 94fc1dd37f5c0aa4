"""Coverage of the calibration's 95% intervals and the bias of its estimates, on synthetic
Hawkes series of known parameters (three sectors over five years, ``--datasets`` each).

    python scripts/calibration_coverage.py [--datasets 50] [--seed 1] [--harder]

Prints Markdown tables (docs/calibration.md quotes them): per sector and parameter, the
true value, the mean estimate as ``calibrate`` reports it (bias-corrected by its bootstrap)
and its bias in per cent, the mean MLE's bias, and the share of profile intervals that
cover the truth; then how often AIC chose Hawkes for these series and Poisson for Poisson
series of the same mean rate. The sectors are the baseline's three busiest
(configs/threats/baseline.yaml); ``--harder`` adds regimes where clusters overlap.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sim.calibration.fitting import BIAS_REPLICATES, Series, hawkes_fit, poisson_fit
from sim.calibration.synthetic import hawkes_series

HORIZON = 5 * 365.25
SECTORS = {  # μ a day, branching ratio n, decay β a day, as in configs/threats/baseline.yaml
    "al_qaim": (0.08, 0.40, 0.10),
    "jazira": (0.06, 0.40, 0.10),
    "al_walid": (0.05, 0.40, 0.10),
}
HARDER = {  # overlapping clusters: μ/β of 1 to 6 immigrants per excitation lifetime
    "a": (0.10, 0.40, 0.10),
    "c": (0.15, 0.50, 0.07),
    "a ×3": (0.30, 0.40, 0.10),
    "c ×3": (0.45, 0.50, 0.07),
}


def study(datasets: int, seed: int, sectors: dict) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = [
        "| sector (events) | parameter | truth | mean estimate | bias | bias of the MLE "
        "| 95% interval covers |",
        "|---|---|---|---|---|---|---|",
    ]
    for sector, truth in sectors.items():
        estimates, mles, covered, events = [], [], [], []
        for k in range(datasets):
            times = hawkes_series(*truth, HORIZON, rng)
            fit = hawkes_fit(Series(times, HORIZON), seed=k, bias_replicates=BIAS_REPLICATES)
            events.append(len(times))
            estimates.append([fit.estimates[p] for p in ("mu", "n", "beta")])
            mles.append([fit.mle[p] for p in ("mu", "n", "beta")])
            covered.append(
                [lo <= t <= hi for t, (lo, hi) in zip(truth, fit.intervals.values(), strict=True)]
            )
        mean, mle = np.mean(estimates, axis=0), np.mean(mles, axis=0)
        share = np.mean(covered, axis=0)
        label = f"{sector} ({np.mean(events):.0f})"
        for name, t, m, b, c in zip(("μ", "n", "β"), truth, mean, mle, share, strict=True):
            lines.append(
                f"| {label} | {name} | {t:g} | {m:.4g} | {100 * (m - t) / t:+.1f}% "
                f"| {100 * (b - t) / t:+.1f}% | {c:.0%} |"
            )
    return lines


def choice(datasets: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed + 1)
    mu, n, beta = SECTORS["al_qaim"]
    hawkes_right = poisson_right = 0
    for _ in range(datasets):
        hawkes = Series(hawkes_series(mu, n, beta, HORIZON, rng), HORIZON)
        hawkes_right += hawkes_fit(hawkes, intervals=False).aic < poisson_fit(hawkes).aic
        count = rng.poisson(mu / (1 - n) * HORIZON)
        poisson = Series(np.sort(rng.uniform(0, HORIZON, count)), HORIZON)
        poisson_right += poisson_fit(poisson).aic <= hawkes_fit(poisson, intervals=False).aic
    return [
        "",
        f"AIC chose Hawkes for {hawkes_right} of {datasets} Hawkes series (μ {mu}, n {n}, "
        f"β {beta}) and Poisson for {poisson_right} of {datasets} Poisson series of the same "
        "mean rate.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--harder", action="store_true", help="add overlapping-cluster regimes")
    args = parser.parse_args()
    began = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        lines = [
            "The baseline's three busiest sectors:",
            "",
            *study(args.datasets, args.seed, SECTORS),
            *choice(args.datasets, args.seed),
        ]
        if args.harder:
            lines += ["", "Overlapping clusters:", "", *study(args.datasets, args.seed, HARDER)]
    print("\n".join(lines))
    print(f"\n({args.datasets} datasets, seed {args.seed}, {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()

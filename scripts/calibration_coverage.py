"""Coverage of the calibration's 95% intervals and the bias of its estimates, on synthetic
Hawkes series of known parameters (three sectors over five years, ``DATASETS`` datasets).

    python scripts/calibration_coverage.py [--datasets 50] [--seed 1]

Prints Markdown tables (docs/calibration.md quotes them), for series of about 300 and of
about 900 events: per sector and parameter, the true
value, the mean estimate, its bias in per cent, and the share of intervals that cover the
truth; then how often AIC chose Hawkes for these series and Poisson for Poisson series of
the same mean rate.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sim.calibration.fitting import Series, hawkes_fit, poisson_fit
from sim.calibration.synthetic import hawkes_series

HORIZON = 5 * 365.25
SECTORS = {  # μ a day, branching ratio n, decay β a day: about 300 events in five years
    "a": (0.10, 0.40, 0.10),
    "b": (0.05, 0.30, 0.20),
    "c": (0.15, 0.50, 0.07),
}
BUSY = {  # the same three times as often: about 900 events in five years
    name: (3 * mu, n, beta) for name, (mu, n, beta) in SECTORS.items()
}


def study(datasets: int, seed: int, sectors: dict) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = [
        "| sector | parameter | truth | mean estimate | bias | 95% interval covers |",
        "|---|---|---|---|---|---|",
    ]
    for sector, truth in sectors.items():
        estimates, covered = [], []
        for _ in range(datasets):
            fit = hawkes_fit(Series(hawkes_series(*truth, HORIZON, rng), HORIZON))
            values = [fit.estimates[k] for k in ("mu", "n", "beta")]
            estimates.append(values)
            covered.append(
                [lo <= t <= hi for t, (lo, hi) in zip(truth, fit.intervals.values(), strict=True)]
            )
        mean, share = np.mean(estimates, axis=0), np.mean(covered, axis=0)
        for name, t, m, c in zip(("μ", "n", "β"), truth, mean, share, strict=True):
            lines.append(
                f"| {sector} | {name} | {t:g} | {m:.4g} | {100 * (m - t) / t:+.1f}% | {c:.0%} |"
            )
    return lines


def choice(datasets: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed + 1)
    mu, n, beta = SECTORS["a"]
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
    args = parser.parse_args()
    began = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        lines = [
            "Sectors with about 300 events in five years:",
            "",
            *study(args.datasets, args.seed, SECTORS),
            "",
            "The same three times as busy (about 900 events):",
            "",
            *study(args.datasets, args.seed, BUSY),
            *choice(args.datasets, args.seed),
        ]
    print("\n".join(lines))
    print(f"\n({args.datasets} datasets, seed {args.seed}, {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()

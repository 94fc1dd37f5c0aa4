"""Run the benchmark suite; write benchmarks/out/bench.json and bench.md.

    python -m benchmarks                  # everything (make bench), about 3 minutes on 2 cores
    python -m benchmarks overhead speed   # a selection

Each figure is printed beside its target (docs/performance.md explains them).
"""

from __future__ import annotations

import json
import operator
import sys
import time

from benchmarks import calibration, experiments, model
from benchmarks.common import ROOT, machine

SUITE = {
    "overhead": model.model_overhead,
    "evaluate": model.evaluate_overhead,
    "speed": experiments.throughput,
    "scaling": model.scaling,
    "memory": experiments.peak_memory,
    "startup": model.startup,
    "calibration": calibration.fit_time,
}
# (benchmark, figure) -> (comparison, target)
TARGETS = {
    ("overhead", "overhead_ratio"): (operator.le, 2.0),
    ("evaluate", "evaluate_ratio"): (operator.le, 1.3),
    ("speed", "parallel_efficiency"): (operator.ge, 0.85),
    ("speed", "dask_over_pool_time"): (operator.le, 1.25),
    ("speed", "write_share_serial"): (operator.le, 0.10),
    ("scaling", "slope_horizon"): ("between", (0.9, 1.15)),
    ("scaling", "slope_rate"): ("between", (0.9, 1.15)),
    ("memory", "memory_ratio"): (operator.le, 1.2),
    ("startup", "help_seconds"): (operator.le, 0.5),
    ("calibration", "three_sectors_five_years_seconds"): (operator.le, 10.0),
}


def verdict(name: str, figure: str, value: float) -> str:
    rule = TARGETS.get((name, figure))
    if rule is None:
        return ""
    check, target = rule
    if check == "between":
        ok = target[0] <= value <= target[1]
        return f"target {target[0]}–{target[1]}: {'met' if ok else 'MISSED'}"
    sign = "≤" if check is operator.le else "≥"
    return f"target {sign} {target}: {'met' if check(value, target) else 'MISSED'}"


def main(selected: list[str]) -> None:
    unknown = [name for name in selected if name not in SUITE]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)} (have: {', '.join(SUITE)})")
    record: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M")}
    began = time.perf_counter()
    for name in selected or list(SUITE):
        print(f"== {name}", flush=True)
        record[name] = SUITE[name]()
        for figure, value in record[name].items():
            print(f"  {figure:40} {value!s:>12}  {verdict(name, figure, value)}", flush=True)
    record["total_seconds"] = round(time.perf_counter() - began, 1)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# Benchmarks ({record['date']}, {record['total_seconds']} s)",
        "",
        f"Machine: `{record['machine']}`",
        "",
    ]
    for name in SUITE:
        if name in record:
            lines += [f"## {name}", "", "| figure | value | target |", "|---|---|---|"]
            lines += [f"| {k} | {v} | {verdict(name, k, v)} |" for k, v in record[name].items()]
            lines.append("")
    (out / "bench.md").write_text("\n".join(lines))
    print(f"wrote {out / 'bench.json'} and {out / 'bench.md'} in {record['total_seconds']} s")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Run the benchmark suite; write benchmarks/out/bench.json and bench.md.

    python -m benchmarks                 # everything
    python -m benchmarks memory speed    # a selection
"""

from __future__ import annotations

import json
import sys
import time

from benchmarks import experiments
from benchmarks.common import ROOT, machine

SUITE = {
    "memory": experiments.peak_memory,
    "speed": experiments.throughput,
}


def main(selected: list[str]) -> None:
    unknown = [name for name in selected if name not in SUITE]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)} (have: {', '.join(SUITE)})")
    record: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    for name in selected or list(SUITE):
        print(f"running {name} ...", flush=True)
        record[name] = SUITE[name]()
        print(json.dumps(record[name], indent=2), flush=True)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [f"# Benchmarks ({record['date']})", "", f"Machine: `{record['machine']}`", ""]
    for name in SUITE:
        if name in record:
            lines += [f"## {name}", "", "| figure | value |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in record[name].items()]
            lines.append("")
    (out / "bench.md").write_text("\n".join(lines))
    print(f"wrote {out / 'bench.json'} and {out / 'bench.md'}")


if __name__ == "__main__":
    main(sys.argv[1:])

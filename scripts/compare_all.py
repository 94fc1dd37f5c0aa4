"""Run every scenario with one seed and compare each with the baseline.

    python scripts/compare_all.py [--replications N] [--seed S] [--jobs J] [--no-docs]

Everything goes to a new folder results/compare_all/<UTC time>/ (untracked): the runs, the
comparison and results.md. Unless --no-docs, results.md and its figures are also copied to
docs/ (``make compare-all``), so the document shows the output of the run it describes. It
records the command, the date and every scenario's config hash; tests/test_results_doc.py
fails when a scenario file no longer resolves to its recorded hash, so stale results cannot
ship.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

import pandas as pd

import sim
from sim.analysis.comparison import compare
from sim.tables import PER_SECTOR

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = [
    "incidents",
    "undetected",
    "severity_unstopped",
    "interdiction_rate",
    "below_threshold_day",
    "final_in_iraq",
    "repositioning_triggers",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20250901)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument(
        "--no-docs", dest="docs", action="store_false", help="leave docs/results.md alone"
    )
    args = parser.parse_args()
    scenarios = sorted(ROOT.glob("scenarios/*.yaml"), key=lambda p: p.stem != "baseline")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out = ROOT / "results" / "compare_all" / stamp
    runs = []
    with sim.Executor("process", jobs=args.jobs) as executor:  # one pool for every scenario
        for path in scenarios:
            print(f"running {path.stem} ...", flush=True)
            options = dict(executor=executor, out=out / path.stem)
            runs.append(sim.run_experiment(path, args.replications, args.seed, **options))
    written = compare(runs, out / "comparison")
    table = pd.read_csv(written["csv"])
    text = markdown(table, args, scenarios, out, written)
    (out / "results.md").write_text(text)
    print(f"wrote {out / 'results.md'}")
    if args.docs:
        figures = ROOT / "docs" / "figures"
        figures.mkdir(parents=True, exist_ok=True)
        for key in ("in_iraq", "incidents", "forest", "timeline"):
            shutil.copy(written[key], figures / written[key].name)
        (ROOT / "docs" / "results.md").write_text(text)
        print(f"wrote {ROOT / 'docs' / 'results.md'} and docs/figures/")


READING = [
    "## Reading the differences",
    "",
    "- Coalition presence acts where the forces are (docs/model.md §5.5): a sector feels the "
    "personnel of sites within 250 km, fading with distance, and a sector that already feels "
    "more than the reference is saturated, so more people there change nothing.",
    "- `full_withdrawal_2025` therefore changes few incidents: Erbil is 170 km or more from "
    "every sector, the northern sectors stay saturated by north-east Syria's personnel, and "
    "Ain al-Asad, the base facing the western sectors, is emptied by Phase 1 in the baseline "
    "too. What it changes is detection: the Erbil ISR orbits are halved earlier.",
    "- `public_timeline` and `coalition_leaves_syria` raise incidents because they remove "
    "al-Tanf and north-east Syria, the sites nearest the border.",
    "- `repositioning` fires only in an emergency (3.5 times the expected 30-day count), "
    "rarely in the baseline, so its differences are near zero; read "
    "`resurgence_repositioning` against `isis_resurgence`: the gap between their rows is what "
    "the rule buys when it fires.",
    "- Across the border (docs/model.md §4.4–4.7): Syrian-side activity at Deir ez-Zor, Albu "
    "Kamal and al-Hol excites the sectors facing it, and feels the coalition presence near it, "
    "so scenarios that empty al-Tanf or north-east Syria (`syria_drawdown_2025`, "
    "`coalition_leaves_syria`, `public_timeline`) also raise the sectors facing those places. "
    "A quarter of the attempts the wall deters come back next door a week later, so a sector "
    "whose neighbour changes moves a little too (`isis_resurgence` raises sinjar through "
    "jazira).",
    "- `camp_breakout` raises rabia and sinjar, the sectors opposite al-Hol and the Hasakah "
    "prisons; jazira rises slightly through displacement from sinjar; al_qaim and al_walid "
    "are identical to the baseline in every replication: nothing couples them to the shocked "
    "processes, and their random numbers are common.",
    "- `syria_worst_case` combines the Syria-side scenarios; it leaves ISIS's own strength as "
    "in the baseline, so the resurgence and the 2014-style surge, which raise it, add more "
    "under their notional multipliers.",
    "",
]


def _cell(row: pd.Series) -> str:
    """A difference and its 95% interval, as the tables show them."""
    return f"{row['difference']:+.3g} [{row['diff_ci_low']:+.3g}, {row['diff_ci_high']:+.3g}]"


def by_sector(table: pd.DataFrame) -> list[str]:
    """Where the differences fall: incidents per 100 km of border per year, by sector."""
    rows = table[table["kpi"].str.startswith(PER_SECTOR)].copy()
    if rows.empty:
        return []
    rows["cell"] = rows.apply(_cell, axis=1)
    wide = rows.pivot(index="scenario", columns="kpi", values="cell")
    wide = wide[list(dict.fromkeys(rows["kpi"]))]  # the sectors north to south, as recorded
    sectors = [kpi.removeprefix(PER_SECTOR) for kpi in wide.columns]
    reference = rows.drop_duplicates("kpi").set_index("kpi")["reference_mean"]
    lines = [
        "## By sector",
        "",
        "Incidents per 100 km of border per year; baseline means: "
        + ", ".join(f"{s} {reference[PER_SECTOR + s]:.3g}" for s in sectors)
        + ".",
        "",
        "| scenario | " + " | ".join(sectors) + " |",
        "|---|" + "---|" * len(sectors),
    ]
    lines += [f"| {name} | " + " | ".join(row) + " |" for name, row in wide.iterrows()]
    return [*lines, ""]


def by_period(periods: pd.DataFrame) -> list[str]:
    """Incidents a month by period, scenario minus baseline."""
    rows = periods[periods["kpi"] == "incidents_per_month"].copy()
    if rows.empty:
        return []
    rows["cell"] = rows.apply(_cell, axis=1)
    wide = rows.pivot(index="scenario", columns="period", values="cell")
    order = list(dict.fromkeys(rows["period"]))
    reference = rows.drop_duplicates("period").set_index("period")["reference_mean"]
    lines = [
        "## By period",
        "",
        "Incidents a month (a month is 365.25/12 days) in each period, cut at the baseline's "
        "phase start dates, scenario minus baseline; baseline means: "
        + ", ".join(f"{p} {reference[p]:.3g}" for p in order)
        + ". Unlike the totals above, these do not grow with the horizon.",
        "",
        "| scenario | " + " | ".join(order) + " |",
        "|---|" + "---|" * len(order),
    ]
    lines += [f"| {name} | " + " | ".join(row[order]) + " |" for name, row in wide.iterrows()]
    return [*lines, ""]


def risk(exceedance: pd.DataFrame) -> list[str]:
    """Exceedance probabilities per scenario, with Wilson intervals."""
    if exceedance.empty:
        return []
    exceedance = exceedance.copy()
    exceedance["cell"] = exceedance.apply(
        lambda r: (
            f"{100 * r['probability']:.0f}% [{100 * r['ci_low']:.0f}, {100 * r['ci_high']:.0f}]"
        ),
        axis=1,
    )
    order = list(dict.fromkeys(exceedance["rule"]))
    wide = exceedance.pivot(index="scenario", columns="rule", values="cell")[order]
    wide = wide.loc[list(dict.fromkeys(exceedance["scenario"]))]
    sources = exceedance.drop_duplicates("rule").set_index("rule")["threshold_from"]
    return [
        "## Risk: how likely a bad spell is",
        "",
        "The share of replications reaching each threshold, with Wilson 95% intervals; "
        "thresholds: " + "; ".join(f"`{r}` ({sources[r]})" for r in order) + ".",
        "",
        "| scenario | " + " | ".join(f"`{r}`" for r in order) + " |",
        "|---|" + "---|" * len(order),
        *(f"| {name} | " + " | ".join(row) + " |" for name, row in wide.iterrows()),
        "",
    ]


def provenance(scenarios: list[Path], out: Path) -> list[str]:
    """Each scenario's config hash as its run recorded it: tests/test_results_doc.py checks
    them against the files."""
    lines = [
        "## Provenance",
        "",
        "Config hashes (SHA-256 of the resolved scenario, `sim.config.load.config_hash`) of "
        "the runs above; a test fails when a scenario file no longer resolves to its hash, so "
        "this page is regenerated whenever a scenario changes.",
        "",
        "| scenario | file | config hash |",
        "|---|---|---|",
    ]
    for path in scenarios:
        manifest = sim.load_results(out / path.stem).manifest
        lines.append(f"| {path.stem} | `scenarios/{path.name}` | `{manifest.config_hash}` |")
    return [*lines, ""]


def markdown(
    table: pd.DataFrame, args, scenarios: list[Path], out: Path, written: dict[str, Path]
) -> str:
    command = f"python scripts/compare_all.py --replications {args.replications} --seed {args.seed}"
    head = table[table["kpi"].isin(HEADLINE)].copy()
    head["difference (95% CI)"] = head.apply(_cell, axis=1)
    wide = head.pivot(index="scenario", columns="kpi", values="difference (95% CI)")
    wide = wide[[k for k in HEADLINE if k in wide.columns]]
    manifest = sim.load_results(out / "baseline").manifest
    reference = head.drop_duplicates("kpi").set_index("kpi")["reference_mean"]
    lines = [
        "# Results: every scenario against the baseline",
        "",
        f"Produced by `{command}` (`make compare-all`) on {dt.date.today().isoformat()}: "
        f"{args.replications} replications per scenario, root seed {args.seed}, withdrawal-sim "
        f"{(manifest.versions or {}).get('withdrawal-sim')} at commit `{manifest.git_commit}`.",
        "Differences are scenario minus baseline, paired replication by replication (common "
        "random numbers), with 95% t intervals. The model is notional: read the differences "
        "and their direction, not the levels.",
        "",
        "## Headline KPIs",
        "",
        "Baseline means: "
        + ", ".join(f"{k} {reference[k]:.4g}" for k in HEADLINE if k in reference.index)
        + ".",
        "",
        "| scenario | " + " | ".join(wide.columns) + " |",
        "|---|" + "---|" * len(wide.columns),
    ]
    for scenario, row in wide.iterrows():
        lines.append(f"| {scenario} | " + " | ".join(str(v) for v in row) + " |")
    lines += [
        "",
        "KPIs: `incidents` (all border incidents over the horizon), `undetected`, "
        "`severity_unstopped` (severity of incidents not interdicted), `interdiction_rate`, "
        "`below_threshold_day` (first day in-Iraq personnel fall below 500), `final_in_iraq`, "
        "`repositioning_triggers`. The full table of every KPI is "
        "`results/compare_all/<run time>/comparison/comparison.csv` after the run.",
        "",
        *by_period(pd.read_csv(written["periods"])),
        *risk(pd.read_csv(written["exceedance"])),
        *by_sector(table),
        *READING,
        "## Figures",
        "",
        "![Personnel in Iraq by scenario](figures/in_iraq.png)",
        "",
        "![Incidents per month by sector and scenario](figures/incidents_by_sector.png)",
        "",
        "![KPI differences against the baseline](figures/kpi_differences.png)",
        "",
        "![Expected incidents a day by sector and scenario](figures/timeline.png)",
        "",
        "## Scenarios",
        "",
        "See [`scenarios/README.md`](../scenarios/README.md) for each story and its source: "
        + ", ".join(f"`{p.stem}`" for p in scenarios)
        + ".",
        "",
        *provenance(scenarios, out),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""Write the notebooks in notebooks/ from this source, without outputs.

    python scripts/make_notebooks.py

Keeping the cells here makes their diffs readable; the tests execute the written notebooks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
FIGURE_TAG = "figure"  # cells that must show an image (tests/test_notebooks.py checks)


def figure_cell(source: str):
    """A code cell that draws: tagged, so the tests check that it shows an image."""
    return new_code_cell(source, metadata={"tags": [FIGURE_TAG]})


SETUP = """\
%matplotlib inline
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import sim

# Small by default in the tests (WSIM_REPLICATIONS=2); raise it for real work.
REPLICATIONS = int(os.environ.get("WSIM_REPLICATIONS", "50"))
RESULTS = Path(os.environ.get("WSIM_RESULTS", "../results/notebooks"))
SEED = 1"""

BASELINE = [
    new_markdown_cell(
        "# The baseline drawdown\n\n"
        "Runs the two-phase baseline (Phase 1 from September 2025, Phase 2 from September "
        "2026, trainers remain) from Python, then explores its tables and figures. Everything "
        "here uses the same public API as the `withdrawal-sim` command."
    ),
    new_code_cell(SETUP),
    new_markdown_cell(
        "## Load and run\n\n`load_scenario` validates the file (and its `extends`); "
        "`run_experiment` writes a new run folder under `RESULTS/baseline/` (each execution "
        "its own, so the notebook can be run again) and returns its path."
    ),
    new_code_cell(
        'scenario = sim.load_scenario("../scenarios/baseline.yaml")\n'
        "print(scenario.metadata.description)\n"
        "run_dir = sim.run_experiment(scenario, REPLICATIONS, SEED, results_root=RESULTS,\n"
        "                             executor='serial', progress=False)\n"
        "run = sim.load_results(run_dir)\n"
        "run"
    ),
    new_markdown_cell(
        "## Provenance\n\nThe manifest (`run.manifest`, read by attribute) records the "
        "resolved configuration, its hash, the seed, package versions, the git commit and "
        "every session that ran."
    ),
    new_code_cell(
        'run.manifest.model_dump(include={"scenario", "root_seed", "replications", '
        '"config_hash", "git_commit", "status"})'
    ),
    new_markdown_cell("## KPIs\n\nOne row per replication; the summary gives 95% t intervals."),
    new_code_cell(
        "from sim.analysis.summary import summarize_kpis\n\nsummarize_kpis(run).round(3)"
    ),
    new_markdown_cell(
        "## Personnel over time\n\n`posture` has in-Iraq, in-Syria, out-of-theatre "
        "and in-transit totals at every recorded date."
    ),
    new_code_cell(
        "from sim.analysis.bands import mean_band\n\n"
        "band = mean_band(run.posture, 'in_iraq', ['date'])\n"
        "assert band['mean'].iloc[0] == 2000\n"
        "band.iloc[[0, 250, 700]]"
    ),
    new_markdown_cell(
        "The run figures are drawn outside pyplot (so that saving them never depends on the "
        "backend): a cell shows one by returning it. `sim.run_figures(run_dir)` writes both "
        "into the run folder, as `withdrawal-sim run` does."
    ),
    new_code_cell("[path.name for path in sim.run_figures(run_dir)]"),
    figure_cell("from sim.analysis.figures import personnel_figure\n\npersonnel_figure(run)"),
    new_markdown_cell(
        "## Incidents\n\nOne row per incident, with its parent (for self-excited "
        "incidents), detection, response times and outcome."
    ),
    new_code_cell(
        "incidents = run.incidents\n"
        "print(incidents.groupby(['sector', 'outcome']).size().unstack(fill_value=0))\n"
        "print('share triggered by an earlier incident:', (incidents['parent'] >= 0).mean().round(3))"
    ),
    figure_cell("from sim.analysis.figures import incidents_figure\n\nincidents_figure(run)"),
    new_markdown_cell(
        "## Before and after the drawdown\n\nMonthly incidents before Phase 1 "
        "and after Phase 2, per replication."
    ),
    new_code_cell(
        "daily = run.daily\n"
        "before = daily[daily['date'] < '2025-09-01'].groupby('replication')['incidents'].sum() / 8\n"
        "after = daily[daily['date'] >= '2026-10-01'].groupby('replication')['incidents'].sum() / 15\n"
        "pd.DataFrame({'per month before': before, 'per month after': after}).describe().round(2)"
    ),
]

COMPARE = [
    new_markdown_cell(
        "# Comparing the scenarios\n\n"
        "Runs the baseline and the alternatives the article names with one seed, then compares "
        "each with the baseline replication by replication (common random numbers)."
    ),
    new_code_cell(SETUP),
    new_code_cell(
        "names = ['baseline', 'full_withdrawal_2025', 'repositioning', 'coalition_leaves_syria',\n"
        "         'isis_resurgence', 'coordination_breakdown', 'five_year_plan_slips']\n"
        "runs = []\n"
        "# one executor for every run ('process' would keep one pool of workers for all)\n"
        "with sim.Executor('serial') as executor:\n"
        "    for name in names:\n"
        "        # a new folder under RESULTS/compare/<name>/ on every execution\n"
        "        run_dir = sim.run_experiment(f'../scenarios/{name}.yaml', REPLICATIONS, SEED,\n"
        "                                     results_root=RESULTS / 'compare',\n"
        "                                     executor=executor, progress=False)\n"
        "        runs.append(sim.load_results(run_dir))\n"
        "[run.name for run in runs]"
    ),
    new_markdown_cell(
        "## The comparison table\n\nDifferences are scenario minus baseline with "
        "95% intervals; `variance_reduction` is how much pairing narrowed them."
    ),
    new_code_cell(
        "from sim.analysis.summary import compare_runs\n\n"
        "table = compare_runs(runs)\n"
        "headline = table[table['kpi'].isin(['incidents', 'severity_unstopped', 'final_in_iraq'])]\n"
        "headline[['scenario', 'kpi', 'difference', 'diff_ci_low', 'diff_ci_high', 'method']].round(2)"
    ),
    new_markdown_cell("## Figures\n\nEach scenario keeps its colour across figures."),
    figure_cell(
        "from sim.analysis import comparison\n\n"
        "colors = comparison.scenario_colors(runs)\n"
        "comparison.in_iraq_figure(runs, colors)\n"
        "comparison.forest_figure(table, colors)\n"
        "plt.show()"
    ),
    new_markdown_cell(
        "## A question of your own\n\nAny `--set` override works from Python too: "
        "here, what if Phase 2 kept twice as many force-protection personnel?"
    ),
    new_code_cell(
        "variant = sim.load_scenario('../scenarios/baseline.yaml', [\n"
        "    'metadata.name=more_force_protection',\n"
        "    'forces.phases.phase_2.reduce.erbil.force_protection=340'])\n"
        "run_dir = sim.run_experiment(variant, REPLICATIONS, SEED, results_root=RESULTS / 'compare',\n"
        "                             executor='serial', progress=False)\n"
        "compare_runs([runs[0], sim.load_results(run_dir)]).set_index('kpi').loc[\n"
        "    ['final_in_iraq', 'incidents'], ['difference', 'diff_ci_low', 'diff_ci_high']]"
    ),
]

SWEEP = [
    new_markdown_cell(
        "# Exploring a sweep\n\n"
        "How many trainers must stay, and which assumption drives the border outcome? Sweeps "
        "run many design points of one scenario with one shared seed; this notebook runs the "
        "shipped residual-trainer grid and a small Sobol study."
    ),
    new_code_cell(SETUP + "\nSOBOL_SAMPLES = int(os.environ.get('WSIM_SOBOL_SAMPLES', '64'))"),
    new_markdown_cell(
        "## A one-parameter grid\n\n`scenarios/sweeps/residual_trainers.yaml` keeps "
        "0 to 1,000 trainers in Erbil."
    ),
    new_code_cell(
        "# a new folder under RESULTS/sweeps/residual_trainers/ on every execution\n"
        "grid_dir = sim.run_sweep('../scenarios/sweeps/residual_trainers.yaml', REPLICATIONS,\n"
        "                         results_root=RESULTS, executor='serial', progress=False)\n"
        "kpis = sim.load_sweep_results(grid_dir)\n"
        "kpis.groupby('trainers')[['final_in_iraq', 'incidents']].mean()"
    ),
    figure_cell(
        "from sim.analysis.sensitivity import response_curve\n\n"
        "response_curve(kpis, 'trainers', 'incidents', 'trainers')\n"
        "plt.show()"
    ),
    new_markdown_cell(
        "## Sobol indices\n\nThe shipped `threat_sobol.yaml` with fewer samples "
        "(set `WSIM_SOBOL_SAMPLES` for more): first-order and total indices with "
        "their 95% intervals."
    ),
    new_code_cell(
        "import yaml\n\n"
        "spec = yaml.safe_load(open('../scenarios/sweeps/threat_sobol.yaml'))\n"
        "RESULTS.mkdir(parents=True, exist_ok=True)\n"
        "# a sweep names its base scenario relative to itself\n"
        "base = os.path.relpath(Path('../scenarios/baseline.yaml').resolve(), RESULTS.resolve())\n"
        "spec['sweep'].update(samples=SOBOL_SAMPLES, scenario=base)\n"
        "small = RESULTS / 'threat_sobol_small.yaml'  # replaced on every execution\n"
        "small.write_text(yaml.safe_dump(spec))\n"
        "sobol_dir = sim.run_sweep(small, 1, results_root=RESULTS, executor='serial', progress=False)\n"
        "sobol_dir.relative_to(RESULTS)"
    ),
    figure_cell(
        "from sim.analysis.sensitivity import indices, indices_figure\n\n"
        "found = indices(sobol_dir, 'incidents')\n"
        "indices_figure(found, 'incidents', 'threat_sobol')\n"
        "plt.show()\n"
        "found.round(3)"
    ),
    new_markdown_cell(
        "## Indices over time\n\nThe same analysis on the number of incidents in "
        "each recorded month, to see when each assumption matters."
    ),
    new_code_cell(
        "from sim.analysis.sensitivity import indices_over_time\n\n"
        "over_time = indices_over_time(sobol_dir, table='daily', value='incidents', every=90)\n"
        "over_time.pivot(index='date', columns='parameter', values='ST').round(2)"
    ),
]


def write(name: str, cells: list) -> None:
    notebook = new_notebook(cells=cells)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:02d}"  # stable ids: regenerating changes only what changed
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, ROOT / "notebooks" / name)


if __name__ == "__main__":
    write("01_baseline.ipynb", BASELINE)
    write("02_compare_scenarios.ipynb", COMPARE)
    write("03_sweeps.ipynb", SWEEP)

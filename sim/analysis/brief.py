"""``withdrawal-sim brief``: one A4 page for a briefing, as PDF or self-contained HTML.

The page holds the question, the scenarios and what each changes from the reference (the
first run), three or four findings in plain words with their 95% intervals, the key figure
(personnel in Iraq and expected border incidents a day, by scenario), the caveats, and a
provenance footer (version, commit, seeds, config hashes). ``brief_content`` gathers the
words and numbers once; ``write_pdf`` lays them out on an A4 matplotlib figure (one figure
is one page, and the layout stops adding lines before the page is full) and ``write_html``
writes the same content with the figure embedded, no external reference of any kind.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.bands import mean_band
from sim.analysis.changes import config_changes, grouped
from sim.analysis.drawn import new_figure
from sim.analysis.exceedance import default_thresholds, exceedance_table
from sim.analysis.figures import figure_bytes, format_dates
from sim.analysis.palette import scenario_colors
from sim.analysis.periods import compare_periods, period_kpis, phase_periods
from sim.analysis.runs import COMPARE_TABLES, check_output, load_runs
from sim.analysis.summary import summarize
from sim.analysis.timeline import TOTAL, weekly_intensity
from sim.experiment.errors import RunError
from sim.experiment.results import RunResults
from sim.experiment.store import atomic_write_bytes

MAX_RUNS = 4
A4 = (8.27, 11.69)  # inches
CAVEATS = [
    "Threat rates, the effects of coalition presence, Iraqi capacity, the wall and "
    "cross-border coordination, and the Syrian-side links are NOTIONAL or only checked "
    "for plausibility (docs/sources.md lists every default and its source): read the "
    "differences between scenarios, not the absolute counts.",
    "Intervals are 95% over the replications of the model's own randomness; they leave out "
    "the uncertainty of the notional parameters, which the sweeps in scenarios/sweeps/ vary.",
    "Periods are cut at the reference's scheduled phase dates; runs that share a root seed "
    "are compared replication by replication (common random numbers).",
]


@dataclass
class ScenarioLine:
    name: str
    summary: str
    changes: list[str] = field(default_factory=list)
    changed: int = 0
    more: bool = False
    below: str = ""

    reference: bool = False

    @property
    def counted(self) -> str:
        return f"{self.changed} value{'s' * (self.changed != 1)}"

    @property
    def label(self) -> str:
        return f"{self.name} (reference)" if self.reference else self.name

    @property
    def details(self) -> str:
        """What follows the name: the summary, when Iraq falls below the threshold, and (for
        a scenario) the values it changes."""
        summary = self.summary if self.summary.endswith((".", "…")) else f"{self.summary}."
        parts = [summary, f"{self.below}."]
        if not self.reference:
            more = " and more" if self.more else ""
            listed = f": {', '.join(self.changes)}{more}" if self.changes else ""
            parts.append(f"Changes {self.counted}{listed}.")
        return " ".join(p for p in parts if p.strip(". "))


@dataclass
class BriefContent:
    """Everything on the page, as words, plus the key figure's runs."""

    title: str
    question: str
    scenarios: list[ScenarioLine]
    findings: list[str]
    caveats: list[str]
    provenance: list[str]
    runs: list[RunResults]


def _first_sentence(text: str, limit: int = 170) -> str:
    text = " ".join((text or "").split())
    end = text.find(". ")
    sentence = text if end < 0 else text[: end + 1]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _date(run: RunResults, day: float) -> str:
    return (run.scenario.clock.start_date + dt.timedelta(days=float(day))).strftime("%d %b %Y")


def _signed(value: float) -> str:
    return f"{value:+.1f}"


def _below_days(run: RunResults) -> tuple[float, np.ndarray, int]:
    """The in-Iraq threshold, the days personnel fell below it in the replications that
    reached it, and the number of replications."""
    days = run.kpis["below_threshold_day"].to_numpy(float)
    return run.scenario.forces.in_iraq_threshold_personnel, days[~np.isnan(days)], len(days)


def _drawdown_finding(run: RunResults) -> str:
    threshold, reached, total = _below_days(run)
    if not len(reached):
        return f"In {run.name}, coalition personnel in Iraq never fall below {threshold:,.0f}."
    share = "" if len(reached) == total else f" in {len(reached)} of {total} replications"
    low, high = np.percentile(reached, [5, 95])
    spread = (
        f"between {_date(run, low)} and {_date(run, high)} in 90% of replications"
        if high > low
        else "in every replication"
    )
    return (
        f"In {run.name}, coalition personnel in Iraq fall below {threshold:,.0f} on "
        f"{_date(run, np.median(reached))} (median{share}; {spread})."
    )


WHAT = {
    "incidents_per_month": "border incidents a month",
    "unstopped_per_month": "missed or undetected incidents a month",
}


def _difference_finding(table: pd.DataFrame, scenario: str, reference: str) -> str:
    """Where the scenario differs most (relatively) from the reference: the period and the
    measure (all incidents, or those missed or undetected) with the paired interval, and
    the other measure beside it."""
    own = table[(table["scenario"] == scenario) & table["kpi"].isin(list(WHAT))]
    if own.empty:
        return f"{scenario}: no period comparison is possible (too few replications)."
    relative = own["difference"].abs() / own["reference_mean"].abs().clip(lower=1e-9)
    row = own.loc[relative.idxmax()]
    period, kpi = row["period"], row["kpi"]
    [other] = [k for k in WHAT if k != kpi]
    beside = own[(own["period"] == period) & (own["kpi"] == other)]
    low, high = row["diff_ci_low"], row["diff_ci_high"]
    paired = f", {row['n']} paired replications" if row["method"] == "paired t" else ""
    words = (
        f"{scenario}: {row['scenario_mean']:.1f} {WHAT[kpi]} {period}, against "
        f"{row['reference_mean']:.1f} in {reference}: {_signed(row['difference'])} a month "
        f"(95% CI {_signed(low)} to {_signed(high)}{paired})"
    )
    if not beside.empty:
        b = beside.iloc[0]
        words += f"; {WHAT[other]} {b['scenario_mean']:.1f} against {b['reference_mean']:.1f}"
    return words + ("; no clear difference." if low <= 0.0 <= high else ".")


def _below(run: RunResults) -> str:
    """When the run's personnel in Iraq fall below the threshold (median over replications)."""
    threshold, reached, _ = _below_days(run)
    if not len(reached):
        return f"Iraq never below {threshold:,.0f}"
    return f"Iraq below {threshold:,.0f} on {_date(run, np.median(reached))}"


def _period_finding(run: RunResults) -> str:
    """The run's incidents a month in each period, with the 95% interval of each mean."""
    rows = period_kpis(run, phase_periods(run))
    parts = []
    for period, values in rows.groupby("period", sort=False)["incidents_per_month"]:
        band = summarize(values.to_numpy(float))
        interval = f"95% CI {band['ci_low']:.1f}–{band['ci_high']:.1f}"
        parts.append(f"{band['mean']:.1f} a month {period} ({interval})")
    return f"In {run.name}, border incidents run at " + "; ".join(parts) + "."


def _tail_finding(exceedance: pd.DataFrame) -> str | None:
    rows = exceedance[exceedance["rule"].str.startswith("worst_30d_incidents")]
    if rows.empty:
        return None
    threshold = rows["rule"].iloc[0].split("≥")[1].strip()
    parts = [
        f"{r.scenario} {100 * r.probability:.0f}% ({100 * r.ci_low:.0f}–{100 * r.ci_high:.0f}%)"
        for r in rows.itertuples()
    ]
    return (
        f"Chance of a 30-day spell with {threshold} or more border incidents (Wilson 95% "
        f"intervals): {'; '.join(parts)}."
    )


def brief_content(runs: list[RunResults]) -> BriefContent:
    """The words and numbers of the page (module docstring)."""
    reference = runs[0]
    others = runs[1:]
    scenario = reference.scenario
    phases = ", ".join(f"{p.name} from {p.start_date:%B %Y}" for p in scenario.forces.phases)
    question = (
        "What happens at the Iraq–Syria border while the coalition draws down"
        + (f" ({phases})" if phases else "")
        + ", and how do the alternatives compare? Border incidents, the share that is missed "
        "or undetected, and the drawdown's pace, over "
        f"{scenario.clock.start_date:%B %Y} to {scenario.clock.end_date:%B %Y}."
    )
    lines = [
        ScenarioLine(
            reference.name,
            _first_sentence(reference.manifest.description or ""),
            below=_below(reference),
            reference=True,
        )
    ]
    for run in others:
        changes = config_changes(reference.manifest.config, run.manifest.config)
        paths = grouped(changes)
        summary = _first_sentence(run.manifest.description or "")
        more = len(paths) > 4
        lines.append(ScenarioLine(run.name, summary, paths[:4], len(changes), more, _below(run)))
    findings: list[str] = []
    if len(others) < 3:
        findings.append(_drawdown_finding(reference))
    if others:
        table = compare_periods(runs, phase_periods(reference))
        findings += [_difference_finding(table, run.name, reference.name) for run in others]
    else:
        findings.append(_period_finding(reference))
    tail = _tail_finding(exceedance_table(runs, default_thresholds(reference)))
    if tail:
        findings.append(tail)
    provenance = [
        f"withdrawal-sim {_version(reference)}, commit {str(reference.manifest.git_commit)[:10]}, "
        f"made {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        *(
            f"{r.name}: seed {r.manifest.root_seed}, {r.manifest.completed_replications} "
            f"replications, config {str(r.manifest.config_hash)[:12]}"
            for r in runs
        ),
    ]
    names = ", ".join(run.name for run in runs)
    return BriefContent(
        f"Border risk during the coalition drawdown: {names}",
        question,
        lines,
        findings[:4],
        CAVEATS,
        provenance,
        runs,
    )


def _version(run: RunResults) -> str:
    versions = run.manifest.versions or {}
    return str(versions.get("withdrawal-sim", versions.get("withdrawal_sim", "?")))


def draw_key_figure(fig: Figure, runs: list[RunResults], rect: tuple[float, ...]) -> None:
    """Two panels in ``rect`` (left, bottom, width, height in figure fractions): personnel in
    Iraq and expected incidents a day in all sectors, one colour per scenario."""
    left, bottom, width, height = rect
    colors = scenario_colors(run.name for run in runs)
    gap = 0.09 * width
    panel = (width - gap) / 2
    personnel = fig.add_axes((left, bottom, panel, height))
    risk = fig.add_axes((left + panel + gap, bottom, panel, height))
    for run in runs:
        band = mean_band(run.posture, "in_iraq", ["date"])
        width, layer = (2.6, 1) if run is runs[0] else (1.3, 2)  # the reference underneath
        personnel.plot(
            band["date"],
            band["mean"],
            color=colors[run.name],
            lw=width,
            zorder=layer,
            label=run.name,
        )
        weekly = weekly_intensity(run)
        total = weekly[weekly["sector"] == TOTAL]
        risk.plot(total["week"], total["mean"], color=colors[run.name], lw=1.2)
        if run is runs[0] and total["n"].max() > 1:
            risk.fill_between(
                total["week"], total["ci_low"], total["ci_high"], color=colors[run.name], alpha=0.2
            )
    personnel.set_title("Coalition personnel in Iraq\n(mean over replications)", fontsize=8.5)
    band_note = f", band: 95% CI of {runs[0].name}" if runs[0].manifest.replications > 1 else ""
    risk.set_title(f"Expected border incidents a day\n(weekly mean{band_note})", fontsize=8.5)
    for ax in (personnel, risk):
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        format_dates(ax)
        for phase in runs[0].scenario.forces.phases:
            ax.axvline(np.datetime64(str(phase.start_date)), color="0.5", ls="--", lw=0.6)
    personnel.legend(fontsize=7, loc="upper right", frameon=False)


# -- PDF --------------------------------------------------------------------------------------

MARGIN = 0.6  # inches


class _Page:
    """Writes lines top-down on an A4 figure, in inches from the top, wrapping text."""

    def __init__(self, draw: bool = True) -> None:
        self.fig = new_figure(A4)
        self.fig.set_layout_engine(None)
        self.y = MARGIN
        self.draw = draw  # False: only measure how far the text goes

    def text(
        self,
        words: str,
        size: float = 9.0,
        weight: str = "normal",
        color: str = "#222",
        indent: float = 0.0,
        bullet: str = "",
        gap: float = 0.04,
    ) -> None:
        width_chars = int((A4[0] - 2 * MARGIN - indent) * 72 / (size * 0.52))
        wrapped = textwrap.wrap(words, width_chars) or [""]
        line = size * 1.32 / 72
        for k, part in enumerate(wrapped):
            if bullet and k == 0:
                self._put(MARGIN + indent - 0.16, bullet, size, weight, color)
            self._put(MARGIN + indent, part, size, weight, color)
            self.y += line
        self.y += gap

    def _put(self, x: float, words: str, size: float, weight: str, color: str) -> None:
        if not self.draw:
            return
        self.fig.text(
            x / A4[0],
            1 - self.y / A4[1],
            words,
            fontsize=size,
            weight=weight,
            color=color,
            va="top",
            ha="left",
            parse_math=False,  # a "$" in a description is a dollar, not mathtext
        )

    def rect(self, height: float) -> tuple[float, float, float, float]:
        """Figure-fraction rectangle for axes ``height`` inches tall below the text so far."""
        left, width = (MARGIN + 0.45) / A4[0], (A4[0] - 2 * MARGIN - 0.5) / A4[0]
        bottom = 1 - (self.y + height) / A4[1]
        self.y += height + 0.45
        return (left, bottom, width, height / A4[1])


FIGURE_INCHES = (1.8, 3.4)  # the key figure's height: at least, at most
FOOTER_LINE = 7 * 1.3 / 72


def _head(page: _Page, content: BriefContent) -> None:
    page.text(content.title, 13.5, "bold", gap=0.02)
    page.text("Strategic and notional model built on public information only.", 8, color="#666")
    page.text("The question", 10.5, "bold")
    page.text(content.question)
    page.text("The scenarios", 10.5, "bold")
    for line in content.scenarios:
        page.text(f"{line.label}: {line.details}", 8.5, indent=0.2, bullet="•", gap=0.02)
    page.text("Findings", 10.5, "bold")
    for k, finding in enumerate(content.findings, 1):
        page.text(finding, 9.0, indent=0.2, bullet=f"{k}.", gap=0.03)


def _caveats(page: _Page, content: BriefContent) -> None:
    page.text("Caveats", 10.5, "bold")
    for caveat in content.caveats:
        page.text(caveat, 8.0, indent=0.2, bullet="•", gap=0.02)


def pdf_figure(content: BriefContent) -> Figure:
    """The brief laid out on one A4 figure: the text is measured first, and the key figure
    takes the height left between the findings and the caveats (within ``FIGURE_INCHES``);
    a RunError if even the smallest figure would not fit."""
    measure = _Page(draw=False)
    _head(measure, content)
    above = measure.y + 0.3  # the panels' titles
    _caveats(measure, content)
    footer = A4[1] - MARGIN - len(content.provenance) * FOOTER_LINE
    height = min(FIGURE_INCHES[1], footer - 0.15 - (measure.y - above + 0.3) - above - 0.45)
    if height < FIGURE_INCHES[0]:
        raise RunError("the brief's text leaves no room on one page for its figure")
    page = _Page()
    _head(page, content)
    page.y += 0.3
    draw_key_figure(page.fig, content.runs, page.rect(height))
    _caveats(page, content)
    page.y = footer
    for line in content.provenance:
        page.text(line, 7.0, color="#666", gap=0.0)
    return page.fig


# -- HTML -------------------------------------------------------------------------------------

STYLE = """
@page { size: A4; margin: 12mm; }
body { font-family: system-ui, sans-serif; max-width: 190mm; margin: 1rem auto; color: #222;
       font-size: 10pt; line-height: 1.35; overflow-wrap: anywhere; }
h1 { font-size: 15pt; margin: 0 0 0.2rem; } h2 { font-size: 11pt; margin: 0.8rem 0 0.2rem; }
.note, footer { color: #666; font-size: 8pt; } img { width: 100%; }
ul, ol { margin: 0.2rem 0; padding-left: 1.4rem; } li { margin: 0.15rem 0; }
"""


def html_page(content: BriefContent) -> str:
    """The brief as one HTML5 document with nothing outside it (the figure is a data URI)."""
    e = html.escape
    fig = new_figure((7.4, 2.9))
    fig.set_layout_engine(None)
    draw_key_figure(fig, content.runs, (0.07, 0.16, 0.9, 0.72))
    image = base64.b64encode(figure_bytes(fig)).decode()
    scenarios = "".join(
        f"<li><strong>{e(line.label)}</strong>: {e(line.details)}</li>"
        for line in content.scenarios
    )
    findings = "".join(f"<li>{e(f)}</li>" for f in content.findings)
    caveats = "".join(f"<li>{e(c)}</li>" for c in content.caveats)
    footer = "<br>".join(e(p) for p in content.provenance)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{MARK}: {e(content.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{e(content.title)}</h1>\n"
        '<p class="note">Strategic and notional model built on public information only.</p>\n'
        f"<h2>The question</h2>\n<p>{e(content.question)}</p>\n"
        f"<h2>The scenarios</h2>\n<ul>{scenarios}</ul>\n"
        f"<h2>Findings</h2>\n<ol>{findings}</ol>\n"
        f'<figure><img alt="Personnel in Iraq and expected border incidents a day by scenario" '
        f'src="data:image/png;base64,{image}"></figure>\n'
        f"<h2>Caveats</h2>\n<ul>{caveats}</ul>\n"
        f"<footer>{footer}</footer>\n</body>\n</html>\n"
    )


MARK = "withdrawal-sim brief"  # in every brief's title (HTML) or Title metadata (PDF)


def _is_brief(path: Path) -> bool:
    """Whether ``path`` is a brief this module wrote (its mark is in the first or last
    8 KB: the HTML title, or the PDF's information dictionary)."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
        handle.seek(max(0, path.stat().st_size - 8192))
        tail = handle.read()
    return MARK.encode() in head or MARK.encode() in tail


def brief(run_dirs: list[str | Path], out: str | Path) -> Path:
    """Write the one-page brief of 1 to ``MAX_RUNS`` runs (the first is the reference) to
    ``out`` (.pdf or .html) and return its path."""
    out = Path(out)
    check_output(out, (".pdf", ".html"), "a brief", _is_brief)
    if not 1 <= len(run_dirs) <= MAX_RUNS:
        raise RunError(f"a one-page brief holds 1 to {MAX_RUNS} runs, not {len(run_dirs)}")
    runs = load_runs(run_dirs, COMPARE_TABLES)
    names = [run.name for run in runs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise RunError(
            f"a brief names its scenarios, so each may come once: {', '.join(twice)} is given "
            "more than once (use compare or report for runs of one scenario)"
        )
    content = brief_content(runs)
    if out.suffix.lower() == ".pdf":
        buffer = io.BytesIO()
        metadata = {"Title": f"{MARK}: {content.title}", "Creator": MARK}
        pdf_figure(content).savefig(buffer, format="pdf", metadata=metadata)
        data = buffer.getvalue()
    else:
        data = html_page(content).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, data)
    return out

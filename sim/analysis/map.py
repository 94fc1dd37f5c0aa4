"""The run's map: where the incidents fall along the border, what happens on the Syrian
side, and where the forces are.

Small multiples, one panel per date (the start, and the day each of the first phases
completes on average; without two such days, dates that split the time left), each
showing the forces of its date and the events of its own period, from its date to the next
panel's (the last to the end of the run), so a panel's colours change with what happened
while its posture held: the border polyline sector by sector coloured by the incidents per
100 km per year of that period (one colour scale for all panels, the mean over
replications), the sites as circles whose *area* is proportional to the mean personnel
there on that date, the Syrian points of interest, and the Syrian-side ``activity`` as
circles of area proportional to its events a year at each place in that period. Axes are
longitude and latitude in degrees with the aspect 1/cos(latitude) of the map's middle
latitude, so a kilometre looks the same east–west as north–south (an equirectangular view:
over 5° of latitude the scale drifts by under 6%, which is all a sketch map needs).

Only matplotlib draws it: no tiles, no projection library. Labels are kept short and
placed by a small greedy search that tries sixteen positions around each point and keeps
the first that overlaps nothing drawn or labelled before it. A scenario without a
geography has no map (``map_figure`` returns None).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.analysis.bands import Band, as_numpy, factorize
from sim.analysis.drawn import COLUMNS, column, new_figure, replications
from sim.analysis.forces import site_totals
from sim.analysis.palette import sector_label
from sim.clock import to_dates
from sim.config.geography_checks import border_line, sector_lengths, sector_span
from sim.config.schema import Scenario
from sim.experiment.results import RunResults
from sim.geo import Polyline

DAYS_PER_YEAR = 365.25
AREA_PER_PERSON = 0.7
"""Circle area in pt² per person: 1,000 personnel draw a circle of 700 pt² (30 pt across)."""
SIZE_KEY = (100, 500, 1_000)
JUST_AFTER = 1e-6  # days
MAX_PHASE_PANELS = 2  # the start, then after Phase 1 and after Phase 2
PAD_DEGREES = 0.6
MAX_LATITUDE = 80.0
COUNTRY_COLOURS = {"iraq": "tab:blue", "syria": "tab:green"}
AREA_PER_EVENT = 4.0
"""Circle area in pt² per Syrian-side event a year: 100 a year draw 400 pt² (23 pt across)."""
EVENT_KEY = (10, 50, 100)
ACTIVITY_COLOUR = "#6a3d9a"  # no site's, no rate's
ACTIVITY_ALPHA = 0.35
FONT = 7.5
# YlOrRd without its palest quarter: a low rate must still show against the white map
RATE_COLOURS = ListedColormap(colormaps["YlOrRd"](np.linspace(0.25, 1.0, 256)), "rates")


@dataclass(frozen=True)
class Panel:
    """One small multiple: what its date is, and the simulation day it shows."""

    title: str
    day: float
    after: bool = False  # show the state just after ``day``'s events, not just before

    @property
    def read_day(self) -> float:
        """The day personnel are read on: a table holds the state *before* the events of
        an instant, and a phase completes with its last arrival, so the state after it
        is read a moment (a tenth of a second) later."""
        return self.day + JUST_AFTER if self.after else self.day


def short_name(name: str, label: str = "", limit: int = 18) -> str:
    """A label short enough for a map: the label up to its first " (", ",", " / " or " to ",
    without a trailing "base", "air base" or "garrison" (the circle says it is a site); a
    long proper name by its initials ("Joint Operations Command": "JOC"); else the name
    with spaces."""
    short = re.split(r" \(|, | / | to ", label, maxsplit=1)[0].strip()
    short = re.sub(r" (air base|base|garrison)$", "", short)
    words = short.split()
    if len(short) > limit and len(words) > 1 and all(w[:1].isupper() for w in words):
        short = "".join(w[0] for w in words)
    return short if short and len(short) <= limit else name.replace("_", " ")


def aspect_for(lat_low: float, lat_high: float) -> float:
    """Degrees of latitude per degree of longitude on screen: 1/cos(middle latitude) (the
    middle held within 80° of the equator, so a polar scenario still draws)."""
    middle = min(max((lat_low + lat_high) / 2, -MAX_LATITUDE), MAX_LATITUDE)
    return 1.0 / math.cos(math.radians(middle))


def _mean_days(run: RunResults, key: str) -> dict[str, float]:
    """Each phase's mean ``key`` day over the replications where it happened."""
    phase, phases = factorize(column(run, "phases", "phase"))
    day = as_numpy(column(run, "phases", key)).astype(float)
    found = {}
    for i, name in enumerate(phases):
        days = day[(phase == i) & np.isfinite(day)]
        if len(days):
            found[str(name)] = float(days.mean())
    return found


def panels(run: RunResults) -> list[Panel]:
    """The start, then the mean day each of the first phases completes (or starts, if it
    never completes); with fewer than two such dates, dates that cut the time left after
    the last into equal parts, so every panel has a period of its own (``periods``)."""
    s = run.scenario
    found = [Panel("start", 0.0)]
    complete, started = _mean_days(run, "complete_day"), _mean_days(run, "start_day")
    for phase in s.forces.phases[:MAX_PHASE_PANELS]:
        title = phase.name.replace("_", " ")
        if phase.name in complete:
            found.append(Panel(f"after {title}", complete[phase.name], after=True))
        elif phase.name in started:
            found.append(Panel(f"{title} starts", started[phase.name]))
    last, parts = found[-1].day, MAX_PHASE_PANELS + 2 - len(found)
    fill = [Panel("", last + (s.horizon_days - last) * k / parts) for k in range(1, parts)]
    return found + fill


def periods(shown: list[Panel], horizon: float) -> list[tuple[float, float]]:
    """The days each panel's incidents and activity are counted over: from its date to the
    next panel's, the last to the horizon (the forces a panel shows hold over it)."""
    days = [p.day for p in shown]
    return list(zip(days, [*days[1:], horizon], strict=True))


def per_year(
    run: RunResults, table: str, key: str, names: Sequence[str], spans: Sequence[tuple]
) -> np.ndarray:
    """Events of ``table`` a year at each of ``names`` (its ``key`` column) over each span
    of days ``(start, end)`` (through the horizon for a span that ends there), the mean over
    replications: count ÷ replications ÷ ((end − start) / 365.25 days). One row a span."""
    if table not in run.tables:
        return np.zeros((len(spans), len(names)))
    where, found = factorize(column(run, table, key))
    day = as_numpy(column(run, table, "day")).astype(float)
    at = {name: k for k, name in enumerate(found.tolist())}
    index = np.array([at.get(name, -1) for name in names], dtype=np.int64)
    n = max(replications(run, "daily"), 1)
    rows = []
    for start, end in spans:
        keep = (where >= 0) & (day >= start) & ((day < end) | (end >= run.scenario.horizon_days))
        totals = np.append(np.bincount(where[keep], minlength=len(found)), 0)  # [-1]: none
        years = max(end - start, JUST_AFTER) / DAYS_PER_YEAR
        rows.append(totals[index] / n / years)
    return np.array(rows, dtype=float).reshape(len(spans), len(names))


def sector_rates(run: RunResults, spans: Sequence[tuple] | None = None) -> np.ndarray:
    """Incidents per 100 km per year of each sector (columns, in the scenario's order) over
    each span of days (rows; the whole run by default), the mean over replications:
    count ÷ (length / 100 km) ÷ (span / 365.25 days)."""
    s = run.scenario
    names = [sector.name for sector in s.border.sectors]
    spans = [(0.0, s.horizon_days)] if spans is None else spans
    lengths = np.array(sector_lengths(s))
    return per_year(run, "incidents", "sector", names, spans) / (lengths / 100.0)


def site_personnel(run: RunResults, days: Sequence[float]) -> dict[str, np.ndarray]:
    """Each site's mean personnel (all roles, over replications) on each of ``days``."""
    forces = {name: column(run, "forces", name) for name in COLUMNS["forces"]}
    sites, kept, chunks = site_totals(forces, days)
    band = Band.empty((len(sites), len(kept)))
    for values, present in chunks:
        band.add(values, present[:, :, None])
    mean = np.nan_to_num(band.interval()[0])
    at = np.clip(np.searchsorted(kept, np.asarray(days, dtype=float)), 0, max(len(kept) - 1, 0))
    if not len(kept):
        return {str(site): np.zeros(len(days)) for site in sites}
    return {str(site): mean[i, at] for i, site in enumerate(sites)}


@dataclass
class Labels:
    """Greedy label placement in points: each label takes the first of eight positions
    around its point (near it, then a little farther out) that overlaps no box taken before
    it (markers, the border, labels) and stays inside the axes; failing that, the position
    that overlaps least."""

    ax: Axes
    taken: list[tuple[float, float, float, float]] = field(default_factory=list)
    DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, -1), (-1, 1))
    GAPS = (2.5, 12.0)  # points between the marker and its label: near, then farther out

    def points(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = self.ax.transData.transform((lon, lat))
        return x * 72 / self.ax.figure.dpi, y * 72 / self.ax.figure.dpi

    def block(self, lon: float, lat: float, radius: float) -> None:
        """Keep labels off a marker of ``radius`` points at (lon, lat)."""
        x, y = self.points(lon, lat)
        self.taken.append((x - radius, y - radius, x + radius, y + radius))

    def _bounds(self) -> tuple[float, float, float, float]:
        """The axes' box in points."""
        (x0, x1), (y0, y1) = self.ax.get_xlim(), self.ax.get_ylim()
        return (*self.points(x0, y0), *self.points(x1, y1))

    def _cost(self, box: tuple[float, float, float, float], bounds) -> float:
        """Area of ``box`` over boxes already taken; huge if it leaves the axes."""
        x0, y0, x1, y1 = box
        a0, b0, a1, b1 = bounds
        outside = 1e6 * (x0 < a0 or x1 > a1 or y0 < b0 or y1 > b1)
        return outside + sum(
            max(0.0, min(x1, c1) - max(x0, c0)) * max(0.0, min(y1, d1) - max(y0, d0))
            for c0, d0, c1, d1 in self.taken
        )

    def add(
        self,
        lon: float,
        lat: float,
        text: str,
        radius: float = 3.0,
        prefer: tuple[float, float] | None = None,
        **style,
    ) -> None:
        """Label the point (lon, lat), drawn ``radius`` points wide, trying ``prefer`` (a
        direction in points: (1, 0) is east) first."""
        size = style.setdefault("fontsize", FONT)
        lines = text.split("\n")
        width, height = 0.58 * size * max(map(len, lines)), 1.25 * size * len(lines)
        x, y = self.points(lon, lat)
        bounds, best = self._bounds(), None
        directions = (*([prefer] if prefer else []), *self.DIRECTIONS)
        for gap, (dx, dy) in itertools.product(self.GAPS, directions):
            norm = math.hypot(dx, dy) or 1.0
            ox, oy = (radius + gap) * dx / norm, (radius + gap) * dy / norm
            left = x + ox - (0 if dx > 0.3 else width if dx < -0.3 else width / 2)
            bottom = y + oy - (0 if dy > 0.3 else height if dy < -0.3 else height / 2)
            box = (left, bottom, left + width, bottom + height)
            cost = self._cost(box, bounds)
            if best is None or cost < best[0]:
                best = (cost, box, ox, oy, dx, dy)
            if cost == 0:
                break
        _, box, ox, oy, dx, dy = best
        self.taken.append(box)
        ha = "left" if dx > 0.3 else "right" if dx < -0.3 else "center"
        va = "bottom" if dy > 0.3 else "top" if dy < -0.3 else "center"
        note = self.ax.annotate(
            text, (lon, lat), xytext=(ox, oy), textcoords="offset points", ha=ha, va=va, **style
        )
        note.set_in_layout(False)  # labels may not move the panels once placed


@dataclass(frozen=True)
class Geometry:
    """What every panel draws the same way: the border, its sectors and the places."""

    line: Polyline
    sections: list[Polyline]
    names: list[str]
    sites: list  # located sites in Iraq and Syria, in the scenario's order
    places: list  # points of interest in Syria, and any other place of activity
    starts: list[float]  # where each sector starts, km from the northern end
    active: list  # the places of activity processes

    @classmethod
    def of(cls, s: Scenario) -> Geometry:
        line = border_line(s)
        assert line is not None
        spans = [sector_span(sector, line.length_km) for sector in s.border.sectors]
        named = {p.name: p for p in (*s.geography.border, *s.geography.places)}
        active = [named[name] for name in dict.fromkeys(p.place for p in s.threats.processes)
                  if name in named]  # fmt: skip
        syrian = [p for p in s.geography.places if p.country == "syria"]
        return cls(
            line,
            [line.section(a, min(b, line.length_km)) for a, b in spans],
            [sector_label(sector.name) for sector in s.border.sectors],
            [x for x in s.forces.sites if x.lat is not None and x.country in COUNTRY_COLOURS],
            syrian + [p for p in active if p not in syrian],
            [a for a, _ in spans],
            active,
        )

    def extent(self) -> tuple[float, float, float, float]:
        """Longitudes and latitudes (low, high) holding everything drawn, padded."""
        lon = np.concatenate([self.line.lon, [p.lon for p in (*self.sites, *self.places)]])
        lat = np.concatenate([self.line.lat, [p.lat for p in (*self.sites, *self.places)]])
        return (
            float(lon.min()) - PAD_DEGREES,
            float(lon.max()) + PAD_DEGREES,
            max(float(lat.min()) - PAD_DEGREES, -90.0),
            min(float(lat.max()) + PAD_DEGREES, 90.0),
        )


def _draw_border(ax, g: Geometry, rates: np.ndarray, norm: Normalize) -> None:
    """The border under a grey casing, each sector one path coloured by its rate; small
    ticks where sectors meet."""
    paths = [np.column_stack([x.lon, x.lat]) for x in g.sections]
    ax.plot(g.line.lon, g.line.lat, color="0.35", linewidth=6.5, solid_capstyle="butt", zorder=2)
    lines = LineCollection(paths, cmap=RATE_COLOURS, norm=norm, linewidths=4.5, zorder=3)
    lines.set_array(rates)
    lines.set_capstyle("butt")
    lines.set_gid("sectors")
    ax.add_collection(lines)
    lat, lon = g.line.at(np.array([km for km in g.starts if km > 0.0]))
    ax.plot(lon, lat, linestyle="none", marker="o", markersize=3.5, color="black", zorder=4)


def _draw_sites(ax, labels: Labels, g: Geometry, personnel: dict[str, float]) -> None:
    """Sites as circles of area ∝ mean personnel (an empty site as a small cross)."""
    lon, lat = [x.lon for x in g.sites], [x.lat for x in g.sites]
    people = np.array([personnel.get(x.name, 0.0) for x in g.sites])
    colours = [COUNTRY_COLOURS[x.country] for x in g.sites]
    dots = ax.scatter(
        lon, lat, s=people * AREA_PER_PERSON, c=colours, alpha=0.5, edgecolors="black",
        linewidths=0.6, zorder=5,
    )  # fmt: skip
    dots.set_gid("sites")
    empty = people < 0.5
    ax.scatter(np.array(lon)[empty], np.array(lat)[empty], s=22, marker="x", c="0.3", zorder=5)
    radii = np.maximum(3.0, np.sqrt(people * AREA_PER_PERSON) / 2)
    for x, y, radius in zip(lon, lat, radii, strict=True):
        labels.block(x, y, radius)  # every circle, before any label is placed
    for site, count, x, y, radius in zip(g.sites, people, lon, lat, radii, strict=True):
        name = short_name(site.name, site.label)
        labels.add(x, y, f"{name} {count:,.0f}", radius)


def _draw_activity(ax, labels: Labels, g: Geometry, events: np.ndarray) -> dict[str, float]:
    """Syrian-side activity: a circle of area ∝ events a year at each of its places, under
    the place's mark; return the places' label radii in points (at least a diamond's)."""
    lon, lat = np.array([p.lon for p in g.active]), np.array([p.lat for p in g.active])
    dots = ax.scatter(
        lon, lat, s=events * AREA_PER_EVENT, color=ACTIVITY_COLOUR, alpha=ACTIVITY_ALPHA,
        edgecolors=ACTIVITY_COLOUR, linewidths=0.8, zorder=5.5,
    )  # fmt: skip
    dots.set_gid("activity")
    radii = np.maximum(2.5, np.sqrt(events * AREA_PER_EVENT) / 2)
    for x, y, radius in zip(lon, lat, radii, strict=True):
        labels.block(float(x), float(y), float(radius))
    return {p.name: radius for p, radius in zip(g.active, radii.tolist(), strict=True)}


def _draw_places(
    ax, labels: Labels, g: Geometry, events: dict[str, float], radii: dict[str, float]
) -> None:
    """Syrian points of interest: small diamonds, italic labels (with the events a year of
    any activity there), preferably to the west."""
    lon, lat = [p.lon for p in g.places], [p.lat for p in g.places]
    ax.plot(lon, lat, linestyle="none", marker="D", markersize=3.5, color="0.15", zorder=6)
    for x, y in zip(lon, lat, strict=True):
        labels.block(x, y, 2.5)
    for place, x, y in zip(g.places, lon, lat, strict=True):
        text = short_name(place.name, place.label)
        if place.name in events:
            text += f" {events[place.name]:.0f}/yr"
        radius = radii.get(place.name, 2.5)
        labels.add(x, y, text, radius, prefer=(-1, 0), style="italic", color="0.25")


def _label_sectors(labels: Labels, g: Geometry, rates: np.ndarray, names: bool) -> None:
    """Each sector's rate (and its name, if ``names``) at its midpoint, on the Iraqi
    (left-hand) side."""
    for section, name, rate in zip(g.sections, g.names, rates, strict=True):
        km = section.length_km / 2
        (lat0, lat1), (lon0, lon1) = section.at(np.array([km - 5, km + 5]))
        x, y = section.at(km)[1], section.at(km)[0]
        dx, dy = (lon1 - lon0) * math.cos(math.radians(y)), lat1 - lat0
        text = f"{name}\n{rate:.1f}" if names else f"{rate:.1f}"
        labels.add(float(x), float(y), text, 4.0, prefer=(-dy, dx),
                   fontweight="bold", color="0.1")  # fmt: skip


def _block_border(labels: Labels, g: Geometry, every_km: float = 8.0) -> None:
    lat, lon = g.line.at(np.arange(0.0, g.line.length_km, every_km))
    for x, y in zip(lon, lat, strict=True):
        labels.block(float(x), float(y), 3.5)


def _key(marker: str, size: float, colour, **style) -> Line2D:
    return Line2D([], [], marker=marker, markersize=size, color=colour, linestyle="none", **style)


def _legend(fig: Figure, activity: bool) -> None:
    """The key under the panels: forces on one row (circle sizes, countries, an emptied
    site), the Syrian side and the border on the other (activity's circle sizes, if any,
    places, sector joins)."""
    edge = {"alpha": 0.5, "markeredgecolor": "black"}
    forces = [(_key("o", math.sqrt(n * AREA_PER_PERSON), "0.6", **edge), f"{n:,} personnel")
              for n in SIZE_KEY]  # fmt: skip
    forces += [(_key("o", 8, c, alpha=0.5), f"site in {country.capitalize()}")
               for country, c in COUNTRY_COLOURS.items()]  # fmt: skip
    forces.append((_key("x", 6, "0.3"), "site emptied"))
    ring = {"alpha": ACTIVITY_ALPHA, "markeredgecolor": ACTIVITY_COLOUR}
    events = [(_key("o", math.sqrt(n * AREA_PER_EVENT), ACTIVITY_COLOUR, **ring),
               f"{n} events a year") for n in EVENT_KEY] if activity else []  # fmt: skip
    if events:
        events[0] = (events[0][0], f"activity in Syria, {EVENT_KEY[0]} events a year")
    border = [*events, (_key("D", 3.5, "0.15"), "point of interest (Syria)"),
              (_key("o", 3.5, "black"), "sector boundary")]  # fmt: skip
    border += [(_key("", 0, "none"), "")] * (len(forces) - len(border))
    # a legend fills column by column: pairs make the two rows
    entries = [entry for pair in zip(forces, border, strict=True) for entry in pair]
    handles, names = zip(*entries, strict=True)
    fig.legend(
        handles, names, loc="outside lower center", ncols=len(forces), fontsize=8,
        frameon=False, labelspacing=1.2, borderpad=0.8,
    )  # fmt: skip


def _day(day: float, start) -> object:
    return to_dates(np.array([day]), start)[0].astype("datetime64[D]").item()


def _title(
    panel: Panel, span: tuple, personnel: dict[str, float], s: Scenario, counted: str
) -> str:
    """The panel's date, the personnel it shows and the days ``counted`` are counted over."""
    start = s.clock.start_date
    date = f"{_day(panel.day, start):%-d %b %Y}"
    total = {"iraq": 0.0, "syria": 0.0}
    for site in s.forces.sites:
        if site.country in total:
            total[site.country] += personnel.get(site.name, 0.0)
    moving = personnel.get("in_transit", 0.0)
    counts = f"in Iraq {total['iraq']:,.0f} · in Syria {total['syria']:,.0f}"
    counts += f" · in transit {moving:,.0f}" if moving >= 0.5 else ""
    until = f"{_day(span[0], start):%-d %b %Y} – {_day(span[1], start):%-d %b %Y}"
    heading = f"{panel.title}: {date}" if panel.title else date
    return f"{heading}\n{counts}\n{counted} {until}"


@dataclass(frozen=True)
class Layout:
    """Where things go, in inches: the panels keep the map's aspect exactly, so nothing
    moves when the figure is drawn and labels can be placed at once (a constrained layout
    pass would cost a third of a second)."""

    panels: int
    panel_width: float
    panel_height: float
    left: float = 0.65
    gap: float = 0.3
    right: float = 1.25  # colour bar and its label
    top: float = 1.1  # the title and the panels' three-line titles
    bottom: float = 1.3  # tick labels, the axis label and the key's two rows

    @classmethod
    def of(cls, panels: int, extent: tuple[float, float, float, float]) -> Layout:
        x0, x1, y0, y1 = extent
        ratio = (y1 - y0) * aspect_for(y0, y1) / (x1 - x0)  # height ÷ width on screen
        width = min(4.4, 4.6 / ratio)  # a tall map gets narrower panels
        return cls(panels, width, width * ratio)

    @property
    def size(self) -> tuple[float, float]:
        width = self.left + self.panels * self.panel_width + (self.panels - 1) * self.gap
        return width + self.right, self.top + self.panel_height + self.bottom

    def figure(self) -> tuple[Figure, list, object]:
        """The figure, its panels and the colour bar's axes."""
        fig = new_figure(self.size)
        fig.set_layout_engine("none")
        width, height = self.size
        axes, low = [], self.bottom / height
        for i in range(self.panels):
            left = self.left + i * (self.panel_width + self.gap)
            box = (left / width, low, self.panel_width / width, self.panel_height / height)
            axes.append(fig.add_axes(box, sharey=axes[0] if axes else None))
        bar = fig.add_axes(
            ((width - self.right + 0.15) / width, low + 0.15 * self.panel_height / height,
             0.14 / width, 0.7 * self.panel_height / height)
        )  # fmt: skip
        return fig, axes, bar


def _panel(ax, g: Geometry, extent, rates: np.ndarray, norm: Normalize, first: bool) -> None:
    """One panel's frame and border: limits, aspect, grid, axis labels."""
    x0, x1, y0, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(aspect_for(y0, y1), adjustable="box")
    ax.grid(color="0.87", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8, labelleft=first)
    ax.set_xlabel("longitude (°E)", fontsize=8)
    if first:
        ax.set_ylabel("latitude (°N)", fontsize=8)
    _draw_border(ax, g, rates, norm)


def map_figure(run: RunResults) -> Figure | None:
    """The run's map (module docstring), or None when its scenario has no geography."""
    s = run.scenario
    if s.geography is None:
        return None
    g = Geometry.of(s)
    shown = panels(run)
    spans = periods(shown, s.horizon_days)
    rates = sector_rates(run, spans)
    events = per_year(run, "activity", "place", [p.name for p in g.active], spans)
    people = site_personnel(run, [p.read_day for p in shown])
    extent = g.extent()
    fig, axes, bar = Layout.of(len(shown), extent).figure()
    norm = Normalize(0.0, max(float(rates.max(initial=0.0)), 1e-9))
    at = [{site: float(values[i]) for site, values in people.items()} for i in range(len(shown))]
    for i, (ax, panel, personnel) in enumerate(zip(axes, shown, at, strict=True)):
        _panel(ax, g, extent, rates[i], norm, i == 0)
        counted = "incidents and activity" if g.active else "incidents"
        ax.set_title(_title(panel, spans[i], personnel, s, counted), fontsize=9)
        labels = Labels(ax)
        _block_border(labels, g)
        _draw_sites(ax, labels, g, personnel)
        radii = _draw_activity(ax, labels, g, events[i])
        _label_sectors(labels, g, rates[i], names=i == 0)
        active = dict(zip((p.name for p in g.active), events[i], strict=True))
        _draw_places(ax, labels, g, active, radii)
    colours = fig.colorbar(ScalarMappable(norm, RATE_COLOURS), cax=bar)
    colours.set_label("border incidents per 100 km per year\n(over each panel's period, mean)")
    colours.ax.tick_params(labelsize=8)
    _legend(fig, bool(g.active))
    n = replications(run, "daily")
    fig.suptitle(
        f"{run.name}: incidents along the border, Syrian-side activity and coalition personnel "
        f"by site (means of {n} replication{'s' * (n != 1)})",
        y=1 - 0.12 / fig.get_figheight(),
        va="top",
    )
    return fig

"""Cross-field checks of the geography: sectors that tile the border, located sites, ISR
assets and presence parameters that name what exists.

Without a ``geography`` a scenario keeps the plain model (sector lengths given, presence
counted per country); every geographic option then says it needs one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sim.config.errors import PathKey, suggestion
from sim.config.schema import Scenario
from sim.config.schema.border import Sector
from sim.geo import Polyline

Found = Iterator[tuple[PathKey, str]]
TILING_TOLERANCE_KM = 1e-6
END_TOLERANCE_KM = 0.5  # a last sector's to_km may round the computed length by this much
MIN_BORDER_KM = 1.0  # a shorter line is a mistake (every vertex at one place), not a border


def border_line(s: Scenario) -> Polyline | None:
    """The border's polyline, north to south, or None without a geography."""
    if s.geography is None:
        return None
    return Polyline.of([(p.lat, p.lon) for p in s.geography.border])


def sector_span(sector: Sector, border_km: float) -> tuple[float, float]:
    """A sector's (from_km, to_km) along the border; ``to_km`` null means the end."""
    return float(sector.from_km or 0.0), float(border_km if sector.to_km is None else sector.to_km)


def sector_lengths(s: Scenario) -> list[float]:
    """Each sector's length in km: from the geometry when there is one, else ``length_km``."""
    line = border_line(s)
    if line is None:
        return [float(sector.length_km or 0.0) for sector in s.border.sectors]
    spans = [sector_span(sector, line.length_km) for sector in s.border.sectors]
    return [to - start for start, to in spans]


def _needs_geography(s: Scenario) -> Found:
    for sector in s.border.sectors:
        at = ("border", "sectors", sector.name)
        if sector.length_km is None:
            yield (*at, "length_km"), "required without a geography (or add a geography)"
        for key in ("from_km", "to_km"):
            if getattr(sector, key) is not None:
                yield (*at, key), "needs a geography: the border's line of coordinates"
        if sector.crossings:
            yield (*at, "crossings"), "needs a geography: the border's line of coordinates"
    if s.threats.modulation.local_presence.enabled:
        yield ("threats", "modulation", "local_presence"), "needs a geography (distances)"
    if s.border.detection.isr_assets:
        yield ("border", "detection", "isr_assets"), "needs a geography (ranges)"


def _tiling(s: Scenario, border_km: float) -> Found:
    """Sectors must cover the border from 0 km to its end without gaps or overlaps."""
    sectors = s.border.sectors
    broken = False
    for sector in sectors:
        at = ("border", "sectors", sector.name)
        if sector.length_km is not None:
            yield (*at, "length_km"), "comes from from_km/to_km with a geography; remove it"
        if sector.from_km is None:
            yield (*at, "from_km"), "required with a geography (km from the northern end)"
            broken = True
            continue
        start, end = sector_span(sector, border_km)
        if end <= start:
            yield (*at, "to_km"), f"must be above from_km ({start:g} km)"
            broken = True
        elif end > border_km + END_TOLERANCE_KM:
            yield (*at, "to_km"), f"beyond the border's end: it is {border_km:.1f} km long"
    if broken:
        return
    ordered = sorted(sectors, key=lambda x: float(x.from_km or 0.0))
    first = ordered[0]
    if float(first.from_km or 0.0) > TILING_TOLERANCE_KM:
        yield ("border", "sectors", first.name, "from_km"), "the first sector must start at 0 km"
    for before, after in itertools.pairwise(ordered):
        if before.to_km is None:
            yield ("border", "sectors", before.name, "to_km"), "only the last sector may omit it"
            continue
        gap = float(after.from_km or 0.0) - before.to_km
        if abs(gap) > TILING_TOLERANCE_KM:
            kind = "a gap" if gap > 0 else "an overlap"
            message = (
                f"{kind} of {abs(gap):g} km: '{before.name}' ends at {before.to_km:g} km, "
                f"'{after.name}' starts at {after.from_km:g} km"
            )
            # named at both ends: either may be the one just edited (a file or a --set)
            yield ("border", "sectors", before.name, "to_km"), message
            yield ("border", "sectors", after.name, "from_km"), message
    last = ordered[-1]
    if last.to_km is not None and abs(last.to_km - border_km) > END_TOLERANCE_KM:
        yield (
            ("border", "sectors", last.name, "to_km"),
            f"the last sector must end at the border's end ({border_km:.1f} km; or omit to_km)",
        )


def _crossings(s: Scenario, border_km: float) -> Found:
    for sector in s.border.sectors:
        start, end = sector_span(sector, border_km)
        end = min(end, border_km)  # a last to_km may round the line's length up
        at = ("border", "sectors", sector.name, "crossings")
        share = sum(c.share for c in sector.crossings)
        if share > 1.0 + 1e-9:
            yield at, f"crossing shares must sum to at most 1 (they sum to {share:g})"
        for crossing in sector.crossings:
            if not start <= crossing.at_km <= end:
                yield (
                    (*at, crossing.name, "at_km"),
                    f"{crossing.at_km:g} km is outside the sector ({start:g}–{end:g} km)",
                )


def _fortification(s: Scenario) -> Found:
    """Each sector gives a fortified share or a schedule of fortified km, within its length."""
    for sector, length in zip(s.border.sectors, sector_lengths(s), strict=True):
        at = ("border", "sectors", sector.name)
        if (sector.fortification is None) == (sector.fortified_km is None):
            yield (*at, "fortification"), "give fortification (a share) or fortified_km, not both"
            continue
        for i, step in enumerate(sector.fortified_km or []):
            if not 0.0 <= step.value <= length + END_TOLERANCE_KM:
                yield (
                    (*at, "fortified_km", i, "value"),
                    f"must be between 0 and the sector's length, {length:g} km "
                    f"(got {step.value:g})",
                )


def located_places(s: Scenario) -> dict[str, tuple[float, float]]:
    """Every named place with coordinates: sites that have them, then the border's vertices
    and the geography's places (what an ISR base or a distance may name)."""
    found = {x.name: (x.lat, x.lon) for x in s.forces.sites if x.lat is not None}
    if s.geography is not None:
        found |= {p.name: (p.lat, p.lon) for p in (*s.geography.border, *s.geography.places)}
    return found


def _sites(s: Scenario) -> Found:
    presence = s.threats.modulation.local_presence
    for site in s.forces.sites:
        at = ("forces", "sites", site.name)
        if (site.lat is None) != (site.lon is None):
            yield (*at, "lat" if site.lat is None else "lon"), "give both lat and lon, or neither"
        elif presence.enabled and site.lat is None and site.country != "out_of_theatre":
            yield at, "local presence counts every site in Iraq or Syria: give its lat and lon"
    for role in presence.role_weights:
        if role not in s.forces.roles:
            known = ", ".join(s.forces.roles)
            yield (
                ("threats", "modulation", "local_presence", "role_weights", role),
                f"unknown role '{role}'{suggestion(role, s.forces.roles)} (known: {known})",
            )


def _isr(s: Scenario) -> Found:
    detection = s.border.detection
    assets = {a.name for a in detection.isr_assets}
    located = located_places(s)
    if detection.isr_assets and detection.coalition_isr:
        yield (
            ("border", "detection", "coalition_isr"),
            "set it to 0 with isr_assets: surveillance comes from the assets, not headcount",
        )
    at = ("border", "detection", "isr_assets")
    bases = [((*at, a.name, "base"), a.base) for a in detection.isr_assets]
    for phase in s.forces.phases:
        for name, move in phase.isr.items():
            at = ("forces", "phases", phase.name, "isr", name)
            if name not in assets:
                yield at, f"unknown ISR asset '{name}'{suggestion(name, assets)}"
            if move.base is not None:
                bases.append(((*at, "base"), move.base))
    for at, base in bases:
        if base not in located:
            yield at, f"'{base}' is neither a located site nor a geography place"


def _names(s: Scenario) -> Found:
    geography = s.geography
    assert geography is not None
    seen: dict[str, str] = {site.name: "site" for site in s.forces.sites}
    for key, places in (("border", geography.border), ("places", geography.places)):
        for place in places:
            if place.name in seen:
                yield (
                    ("geography", key, place.name),
                    f"the name '{place.name}' is already a {seen[place.name]}",
                )
            seen[place.name] = "place"


def geography_problems(s: Scenario) -> Found:
    """Every problem of the scenario's geography and of what refers to it."""
    yield from _sites(s)
    line = border_line(s)
    if line is None:
        yield from _needs_geography(s)
        if not any(sector.length_km is None for sector in s.border.sectors):
            yield from _fortification(s)
        return
    yield from _names(s)
    if line.length_km < MIN_BORDER_KM:
        yield (
            ("geography", "border"),
            (
                f"the vertices span {line.length_km:.3g} km: give distinct places along the "
                "border, north to south"
            ),
        )
        return
    tiling = list(_tiling(s, line.length_km))
    yield from tiling
    if not tiling:
        yield from _crossings(s, line.length_km)
        yield from _fortification(s)
    yield from _isr(s)

"""The scenario's excitation graph: kernels, the branching matrix, and their checks.

Processes excite themselves (a Hawkes process's ``branching_ratio``) and each other
(``threats.excitation``); a shock multiplies the branching of every link into the processes
it names. ``branching_matrix`` builds B[target, source] at the largest value each entry
takes over the run, which the stability check and the workload estimate need; the model
reads the same kernels (``kernel_terms``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np

from sim.branching import spectral_radius, strongest_cycle
from sim.config.errors import PathKey, suggestion
from sim.config.schema import Hawkes, Kernel, Scenario
from sim.config.schema.common import schedule_value
from sim.config.schema.threats import OnCoordination

Found = Iterator[tuple[PathKey, str]]
SHARE_TOLERANCE = 1e-6
BURN_IN_FORGETTING = 20.0  # a burn-in leaves e^−20 of an empty start's deficit
MAX_BURN_IN_DAYS = 7_305.0  # 20 years: only a process next to critical needs more
MAX_STACKED = 1_000.0  # the largest product of the shocks' multipliers on one process


def kernel_terms(kernel: Kernel) -> list[tuple[float, float]]:
    """(share, β) of each exponential term: one term of share 1 for a single decay."""
    if kernel.kernel:
        return [(term.share, term.decay_per_day) for term in kernel.kernel]
    return [(1.0, kernel.decay_per_day or 1.0)]


def largest_branching(process: Hawkes) -> float:
    """The process's self-branching ratio at its largest over the run."""
    steps = [step.value for step in process.branching_steps or []]
    return max([process.branching_ratio, *steps]) if steps else process.branching_ratio


def shock_product(s: Scenario, multiplier: str) -> dict[str, float]:
    """The product of one multiplier (``background_multiplier`` or
    ``branching_multiplier``) of every shock on each process, each at least 1: shocks may
    overlap, so the thinning bound, the stability check and the workload estimate take
    them all at full strength."""
    found: dict[str, float] = {}
    for shock in s.threats.shocks:
        for name in shock.processes:
            found[name] = found.get(name, 1.0) * max(1.0, getattr(shock, multiplier))
    return found


def branching_matrix(s: Scenario, peak: bool = True) -> np.ndarray:
    """B[target, source] at its largest over the run (steps and shocks at their peak), or
    with ``peak`` false as it is at the start (steps at the start date, no shock): what the
    burn-in simulates."""
    names = [p.name for p in s.threats.processes]
    index = {name: i for i, name in enumerate(names)}
    raised = shock_product(s, "branching_multiplier") if peak else {}
    matrix = np.zeros((len(names), len(names)))
    start = s.clock.start_date
    for i, p in enumerate(s.threats.processes):
        if isinstance(p, Hawkes):
            n = (
                largest_branching(p)
                if peak
                else schedule_value(p.branching_steps, start, p.branching_ratio)
            )
            matrix[i, i] = n * raised.get(p.name, 1.0)
    for link in s.threats.excitation:
        if link.source in index and link.target in index:
            factor = raised.get(link.target, 1.0)
            matrix[index[link.target], index[link.source]] += link.branching_ratio * factor
    return matrix


def components(s: Scenario) -> list[int]:
    """A label per process: processes linked by excitation, either way, share one."""
    names = [p.name for p in s.threats.processes]
    label = list(range(len(names)))

    def root(i: int) -> int:
        while label[i] != i:
            i = label[i]
        return i

    index = {name: i for i, name in enumerate(names)}
    for link in s.threats.excitation:
        if link.source in index and link.target in index:
            label[root(index[link.source])] = root(index[link.target])
    return [root(i) for i in range(len(names))]


def burn_in_days(s: Scenario) -> list[float]:
    """Days each process runs before the start (docs/model.md §4.5): 0 without a stationary
    start or a Hawkes process in its component; else ``start.burn_in_days`` or the time
    for an empty start's deficit to fade to e^−20, 20 / (β_min (1 − ρ)), with ρ the spectral
    radius of the component's branching matrix at the start (the dynamics the burn-in
    simulates; shocks left out) and β_min its slowest decay (at most 20 years)."""
    processes = s.threats.processes
    days = [0.0] * len(processes)
    if not s.threats.start.stationary:
        return days
    labels, matrix = components(s), branching_matrix(s, peak=False)
    decays: dict[str, list[float]] = {p.name: [] for p in processes}
    for p in processes:
        if isinstance(p, Hawkes):
            decays[p.name] += [beta for _, beta in kernel_terms(p)]
    for link in s.threats.excitation:
        if link.target in decays:
            decays[link.target] += [beta for _, beta in kernel_terms(link)]
    for label in set(labels):
        members = [i for i, x in enumerate(labels) if x == label]
        slowest = min((b for i in members for b in decays[processes[i].name]), default=None)
        if slowest is None:
            continue  # no Hawkes process: Poisson kinds have no memory
        given = s.threats.start.burn_in_days
        if given is None:
            radius = min(spectral_radius(matrix[np.ix_(members, members)]), 1.0 - 1e-12)
            given = min(MAX_BURN_IN_DAYS, BURN_IN_FORGETTING / (slowest * (1.0 - radius)))
        for i in members:
            days[i] = given
    return days


def _kernel(kernel: Kernel, at: PathKey) -> Found:
    """Exactly one of decay_per_day and kernel; a kernel's shares sum to 1."""
    if (kernel.decay_per_day is None) == (kernel.kernel is None):
        yield (*at, "decay_per_day"), "give decay_per_day or kernel (a sum of exponentials)"
    elif kernel.kernel:
        total = sum(term.share for term in kernel.kernel)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            yield (*at, "kernel"), f"shares must sum to 1 (they sum to {total:g})"


def _unknown(name: str, known: list[str], what: str) -> str:
    return f"unknown {what} '{name}'{suggestion(name, known)} (known: {', '.join(known)})"


def _links(s: Scenario) -> Found:
    processes = {p.name: p for p in s.threats.processes}
    names = list(processes)
    seen = Counter((link.source, link.target) for link in s.threats.excitation)
    for i, link in enumerate(s.threats.excitation):
        at: PathKey = ("threats", "excitation", i)
        if link.source not in processes:
            yield (*at, "source"), _unknown(link.source, names, "process")
        target = processes.get(link.target)
        if target is None:
            yield (*at, "target"), _unknown(link.target, names, "process")
        elif not isinstance(target, Hawkes):
            yield (
                (*at, "target"),
                (f"'{link.target}' is {target.kind}: only a hawkes process can be excited"),
            )
        if link.source == link.target:
            yield (*at, "target"), "a process excites itself through its own branching_ratio"
        elif (times := seen[(link.source, link.target)]) > 1:
            yield at, f"'{link.source}' → '{link.target}' is given {times} times"
        yield from _kernel(link, at)


def _stability(s: Scenario) -> Found:
    """ρ(B) < 1 at the largest branching, else name the cycle that drives it."""
    matrix = branching_matrix(s)
    radius = spectral_radius(matrix)
    if radius < 1.0:
        return
    names = [p.name for p in s.threats.processes]
    cycle, mean = strongest_cycle(matrix)
    path = " → ".join(names[i] for i in [*cycle, cycle[0]]) if cycle else "none"
    inflow = matrix.sum(axis=1)
    most = int(inflow.argmax())
    at: PathKey = ("threats", "excitation") if s.threats.excitation else ("threats", "processes")
    yield (
        at,
        (
            f"the branching matrix is explosive: spectral radius {radius:.3g}, which must be "
            f"below 1 (with branching steps and shocks at their peak); its strongest cycle is "
            f"{path} (mean branching {mean:.3g} a step), and '{names[most]}' receives the "
            f"most excitation (its row of B sums to {inflow[most]:.3g}): lower those ratios"
        ),
    )


def _shocks(s: Scenario) -> Found:
    processes = {p.name: p for p in s.threats.processes}
    levels = s.threats.modulation.coordination.levels
    for name, count in Counter(x.name for x in s.threats.shocks).items():
        if count > 1:
            yield ("threats", "shocks", name), f"shock '{name}' is defined {count} times"
    for shock in s.threats.shocks:
        at: PathKey = ("threats", "shocks", shock.name)
        for name, count in Counter(shock.processes).items():
            if count > 1:
                yield (*at, "processes"), f"'{name}' is listed {count} times"
        for name in shock.processes:
            process = processes.get(name)
            if process is None:
                yield (*at, "processes"), _unknown(name, list(processes), "process")
            elif shock.branching_multiplier != 1.0 and not isinstance(process, Hawkes):
                yield (
                    (*at, "branching_multiplier"),
                    (
                        f"'{name}' is {process.kind} and has no branching; name hawkes processes "
                        "only or leave branching_multiplier at 1"
                    ),
                )
        trigger = shock.trigger
        if isinstance(trigger, OnCoordination) and trigger.partner not in levels:
            yield (
                (*at, "trigger", "partner"),
                _unknown(trigger.partner, list(levels), "coordination partner"),
            )


def _stacked(s: Scenario) -> Found:
    """Shocks on one process multiply: together at most ``MAX_STACKED`` each way."""
    for key in ("background_multiplier", "branching_multiplier"):
        stacked = shock_product(s, key)
        for name, product in stacked.items():
            if product > MAX_STACKED:
                shocks = [x.name for x in s.threats.shocks if name in x.processes]
                yield (
                    ("threats", "shocks", shocks[-1], key),
                    (
                        f"the shocks on '{name}' ({', '.join(shocks)}) multiply it by "
                        f"{product:.3g} at once; at most {MAX_STACKED:g}"
                    ),
                )


def _sites_of_processes(s: Scenario) -> Found:
    """Each process at exactly one sector or place, both known."""
    sectors = [x.name for x in s.border.sectors]
    places = [p.name for p in (*s.geography.border, *s.geography.places)] if s.geography else []
    for p in s.threats.processes:
        at: PathKey = ("threats", "processes", p.name)
        if (p.sector is None) == (p.place is None):
            yield (*at, "sector"), "give sector (a border sector) or place (activity elsewhere)"
        elif p.sector is not None and p.sector not in sectors:
            yield (*at, "sector"), _unknown(p.sector, sectors, "sector")
        elif p.place is not None and p.place not in places:
            if s.geography is None:
                yield (*at, "place"), "a process at a place needs a geography"
            else:
                yield (*at, "place"), _unknown(p.place, places, "place")
        if isinstance(p, Hawkes):
            yield from _kernel(p, at)


def excitation_problems(s: Scenario) -> Found:
    """Every problem of processes' places and kernels, links, shocks, and stability."""
    found = [*_sites_of_processes(s), *_links(s), *_shocks(s), *_stacked(s)]
    yield from found
    if not found:  # the matrix needs known names and valid kernels
        yield from _stability(s)

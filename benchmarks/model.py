"""In-process measurements: model overhead against bare SimPy, scaling, and start-up time."""

from __future__ import annotations

import datetime as dt
import subprocess
import time

import numpy as np
import simpy

from benchmarks.common import BASELINE, CLI
from sim.config.load import load_scenario
from sim.config.raw import RawScenario
from sim.model.world import World, simulate_columns


def _processed(env: simpy.Environment) -> int:
    """Events SimPy has processed: those scheduled minus those still queued."""
    scheduled = next(env._eid)
    return scheduled - len(env._queue)


def bare_simpy_rate(events: int, servers: int = 3) -> float:
    """Events per second of a bare M/M/k loop (timeouts and a Resource) of about ``events``."""
    rng = np.random.default_rng(1)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=servers)

    def customer():
        with desk.request() as request:
            yield request
            yield env.timeout(rng.exponential(1.0))

    def arrivals():
        while True:
            yield env.timeout(rng.exponential(1.0 / (0.8 * servers)))
            env.process(customer())

    env.process(arrivals())
    began = time.perf_counter()
    step = 1000.0
    while _processed(env) < events:
        env.run(until=env.now + step)
    return _processed(env) / (time.perf_counter() - began)


def _replications(scenario, replications: int) -> tuple[float, int]:
    """Seconds and SimPy events for ``replications`` whole replications, as a worker runs
    them: build the world, run it, turn its records into table columns."""
    events = 0
    began = time.perf_counter()
    for rep in range(replications):
        world = World(scenario, rep, 1)
        columns = world.run()
        events += _processed(world.env)
    del columns
    return time.perf_counter() - began, events


def evaluate_overhead(replications: int = 40, rounds: int = 3) -> dict[str, float]:
    """``sim.evaluate`` against the bare replication work it wraps (``_replications``: world
    built, run, records turned to columns), per replication, best of ``rounds`` each."""
    from sim.experiment.evaluate import evaluate

    scenario = load_scenario(BASELINE)
    evaluate(scenario, 1, 1)  # warm imports and caches
    bare, wrapped = float("inf"), float("inf")
    for _ in range(rounds):
        bare = min(bare, _replications(scenario, replications)[0])
        began = time.perf_counter()
        evaluate(scenario, replications, 1)
        wrapped = min(wrapped, time.perf_counter() - began)
    return {
        "bare_ms_per_replication": round(1000 * bare / replications, 2),
        "evaluate_ms_per_replication": round(1000 * wrapped / replications, 2),
        "evaluate_ratio": round(wrapped / bare, 3),
    }


def model_overhead(replications: int = 40, rounds: int = 3) -> dict[str, float]:
    """Baseline events per second against bare SimPy processing as many events.

    Model and bare loop alternate for ``rounds`` and the best round of each counts, so a
    passing load on the machine does not decide the ratio. Joining chunks into tables and
    writing Parquet are output, measured by ``speed`` (write share).
    """
    scenario = load_scenario(BASELINE)
    simulate_columns(scenario, 0, 1)  # warm imports and caches
    model_best, bare_best, events = 0.0, 0.0, 0
    for _ in range(rounds):
        seconds, events = _replications(scenario, replications)
        model_best = max(model_best, events / seconds)
        bare_best = max(bare_best, bare_simpy_rate(events))
    return {
        "events_per_replication": events // replications,
        "ms_per_replication": round(1000 * events / model_best / replications, 2),
        "model_events_per_s": round(model_best),
        "bare_simpy_events_per_s": round(bare_best),
        "overhead_ratio": round(bare_best / model_best, 2),
    }


def _scaled(scenario, years: float = 3.0, rate: float = 1.0):
    """The scenario over ``years`` from its start, with every incident rate times ``rate``."""
    data = scenario.model_dump()
    start = data["clock"]["start_date"]
    data["clock"]["end_date"] = start + dt.timedelta(days=round(365 * years))
    for proc in data["threats"]["processes"]:
        key = "background_rate_per_day" if proc["kind"] == "hawkes" else "rate_per_day"
        proc[key] *= rate
    return RawScenario.from_mapping(data, "<benchmark>").validate()


def _per_replication(
    scenarios: list, replications: int, rounds: int = 5
) -> list[tuple[float, float]]:
    """(seconds, SimPy events) per replication of each scenario: the best of ``rounds``
    rounds that visit every scenario in turn, so a passing load hits all of them alike."""
    for scenario in scenarios:
        simulate_columns(scenario, 0, 1)
    best = [np.inf] * len(scenarios)
    events = [0] * len(scenarios)
    for _ in range(rounds):
        for i, scenario in enumerate(scenarios):
            seconds, events[i] = _replications(scenario, replications)
            best[i] = min(best[i], seconds)
    return [(s / replications, e / replications) for s, e in zip(best, events, strict=True)]


def _slope(x: list[float], y: list[float]) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def scaling(replications: int = 12) -> dict[str, float]:
    """Time per replication against horizon and incident rate, with log–log slopes; the
    slopes of the SimPy events processed show how the simulated work itself grows."""
    base = load_scenario(BASELINE)
    out: dict[str, float] = {}
    for label, axis, make in [
        ("horizon", [1, 2, 4, 8], lambda y: _scaled(base, years=y)),
        ("rate", [1, 4, 16], lambda r: _scaled(base, rate=r)),
    ]:
        measured = _per_replication([make(x) for x in axis], replications)
        for x, (seconds, events) in zip(axis, measured, strict=True):
            out[f"ms_{label}_{x}"] = round(1000 * seconds, 2)
            out[f"events_{label}_{x}"] = round(events)
        out[f"slope_{label}"] = round(_slope(axis, [s for s, _ in measured]), 3)
        out[f"slope_{label}_events"] = round(_slope(axis, [e for _, e in measured]), 3)
    return out


def _wall(args: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return min(times)


def startup() -> dict[str, float]:
    """Best-of-five wall time of ``--help`` and of ``validate`` on the baseline."""
    return {
        "help_seconds": round(_wall([*CLI, "--help"]), 3),
        "validate_seconds": round(_wall([*CLI, "validate", str(BASELINE)]), 3),
    }

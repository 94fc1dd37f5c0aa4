"""In-process measurements: model overhead against bare SimPy, scaling, and start-up time."""

from __future__ import annotations

import datetime as dt
import subprocess
import time

import numpy as np
import simpy

from benchmarks.common import BASELINE, CLI
from sim.config.load import load_scenario
from sim.model.world import World, simulate_columns
from sim.tables import to_frames


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


def model_overhead(replications: int = 40) -> dict[str, float]:
    """Baseline events per second against bare SimPy processing as many events.

    A replication is what a worker does for it: build the world, run it, and turn its
    records into table columns (``simulate_columns``). Concatenating chunks into DataFrames
    and writing Parquet are output, measured by ``speed`` (write share); the time per
    replication with DataFrames is reported beside it.
    """
    scenario = load_scenario(BASELINE)
    simulate_columns(scenario, 0, 1)  # warm imports and caches
    events = 0
    began = time.perf_counter()
    for rep in range(replications):
        world = World(scenario, rep, 1)
        world.run()
        events += _processed(world.env)
    seconds = time.perf_counter() - began
    model_rate = events / seconds
    began = time.perf_counter()
    for rep in range(replications):
        to_frames([simulate_columns(scenario, rep, 1)])
    with_frames = (time.perf_counter() - began) / replications
    bare = bare_simpy_rate(events)
    return {
        "events_per_replication": events // replications,
        "ms_per_replication": round(1000 * seconds / replications, 2),
        "ms_per_replication_with_frames": round(1000 * with_frames, 2),
        "model_events_per_s": round(model_rate),
        "bare_simpy_events_per_s": round(bare),
        "overhead_ratio": round(bare / model_rate, 2),
    }


def _scaled(scenario, years: float = 3.0, rate: float = 1.0):
    """The scenario over ``years`` from its start, with every incident rate times ``rate``."""
    data = scenario.model_dump()
    start = data["clock"]["start_date"]
    data["clock"]["end_date"] = start + dt.timedelta(days=round(365 * years))
    for proc in data["threats"]["processes"]:
        key = "background_rate_per_day" if proc["kind"] == "hawkes" else "rate_per_day"
        proc[key] *= rate
    return type(scenario).model_validate(data)


def _seconds_per_replication(scenario, replications: int) -> float:
    simulate_columns(scenario, 0, 1)
    began = time.perf_counter()
    for rep in range(replications):
        simulate_columns(scenario, rep, 1)
    return (time.perf_counter() - began) / replications


def _slope(x: list[float], y: list[float]) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def scaling(replications: int = 6) -> dict[str, float]:
    """Wall time per replication against horizon and incident rate, with log–log slopes."""
    base = load_scenario(BASELINE)
    years = [1, 2, 4, 8]
    by_years = [_seconds_per_replication(_scaled(base, years=y), replications) for y in years]
    rates = [1, 4, 16]
    by_rate = [_seconds_per_replication(_scaled(base, rate=r), replications) for r in rates]
    out: dict[str, float] = {
        f"seconds_{y}y": round(t, 4) for y, t in zip(years, by_years, strict=True)
    }
    out.update({f"seconds_rate_x{r}": round(t, 4) for r, t in zip(rates, by_rate, strict=True)})
    out["slope_horizon"] = round(_slope(years, by_years), 3)
    out["slope_rate"] = round(_slope(rates, by_rate), 3)
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

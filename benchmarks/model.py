"""In-process measurements: model overhead against bare SimPy, scaling, and start-up time."""

from __future__ import annotations

import datetime as dt
import subprocess
import time

import numpy as np
import simpy

from benchmarks.common import BASELINE, CLI
from sim.config.load import load_scenario
from sim.model.world import World
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


def model_overhead(replications: int = 20) -> dict[str, float]:
    """Baseline events per second (whole replications, tables included) against bare SimPy."""
    scenario = load_scenario(BASELINE)
    to_frames([World(scenario, 0, 1).run()])  # warm imports and caches
    events = 0
    began = time.perf_counter()
    for rep in range(replications):
        world = World(scenario, rep, 1)
        to_frames([world.run()])
        events += _processed(world.env)
    model_rate = events / (time.perf_counter() - began)
    bare = bare_simpy_rate(events)
    return {
        "events_per_replication": events // replications,
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
    began = time.perf_counter()
    for rep in range(replications):
        to_frames([World(scenario, rep, 1).run()])
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

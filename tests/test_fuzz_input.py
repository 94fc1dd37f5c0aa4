"""Fuzzed scenario files through the command line: bad input is reported, never a crash.

Hypothesis mutates a small valid scenario (delete a key, swap a value's type, junk strings,
huge and negative numbers, wrong dates, deep nesting, random unicode, broken YAML text) and
feeds the file to ``validate`` and to ``run -n 1``. Only two outcomes are allowed:

* exit 0, and the run folder holds a complete run (manifest and every table);
* exit 2, every error line names the file and a key path (``(top level)`` for whole-file
  problems), nothing prints a traceback, and the run folder is not created.

Each run has a wall-clock limit, so a value that makes the model run for ever (an input the
validator should refuse) fails the property instead of hanging the suite. Gaps found this
way (control characters, deep nesting, values beyond the schema's bounds) are pinned by
the tests at the end.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import example, given, note, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from sim.cli import main
from sim.config.errors import one_line
from sim.tables import TABLES

FILE = "fuzzed.yaml"
RUN_SECONDS = 60  # a run of the base scenario takes well under a second
TABLE_NAMES = {*TABLES, "kpis"}

BASE: dict[str, Any] = {
    "metadata": {"name": "fuzz", "description": "a small valid scenario to mutate"},
    "clock": {"start_date": "2025-01-01", "end_date": "2025-01-21", "record_interval_days": 2.0},
    "forces": {
        "roles": ["advisers", "trainers"],
        "residual_roles": ["trainers"],
        "sites": [
            {"name": "base", "country": "iraq", "personnel": {"advisers": 30, "trainers": 5}},
            {"name": "erbil", "country": "iraq", "personnel": {"advisers": 10}},
            {"name": "home", "country": "out_of_theatre"},
        ],
        "phases": [
            {
                "name": "phase_1",
                "start_date": "2025-01-03",
                "reduce": {"base": {"advisers": 5}},
                "destinations": {"erbil": 0.5, "home": 0.5},
            }
        ],
        "lift": [
            {
                "name": "air",
                "capacity_personnel": 10,
                "lifts_per_day": 2,
                "transit_days": {"distribution": "lognormal", "median": 0.5, "sigma": 0.3},
            }
        ],
        "repositioning": [
            {
                "name": "reposition",
                "signal": "recent",
                "hold_above": 6,
                "release_below": 3,
                "return_personnel": 4,
                "return_to": "base",
                "return_from": ["home"],
            }
        ],
    },
    "border": {
        "sectors": [
            {
                "name": "north",
                "length_km": 50,
                "fortification": 0.5,
                "surveillance": 0.3,
                "response_units": 1,
                "partners": {"sdf": 0.5},
            }
        ],
        "detection": {"coalition_isr": 0.2, "coordination_weight": 0.1},
        "response": {
            "handling_days": {"distribution": "exponential", "mean": 1.0},
            "interdiction": {"base_probability": 0.8, "decay_days": 1.0},
        },
    },
    "threats": {
        "actors": ["isis"],
        "incident_types": [
            {"name": "raid", "share": 0.6, "severity": {"distribution": "fixed", "value": 1.0}},
            {
                "name": "attack",
                "share": 0.4,
                "severity": {"distribution": "pareto", "alpha": 2.4, "x_min": 1.0},
            },
        ],
        "processes": [
            {
                "name": "north_isis",
                "sector": "north",
                "actor": "isis",
                "kind": "hawkes",
                "background_rate_per_day": 0.15,
                "branching_ratio": 0.4,
                "decay_per_day": 0.5,
            },
            {
                "name": "north_nhpp",
                "sector": "north",
                "actor": "isis",
                "kind": "nhpp",
                "rate_per_day": 0.1,
                "trend_per_year": 0.5,
                "seasonal_amplitude": 0.3,
                "steps": [{"date": "2025-01-10", "value": 2.0}],
            },
        ],
        "modulation": {
            "coalition_iraq": {"enabled": True, "effect": 0.5, "reference_personnel": 40},
            "iraqi_capacity": {
                "enabled": True,
                "effect": 0.3,
                "start_level": 0.2,
                "end_level": 0.6,
            },
            "coordination": {
                "enabled": True,
                "effect": 0.4,
                "levels": {"sdf": [{"date": "2025-01-01", "value": 0.5}]},
            },
        },
    },
    "signals": {"recent": {"kind": "incidents", "window_days": 7}},
    "run": {"replications": 3, "seed": 11},
}

Path_ = tuple[str | int, ...]


def _get(data: Any, path: Path_) -> Any:
    for key in path:
        data = data[key]
    return data


def _paths(node: Any, here: Path_ = ()) -> list[Path_]:
    """Every key path and list index in ``node`` (the root excluded)."""
    found: list[Path_] = []
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return found
    for key, value in items:
        found.append((*here, key))
        found.extend(_paths(value, (*here, key)))
    return found


PATHS = _paths(BASE)
NUMBER_PATHS = [
    p for p in PATHS if isinstance(v := _get(BASE, p), int | float) and not isinstance(v, bool)
]

# Keys whose largest valid values make runs long but not wrong (1,000 incidents a day for
# years, a record every hour for a century): the generator keeps their values small so each
# example stays fast. Their out-of-range values, which once hung or crashed the tool, are
# pinned by the tests at the end.
UNBOUNDED_KEYS = {
    "rate_per_day": "a rate of up to 1,000 a day",
    "background_rate_per_day": "a rate of up to 1,000 a day",
    "trend_per_year": "a trend of up to x100 a year",
    "effect": "a presence effect of up to x100",
    "decay_per_day": "a decay of up to 1,000 a day",
    "check_interval_days": "a check every hour",
    "record_interval_days": "a record every hour",
    "personnel": "up to 10 million personnel",
    "steps": "a step multiplier of up to 1,000",
    "background_steps": "a step multiplier of up to 1,000",
}
# any character but lone surrogates (control characters and line breaks included)
PRINTABLE = st.characters(exclude_categories=["Cs"])

junk_text = st.text(PRINTABLE, max_size=12)
unicode_text = st.text(
    st.characters(min_codepoint=0x80, exclude_categories=["Cs"]),
    min_size=1,
    max_size=8,
)
huge = st.sampled_from([10**30, -(10**30), 1e308, -1e308, 2**63, 2**64 + 1, 1e-300, -1e-300])
# small enough for any key: a Hawkes rate of 1000 a day already takes ~20 s (its parent
# attribution scans every recent incident, so the cost grows with the square of the count)
moderate = st.one_of(
    st.integers(-20, 20),
    st.integers(-2000, 2000).map(lambda i: i / 100),
    st.sampled_from([math.inf, -math.inf, math.nan]),
)
negative = st.one_of(st.integers(-(10**6), -1), st.floats(-1e6, -1e-3))
wrong_dates = st.sampled_from(
    ["2025-13-45", "2025-02-30", "yesterday", "01/02/2025", "2025-1-1", "0000-01-01", 20250101]
)
scalars = st.one_of(st.none(), st.booleans(), moderate, junk_text)


def _unbounded(path: Path_) -> bool:
    return any(key in UNBOUNDED_KEYS for key in path)


def _nested(depth: int) -> st.SearchStrategy[Any]:
    leaf = st.one_of(st.integers(0, 3), st.just("x"))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=2),
            st.dictionaries(st.sampled_from(["a", "name", "value"]), inner, min_size=1, max_size=2),
        ),
        max_leaves=depth,
    )


def _swap_type(value: Any) -> st.SearchStrategy[Any]:
    """A value of another type than ``value``."""
    options = [[value], {"value": value}, str(value), None, True, 1.5, 7]
    return st.sampled_from([v for v in options if type(v) is not type(value)])


KINDS = ["delete", "swap", "junk", "huge", "negative", "date", "nest", "unicode", "key"]
# plausible or extreme numbers in numeric places: files that often still validate and run
edge_numbers = st.sampled_from([0, 1, 2, 0.5, 0.999999, 1.000001, 1e-3, 3, 24, 100, 1e5])


@st.composite
def mutations(draw, numbers_only: bool = False) -> list[tuple[str, Path_, Any]]:
    """1–3 edits: (what, where, new value)."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        if numbers_only or draw(st.booleans()):
            path = draw(st.sampled_from(NUMBER_PATHS))
            value = draw(moderate if _unbounded(path) else st.one_of(edge_numbers, huge))
            edits.append(("number", path, value))
            continue
        path = draw(st.sampled_from(PATHS))
        kind = draw(st.sampled_from(KINDS))
        if kind == "delete":
            value = None
        elif kind == "swap":
            value = draw(_swap_type(_get(BASE, path)))
        elif kind == "junk":
            value = draw(scalars)
        elif kind == "huge":
            value = draw(moderate if _unbounded(path) else huge)
        elif kind == "negative":
            value = draw(negative)
        elif kind == "date":
            value = draw(wrong_dates)
        elif kind == "nest":
            value = draw(_nested(draw(st.integers(2, 40))))
        elif kind == "unicode":
            value = draw(unicode_text)
        else:  # an extra key with an odd name
            value = (draw(st.one_of(unicode_text, junk_text)), draw(scalars))
        edits.append((kind, path, value))
    return edits


def _apply(data: dict[str, Any], edits: list[tuple[str, Path_, Any]]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for kind, path, value in edits:
        try:
            parent = _get(data, path[:-1])
            key = path[-1]
            if kind == "delete":
                del parent[key]
            elif kind == "key":
                target = parent[key]
                if isinstance(target, dict):
                    target[value[0]] = value[1]
                else:
                    parent[key] = {value[0]: value[1]}
            else:
                parent[key] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the place
    return data


NOT_UTF8 = [b"\xff", b"\xc3\x28", b"\xe2\x82", b"\x80", b"\xf0\x9f\x98"]


@st.composite
def texts(draw) -> bytes:
    """The bytes of a fuzzed scenario file."""
    numbers_only = draw(st.booleans())  # half the files have only numbers changed
    data = _apply(BASE, draw(mutations(numbers_only)))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    damages = ["none"] if numbers_only else ["none"] * 6 + ["truncate", "insert", "bytes", "deep"]
    damage = draw(st.sampled_from(damages))
    if damage == "deep":  # a flow-style nest far deeper than _nested builds (below ~1000)
        depth = draw(st.integers(10, 300))
        text += f"{draw(st.sampled_from(list(BASE)))}: {'[' * depth}1{']' * depth}\n"
    elif damage == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "insert":
        at = draw(st.integers(0, len(text)))
        extra = draw(st.one_of(junk_text, st.sampled_from(["[", "{", ":", "'", "\t", "\n  - "])))
        text = text[:at] + extra + text[at:]
    raw = text.encode("utf-8")
    if damage == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from(NOT_UTF8)) + raw[at:]
    return raw


class _TooSlow(BaseException):  # not caught by the CLI's own handlers
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    if threading.current_thread() is not threading.main_thread():
        yield  # signals need the main thread; pytest (with or without xdist) runs tests there
        return

    def stop(signum, frame):
        raise _TooSlow(f"no result within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    # repeating: an exception raised while a finaliser runs is ignored ("Exception ignored
    # in ..."), so one alarm alone may never stop the run
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _invoke(args: list[str], folder: Path, seconds: float = RUN_SECONDS):
    cwd = os.getcwd()
    os.chdir(folder)  # files are shown relative to the working directory
    try:
        with _time_limit(seconds):
            return CliRunner().invoke(main, args, catch_exceptions=True)
    finally:
        os.chdir(cwd)


ERROR = re.compile(rf"^error: {re.escape(FILE)}(:\d+:\d+)?: (?P<rest>.*)$")


def _top_level_keys(raw: bytes) -> set[str]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml, as the tool reads
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=loader)
    except Exception:
        return set()
    return {str(k) for k in data} if isinstance(data, dict) else set()


def _check_errors(result, raw: bytes) -> None:
    """Exit 2: one line per problem at the file and a key path, no traceback."""
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "exit 2 without a message"
    # present, or missing ones; as printed (control characters escaped)
    keys = {one_line(key) for key in _top_level_keys(raw) | set(BASE) | {"extends"}}
    for line in lines:
        match = ERROR.match(line)
        assert match, f"not an error line at {FILE}: {line!r}"
        rest = match["rest"]
        named = rest.startswith("(top level): ") or any(
            rest.startswith(f"{key}.") or rest.startswith(f"{key}: ") for key in keys
        )
        assert named, f"no key path in {line!r}"


def _check_complete_run(out: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete"
    assert manifest["completed_replications"] == 1
    for name in TABLE_NAMES:
        assert (out / f"{name}.parquet").is_dir(), name
    kpis = pd.read_parquet(out / "kpis.parquet")
    assert len(kpis) == 1 and math.isfinite(kpis["incidents"].iloc[0])


def _edited(path: str, value: Any) -> bytes:
    data = copy.deepcopy(BASE)
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]
    _get(data, parts[:-1])[parts[-1]] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


def _outcome(result) -> str:
    return f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"


def test_base_scenario_is_valid_and_runs():
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / FILE).write_text(yaml.safe_dump(BASE, sort_keys=False), encoding="utf-8")
        result = _invoke(["validate", FILE], folder)
        assert result.exit_code == 0, _outcome(result)
        args = ["run", FILE, "-n", "1", "--seed", "1", "--executor", "serial"]
        result = _invoke([*args, "--no-plots", "-q", "--out", "out"], folder)
        assert result.exit_code == 0, _outcome(result)
        _check_complete_run(folder / "out")
        kpis = pd.read_parquet(folder / "out" / "kpis.parquet")
        assert kpis["incidents"].iloc[0] > 0  # the base exercises threats, lift and the rule
        assert len(pd.read_parquet(folder / "out" / "movements.parquet")) > 0
        assert len(pd.read_parquet(folder / "out" / "policy.parquet")) > 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # sums of 1e308, casts of infinite days
@settings(max_examples=examples(150))
@given(texts())
@example(_edited("threats.incident_types.1.severity.alpha", 1.000001))  # was an OverflowError
@example(_edited("forces.lift.0.transit_days.sigma", 1e300))  # inf transit: never arrives
def test_fuzzed_file_is_reported_or_runs(raw):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / FILE).write_bytes(raw)
        note(raw.decode("utf-8", errors="replace"))
        validated = _invoke(["validate", FILE], folder)
        assert validated.exit_code in (0, 2), _outcome(validated)
        if validated.exit_code == 2:
            _check_errors(validated, raw)
        args = ["run", FILE, "-n", "1", "--seed", "1", "--executor", "serial", "--no-plots"]
        ran = _invoke([*args, "-q", "--out", "out"], folder)
        assert ran.exit_code == validated.exit_code, _outcome(ran)
        if ran.exit_code == 0:
            _check_complete_run(folder / "out")
        else:
            _check_errors(ran, raw)
            assert not (folder / "out").exists()
            assert not (folder / "results").exists()


# -- inputs the fuzzer once broke the tool with (each now a clear error, exit 2) ---------------


def _deep(depth: int) -> bytes:
    return _edited("metadata.description", "x") + f"signals: {'[' * depth}{']' * depth}\n".encode()


GAPS = {
    "control_character": _edited("metadata.description", "x").replace(b"x", b"\x02", 1),
    "line_break_in_key": _edited("run.seed", 1).replace(b"seed:", b'"se\\ned":', 1),
    "line_break_in_name": _edited("forces.sites.2.name", "ho\nme"),
    "deep_nesting": _deep(1000),
    "tiny_record_interval": _edited("clock.record_interval_days", 1e-300),
    "personnel_beyond_int64": _edited("forces.sites.0.personnel.advisers", 2**63),
}
# inputs that once made runs that never end: each in a process of its own, killed if it hangs
HANGS = {
    "huge_rate": _edited("threats.processes.1.rate_per_day", 1e308),
    "tiny_check_interval": _edited("forces.repositioning.0.check_interval_days", 1e-300),
    "far_end_date": _edited("clock.end_date", "9999-12-31"),
}
RUN_ARGS = ["run", FILE, "-n", "1", "--seed", "1", "--executor", "serial", "--no-plots", "-q"]


@pytest.mark.parametrize("raw", GAPS.values(), ids=GAPS.keys())
def test_former_gap_is_reported(raw):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / FILE).write_bytes(raw)
        ran = _invoke([*RUN_ARGS, "--out", "out"], folder, seconds=10)
        assert ran.exit_code in (0, 2), _outcome(ran)
        if ran.exit_code == 2:
            _check_errors(ran, raw)


@pytest.mark.parametrize("raw", HANGS.values(), ids=HANGS.keys())
def test_former_hang_is_refused(raw):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / FILE).write_bytes(raw)
        env = {k: v for k, v in os.environ.items() if k != "WITHDRAWAL_SIM_DEBUG"}
        done = subprocess.run(
            [sys.executable, "-m", "sim", *RUN_ARGS, "--out", "out"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=4,  # the base scenario runs in under a second, start-up included
            env=env,
        )
        assert done.returncode in (0, 2), done.stderr

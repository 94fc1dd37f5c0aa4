"""From a scenario file (with ``extends:`` and ``--set`` overrides) to a validated Scenario,
and back to YAML and to the hash that names its configuration.

Loading happens in three passes, each reporting every problem it finds, never a traceback:
1. read YAML files and merge them (``extends`` resolved depth first, cycles and missing
   files reported at the ``extends`` key), then apply ``--set dotted.key=value`` overrides
   (both in ``RawScenario``, which keeps every key's position with the data);
2. validate types and ranges with the pydantic schema;
3. check what spans several fields (dates in order, names that must exist, shares).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from sim.config.errors import ScenarioError
from sim.config.files import not_a_file, shown
from sim.config.overrides import Overrides, apply_overrides
from sim.config.raw import RawScenario
from sim.config.schema import Scenario
from sim.config.yaml_source import read_yaml


def load_scenario(path: str | Path, overrides: Overrides = ()) -> Scenario:
    """Load, merge, override and validate a scenario file.

    Parameters
    ----------
    path
        The scenario file (``extends`` resolved relative to it).
    overrides
        Applied in order: a mapping ``{"run.seed": 3}``, a list of ``"run.seed=3"`` texts
        (values read as YAML, as ``--set`` reads them) or ``("run.seed", 3)`` pairs, or one
        text. Values may be numpy scalars, dates or lists; keys may have glob steps, and
        ``Scale``/``Shift`` values change the file's own value (``sim.config.overrides``).

    Returns
    -------
    Scenario
        Validated: the schema and the checks across fields, every default filled in.

    Raises
    ------
    ScenarioError
        Every problem, each naming its file and line or its override, and its key.
    """
    raw = RawScenario.from_file(path)
    apply_overrides(raw, overrides)
    return raw.validate()


def file_kind(path: str | Path) -> str:
    """``"sweep"`` for a sweep file (a mapping with a top-level ``sweep`` key), else
    ``"scenario"``. A file that cannot be read as a mapping counts as a scenario file, so
    that loading it reports why."""
    path = Path(path)
    if not_a_file(path):
        return "scenario"
    try:
        data, _ = read_yaml(path, shown(path))
    except ScenarioError:
        return "scenario"
    return "sweep" if isinstance(data, dict) and "sweep" in data else "scenario"


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML that loads back to an equal Scenario."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def config_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved model configuration (the ``run`` defaults excluded)."""
    payload = scenario.model_dump(mode="json", exclude={"run"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

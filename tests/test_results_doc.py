"""docs/results.md is the output of the current scenarios: `make compare-all` records each
scenario's config hash there, and this test fails when a scenario (or a file it extends) no
longer resolves to it, or when a scenario is missing, so stale results cannot ship."""

from __future__ import annotations

import re
from pathlib import Path

import sim
from sim.config.load import config_hash

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results.md"
ROW = re.compile(r"^\| (?P<name>[a-z0-9_]+) \| `(?P<file>[^`]+)` \| `(?P<hash>[0-9a-f]{64})` \|$")


def recorded() -> dict[str, tuple[str, str]]:
    text = RESULTS.read_text()
    section = text.split("## Provenance", 1)[1]
    rows = [ROW.match(line) for line in section.splitlines()]
    return {m["name"]: (m["file"], m["hash"]) for m in rows if m}


def test_published_results_match_the_scenarios_they_describe():
    hashes = recorded()
    scenarios = {p.stem: p for p in (ROOT / "scenarios").glob("*.yaml")}
    assert sorted(hashes) == sorted(scenarios), (
        "run `make compare-all`: scenarios were added or removed"
    )
    stale = [
        name
        for name, (file, digest) in hashes.items()
        if config_hash(sim.load_scenario(ROOT / file)) != digest
    ]
    assert not stale, f"run `make compare-all`: docs/results.md is stale for {stale}"


def test_published_results_name_the_command_and_the_makefile_seed():
    text = RESULTS.read_text()
    seed = re.search(r"^COMPARE_SEED \?= (\d+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    assert f"python scripts/compare_all.py --replications 200 --seed {seed}" in text
    assert "(`make compare-all`)" in text
    assert re.search(r"on \d{4}-\d{2}-\d{2}", text)

"""Run folders from someone else, altered to attack whoever opens them: every case is refused
or repaired in bounded time and memory, and nothing outside the folder is read or touched.

Each case copies a small finished run, alters it, and runs ``verify`` or ``--resume`` on it
through the real command line (``bounded.run_cli``). A canary folder beside the run holds a
file that links and journal lines point at; it must come out byte for byte as it went in.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bounded import run_cli
from runs import BASELINE, SHORT

from sim.experiment.journal import JOURNAL

SECONDS = 20.0
PEAK_MIB = 400.0
RESUME = ("run", str(BASELINE), "--resume", "--out", "run", "--set", SHORT, "-q", "--no-plots")
VERIFY = ("verify", "run")


@dataclass(frozen=True)
class Case:
    id: str
    alter: Callable[[Path, Path], None]  # (run folder, canary folder)
    args: tuple[str, ...]
    code: int
    fragment: str


def _journal(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / JOURNAL).read_text().splitlines()]


def _write_journal(run: Path, lines: list[dict]) -> None:
    (run / JOURNAL).write_text("".join(json.dumps(line) + "\n" for line in lines))


def _edit_line(edit: Callable[[dict], None]) -> Callable[[Path, Path], None]:
    def alter(run: Path, canary: Path) -> None:
        lines = _journal(run)
        edit(lines[0])
        _write_journal(run, lines)

    return alter


def _manifest(edit: Callable[[dict], None]) -> Callable[[Path, Path], None]:
    def alter(run: Path, canary: Path) -> None:
        data = json.loads((run / "manifest.json").read_text())
        edit(data)
        (run / "manifest.json").write_text(json.dumps(data))

    return alter


def _first_part(run: Path, table: str = "kpis") -> Path:
    return sorted((run / f"{table}.parquet").glob("part-*.parquet"))[0]


def _link_table_elsewhere(run: Path, canary: Path) -> None:
    shutil.move(run / "kpis.parquet", canary / "kpis.parquet")
    (run / "kpis.parquet").symlink_to(canary / "kpis.parquet")


def _foreign_table_folder(run: Path, canary: Path) -> None:
    shutil.copytree(run / "kpis.parquet", run / "kpis_from_another_run.parquet")


def _part_to_dev_zero(run: Path, canary: Path) -> None:
    part = _first_part(run)
    part.unlink()
    part.symlink_to("/dev/zero")
    lines = _journal(run)
    lines[0]["parts"]["kpis"]["size"] = 0
    _write_journal(run, lines)


def _part_is_a_folder(run: Path, canary: Path) -> None:
    part = _first_part(run, "incidents")
    part.unlink()
    part.mkdir()


def _duplicate_line(run: Path, canary: Path) -> None:
    lines = _journal(run)
    _write_journal(run, [*lines, lines[1]])


def _table_path(line: dict) -> None:
    line["parts"]["../canary/x"] = line["parts"].pop("posture")


def _deep_json(run: Path, canary: Path) -> None:
    (run / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)


def _lock_to_canary(run: Path, canary: Path) -> None:
    (run / ".lock").unlink()
    (run / ".lock").symlink_to(canary / "precious.txt")


def _lock_fifo(run: Path, canary: Path) -> None:
    (run / ".lock").unlink()
    os.mkfifo(run / ".lock")


def _lock_hard_link(run: Path, canary: Path) -> None:
    (run / ".lock").unlink()
    os.link(canary / "precious.txt", run / ".lock")


def _journal_link(run: Path, canary: Path) -> None:
    shutil.move(run / JOURNAL, canary / JOURNAL)
    (run / JOURNAL).symlink_to(canary / JOURNAL)


def _plant_temp_journal_link(run: Path, canary: Path) -> None:
    (run / f".{JOURNAL}.tmp").symlink_to(canary / "precious.txt")


CASES = [
    Case("planted_temp_journal_link", _plant_temp_journal_link, RESUME, 0, ""),
    Case("table_folder_links_elsewhere", _link_table_elsewhere, RESUME, 2, "not a folder of"),
    Case("foreign_table_folder_left_alone", _foreign_table_folder, RESUME, 0, ""),
    Case("part_links_to_dev_zero", _part_to_dev_zero, VERIFY, 1, "not a regular file"),
    Case("part_is_a_folder", _part_is_a_folder, RESUME, 2, "a folder where a part belongs"),
    Case(
        "journal_range_of_a_trillion",
        _edit_line(lambda x: x.update(last=10**12)),
        VERIFY,
        1,
        "bad replication range",
    ),
    Case("journal_table_is_a_path", _edit_line(_table_path), VERIFY, 1, "is not an identifier"),
    Case("journal_line_twice", _duplicate_line, VERIFY, 1, "committed twice"),
    Case(
        "journal_line_lacks_a_table",
        _edit_line(lambda x: x["parts"].pop("kpis")),
        VERIFY,
        1,
        "lack ['kpis']",
    ),
    Case("journal_is_a_link", _journal_link, VERIFY, 1, "not a regular file"),
    Case(
        "manifest_trillion_replications",
        _manifest(lambda m: m.update(replications=10**12)),
        VERIFY,
        2,
        "'replications' must be a whole number",
    ),
    Case(
        "manifest_sessions_not_a_list",
        _manifest(lambda m: m.update(sessions="x")),
        VERIFY,
        2,
        "'sessions' is missing or not a list",
    ),
    Case(
        "manifest_seed_past_64_bits",
        _manifest(lambda m: m.update(root_seed=2**70)),
        RESUME,
        2,
        "'root_seed' must be a whole number",
    ),
    Case("manifest_nested_deeply", _deep_json, VERIFY, 2, "not valid JSON"),
    Case(
        "manifest_other_packages",
        _manifest(lambda m: m["versions"].update(numpy="1.0.0")),
        RESUME,
        2,
        "packages changed since it started (numpy 1.0.0 ->",
    ),
    Case("lock_links_elsewhere", _lock_to_canary, RESUME, 2, "cannot lock"),
    Case("lock_is_a_fifo", _lock_fifo, RESUME, 2, "is not a file of its own"),
    Case("lock_is_a_hard_link", _lock_hard_link, RESUME, 2, "is not a file of its own"),
]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("finished")
    command = ("run", str(BASELINE), "-n", "6", "--seed", "1", "--out", "run", "-q")
    outcome = run_cli(*command, "--no-plots", "--executor", "serial", "--set", SHORT, cwd=folder)
    assert outcome.code == 0, outcome.stderr
    return folder / "run"


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    return {
        str(p.relative_to(folder)): (os.readlink(p) if p.is_symlink() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_run_folder(case: Case, finished: Path, tmp_path: Path):
    run, canary = tmp_path / "run", tmp_path / "canary"
    shutil.copytree(finished, run)
    canary.mkdir()
    (canary / "precious.txt").write_text("the user's own file")
    case.alter(run, canary)
    before = _snapshot(canary)
    outcome = run_cli(*case.args, cwd=tmp_path, timeout=60)
    shown = f"exit {outcome.code}, {outcome.seconds:.1f} s, {outcome.peak_mib:.0f} MiB\n"
    shown += outcome.stdout[-2000:] + outcome.stderr[-2000:]
    assert outcome.code == case.code, shown
    assert "Traceback" not in outcome.stderr, shown
    assert case.fragment in outcome.stdout + outcome.stderr, shown
    if case.code == 2:
        assert len(outcome.error_lines) == 1, shown
    assert outcome.seconds < SECONDS and outcome.peak_mib < PEAK_MIB, shown
    assert _snapshot(canary) == before, "a file outside the run folder changed"
    if case.id == "foreign_table_folder_left_alone":
        assert len(list((run / "kpis_from_another_run.parquet").iterdir())) == 6

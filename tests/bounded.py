"""Run the real command line in a child process, bounded in time and memory.

Hostile-input tests need more than an exit code: a bomb that is refused after a minute, or
after eating gigabytes, is still a failure. ``run_cli`` starts ``python -m sim`` with an
address-space cap (a runaway allocation fails fast instead of swapping the machine), kills
its process group at ``timeout`` seconds, and reports the child's own peak resident memory.

The peak is the kernel's high-water mark of the child's own memory (``VmHWM``), which the
child writes as it exits. ``wait4``'s ``ru_maxrss`` would not do: Linux carries it across
``fork`` and ``exec``, so a child of a large test process would report the parent's size.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDRESS_SPACE_CAP = 4 << 30  # bytes: far above any sane command, far below the machine
LAUNCHER = """
import atexit, os, runpy, sys

def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BOUNDED_PEAK_FILE"], "w") as out:
        out.write(kib)

atexit.register(peak)
sys.argv[0] = "withdrawal-sim"
runpy.run_module("sim", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float
    timed_out: bool

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def run_cli(
    *args: str | os.PathLike,
    cwd: str | os.PathLike | None = None,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> Outcome:
    """Run ``python -m sim ARGS``; return its exit code, output, time and peak memory."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        peak_file = Path(scratch) / "peak"
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *map(str, args)],
            cwd=cwd or ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {}), "BOUNDED_PEAK_FILE": str(peak_file)},
            preexec_fn=_cap_memory,
            start_new_session=True,
        )
        timed_out = False
        while True:
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.monotonic() - began > timeout:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, _ = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        seconds = time.monotonic() - began
        out.seek(0)
        err.seek(0)
        return Outcome(
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            seconds,
            int(peak_file.read_text()) / 1024 if peak_file.is_file() else float("inf"),
            timed_out,
        )

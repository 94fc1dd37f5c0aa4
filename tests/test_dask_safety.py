"""The Dask executor fails fast and quietly: a wrong ``--scheduler`` and a Ctrl-C.

Issue 14, failure 8: a service at ``--scheduler`` that accepts connections and never speaks
held ``run`` for ever (no output after 300 s), because distributed reads the handshake of a
connection it has opened without a time limit. Every such address must now give exit 1
within a bound and one line naming it. And a Ctrl-C (SIGINT to the process group, as a
terminal sends it) during a local-cluster run printed about 100 lines of tracebacks from
the workers, nannies and distributed's logging; it must print one line, exit 130 and leave
no process behind.

Everything here is real: servers on 127.0.0.1 in threads of this process, the CLI in a
child process (``bounded.run_cli``), a real local cluster. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from bounded import ROOT, run_cli
from runs import run_command

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")  # a dependency of distributed

BOUND = 30.0  # seconds: the default connection limit (10 s) plus the CLI's start, with room


def _run_args(scheduler: str, out: Path) -> list[str]:
    """``run`` on a Dask scheduler by address, without ``python -m sim`` (run_cli adds it)."""
    return run_command("--executor", "dask", "--scheduler", scheduler, out=out, n=2)[3:]


@contextmanager
def _server(behaviour: str) -> Iterator[int]:
    """A TCP server on 127.0.0.1 in a thread; yields its port. ``hang`` accepts and never
    writes (nor reads); ``http`` answers every request as a web server would; ``close``
    closes each connection at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        deadline = time.monotonic() + 120  # bounded even if the test never stops it
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if behaviour == "close":
                conn.close()
                continue
            accepted.append(conn)
            if behaviour == "http":
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                        b"Content-Length: 13\r\n\r\n<html></html>"
                    )
                except OSError:
                    pass

    thread = threading.Thread(target=serve, name=f"{behaviour}-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in accepted:
            conn.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on exit: connections to it are refused


def _assert_one_line_error(outcome, address: str, *words: str) -> None:
    assert not outcome.timed_out, f"still running after {outcome.seconds:.0f} s"
    assert outcome.code == 1, (outcome.code, outcome.stderr)
    assert outcome.seconds < BOUND, outcome.seconds
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert len(outcome.error_lines) == 1, outcome.stderr
    line = outcome.error_lines[0]
    assert line.startswith("error: ") and address in line, line
    for word in words:
        assert word in line, line


@pytest.mark.parametrize(
    "behaviour, words",
    [
        ("hang", ("did not answer", "within 10 s")),  # failure 8: this one hung for ever
        ("http", ("not in Dask's protocol",)),
        ("close", ("closed the connection",)),
    ],
)
def test_a_service_that_is_not_a_dask_scheduler_is_an_error_within_a_bound(
    tmp_path, behaviour, words
):
    with _server(behaviour) as port:
        address = f"tcp://127.0.0.1:{port}"
        outcome = run_cli(
            *_run_args(address, tmp_path / "run"),
            timeout=90,
            env={"WITHDRAWAL_SIM_DASK_TIMEOUT": ""},  # the default, 10 s
        )
    _assert_one_line_error(outcome, address, "no Dask scheduler", *words)


def test_a_closed_port_is_refused_at_once(tmp_path):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    outcome = run_cli(*_run_args(address, tmp_path / "run"), timeout=90)
    _assert_one_line_error(outcome, address, "connection refused")
    assert outcome.seconds < 8, "a refusal needs no waiting for the time limit"


def test_the_connection_time_limit_comes_from_the_environment(tmp_path):
    with _server("hang") as port:
        address = f"tcp://127.0.0.1:{port}"
        began = time.monotonic()
        outcome = run_cli(
            *_run_args(address, tmp_path / "run"),
            timeout=90,
            env={"WITHDRAWAL_SIM_DASK_TIMEOUT": "1.5"},
        )
    _assert_one_line_error(outcome, address, "within 1.5 s")
    assert time.monotonic() - began < 9, "the 10 s default was used"
    bad = run_cli(
        *_run_args(address, tmp_path / "bad"),
        timeout=90,
        env={"WITHDRAWAL_SIM_DASK_TIMEOUT": "soon"},
    )
    assert bad.code == 1 and len(bad.error_lines) == 1, bad.stderr
    assert "WITHDRAWAL_SIM_DASK_TIMEOUT" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "address, words",
    [
        ("notaurl", ("missing port",)),
        ("http://127.0.0.1:8786", ("'http://' is not supported",)),
        ("tcp://127.0.0.1", ("missing port",)),
        ("tcp://127.0.0.1:0", ("port must be",)),
        ("tcp://127.0.0.1:8786/path", ("no path",)),
        ("inproc://127.0.0.1/1/2", ("'inproc://' is not supported",)),
    ],
)
def test_a_malformed_scheduler_address_is_a_clear_error(tmp_path, address, words):
    outcome = run_cli(*_run_args(address, tmp_path / "run"), timeout=90)
    _assert_one_line_error(outcome, address, "invalid Dask scheduler address", *words)


def _enter(address: str) -> None:
    """Enter (and leave) an executor of the scheduler at ``address``: entering connects."""
    from sim.experiment.executors import Executor

    with Executor("dask", scheduler=address):
        pass


def test_entering_an_executor_tells_a_scheduler_from_a_worker_and_a_silent_port(monkeypatch):
    from distributed import LocalCluster

    from sim.experiment.errors import ExecutorError

    monkeypatch.setenv("WITHDRAWAL_SIM_DASK_TIMEOUT", "1")
    with LocalCluster(
        n_workers=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        _enter(cluster.scheduler_address)  # a scheduler: no error
        (worker,) = cluster.scheduler_info["workers"]
        with pytest.raises(ExecutorError, match="is a Dask Worker, not the scheduler"):
            _enter(worker)
    with _server("hang") as port:
        began = time.monotonic()
        with pytest.raises(ExecutorError, match="did not answer Dask's handshake within 1 s"):
            _enter(f"127.0.0.1:{port}")  # a bare HOST:PORT means tcp://
        assert time.monotonic() - began < 5


def _descendants(pid: int) -> list:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(processes: list) -> list:
    """Those still running: not gone, not a zombie, not a reused pid (``is_running``
    compares the creation time)."""
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def _mentioning(folder: Path) -> list:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid != os.getpid() and str(folder) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_ctrl_c_during_a_local_dask_run_prints_one_line_and_leaves_no_process(tmp_path):
    out = tmp_path / "run"
    # far more replications than the seconds before the signal can finish
    command = run_command("--seed", 3, "--executor", "dask", "--jobs", 2, out=out, n=2000)
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 120
        while not list((out / "kpis.parquet").glob("part-*.parquet")):
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "no part committed within 120 s"
            time.sleep(0.05)
        family = _descendants(proc.pid)  # forkserver, resource tracker, the workers
        assert len(family) >= 3, family
        assert proc.poll() is None, "the run finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        began = time.monotonic()
        _, stderr = proc.communicate(timeout=60)
        took = time.monotonic() - began
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    stderr = stderr.decode(errors="replace")
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert proc.returncode == 130, (proc.returncode, stderr)
    assert "Traceback" not in stderr, stderr
    assert 1 <= len(lines) <= 2, stderr
    assert lines[-1].startswith("interrupted:"), stderr
    assert took < 30, took

    deadline = time.monotonic() + 10
    while _alive(family) or _mentioning(out):
        assert time.monotonic() < deadline, f"left behind: {_alive(family)} {_mentioning(out)}"
        time.sleep(0.1)

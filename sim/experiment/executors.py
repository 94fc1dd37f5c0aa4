"""Where replications run: in this process, in a local process pool, or on Dask distributed.

All three take the same tasks and yield results as they complete, with a bounded number in
flight so memory stays flat however many replications there are. Results never depend on
the executor: each task carries its own replication numbers and seeds. Dask is imported
only when chosen; its tasks are submitted with ``pure=False`` so identical-looking tasks
are never de-duplicated.

On Linux, pool workers come from a *forkserver* that has imported the model once
(``warm_up``): each worker is a fork of it, ready in milliseconds, instead of a fresh
interpreter importing numpy and pyarrow (half a second each, which was a quarter of a
200-replication run). The server is a separate, single-purpose process: a worker gets none
of the caller's threads, locks or state, so this is safe from notebooks and threaded
programs. It lives as long as the calling process and keeps the code it imported first: in
a notebook, restart the kernel after editing the package (or use ``executor="serial"``).

Connecting to a Dask scheduler (``scheduler="tcp://HOST:PORT"``) is bounded in time as a
whole: ``WITHDRAWAL_SIM_DASK_TIMEOUT`` seconds (default 10) for the TCP connection, Dask's
handshake, the first request and the client's registration together. ``Client(timeout=)``
alone does not bound it: distributed (2026.8) reads the handshake reply of a connection it
has opened with no time limit, so a service that accepts connections and never speaks (a
firewall, a stuck process, an HTTP server waiting for its request) held a run for ever. The
address is therefore checked first (its form; a plain TCP connection, which tells "refused"
from "nothing answered"; then Dask's handshake and an ``identity`` request, under one
deadline, which tells "not a Dask scheduler" from a scheduler), and every failure is an
``ExecutorError`` naming the address and what happened.

Ctrl-C in a terminal signals the whole process group, workers included; left to themselves
they print tracebacks, and distributed its complaints about lost connections (about a
hundred lines for a Dask run). So only the run's own process takes the KeyboardInterrupt:
the forkserver starts with SIGINT ignored, so its Dask workers ignore it from their first
instruction (pool workers ignore it too); a local cluster's start holds a
Ctrl-C until the cluster is up (a second one interrupts at once), and so does fetching each
result; then the client and the cluster are closed with logging off, each within
``CLOSE_TIMEOUT`` seconds, and the workers exit with their nannies. Where workers are
spawned instead (macOS), they ignore SIGINT from their construction on (``DaskWorker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import logging
import math
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from sim.experiment.errors import ExecutorError

EXECUTORS = ("serial", "process", "dask")
WORKER_MODULES = ["sim.experiment.tasks", "sim.arrow", "pyarrow.parquet"]
SCHEMES = ("tcp", "tls", "ws", "wss")  # Dask's protocols over TCP (not inproc, ucx)
TIMEOUT_ENV = "WITHDRAWAL_SIM_DASK_TIMEOUT"
DEFAULT_TIMEOUT = 10.0  # seconds to reach a Dask scheduler, handshake included
CLOSE_TIMEOUT = 10.0  # seconds for each of client and local cluster to shut down


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _forkserver(executor: str) -> multiprocessing.context.BaseContext | None:
    """The forkserver context, preloaded for ``executor``; None off Linux, where workers are
    spawned instead (macOS system libraries are not safe to use after a fork)."""
    if not sys.platform.startswith("linux"):
        return None
    context = multiprocessing.get_context("forkserver")
    extra = ["distributed"] if executor == "dask" else []
    context.set_forkserver_preload([*WORKER_MODULES, *extra])
    return context


def warm_up(executor: str, jobs: int, scheduler: str | None = None) -> None:
    """Import what the workers need before the run starts: in a forkserver for local pools
    and local Dask clusters (this returns at once; the first worker waits for the imports if
    still needed), in this process when it runs the replications itself. Every executor's
    run time then counts the same thing: running replications, not importing libraries."""
    if executor == "serial" or (executor == "process" and jobs == 1):
        for module in WORKER_MODULES:
            importlib.import_module(module)
        return
    local = executor == "process" or (executor == "dask" and not scheduler)
    if local and _forkserver(executor) is not None:
        _start_forkserver()


def _start_forkserver() -> None:
    """Start the forkserver (if not yet running) with SIGINT ignored.

    Ctrl-C in a terminal signals the whole process group. The forkserver imports the
    model for seconds; interrupted there it printed a traceback, and the Dask workers it
    forks inherited the default handler and printed theirs. Ignored at the start (an
    ignored signal stays ignored across exec, and the forkserver gives its children the
    disposition it started with), SIGINT reaches only the run's own process, which shuts
    the workers down (pool workers ignore it too: ``_pool_worker``). A Ctrl-C in the few
    milliseconds of the start itself is lost: press it again."""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _pool_worker(owner: int) -> None:
    """A process-pool worker's initializer: SIGINT ignored, and ``_exit_with(owner)``.

    A worker interrupted by a terminal's Ctrl-C (sent to the whole group, twice under
    ``timeout``) printed tracebacks, and one interrupted while holding the pool's queue lock
    hung the pool's shutdown, and so the run, for ever. The run's own process takes the
    interrupt, cancels what has not started and waits for the chunks being simulated."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with(owner)


def _exit_with(owner: int, every: float = 1.0) -> None:
    """Make this pool worker exit when the run's process ``owner`` is gone.

    A killed run cannot shut its pool down, and an idle worker waits on its task queue for
    ever; a worker busy with a chunk would even stage it into the run's folder. A daemon
    thread checks ``owner`` every ``every`` seconds and ends the worker when it has died.
    """

    def watch() -> None:
        while True:
            time.sleep(every)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # alive, under another user (pid reused): keep going
                pass

    threading.Thread(target=watch, name="exit-with-run", daemon=True).start()


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    executor: str = "process",
    jobs: int | None = None,
    scheduler: str | None = None,
) -> Iterator[Any]:
    """Yield ``fn(task)`` for every task, in completion order."""
    jobs = jobs or default_jobs()
    if executor == "serial" or (executor == "process" and jobs == 1):
        yield from map(fn, tasks)
    elif executor == "process":
        context = _forkserver(executor)
        if context is None:
            context = multiprocessing.get_context("spawn")
        else:
            _start_forkserver()
        pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=_pool_worker,
            initargs=(os.getpid(),),
        )
        try:
            yield from _windowed(
                lambda task: pool.submit(fn, task),
                tasks,
                2 * jobs,
                lambda pending: wait(pending, return_when=FIRST_COMPLETED),
            )
        finally:  # on an interrupt, only the chunks already running finish
            pool.shutdown(wait=True, cancel_futures=True)
    elif executor == "dask":
        yield from _run_dask(fn, tasks, jobs, scheduler)
    else:
        raise ExecutorError(f"unknown executor '{executor}' (choose from {', '.join(EXECUTORS)})")


def _windowed(submit, tasks, window, wait_some) -> Iterator[Any]:
    pending: set = set()
    iterator = iter(tasks)
    exhausted = False
    while pending or not exhausted:
        while not exhausted and len(pending) < window:
            try:
                pending.add(submit(next(iterator)))
            except StopIteration:
                exhausted = True
        if pending:
            done, pending = wait_some(pending)
            for future in done:
                yield future.result()


def connect_timeout() -> float:
    """Seconds allowed to reach a Dask scheduler: ``$WITHDRAWAL_SIM_DASK_TIMEOUT`` or 10."""
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds <= 3600):
        raise ExecutorError(
            f"{TIMEOUT_ENV} must be a number of seconds in (0, 3600], got '{value}'"
        )
    return seconds


def _parse_scheduler(address: str) -> tuple[str, str, str, int]:
    """(address, scheme, host, port) of a scheduler address, or an ExecutorError saying
    what is wrong with it. A bare ``HOST:PORT`` means Dask's default scheme (tcp)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    usage = f"invalid Dask scheduler address '{address}': expected tcp://HOST:PORT"
    text = address.strip()
    if not text or len(text) > 1000 or any(c.isspace() or not c.isprintable() for c in text):
        raise ExecutorError(usage)
    scheme, location = parse_address(text)
    if scheme not in SCHEMES or "://" in location or "/" in location:
        if scheme not in SCHEMES:
            hint = f"'{scheme}://' is not supported"
        else:
            hint = "no path after the port"
        known = ", ".join(f"{name}://" for name in SCHEMES)
        raise ExecutorError(f"{usage} ({hint}; use {known})")
    try:
        host, port = parse_host_port(location)
        port = int(port)
    except (ValueError, TypeError) as exc:
        raise ExecutorError(f"{usage} ({exc})") from None
    if not host or not 0 < port < 65536:
        raise ExecutorError(f"{usage} (the port must be 1 to 65535)")
    return f"{scheme}://{location}", scheme, host, port


def _reach(address: str, host: str, port: int, seconds: float) -> None:
    """Open (and close) a plain TCP connection, telling refusal from silence."""
    try:
        with socket.create_connection((host, port), timeout=seconds):
            pass
    except TimeoutError:
        raise TimeoutError("connect") from None
    except ConnectionRefusedError:
        raise ExecutorError(
            f"cannot reach Dask scheduler {address}: connection refused "
            "(nothing listens there; is the scheduler running?)"
        ) from None
    except socket.gaierror as exc:
        raise ExecutorError(
            f"cannot reach Dask scheduler {address}: unknown host '{host}' ({exc.strerror})"
        ) from None
    except OSError as exc:
        reason = exc.strerror or exc
        raise ExecutorError(f"cannot reach Dask scheduler {address}: {reason}") from None


async def _identify(address: str, seconds: float, connection_args: dict, state: dict) -> Any:
    """Dask's handshake, then the reply to an ``identity`` request."""
    from distributed.comm import connect

    comm = await connect(address, timeout=seconds, **connection_args)
    try:
        state["stage"] = "identity"
        await comm.write({"op": "identity", "reply": True})
        reply = await comm.read()
        await comm.write({"op": "close", "reply": False})
        return reply
    finally:
        await comm.close()


def _probe(address: str, scheme: str, host: str, port: int, deadline: float, limit: float):
    """Make sure a Dask scheduler answers at ``address`` before ``deadline`` (monotonic);
    ``limit`` is the whole connection's time limit, for the messages. Name resolution, the
    TCP connection, Dask's handshake and the ``identity`` request run in a thread of their
    own (which also works when the caller runs an event loop), joined with the deadline."""
    from distributed.security import Security

    connection_args = Security().get_connection_args("client")
    if scheme == "tls" and connection_args.get("ssl_context") is None:
        raise ExecutorError(
            f"cannot connect to Dask scheduler {address}: tls:// needs Dask's TLS settings "
            "(distributed.comm.tls.* in the Dask configuration), and none are set"
        )
    state: dict[str, Any] = {"stage": "connect"}

    def probe() -> None:
        try:
            _reach(address, host, port, max(0.001, deadline - time.monotonic()))
            state["stage"] = "handshake"
            seconds = max(0.001, deadline - time.monotonic())
            identify = _identify(address, seconds, connection_args, state)
            state["reply"] = asyncio.run(asyncio.wait_for(identify, seconds))
        except BaseException as exc:  # reported below, in the caller's thread
            state["error"] = exc

    thread = threading.Thread(target=probe, name="dask-scheduler-probe", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()) + 1.0)
    stage, error, reply = state["stage"], state.get("error"), state.get("reply")
    if isinstance(error, ExecutorError):
        raise error
    if thread.is_alive() or isinstance(error, TimeoutError):
        if stage == "connect":
            raise ExecutorError(
                f"cannot reach Dask scheduler {address}: nothing answered within {limit:g} s"
            )
        said = "Dask's handshake" if stage == "handshake" else "a Dask request"
        raise ExecutorError(
            f"no Dask scheduler at {address}: it accepted the connection but did not "
            f"answer {said} within {limit:g} s (is it a Dask scheduler?)"
        )
    if isinstance(error, OSError):  # distributed's CommClosedError is one
        during = "Dask's handshake" if stage == "handshake" else "a Dask request"
        raise ExecutorError(
            f"no Dask scheduler at {address}: it closed the connection during {during} "
            "(not a Dask scheduler?)"
        )
    if error is not None or not isinstance(reply, dict):
        raise ExecutorError(
            f"no Dask scheduler at {address}: it answered, but not in Dask's protocol "
            "(not a Dask scheduler?)"
        )
    if "workers" not in reply:
        raise ExecutorError(
            f"no Dask scheduler at {address}: it is a Dask {reply.get('type', 'service')}, "
            "not the scheduler"
        )


def check_scheduler(scheduler: str) -> None:
    """Raise ``ExecutorError`` unless a Dask scheduler answers at ``scheduler`` within
    ``connect_timeout()`` seconds: for callers that would rather fail before they create
    anything (a run folder). ``run_tasks`` makes the same checks when it connects."""
    _require_dask()
    limit = connect_timeout()
    address, scheme, host, port = _parse_scheduler(scheduler)
    _probe(address, scheme, host, port, time.monotonic() + limit, limit)


def _require_dask() -> None:
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ExecutorError(
            "the Dask executor needs the 'dask' extra: pip install 'withdrawal-sim[dask]'"
        ) from None


def _connect(scheduler: str) -> tuple[Any, int]:
    """A client of the scheduler at ``scheduler`` and its number of workers, all within
    ``connect_timeout()`` seconds."""
    from distributed import Client

    limit = connect_timeout()
    deadline = time.monotonic() + limit
    address, scheme, host, port = _parse_scheduler(scheduler)
    _probe(address, scheme, host, port, deadline, limit)

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ExecutorError(
                f"cannot connect to Dask scheduler {address}: no answer within {limit:g} s"
            )
        return remaining

    # it answered just now, so the client's own handshake (unbounded in distributed) will too
    try:
        client = Client(address, timeout=left())
    except (OSError, ImportError) as exc:  # TimeoutError and CommClosedError are OSErrors
        raise ExecutorError(f"cannot connect to Dask scheduler {address}: {exc}") from None
    try:
        return client, _worker_count(client, left())
    except BaseException as exc:
        client.close(timeout=CLOSE_TIMEOUT)
        if isinstance(exc, OSError):
            raise ExecutorError(
                f"Dask scheduler {address} did not answer within {limit:g} s"
            ) from None
        raise


def _worker_count(client, seconds: float) -> int:
    """The scheduler's number of workers (``scheduler_info()``, bounded in time)."""
    info = client.sync(client.scheduler.identity, callback_timeout=seconds)
    return len(info.get("workers", {}))


def __getattr__(name: str) -> Any:
    """``DaskWorker``, built on first use so that Dask is imported only when chosen (a
    local cluster's nannies send the class to their worker processes by name)."""
    if name != "DaskWorker":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from distributed import Worker

    class DaskWorker(Worker):
        """A local cluster's worker. It ignores SIGINT, which a terminal's Ctrl-C sends to
        the whole process group: the run's own process handles the interrupt and shuts the
        cluster down, and the worker exits with its nanny instead of printing tracebacks."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            super().__init__(*args, **kwargs)

    DaskWorker.__qualname__ = "DaskWorker"
    globals()["DaskWorker"] = DaskWorker
    return DaskWorker


def _local_cluster(jobs: int):
    from distributed import LocalCluster, Nanny

    worker = __getattr__("DaskWorker")

    class QuietNanny(Nanny):
        """A nanny whose worker process is a ``DaskWorker``."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("worker_class", worker)
            super().__init__(*args, **kwargs)

    try:
        return LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            worker_class=QuietNanny,
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard; the scheduler's HTTP server (health and metrics) on a free port
            # of its own instead of 8787, which another run may hold (a warning on stderr)
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            # a task's error reaches the run as its exception; what workers log at ERROR is
            # the noise of a shutdown after Ctrl-C (a heartbeat to a closed scheduler)
            silence_logs=logging.CRITICAL,
        )
    except OSError as exc:
        raise ExecutorError(f"cannot start a local Dask cluster: {exc}") from None


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C until the block ends, then raise KeyboardInterrupt; a second Ctrl-C
    raises at once. Around what distributed does not survive being interrupted in: a local
    cluster's start (it left workers half-spawned, printing tracebacks, and failed to close
    the cluster at exit) and its ``sync()`` calls (its event loop logged a ``NameError``).
    Only in the main thread with a Python handler for SIGINT; elsewhere, no change."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    if not callable(previous):  # not the main thread, or Ctrl-C ignored: nothing to hold
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)
        if len(caught) > 1:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _silenced(quiet: bool) -> Iterator[None]:
    """No logging at all in the block (when ``quiet``): after an interrupt, the complaints
    of distributed (and tornado, asyncio) about connections closed under them are expected
    and say nothing to the user."""
    if not quiet:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


def _dask_windowed(client, fn, tasks, window: int) -> Iterator[Any]:
    """``_windowed`` for Dask. This thread waits in ``as_completed`` (on a plain condition,
    where a Ctrl-C is harmless) and fetches each result with Ctrl-C held for the moment it
    takes (``_sigint_deferred``)."""
    from distributed import as_completed

    done = as_completed(loop=client.loop)
    iterator = iter(tasks)
    in_flight = 0
    for task in itertools.islice(iterator, window):
        done.add(client.submit(fn, task, pure=False))
        in_flight += 1
    while in_flight:
        future = next(done)
        in_flight -= 1
        if future.status == "cancelled":
            raise ExecutorError("Dask cancelled a task: the scheduler or its workers went away")
        with _sigint_deferred():
            result = future.result()  # raises the task's exception if it failed
        for task in itertools.islice(iterator, 1):
            done.add(client.submit(fn, task, pure=False))
            in_flight += 1
        yield result


def _run_dask(fn, tasks, jobs: int, scheduler: str | None) -> Iterator[Any]:
    _require_dask()
    import dask
    from distributed import Client

    # a local cluster's workers (and any it restarts) fork from the preloaded forkserver
    method = "spawn"
    if not scheduler and _forkserver("dask") is not None:
        method = "forkserver"
        _start_forkserver()
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        cluster = client = None
        interrupted = False
        try:
            if scheduler:
                client, workers = _connect(scheduler)
            else:
                with _sigint_deferred():
                    cluster = _local_cluster(jobs)
                    client = Client(cluster)
                    workers = _worker_count(client, connect_timeout())

            yield from _dask_windowed(client, fn, tasks, 2 * max(1, workers or jobs))
        except BaseException as exc:
            interrupted = not isinstance(exc, Exception)  # KeyboardInterrupt, GeneratorExit
            raise
        finally:
            with _silenced(interrupted):
                try:
                    if client is not None:
                        client.close(timeout=CLOSE_TIMEOUT)
                finally:
                    if cluster is not None:
                        cluster.close(timeout=CLOSE_TIMEOUT)

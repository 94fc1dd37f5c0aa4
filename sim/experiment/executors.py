"""Where replications run: in this process, in a local process pool, or on Dask distributed.

One ``Executor`` object, used as a context manager, serves all three: entering warms the
workers up and connects to a Dask scheduler, ``map`` yields results as they complete with a
bounded number in flight (so memory stays flat however many replications there are), and
exiting shuts the pool or cluster down. Results never depend on the executor: each task
carries its own replication numbers and seeds. Dask is imported only when chosen; its tasks
are submitted with ``pure=False`` so identical-looking tasks are never de-duplicated.

On Linux, pool workers come from a *forkserver* that has imported the model once (on
entering the executor): each worker is a fork of it, ready in milliseconds, instead of a fresh
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
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Literal, TypeVar, get_args

from sim.config.limits import MAX_JOBS
from sim.experiment.errors import ArgumentError, ExecutorError, RunError

T = TypeVar("T")
R = TypeVar("R")

ExecutorKind = Literal["serial", "process", "dask"]
EXECUTORS: tuple[ExecutorKind, ...] = get_args(ExecutorKind)
WORKER_MODULES = ["sim.experiment.tasks", "sim.arrow", "pyarrow.parquet"]
SCHEMES = ("tcp", "tls", "ws", "wss")  # Dask's protocols over TCP (not inproc, ucx)
TIMEOUT_ENV = "WITHDRAWAL_SIM_DASK_TIMEOUT"
DEFAULT_TIMEOUT = 10.0  # seconds to reach a Dask scheduler, handshake included
CLOSE_TIMEOUT = 10.0  # seconds for each of client and local cluster to shut down


def _broken_pool_advice() -> str:
    """What to do when a pool worker died. Its usual cause from a script: the workers start
    from a forkserver and import the main script again, so a script that runs experiments at
    its top level starts them again in every worker, which Python forbids."""
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None) if getattr(main, "__spec__", None) is None else None
    if script:
        return (
            f"a process-pool worker died while starting: {os.path.basename(script)} runs at "
            "its top level, and the workers import it again; put the calls under "
            '\'if __name__ == "__main__":\', or use executor="serial" or sim.evaluate'
        )
    return "a process-pool worker died (killed, or out of memory); the run can be resumed"


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


class Executor:
    """Where replications run, as a context manager (the shape of EMA Workbench's
    evaluators)::

        with Executor("process", jobs=2) as executor:
            for result in executor.map(run_chunk, chunks):
                ...

    Entering warms the workers up (``_warm_up``) and connects to a Dask scheduler given by
    address, within ``connect_timeout()``: a caller enters it before it creates anything, so
    an unreachable scheduler leaves no folder behind. The pool or local cluster starts at the
    first ``map`` and serves every later one (the batches of a ``target_ci`` run); the
    outermost exit shuts it down (entering again while entered, as a caller's ``with`` around
    ``run_experiment``'s own does, changes nothing).

    Parameters
    ----------
    kind
        ``"serial"`` (this process), ``"process"`` (a local pool) or ``"dask"`` (a local
        cluster, or the scheduler at ``scheduler``).
    jobs
        Workers (default: the machine's cores, at most the work there is).
    scheduler
        A Dask scheduler's address (``tcp://host:8786``), for ``kind="dask"``.

    Raises
    ------
    ArgumentError
        An unknown kind, or ``jobs`` below 1.
    """

    def __init__(
        self, kind: ExecutorKind = "process", jobs: int | None = None, scheduler: str | None = None
    ) -> None:
        if kind not in EXECUTORS:
            raise ArgumentError(f"unknown executor '{kind}' (choose from {', '.join(EXECUTORS)})")
        if scheduler is not None and kind != "dask":
            raise RunError("a Dask scheduler address goes with the dask executor")
        if jobs is not None and (
            not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= MAX_JOBS
        ):
            raise ArgumentError(
                f"jobs must be a whole number from 1 to {MAX_JOBS:,} (got {jobs!r})"
            )
        self.kind = kind
        self.jobs = jobs or default_jobs()
        self.scheduler = scheduler
        self._depth = 0
        self._window = 2 * self.jobs  # tasks in flight: two per worker
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._cluster: Any = None
        self._settings = contextlib.ExitStack()  # Dask configuration, for the executor's life

    @classmethod
    def of(
        cls, executor: str | Executor, jobs: int | None = None, scheduler: str | None = None
    ) -> Executor:
        """``executor`` itself, or a new one of that kind: the library takes either."""
        if isinstance(executor, Executor):
            if jobs is not None or scheduler is not None:
                raise RunError("jobs and scheduler belong to the Executor: pass them to it")
            return executor
        return cls(executor, jobs, scheduler)

    @property
    def stages_parts(self) -> bool:
        """Whether workers share this machine's disk and so write their chunks' Parquet parts
        themselves, in parallel (``sim.experiment.tasks``). A Dask scheduler's workers may
        be on other machines: they send their tables back instead."""
        return self.scheduler is None

    @property
    def _inline(self) -> bool:
        """Whether this process runs the replications itself."""
        return self.kind == "serial" or (self.kind == "process" and self.jobs == 1)

    def __repr__(self) -> str:
        where = f", scheduler={self.scheduler!r}" if self.scheduler else ""
        return f"Executor({self.kind!r}, jobs={self.jobs}{where})"

    def __enter__(self) -> Executor:
        self._depth += 1
        if self._depth == 1:
            try:
                self._warm_up()
            except BaseException as exc:
                self.__exit__(type(exc), exc, exc.__traceback__)
                raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            try:
                self._shut_down(interrupted=kind is not None and not issubclass(kind, Exception))
            finally:
                self._settings.close()

    def _warm_up(self) -> None:
        """Import what the workers need before the run starts: in a forkserver for local
        pools and local Dask clusters (this returns at once; the first worker waits for the
        imports if still needed), in this process when it runs the replications itself.
        Every executor's run time then counts the same thing: running replications, not
        importing libraries. A Dask scheduler given by address is connected to here."""
        if self._inline:
            for module in WORKER_MODULES:
                importlib.import_module(module)
            return
        forkserver = not self.scheduler and _forkserver(self.kind) is not None
        if self.kind == "dask":
            _require_dask()
            import dask

            # a local cluster's workers (and any it restarts) fork from the preloaded server
            method = "forkserver" if forkserver else "spawn"
            self._settings.enter_context(
                dask.config.set({"distributed.worker.multiprocessing-method": method})
            )
            if self.scheduler:
                self._dask_client()
                return
        if forkserver:
            _start_forkserver()

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(task)`` for every task, in completion order, with at most two tasks
        per worker in flight, so memory stays flat however many tasks there are.

        When the caller stops early (an error, Ctrl-C: close the iterator, as
        ``contextlib.closing`` does) or a task fails, the pool or cluster is shut down before
        the exception goes on: what has not started is cancelled, the chunks being simulated
        finish, and nothing writes into the caller's folder after it has recorded its end.
        """
        if not self._depth:
            raise RuntimeError("enter the executor ('with executor:') before mapping tasks")
        if self._inline:
            yield from map(fn, tasks)
            return
        try:
            if self.kind == "process":
                pool = self._process_pool()
                yield from _windowed(
                    lambda task: pool.submit(fn, task),
                    tasks,
                    self._window,
                    lambda pending: wait(pending, return_when=FIRST_COMPLETED),
                )
            else:
                yield from _dask_windowed(self._dask_client(), fn, tasks, self._window)
        except BrokenProcessPool:
            self._shut_down(interrupted=False)
            raise ExecutorError(_broken_pool_advice()) from None
        except BaseException as exc:
            self._shut_down(interrupted=not isinstance(exc, Exception))
            raise

    def _process_pool(self) -> ProcessPoolExecutor:
        """The local pool: its workers fork from the forkserver (spawned off Linux), ignore
        SIGINT and exit when this process dies (``_pool_worker``)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=_forkserver(self.kind) or multiprocessing.get_context("spawn"),
                initializer=_pool_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def _dask_client(self) -> Any:
        """The client of the scheduler given by address, or of a new local cluster."""
        if self._client is None:
            if self.scheduler:
                self._client, workers = _connect(self.scheduler)
            else:
                from distributed import Client

                with _sigint_deferred():
                    self._cluster = _local_cluster(self.jobs)
                    self._client = Client(self._cluster)
                    workers = _worker_count(self._client, connect_timeout())
            self._window = 2 * max(1, workers or self.jobs)
        return self._client

    def _shut_down(self, interrupted: bool) -> None:
        """Stop the pool (what has not started is cancelled, running chunks finish), or
        close the Dask client and local cluster, each within ``CLOSE_TIMEOUT`` seconds and
        without a word of logging after an interrupt."""
        pool, self._pool = self._pool, None
        client, self._client = self._client, None
        cluster, self._cluster = self._cluster, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with _silenced(interrupted):
            try:
                if client is not None:
                    client.close(timeout=CLOSE_TIMEOUT)
            finally:
                if cluster is not None:
                    cluster.close(timeout=CLOSE_TIMEOUT)

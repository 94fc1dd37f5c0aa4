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
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

EXECUTORS = ("serial", "process", "dask")
WORKER_MODULES = ["sim.experiment.tasks", "sim.arrow", "pyarrow.parquet"]


class ExecutorError(RuntimeError):
    """An executor that cannot start (a missing extra, an unreachable scheduler)."""


class RunError(Exception):
    """A run that cannot go ahead as asked (a bad resume, a clash); a usage error."""


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
        from multiprocessing import forkserver

        forkserver.ensure_running()


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
        context = _forkserver(executor) or multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=_exit_with,
            initargs=(os.getpid(),),
        ) as pool:
            yield from _windowed(
                lambda task: pool.submit(fn, task),
                tasks,
                2 * jobs,
                lambda pending: wait(pending, return_when=FIRST_COMPLETED),
            )
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


def _run_dask(fn, tasks, jobs: int, scheduler: str | None) -> Iterator[Any]:
    try:
        import dask
        from distributed import Client, LocalCluster
        from distributed import wait as dask_wait
    except ImportError:
        raise ExecutorError(
            "the Dask executor needs the 'dask' extra: pip install 'withdrawal-sim[dask]'"
        ) from None
    # a local cluster's workers (and any it restarts) fork from the preloaded forkserver
    method = "forkserver" if _forkserver("dask") is not None else "spawn"
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        cluster = None
        try:
            if scheduler:
                client = Client(scheduler, timeout="10s")
            else:
                cluster = LocalCluster(
                    n_workers=jobs,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                )
                client = Client(cluster)
        except OSError as exc:
            raise ExecutorError(f"cannot reach Dask scheduler {scheduler}: {exc}") from None
        try:
            workers = max(1, len(client.scheduler_info().get("workers", {})) or jobs)

            def submit(task):
                return client.submit(fn, task, pure=False)

            def wait_some(pending):
                return dask_wait(pending, return_when="FIRST_COMPLETED")

            yield from _windowed(submit, tasks, 2 * workers, wait_some)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

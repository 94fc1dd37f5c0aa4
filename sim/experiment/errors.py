"""What can stop an experiment, by who must act: the user (``RunError``, exit code 2) or the
machine (``ExecutorError``, exit code 1). Damaged results are ``journal.DamagedRun``."""


class RunError(Exception):
    """A run that cannot go ahead as asked (a bad resume, a clash, a foreign folder)."""


class ArgumentError(RunError, ValueError):
    """An argument out of its range or not one of its names (replications, seed, jobs, an
    executor, a KPI): a ``ValueError`` to Python callers, one line and exit 2 on the command
    line like every ``RunError``."""


class ExecutorError(RuntimeError):
    """An executor that cannot start (a missing extra, an unreachable scheduler)."""

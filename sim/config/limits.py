"""Bounds the command line checks on its own options, in a module without imports, so that
``withdrawal-sim --help`` stays fast (the schema, which uses them too, imports pydantic)."""

MAX_SEED = 2**63 - 1  # seeds are stored in int64 columns and passed to numpy
MAX_REPLICATIONS = 1_000_000  # each replication is a row of the kpis table, at least
MAX_JOBS = 256  # worker processes: more than any machine this runs on can use
MAX_SWEEP_POINTS = 10_000  # each point is a validated scenario in memory and a run folder

"""Replications: fan-out to executors, the result store, resuming and provenance."""

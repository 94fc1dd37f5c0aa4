"""Speed and memory measurements of withdrawal-sim (not tests): ``python -m benchmarks``."""

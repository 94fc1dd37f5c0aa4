"""Hypothesis profiles for the property-based tests (imported by ``conftest.py``).

* ``ci`` (the default): 30 examples per model property, derandomized and without a
  database, so every run of the suite tries the same examples and stays fast (all property
  and fuzz tests take about 25 s with ``-n 2``).
* ``thorough``: many more random examples, for a local search for counterexamples::

      .venv/bin/python -m pytest tests/test_properties_*.py tests/test_fuzz_input.py \\
          --hypothesis-profile=thorough -n 2

  (or ``HYPOTHESIS_PROFILE=thorough``). Failing examples are shrunk and printed; with the
  ``thorough`` profile they are also saved in ``.hypothesis/`` and replayed first next time.
* ``dev``: 5 examples per property, for a quick loop while editing.

Tests can scale their own ``max_examples`` with ``examples(n)``, which keeps the ratio to the
active profile, so a slow property can ask for fewer examples than the profile's default.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

CI_EXAMPLES = 30

settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    phases=[p for p in Phase if p != Phase.explain],  # its notes list pandas internals
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=600,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=5, deadline=None, derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(n: int) -> int:
    """``n`` examples under ``ci``, scaled in proportion under any other profile."""
    return max(1, round(n * settings().max_examples / CI_EXAMPLES))

"""Scenario configuration: schema, YAML loading with ``extends``/``--set``, and errors."""

"""The SimPy world: posture, lift, drawdown, signals, modulation, incident processes, border,
and the recorders; ``world.World`` builds, connects and starts them (see its docstring)."""

"""The SimPy world: posture, lift, drawdown, signals, modulation, incident processes, border."""

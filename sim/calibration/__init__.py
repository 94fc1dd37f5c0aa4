"""Calibration from event data: read ACLED or UCDP GED exports, filter and place their
events on the scenario's border, fit the threat processes, check the fits, and write a
threats file a scenario can extend (docs/calibration.md). Also the way back: a run's
incidents written in those exports' columns."""

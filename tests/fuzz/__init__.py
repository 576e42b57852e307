"""Standing fuzz targets: every file reader and both faces of the reference adapter, driven by
Hypothesis. ``python3 dev.py fuzz [TARGET...]`` runs them long; tests/fuzz/test_fuzz.py runs a
bounded number of inputs of each in the suite."""

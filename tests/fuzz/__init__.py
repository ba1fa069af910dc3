"""Property-based fuzzing of the citizen runtime (see tests/fuzz/harness.py)."""

"""Runnable examples; each module says how to run it. Their tests are in tests/examples/."""

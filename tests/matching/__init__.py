"""Matching engine tests (a package because other suites also have a test_engine.py)."""

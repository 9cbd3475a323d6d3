"""Benchmarks whose results fill the measured tables in README.md and docs/ (see bench/__init__.py)."""

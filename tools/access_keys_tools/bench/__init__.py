"""Benchmarks of the access-key service: figures printed with their budgets (docs/benchmarks.md)."""

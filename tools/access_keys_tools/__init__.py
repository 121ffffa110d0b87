"""Operator and developer tooling for the access-key service. Never deployed."""

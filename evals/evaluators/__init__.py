"""Deterministic evaluators: small pure functions from an answer (and a case's expectation)
to a score in 0..1 or a measured value. Each has its own unit test in ``tests/``."""

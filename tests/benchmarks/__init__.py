"""Benchmarks: footprint, start-up, tap to power, safety reaction, backlog replay, simulator
scale. Each is compared with a floor measured in the same run. Run them with
``.venv/bin/python -m tests.benchmarks`` (``--quick`` for a short run); ``test_smoke.py`` runs
each in its smoke mode inside the normal test suite."""

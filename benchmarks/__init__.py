"""Benchmarks: each is a module run from the repository root, e.g. ``python -m benchmarks.queue``.

Each prints a readable summary and ends with one JSON line. ``_common`` holds
the shared helpers (scratch databases, fast enqueue, histogram summaries, the
runner); ``faults`` is the fault harness, which ``tests/faults/`` imports and
drives with small counts.
"""

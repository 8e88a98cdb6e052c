"""City-scale seeding and the benchmark harness (issue 8; docs/BENCHMARKS.md).

- ``bench.tiers``: the tiers (S, M, and the tiny one of the smoke test);
- ``governance.kernel.bulk`` (used from here): PostgreSQL COPY from in-memory CSV, with a portable fallback;
- ``bench.seed``: the city, its households and a year of appeals with their events;
- ``bench.measure``: latencies over HTTP, intake throughput, escalation and scoring;
- ``bench.run``: the command line (``python bench/run.py seed|measure|all --tier S``).
"""

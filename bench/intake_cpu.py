#!/usr/bin/env python
"""CPU per public intake (POST /api/v1/appeals/), for comparing code on a busy machine where
the appeals per second move with the load (docs/BENCHMARKS.md, "What is left").

    python bench/intake_cpu.py inprocess --database gz_x_s [--requests 500]
    python bench/intake_cpu.py server    --database gz_x_s [--requests 500]

``inprocess``: the POSTs through Django's test client in this process; prints the process
time per appeal, and the SQL statements (besides the transaction's BEGIN and COMMIT) and
Redis commands per POST, counted on 10 POSTs after 20 to warm up. Needs REDIS_URL (the
Redis of the run: its command counts are read).
``server``: the bench's server (gunicorn, 4 gthread workers, a Redis of its own) and its
load generator (bench.measure.intake_throughput, concurrency 8): 200 POSTs to warm up, then
two rounds, each with the workers' CPU time per appeal from /proc.
Either writes appeals into the database: use a copy of a tier, never gz_bench_*. It measures
the tree it sits in: to compare an older commit, copy it into that checkout.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:1] = [str(ROOT)]  # as bench/run.py: the project, not bench/, first

from bench import run  # noqa: E402


def _sample():
    from appeals.models import Category
    from grids.models import Building

    codes = list(Building.objects.order_by("code").values_list("code", flat=True))
    buildings = random.Random(7).sample(codes, min(200, len(codes)))
    return buildings, list(Category.objects.filter(active=True).values_list("code", flat=True))


def inprocess(database: str, requests: int) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("REDIS_URL: the Redis of the run (its commands are counted)")
    run.django_setup(database, tempfile.mkdtemp(prefix="gz-intake-cpu-"), redis_url=redis_url)
    import redis
    from django.db import connection
    from django.test import Client

    from bench.measure import intake_body

    buildings, categories = _sample()
    client = Client(REMOTE_ADDR="10.1.2.3")
    seed = int(time.time())

    def post(i: int) -> None:
        body = json.dumps(intake_body(i, buildings=buildings, categories=categories, seed=seed), ensure_ascii=False)
        response = client.post(
            "/api/v1/appeals/",
            data=body,
            content_type="application/json",
            HTTP_ACCEPT="application/json",
            HTTP_HOST="127.0.0.1",
        )
        assert response.status_code == 201, (response.status_code, response.content[:300])

    server = redis.Redis.from_url(redis_url)

    def commands() -> int:
        return sum(v["calls"] for k, v in server.info("commandstats").items() if k != "cmdstat_info")

    for i in range(20):
        post(i)
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # (Not CaptureQueriesContext: each request's start empties the connection's query log.)
    with connection.execute_wrapper(count):
        before = commands()
        for i in range(20, 30):
            post(i)
        redis_commands = commands() - before
    started = time.process_time()
    for i in range(30, 30 + requests):
        post(i)
    cpu = time.process_time() - started
    print(
        f"cpu/appeal {cpu / requests * 1000:.2f} ms; statements/POST {len(statements) / 10:.1f} (+ BEGIN, COMMIT); "
        f"redis commands/POST {redis_commands / 10:.1f}"
    )


def server(database: str, requests: int) -> None:
    var_dir = tempfile.mkdtemp(prefix="gz-intake-cpu-")
    redis_server, redis_url = run.redis_start(var_dir)
    run.django_setup(database, var_dir, redis_url=redis_url)
    from bench import measure

    buildings, categories = _sample()
    port = run.free_port()
    gunicorn = run.gunicorn_start(port, var_dir)
    tick = os.sysconf("SC_CLK_TCK")

    def workers_cpu() -> float:
        total = 0
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == gunicorn.pid:  # ppid: a worker of this server
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    base = f"http://127.0.0.1:{port}"
    try:
        measure.intake_throughput(base, buildings=buildings, categories=categories, requests=200, concurrency=8)
        for _round in range(2):
            before = workers_cpu()
            result = measure.intake_throughput(
                base, buildings=buildings, categories=categories, requests=requests, concurrency=8
            )
            cpu = workers_cpu() - before
            print(f"workers' cpu/appeal {cpu / max(result['created'], 1) * 1000:.2f} ms; {result}")
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        if redis_server:
            redis_server.terminate()
            redis_server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["inprocess", "server"])
    parser.add_argument("--database", required=True, help="a copy of a tier's database (it gets appeals)")
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    if args.database.startswith("gz_bench"):
        sys.exit("writes appeals: use a copy of the tier")
    (inprocess if args.mode == "inprocess" else server)(args.database, args.requests)


if __name__ == "__main__":
    main()

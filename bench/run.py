#!/usr/bin/env python
"""The benchmark's command line (docs/BENCHMARKS.md).

    python bench/run.py seed    --tier S [--fresh]   # create, migrate and seed gz_bench_s
    python bench/run.py measure --tier S             # gunicorn + the measurements
    python bench/run.py all     --tier S --tier M    # both, tier by tier, then the table
    python bench/run.py measure --tier M --only map_street_queue,map_city_choropleth   # the maps alone
    python bench/run.py seed    --tier L             # 10,000,000 appeals; resumes where a run stopped
    python bench/run.py measure --tier M --database gz_x_m --out M-exports --only export_csv,export_xlsx_job

Each tier has its own PostgreSQL database (bench.tiers), created on the server of
BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432). Results go to
bench/results/<tier>.json. Each tier runs in its own Python process: Django binds one
database per process.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
# The server's settings for the run. The intake limits are raised so that the
# throughput measured is the server's, not the limiter's (said in the output too).
SERVER_ENV = {
    "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1", "GONGZHI_HTTPS": "false", "LOG_LEVEL": "WARNING",
    "APPEAL_INTAKE_RATE_PER_IP": "1000000/hour", "APPEAL_INTAKE_RATE_PER_PHONE": "1000/day",
    "API_ANON_RATE": "1000000/minute", "API_USER_RATE": "1000000/minute",
}
WORKERS = 4
# A random key of this run for the server and the measuring process (the settings refuse
# short and placeholder keys); sessions and tokens are made fresh each run anyway.
RUN_SECRET_KEY = secrets.token_urlsafe(48)

# Run as a script, sys.path[0] is bench/ itself, whose modules would shadow the
# standard library's; the project root is what imports must see.
sys.path[:1] = [str(ROOT)]


def database_ensure(name: str, *, fresh: bool) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG_URL}/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        if fresh:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def database_url(database: str, pg_options: str = "") -> str:
    """The tier's URL; ``pg_options`` become libpq's ``options`` (server settings for
    every connection, e.g. "-c join_collapse_limit=1"), which settings pass through."""
    return f"{PG_URL}/{database}" + (f"?options={quote(pg_options)}" if pg_options else "")


def django_setup(database: str, var_dir: str, pg_options: str = "", redis_url: str | None = None) -> None:
    os.environ["DATABASE_URL"] = database_url(database, pg_options)
    os.environ["SECRET_KEY"] = RUN_SECRET_KEY
    os.environ["GONGZHI_VAR_DIR"] = var_dir
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    os.environ.update(SERVER_ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_start(var_dir: str) -> tuple[subprocess.Popen | None, str | None]:
    """A Redis server of the run's own (cache and broker, as in production), on a free
    port, keeping nothing: the SMS tasks the intake queues (no worker runs) and the
    cache go with it. (None, None) where redis-server is not installed: the file cache
    and broker then, and the output says so."""
    binary = shutil.which("redis-server")
    if not binary:
        return None, None
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", var_dir, "--logfile", str(Path(var_dir) / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("redis-server did not start within 20 s")


def postgres_settings() -> dict:
    """The server settings that matter for the figures (bench/postgresql.sql)."""
    from django.db import connection

    names = ("shared_buffers", "effective_cache_size", "work_mem", "max_wal_size", "checkpoint_timeout",
             "random_page_cost", "synchronous_commit", "server_version")
    found = {}
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return found


def gunicorn_start(port: int, var_dir: str, replica_url: str = "") -> subprocess.Popen:
    env = {**os.environ, **SERVER_ENV}
    if replica_url:
        env["DATABASE_REPLICA_URL"] = replica_url
    binary = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        # The production settings (gthread workers, their timeout), with the run's worker count.
        [str(binary), "governance.wsgi", "--config", "python:governance.gunicorn_conf", "--workers", str(WORKERS),
         "--bind", f"127.0.0.1:{port}", "--error-logfile", str(Path(var_dir) / "gunicorn.log")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {var_dir}/gunicorn.log")
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("gunicorn did not start within 60 s")


def one_tier(args) -> None:
    from bench.tiers import TIERS

    tier = TIERS[args.tier[0]]
    if args.database:
        from dataclasses import replace

        tier = replace(tier, database=args.database)
    var_dir = tempfile.mkdtemp(prefix=f"gz-bench-{tier.name}-")
    if args.command in ("seed", "all"):
        database_ensure(tier.database, fresh=args.fresh)
    redis, redis_url = (None, None)
    if args.command in ("measure", "all") and not args.no_redis:
        redis, redis_url = redis_start(var_dir)
    django_setup(tier.database, var_dir, args.pg_options, redis_url)
    from django.core.management import call_command

    if args.command in ("seed", "all"):
        call_command("migrate", verbosity=0)
        from appeals.models import Appeal
        from bench.seed import city_seed, seed_state

        state = seed_state()
        if state.get("done") or (not state and Appeal.objects.exists()):
            print(f"{tier.database}: already seeded ({Appeal.objects.count()} appeals); --fresh to start again")
        else:
            if state:
                done = sum(v["appeals"] for k, v in state.items() if k.startswith("chunk:"))
                print(f"{tier.database}: resuming the seed begun at {state.get('now')}: {done:,} appeals written")
            disk_check(tier)
            started = time.monotonic()
            counts = city_seed(tier, workers=args.workers)
            print(f"{tier.database}: seeded in {time.monotonic() - started:.0f} s with {args.workers} processes: "
                  f"{json.dumps(counts, ensure_ascii=False)}")
    if args.command in ("measure", "all"):
        from django.conf import settings

        from bench.suite import machine, run_suite

        measured_on = machine()  # before the server starts: its workers' start-up would slow the loop
        port = free_port()
        server = gunicorn_start(port, var_dir, args.replica_url)
        try:
            note = {**SERVER_ENV, "workers": WORKERS,
                    "cache/broker": "Redis (a server of the run's own)" if redis_url else "file-based (no REDIS_URL)",
                    "pg_options": args.pg_options, "postgresql": postgres_settings(),
                    "replica": bool(args.replica_url),
                    "escalation_sweep_workers": settings.ESCALATION_SWEEP_WORKERS}
            print(f"cache and broker: {note['cache/broker']}; PostgreSQL: " + ", ".join(
                f"{k}={v}" for k, v in note["postgresql"].items()))
            print("rate limits raised for the run: " + ", ".join(
                f"{k}={SERVER_ENV[k]}" for k in ("APPEAL_INTAKE_RATE_PER_IP", "APPEAL_INTAKE_RATE_PER_PHONE",
                                                  "API_ANON_RATE", "API_USER_RATE")))
            result = run_suite(f"http://127.0.0.1:{port}", tier=tier.name, requests=args.requests,
                               intake_requests=args.intake, escalate_due=100_000 if tier.name in ("M", "L") else None,
                               settings_note=note, machine_note=measured_on,
                               only=tuple(args.only.split(",")) if args.only else None, server_pid=server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
            if redis:
                redis.terminate()
                redis.wait(timeout=30)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"{args.out or tier.name}.json"
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        print(f"wrote {out}")
    shutil.rmtree(var_dir, ignore_errors=True)


def disk_check(tier) -> None:
    """Stop before a seed that the database server's disk cannot hold, saying what it needs."""
    from django.db import connection

    from bench.seed import disk_needed

    needed = disk_needed(tier)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('data_directory'), pg_database_size(current_database())")
        directory, size = cursor.fetchone()
    if not os.path.isdir(directory):  # a server on another machine: its disk is not visible from here
        print(f"{tier.database}: needs about {needed / 2**30:.0f} GB on the database server's disk (not checked: "
              f"{directory} is not on this machine)")
        return
    free = shutil.disk_usage(directory).free
    print(f"{tier.database}: needs about {needed / 2**30:.1f} GB, has {(size / 2**30):.1f} GB written; "
          f"{free / 2**30:.1f} GB free on {directory}")
    if free + size < needed:
        sys.exit(f"{tier.database}: not enough disk: about {needed / 2**30:.1f} GB needed, "
                 f"{(free + size) / 2**30:.1f} GB available on {directory}. Free some space or seed a smaller tier.")


def report(tiers: list[str], names: list[str] | None = None) -> None:
    os.environ["SECRET_KEY"] = RUN_SECRET_KEY
    from bench.suite import check_targets, check_targets_l, table

    files = [RESULTS / f"{name}.json" for name in (names or tiers)]
    results = [json.loads(f.read_text()) for f in files if f.exists()]
    if not results:
        return
    print(table(results))
    by_tier = {r["tier"]: r for r in results}
    if "M" in by_tier:
        print("\nissue 8 targets at tier M:")
        for row in check_targets(by_tier["M"], by_tier.get("S")):
            print(f"  {'met ' if row['met'] else 'MISS'}  {row['what']:<24} {row['value']!s:<8} {row['target']}")
    if "L" in by_tier:
        print("\nissue 24 targets at tier L:")
        for row in check_targets_l(by_tier["L"], by_tier.get("M")):
            print(f"  {'met ' if row['met'] else 'MISS'}  {row['what']:<28} {row['value']!s:<8} {row['target']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["seed", "measure", "all", "report"])
    parser.add_argument("--tier", action="append", choices=["S", "M", "L"], required=False)
    parser.add_argument("--fresh", action="store_true", help="drop and re-create the tier's database first")
    parser.add_argument("--requests", type=int, default=200, help="timed GETs per page (default 200)")
    parser.add_argument("--intake", type=int, default=500, help="POSTs of the intake measurement (default 500)")
    parser.add_argument("--pg-options", default="", help='PostgreSQL settings for every connection, e.g. "-c join_collapse_limit=1"')
    parser.add_argument("--out", default="", help="results file name under bench/results/ (default: the tier)")
    parser.add_argument("--no-redis", action="store_true", help="file cache and broker instead of a Redis of the run's own")
    parser.add_argument("--database", default="", help="the tier's database name (default: the tier's own, e.g. gz_bench_s)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes writing the appeals (default: the machine's cores)")
    parser.add_argument("--replica-url", default="",
                        help="DATABASE_REPLICA_URL for the server: a hot standby of the tier's database (issue 25)")
    parser.add_argument("--only", default="", help="comma list of measurements, e.g. map_street_queue,map_city_choropleth")
    args = parser.parse_args()
    tiers = args.tier or ["S"]
    if args.command == "report":
        report(tiers)
        return
    if len(tiers) == 1:
        one_tier(args)
        report(tiers, [args.out] if args.out else None)
        return
    for tier in tiers:  # one process per tier
        command = [sys.executable, __file__, args.command, "--tier", tier, "--requests", str(args.requests),
                   "--intake", str(args.intake), "--pg-options", args.pg_options] + (["--fresh"] if args.fresh else []) \
            + (["--no-redis"] if args.no_redis else [])
        subprocess.run(command, check=True)
    report(tiers)


if __name__ == "__main__":
    main()

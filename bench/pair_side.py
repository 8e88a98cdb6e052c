#!/usr/bin/env python
"""One side of a paired run (bench/pair.py): run by that side's own Python, in that
side's checkout, so that everything it prepares, serves and times is that code's.

    <root>/.venv/bin/python bench/pair_side.py --root <root> --database DB COMMAND

COMMAND is one of ``prepare`` (the paths and credentials the pages are timed with, as
bench.suite.run_suite picks them; JSON on stdout), ``serve PORT`` (gunicorn until stdin
closes), ``scoring MONTH`` and ``escalation`` (the two jobs, timed by that checkout's
own bench.measure; JSON on stdout). Only the checkout's bench.run, bench.measure and
bench.seed are used, which the commands compared here both have.
"""

import argparse
import json
import sys
import tempfile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("command", choices=["prepare", "serve", "scoring", "escalation"])
    parser.add_argument("arg", nargs="?", default="")
    args = parser.parse_args()
    sys.path[:1] = [args.root]  # the side's modules, not this checkout's

    import os

    from bench import run

    if hasattr(run, "RUN_SECRET_KEY"):  # newer checkouts draw a key per process: the driver's, on both
        run.RUN_SECRET_KEY = os.environ["SECRET_KEY"]
    var_dir = tempfile.mkdtemp(prefix="gz-pair-")
    run.django_setup(args.database, var_dir, "", args.redis_url or None)
    from django.utils import timezone

    from bench import measure

    if args.command == "prepare":
        print(json.dumps(prepare(measure)))
    elif args.command == "serve":
        server = run.gunicorn_start(int(args.arg), var_dir)
        print("ready", flush=True)
        sys.stdin.read()  # the driver closes it to stop the server
        server.terminate()
        server.wait(timeout=30)
    elif args.command in ("scoring", "escalation"):
        from django.db import connection

        with connection.cursor() as cursor:  # no checkpoint of the other side's writes in the timing
            cursor.execute("CHECKPOINT")
    if args.command == "scoring":
        from datetime import date

        month = date.fromisoformat(args.arg + "-01")
        print(json.dumps(measure.scoring_time(month=month, now=timezone.now())))
    elif args.command == "escalation":
        print(json.dumps(measure.escalation_time(due=100_000, now=timezone.now())))


def prepare(measure) -> dict:
    """What bench.suite.run_suite times the pages with: the bench users' sessions and
    token, the worker's community and its 20 newest appeals, the last full month, the
    buildings and categories of the intake; and the VACUUM (ANALYZE) it starts with."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from appeals.models import Appeal, Category
    from bench.seed import bench_units
    from grids.models import Building

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) appeals_appeal")
    users = {u.username: u for u in get_user_model().objects.filter(username__startswith="bench_")}
    community = bench_units()["community"].code
    first = timezone.localdate().replace(day=1)
    month = first.replace(year=first.year - 1, month=12) if first.month == 1 else first.replace(month=first.month - 1)
    return {
        "month": f"{month:%Y-%m}",
        "community": community,
        "community_cookie": measure.session_cookie(users["bench_community"]),
        "supervisor_cookie": measure.session_cookie(users["bench_supervisor"]),
        "token": users["bench_supervisor"].auth_token.key,
        "codes": list(Appeal.objects.filter(territory_code__startswith=community).order_by("-id")
                      .values_list("tracking_code", flat=True)[:20]),
        "buildings": list(Building.objects.order_by("code").values_list("code", flat=True)[::1500][:200]),
        "categories": list(Category.objects.filter(active=True).order_by("code").values_list("code", flat=True)),
    }


if __name__ == "__main__":
    main()

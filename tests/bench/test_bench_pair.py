"""The paired run (bench/pair.py) end to end at the tiny tier: one seed copied to two
databases, both served at once and measured in turns, each side's jobs in its own
process. Here both sides are this checkout: the run must give every figure for both
and fail loudly on a page that does not answer."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
NAMES = tuple(f"gz_pairtest_{os.getpid()}_{n}" for n in ("seed", "a", "b"))  # a run of its own
SEED = """
import sys
sys.path[:1] = [sys.argv[1]]
from bench import run
from bench.tiers import TIERS
run.database_ensure(sys.argv[2], fresh=True)
run.django_setup(sys.argv[2], sys.argv[3])
from django.core.management import call_command
call_command("migrate", verbosity=0)
from bench.seed import city_seed
city_seed(TIERS["T"], progress_bar=False)
"""


def _server() -> tuple[str, dict]:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return url, {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"],
                 "password": db.get("PASSWORD") or None, "dbname": "postgres"}


def _admin(params: dict, *statements: str) -> None:
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    with conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    conn.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_paired_run_gives_both_sides_every_figure(tmp_path):
    url, params = _server()
    env = {**os.environ, "BENCH_PG_URL": url}
    try:
        subprocess.run([sys.executable, "-c", SEED, str(ROOT), NAMES[0], str(tmp_path)], env=env, check=True,
                       cwd=ROOT, timeout=300)
        _admin(params, *[f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in NAMES[1:]],
               *[f'CREATE DATABASE "{n}" TEMPLATE "{NAMES[0]}"' for n in NAMES[1:]])
        out = f"pairtest-{os.getpid()}"
        done = subprocess.run(
            [sys.executable, "bench/pair.py", "--before", f"{ROOT}:{NAMES[1]}", "--after", f"{ROOT}:{NAMES[2]}",
             "--rounds", "1", "--requests", "10", "--block", "5", "--warmup", "1", "--intake", "10",
             "--block-intake", "5", "--out", out],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        result_file = ROOT / "bench" / "results" / f"{out}.json"
        result = json.loads(result_file.read_text())
        result_file.unlink()
        from bench.pair import FIGURES

        (only,) = result["rounds"]
        for side in ("before", "after"):
            assert set(FIGURES) <= set(only[side]), side
            assert all(only[side][f] > 0 for f in FIGURES if not f.startswith(("escalation", "scoring"))), side
        assert "after ÷ before" in done.stdout
    finally:
        _admin(params, *[f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in NAMES])

#!/usr/bin/env python
"""A paired run: the same measurements as ``bench/run.py measure`` on two checkouts of
the code (before and after a change), each on its own copy of one seeded database,
interleaved so that the machine's drift falls on both alike.

    python bench/pair.py --before DIR:DATABASE --after DIR:DATABASE --rounds 3 --out NAME

Why: on a shared two-core machine one code's figure moves by a third from run to run
(docs/BENCHMARKS.md, issue 14), so two codes measured one after the other cannot be told
apart by 10 %. Here, each round:

- serves both codes at once (each its gunicorn and Redis, as run.py serves one);
- times each page in blocks of ``--block`` requests, before and after taking turns
  (ABBA…), until each has had ``--requests``; a few untimed requests first warm both;
- posts the intake in blocks the same way, the same bodies to both;
- times the scoring and the escalation sweep in each checkout's own process, twice a
  side in turns (ABBA, the first turn swapped every round), after a CHECKPOINT, and
  counts each by its mean.

Each DIR is a checkout with its own ``.venv``; what runs there is that checkout's own
bench.run, bench.measure and bench.seed (bench/pair_side.py drives them). The databases
are copies of one seed (``createdb -T``), the after one migrated by the after code.
Results go to bench/results/NAME.json; the table prints each figure's rounds, the
median of the rounds, and after ÷ before.
"""

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:1] = [str(ROOT)]

from bench.measure import _run_threads, intake_body, percentile  # noqa: E402
from bench.run import free_port, redis_start  # noqa: E402

SIDE = Path(__file__).resolve().with_name("pair_side.py")
PAGES = ("queue_page", "appeal_page", "supervisor_queue", "report_page", "api_list")
FIGURES = [f"{page}.{f}" for page in PAGES for f in ("p50_ms", "p95_ms")] + [
    "intake.per_second", "intake.p95_ms", "escalation.seconds", "scoring.seconds"]


class Side:
    def __init__(self, name: str, spec: str, secret: str):
        root, _, database = spec.rpartition(":")
        self.name, self.root, self.database = name, Path(root).resolve(), database
        self.python = self.root / ".venv" / "bin" / "python"
        if not self.python.exists() and self.root == ROOT:
            self.python = Path(sys.executable)  # this checkout, run by whatever runs this
        if not self.python.exists():
            raise SystemExit(f"{self.python}: no virtualenv in {self.root} (make install there)")
        self.env = {**os.environ, "SECRET_KEY": secret}
        self.redis = self.server = None
        self.redis_url = ""

    def _side(self, *command: str, **kw) -> subprocess.CompletedProcess | subprocess.Popen:
        argv = [str(self.python), str(SIDE), "--root", str(self.root), "--database", self.database,
                "--redis-url", self.redis_url, *command]
        if kw.pop("popen", False):
            return subprocess.Popen(argv, cwd=self.root, env=self.env, **kw)
        return subprocess.run(argv, cwd=self.root, env=self.env, check=True, capture_output=True, text=True)

    def json(self, *command: str) -> dict:
        return json.loads(self._side(*command).stdout.strip().splitlines()[-1])

    def start(self, var_dir: str) -> None:
        self.redis, self.redis_url = redis_start(tempfile.mkdtemp(dir=var_dir))
        if not self.redis:
            raise SystemExit("redis-server is not installed: each side needs its own")
        self.port = free_port()
        self.server = self._side("serve", str(self.port), popen=True, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        if self.server.stdout.readline().strip() != "ready":
            raise SystemExit(f"{self.name}: the server did not start")
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.prepared = self.json("prepare")

    def stop(self) -> None:
        if self.server:
            self.server.stdin.close()
            self.server.wait(timeout=60)
        if self.redis:
            self.redis.terminate()
            self.redis.wait(timeout=30)
        self.server = self.redis = None

    def pages(self) -> dict[str, tuple[list[str], dict]]:
        p = self.prepared
        community = {"Cookie": p["community_cookie"]}
        supervisor = {"Cookie": p["supervisor_cookie"]}
        token = {"Authorization": f"Token {p['token']}", "Accept": "application/json"}
        month, unit = p["month"], p["community"]
        return {
            "queue_page": (["/appeals/"], community),
            "appeal_page": ([f"/appeals/{c}/" for c in p["codes"]], community),
            "supervisor_queue": (["/appeals/"], supervisor),
            "report_page": ([f"/reports/?level=community&period={month}", f"/reports/?level=street&period={month}"],
                            supervisor),
            "api_list": ([f"/api/v1/appeals/?state=in_progress&community={unit}",
                          f"/api/v1/appeals/?state=closed&community={unit}"], token),
        }


def _turn(side: Side, work, requests: int, concurrency: int, what: str) -> tuple[list[float], float]:
    """One side's turn: ``work(conn, i)`` for ``requests`` requests; any failure ends the run."""
    results, elapsed = _run_threads(side.base_url, work, requests, concurrency)
    bad = sum(1 for _ms, ok in results if not ok)
    if bad:
        raise SystemExit(f"{side.name}: {bad} of {requests} {what} failed")
    return [ms for ms, _ok in results], elapsed


def timed_gets(side: Side, paths: list[str], headers: dict, requests: int, offset: int) -> list[float]:
    def work(conn, i: int) -> bool:
        conn.request("GET", paths[(offset + i) % len(paths)], headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == 200

    return _turn(side, work, requests, 2, f"GETs of {paths[0]} (not 200)")[0]


def intake_block(side: Side, start: int, requests: int) -> tuple[list[float], float]:
    p = side.prepared

    def work(conn, i: int) -> bool:
        body = json.dumps(intake_body(start + i, buildings=p["buildings"], categories=p["categories"]),
                          ensure_ascii=False)
        conn.request("POST", "/api/v1/appeals/", body=body.encode(),
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status == 201

    return _turn(side, work, requests, 8, "intake POSTs (not 201)")


def one_round(sides: list[Side], number: int, args) -> dict[str, dict]:
    order = sides if number % 2 == 0 else sides[::-1]
    month = sides[0].prepared["month"]
    figures: dict[str, dict] = {}
    # The report page reads the month's scores: scored first, as run.py does. Each job runs
    # twice a side, before and after taking turns (ABBA), and counts by its mean: one run of
    # the sweep moves by a tenth from one to the next on either code.
    figures.update(_jobs(order, "scoring", month))
    pages = {s.name: s.pages() for s in sides}
    for page in PAGES:
        samples = {s.name: [] for s in sides}
        for side in sides:  # warm both, untimed
            timed_gets(side, *pages[side.name][page], requests=args.warmup, offset=0)
        blocks = max(1, args.requests // args.block)
        for b in range(blocks):
            for side in (order if b % 2 == 0 else order[::-1]):
                samples[side.name] += timed_gets(side, *pages[side.name][page], requests=args.block,
                                                 offset=b * args.block)
        for side in sides:
            figures[side.name][f"{page}.p50_ms"] = round(percentile(samples[side.name], 50), 1)
            figures[side.name][f"{page}.p95_ms"] = round(percentile(samples[side.name], 95), 1)
    times = {s.name: [] for s in sides}
    seconds = {s.name: 0.0 for s in sides}
    blocks = max(1, args.intake // args.block_intake)
    for b in range(blocks):
        start = number * args.intake + b * args.block_intake  # new bodies every round, the same on both sides
        for side in (order if b % 2 == 0 else order[::-1]):
            ms, elapsed = intake_block(side, start, args.block_intake)
            times[side.name] += ms
            seconds[side.name] += elapsed
    for side in sides:
        figures[side.name]["intake.per_second"] = round(len(times[side.name]) / seconds[side.name], 1)
        figures[side.name]["intake.p95_ms"] = round(percentile(times[side.name], 95), 1)
    for name, timed in _jobs(order[::-1], "escalation").items():
        figures[name].update(timed)
    return figures


def _jobs(order: list[Side], job: str, *arg: str) -> dict[str, dict]:
    """``job`` (scoring, escalation) twice a side in ABBA order: {side: {"job.seconds": mean}}."""
    runs: dict[str, list[float]] = {s.name: [] for s in order}
    for side in (*order, *order[::-1]):
        runs[side.name].append(side.json(job, *arg)["seconds"])
    return {name: {f"{job}.seconds": round(statistics.mean(times), 2), f"{job}.runs": times}
            for name, times in runs.items()}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def table(result: dict) -> str:
    rounds = result["rounds"]
    lines = [("figure", "before, rounds", "median", "after, rounds", "median", "after ÷ before")]
    for figure in FIGURES:
        b = [r["before"][figure] for r in rounds]
        a = [r["after"][figure] for r in rounds]
        mb, ma = statistics.median(b), statistics.median(a)
        ratio = ma / mb if mb else float("nan")
        worse = ratio < 0.9 if figure == "intake.per_second" else ratio > 1.1
        lines.append((figure, ", ".join(map(str, b)), str(mb), ", ".join(map(str, a)), str(ma),
                      f"{ratio:.2f}" + (" !" if worse else "")))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="DIR:DATABASE")
    parser.add_argument("--after", required=True, help="DIR:DATABASE")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200, help="timed GETs per page, side and round (200)")
    parser.add_argument("--block", type=int, default=25, help="GETs of one turn (25)")
    parser.add_argument("--warmup", type=int, default=8, help="untimed GETs per page and side first (8)")
    parser.add_argument("--intake", type=int, default=500, help="intake POSTs per side and round (500)")
    parser.add_argument("--block-intake", type=int, default=100, help="POSTs of one turn (100)")
    parser.add_argument("--out", default="pair")
    args = parser.parse_args()
    secret = secrets.token_urlsafe(48)
    sides = [Side("before", args.before, secret), Side("after", args.after, secret)]
    result = {"before": {"root": str(sides[0].root), "database": sides[0].database},
              "after": {"root": str(sides[1].root), "database": sides[1].database},
              "requests": args.requests, "block": args.block, "warmup": args.warmup, "intake": args.intake,
              "block_intake": args.block_intake, "rounds": []}
    for number in range(args.rounds):
        var_dir = tempfile.mkdtemp(prefix="gz-pair-")
        started, load_before = time.monotonic(), load_average()
        try:
            threads = [threading.Thread(target=s.start, args=(var_dir,)) for s in sides]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if any(not getattr(s, "prepared", None) for s in sides):
                raise SystemExit("a side did not start")
            figures = one_round(sides, number, args)
        finally:
            for s in sides:
                s.stop()
            shutil.rmtree(var_dir, ignore_errors=True)
        figures["load_average_before"] = load_before
        figures["seconds"] = round(time.monotonic() - started)
        result["rounds"].append(figures)
        print(f"round {number + 1}: {figures['seconds']} s, load before {load_before}", flush=True)
    out = ROOT / "bench" / "results" / f"{args.out}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(table(result))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""bench/run.py picks the tier (and so its database) before Django is set up: the tiers
must import without Django's settings or models."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_tiers_import_before_django_is_set_up():
    done = subprocess.run([sys.executable, "-c", "import bench.tiers; print(bench.tiers.TIERS['L'].households)"],
                          cwd=ROOT, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3000000"

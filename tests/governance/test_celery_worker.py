"""A real Celery worker runs a task: against Redis, and on the embedded filesystem broker.

The worker is started in-process (celery.contrib.testing.worker.start_worker, solo pool),
as ENGINEERING_NOTES.md says; the task's outcome is observed through Celery's own
task_postrun signal, which the worker sends after running it. No result backend is
configured in this project (CELERY_RESULT_BACKEND = None), and the tests keep it so.
"""

import json
import os
import secrets
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings

from governance.celery import app
from governance.tasks import heartbeat

ROOT = Path(__file__).resolve().parents[2]

# Real publishing to the broker: tests/conftest.py must not run these tasks eagerly.
pytestmark = pytest.mark.live_celery


class Outcomes:
    """Collects what the worker reports for each task id."""

    def __init__(self):
        self.by_id: dict[str, tuple[str, object]] = {}
        self.arrived = threading.Condition()

    def __call__(self, task_id=None, state=None, retval=None, **kwargs):
        with self.arrived:
            self.by_id[task_id] = (state, retval)
            self.arrived.notify_all()

    def wait_for(self, task_id: str, timeout: float = 20) -> tuple[str, object]:
        with self.arrived:
            self.arrived.wait_for(lambda: task_id in self.by_id, timeout=timeout)
        assert task_id in self.by_id, f"the worker did not run {task_id} within {timeout} s"
        return self.by_id[task_id]


@pytest.fixture
def outcomes():
    collector = Outcomes()
    task_postrun.connect(collector, weak=False)
    yield collector
    task_postrun.disconnect(collector)


@pytest.fixture
def private_queue():
    """A queue of this test's own, so a worker of anything else sharing the Redis
    server neither takes our task nor hands us its leftovers."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    queues = app.amqp.queues
    previous = queues._consume_from  # start_worker(queues=…) narrows the app's selection
    try:
        yield name
    finally:
        queues._consume_from = previous
        # Declared on this channel first, so that deleting also drops its bindings.
        with app.connection_for_write() as conn:
            bound = queues[name](conn.default_channel)
            bound.declare()
            bound.delete()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_a_task_through_redis(outcomes, private_queue):
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.broker_url.startswith("redis://") and app.conf.broker_url.endswith("/0")

    with start_worker(app, perform_ping_check=False, pool="solo", queues=[private_queue], shutdown_timeout=20):
        sent = heartbeat.apply_async(kwargs={"echo": "x"}, queue=private_queue)
        state, retval = outcomes.wait_for(sent.id)

    assert state == "SUCCESS"
    assert retval.startswith("x@")


FILESYSTEM_SCRIPT = """
import json, os, threading, django
django.setup()
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from governance.celery import app
from governance.tasks import heartbeat

done = {}
finished = threading.Event()

@task_postrun.connect(weak=False)
def record(task_id=None, state=None, retval=None, **kwargs):
    done[task_id] = [state, retval]
    finished.set()

queue_dir = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
# Published with no worker running: the message waits on disk.
sent = heartbeat.delay(echo="x")
waiting = len(os.listdir(queue_dir))
# Every queue, as the Procfile's worker.
with start_worker(app, perform_ping_check=False, pool="solo", queues=list(settings.CELERY_QUEUES_ALL),
                  shutdown_timeout=20):
    finished.wait(30)
print(json.dumps({
    "broker": app.conf.broker_url, "waiting": waiting, "left": len(os.listdir(queue_dir)),
    "id": sent.id, "done": done,
}))
"""


def test_the_embedded_filesystem_broker_carries_a_task_to_a_worker(tmp_path):
    # A fresh process with no REDIS_URL: the settings make run uses on a fresh machine.
    environment = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    environment.update(
        DJANGO_SETTINGS_MODULE="governance.settings", SECRET_KEY=secrets.token_urlsafe(48), PYTHONPATH=str(ROOT),
        GONGZHI_VAR_DIR=str(tmp_path / "var"), CELERY_SKIP_CHECKS="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", FILESYSTEM_SCRIPT], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=90,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["broker"] == "filesystem://"
    assert report["waiting"] == 1
    assert report["left"] == 0
    state, retval = report["done"][report["id"]]
    assert state == "SUCCESS"
    assert retval.startswith("x@")

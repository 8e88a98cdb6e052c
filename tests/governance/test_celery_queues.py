"""Celery queues (issue 25): the sweeps, the messages and the scoring each have their own
queue, and every worker the project starts (Procfile, docker-compose, the fault tests'
servers) consumes every queue a task is routed to — or a task would wait forever."""

import json
import os
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings

from governance.celery import app
from governance.schedule import BEAT_SCHEDULE
from tests.fault import servers

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "appeals.tasks.escalation_sweep": "sweeps",
    "appeals.tasks.close_unevaluated": "sweeps",
    "appeals.tasks.recompute_deadlines": "sweeps",
    "appeals.tasks.recompute_pending_deadlines": "sweeps",
    "appeals.visits.tasks.visit_reminders": "sweeps",
    "governance.tasks.retention_purge": "sweeps",
    "governance.tasks.outbox_purge": "sweeps",
    "governance.tasks.outbox_relay": "messages",
    "governance.tasks.export_purge": "sweeps",
    "governance.assessment.tasks.compute_scores": "scoring",
    "governance.assessment.tasks.refresh_flows": "scoring",
    "governance.assessment.tasks.rebuild_flows": "scoring",
    "governance.reports.tasks.hotspot_repeats": "scoring",
    "appeals.suggest.tasks.train_category_model": "scoring",
    "volunteers.tasks.yearly_evaluation": "scoring",
    "governance.tasks.export_run": "celery",
    "governance.tasks.heartbeat": "celery",
    "governance.tasks.health_ping": "celery",
}


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_each_task_goes_to_its_queue():
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == set(EXPECTED), "a task was added or renamed: give it its queue here and in CELERY_TASK_ROUTES"
    assert {name: queue_of(name) for name in ours} == EXPECTED


def test_every_periodic_task_has_a_queue_a_worker_takes():
    for entry in BEAT_SCHEDULE.values():
        assert queue_of(entry["task"]) in settings.CELERY_QUEUES_ALL, entry["task"]
        assert "queue" not in entry.get("options", {}), "beat must send by the routes, not a queue of its own"


def routed_queues() -> set[str]:
    return {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {settings.CELERY_TASK_DEFAULT_QUEUE}


def consumed(command: list[str]) -> set[str]:
    assert "worker" in command
    assert "-Q" in command, f"a worker without -Q takes whatever the settings list: name its queues ({command})"
    return set(command[command.index("-Q") + 1].split(","))


def test_the_settings_list_every_routed_queue():
    assert routed_queues() == set(settings.CELERY_QUEUES_ALL) == {"celery", "sweeps", "messages", "scoring"}
    # Without -Q a worker consumes the queues the settings declare: all of them.
    assert set(settings.CELERY_TASK_QUEUES) == routed_queues()
    assert set(app.amqp.queues) >= routed_queues()  # (other tests add private queues of their own)


def test_the_procfile_worker_consumes_every_queue():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line)
    assert consumed(shlex.split(lines["worker"])) == routed_queues()


def test_docker_compose_workers_consume_every_queue_and_one_takes_a_single_queue():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    workers = {name: consumed(shlex.split(service["command"])) for name, service in services.items()
               if "celery" in str(service.get("command")) and " worker " in f" {service['command']} "}
    assert workers["worker"] == routed_queues()
    assert set().union(*workers.values()) == routed_queues()
    single = [name for name, queues in workers.items() if len(queues) == 1]
    assert single, "docker-compose shows a worker taking one queue"
    assert workers[single[0]] <= routed_queues()


def test_the_fault_tests_worker_consumes_every_queue(tmp_path):
    process = servers.worker({}, tmp_path / "worker.log", name="check")
    assert consumed(process.command) == routed_queues()


ROUTED_SCRIPT = """
import json, threading, django
django.setup()
from celery.contrib.testing.worker import start_worker
from celery.signals import task_prerun
from django.conf import settings
from governance.celery import app

arrived = {}
done = threading.Event()
names = ["appeals.tasks.escalation_sweep", "governance.tasks.outbox_relay", "volunteers.tasks.yearly_evaluation"]

@task_prerun.connect(weak=False)
def record(task_id=None, task=None, **kwargs):
    arrived[task.name] = task.request.delivery_info.get("routing_key")
    if len(arrived) == len(names):
        done.set()

# Sent as beat sends them (by name, the routes applied), before any worker runs.
for name in names:
    app.send_task(name, kwargs={})
with start_worker(app, perform_ping_check=False, pool="solo", queues=list(settings.CELERY_QUEUES_ALL),
                  shutdown_timeout=20):
    done.wait(30)
print(json.dumps(arrived))
"""


def test_make_runs_worker_takes_each_queue_from_the_embedded_broker(tmp_path):
    """The filesystem broker of `make run` carries a sweep, the relay and the scoring, each on
    its queue, to a worker of every queue (so the demo still escalates)."""
    environment = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL",
                                                                     "DJANGO_SETTINGS_MODULE"}}
    environment.update(DJANGO_SETTINGS_MODULE="governance.settings", SECRET_KEY=secrets.token_urlsafe(48),
                       PYTHONPATH=str(ROOT), GONGZHI_VAR_DIR=str(tmp_path / "var"), CELERY_SKIP_CHECKS="1")
    result = subprocess.run([sys.executable, "-c", ROUTED_SCRIPT], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    arrived = json.loads(result.stdout.strip().splitlines()[-1])
    assert arrived == {"appeals.tasks.escalation_sweep": "sweeps", "governance.tasks.outbox_relay": "messages",
                       "volunteers.tasks.yearly_evaluation": "scoring"}

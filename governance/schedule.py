"""The Celery beat schedule, in one place (shown in the README).

Each entry names a task by its dotted path so that importing settings stays cheap.
"""

BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {
        "task": "governance.tasks.heartbeat",
        "schedule": 300.0,
    },
}

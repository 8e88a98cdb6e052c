"""The Celery beat schedule, in one place (shown in the README).

Each entry names a task by its dotted path so that importing settings stays cheap.
"""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {
        "task": "governance.tasks.heartbeat",
        "schedule": 300.0,
    },
    # 双报到: last year's party members are evaluated on 5 January, after late check-outs.
    "volunteers-yearly-evaluation": {
        "task": "volunteers.tasks.yearly_evaluation",
        "schedule": crontab(minute=30, hour=2, day_of_month=5, month_of_year=1),
    },
}

"""The Celery beat schedule, in one place (shown in the README).

Each entry names a task by its dotted path so that importing settings stays cheap.
"""

from celery.schedules import crontab

from governance.env import env_int

# The escalation sweep's interval, in seconds (DESIGN.md §4: "every few minutes").
ESCALATION_SWEEP_SECONDS = env_int("ESCALATION_SWEEP_SECONDS", 300, minimum=10)
# The daily flows the report pages read (issue 23): today's, every few minutes.
FLOWS_REFRESH_SECONDS = env_int("FLOWS_REFRESH_SECONDS", 300, minimum=10)
# The outbox's catch-up: the relay runs this often besides the kick after each commit.
OUTBOX_RELAY_SECONDS = env_int("OUTBOX_RELAY_SECONDS", 30, minimum=1)


def _every(task: str, seconds: float, *, expires: bool = False) -> dict:
    """A task every `seconds`; with `expires`, a run left in the queue (no worker for a
    while) is dropped: the next one does the same work from the database."""
    entry = {"task": task, "schedule": float(seconds)}
    if expires:
        entry["options"] = {"expires": float(seconds)}
    return entry


def _at(task: str, **when) -> dict:
    """A task at the times of a crontab (China time: CELERY_TIMEZONE)."""
    return {"task": task, "schedule": crontab(**when)}


BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": _every("governance.tasks.heartbeat", 300.0),
    # 临期预警, escalation one level up, daily 催办 at the district 督办.
    "appeals-escalation-sweep": _every("appeals.tasks.escalation_sweep", ESCALATION_SWEEP_SECONDS, expires=True),
    # Appeals awaiting evaluation for APPEAL_AUTO_CLOSE_DAYS are closed, unevaluated.
    "appeals-close-unevaluated": _at("appeals.tasks.close_unevaluated", minute=10, hour=1),
    # Open deadlines of a year whose calendar changed, if the job queued with the change
    # was lost (a broker outage): derived from CalendarYear's pending mark.
    "appeals-recompute-pending-deadlines": _every("appeals.tasks.recompute_pending_deadlines", 900.0, expires=True),
    # Every message to a person (SMS, inbox, email, digests) is a row of the outbox; the
    # relay is kicked after each commit that writes some, and this is its catch-up.
    "outbox-relay": _every("governance.tasks.outbox_relay", OUTBOX_RELAY_SECONDS, expires=True),
    # Delivered messages past OUTBOX_RETENTION_DAYS; the database's ended rate-limit windows.
    "outbox-purge": _at("governance.tasks.outbox_purge", minute=40, hour=3),
    # Export files past EXPORT_FILE_HOURS deleted (their links say so); export jobs a broker
    # outage left queued, queued again (issue 23).
    "export-purge": _every("governance.tasks.export_purge", 600.0, expires=True),
    # Scores: last month until final (the run on SCORE_CUTOFF_DAY finalises it) and this
    # month to date, after midnight so that a day's tallies are complete.
    "assessment-nightly-scores": _at("governance.assessment.tasks.compute_scores", minute=30, hour=1),
    # Personal data past its retention: finished appeals' phones, names and photos, old access
    # and login logs, expired tokens and sessions (个人信息保护法 第十九条).
    "retention-purge": _at("governance.tasks.retention_purge", minute=20, hour=3),
    # The daily flows of today (and yesterday's last minutes after midnight): the pages'
    # "数据截至"; a run left in the queue is dropped, the next one covers its days.
    "assessment-flows-refresh": _every("governance.assessment.tasks.refresh_flows", FLOWS_REFRESH_SECONDS,
                                       expires=True),
    # The flows of the last FLOWS_REBUILD_DAYS again, counted as the appeals are now.
    "assessment-flows-rebuild": _at("governance.assessment.tasks.rebuild_flows", minute=50, hour=2),
    # 入户走访 (issue 22): visits due tomorrow to the grid, overdue by more than a period to
    # the community, each morning through the outbox.
    "visits-reminders": _at("appeals.visits.tasks.visit_reminders", minute=0, hour=8),
    # 智能分拨 (issue 26): the category model retrained on the day's closed appeals; the new
    # one replaces the current only if not worse on the held-out fifth.
    "suggest-train-category-model": {**_at("appeals.suggest.tasks.train_category_model", minute=50, hour=2),
                                     "options": {"expires": 6 * 3600.0}},
    # 双报到: last year's party members are evaluated on 5 January, after late check-outs.
    "volunteers-yearly-evaluation": _at("volunteers.tasks.yearly_evaluation", minute=30, hour=2,
                                        day_of_month=5, month_of_year=1),
}

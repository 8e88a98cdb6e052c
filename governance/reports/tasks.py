from celery import shared_task

from governance.reports import hotspots


@shared_task(name="governance.reports.tasks.hotspot_repeats", time_limit=hotspots.REPEATS_TASK_SECONDS,
             soft_time_limit=hotspots.REPEATS_TASK_SECONDS - 30)
def hotspot_repeats(**kwargs) -> str:
    """高频诉求's buildings and households of a large period, grouped off the request into the
    shared cache the page reads (governance.reports.hotspots.repeats_fill; the arguments are
    plain values: the scope's parts, the unit, the period, the flows' refresh and the
    categories). Safe to run twice: a key already filled is left as it is."""
    return hotspots.repeats_fill(**kwargs)

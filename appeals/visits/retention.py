"""A home visit's record holds personal information about the household (个人信息保护法
第十九条: kept no longer than its purpose needs) — the visitor's notes, the checklist's
answers (health, living conditions: sensitive), the companions named and the photos.
Past VISIT_RECORD_RETENTION_DAYS after the visit they are cleared: notes, companions and
checklist emptied, photos deleted (files, then the names).

What the figures read stays (appeals.visits.selectors.visit_month_figures and the
走访 list): the household, the grid code, the time, the method, whether it counted as
done, the visitor and the appeals raised from it (走访发现问题数; the appeals' own data
goes by appeals.retention). The household's contact is the household register's
(grids), not the visit's, and stays while the household lives there.

Run daily by governance.tasks.retention_purge (through appeals.retention); safe to run
twice (a cleared record has nothing left to clear).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from appeals.models import AppealAttachment
from appeals.visits.models import Visit

CHUNK = 1000


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(days=settings.VISIT_RECORD_RETENTION_DAYS)


def past_retention(visit: Visit, *, now: datetime | None = None) -> bool:
    """The visit is past its retention period: its record is (or is about to be) cleared."""
    return visit.visited_at < _cutoff(now or timezone.now())


def _holds_personal_data() -> Q:
    return Q(notes__gt="") | Q(companions__gt="") | ~Q(checklist={}) | ~Q(photos=[])


def anonymise_old_visits(*, now: datetime) -> int:
    """Clear the personal data of visits older than the retention period. Returns how many
    visits were cleared."""
    cutoff = _cutoff(now)
    storage = AppealAttachment._meta.get_field("image").storage  # where the visit's photos were stored
    cleared = 0
    while True:
        rows = list(Visit.objects.filter(visited_at__lt=cutoff).filter(_holds_personal_data())
                    .order_by("pk").only("pk", "photos")[:CHUNK])
        if not rows:
            return cleared
        for visit in rows:
            # The files first: a name without its file is harmless, a file without its name a leak.
            for name in visit.photos or ():
                storage.delete(name)
        with transaction.atomic():
            Visit.objects.filter(pk__in=[v.pk for v in rows]).update(notes="", companions="", checklist={}, photos=[])
        cleared += len(rows)

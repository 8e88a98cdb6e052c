"""Residents' personal data in finished appeals is kept no longer than its purpose needs
(个人信息保护法 第十九条): past the retention period after an appeal ended (closed,
declined or withdrawn), its phone and name are masked and its photos deleted; home
visits' records are cleared by appeals.visits.retention. The appeal
itself stays — the event log, the scores and the reports are built from it — and its
tracking code with the last 4 digits still opens it (the masked phone keeps them).

Run daily by governance.tasks.retention_purge; safe to run twice (a masked phone has
its asterisks, a deleted photo is gone).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce

from appeals.enums import FINAL_STATES
from appeals.models import Appeal, AppealAttachment, PhoneCode
from appeals.open311.models import Open311Request
from appeals.visits.retention import anonymise_old_visits
from governance.kernel.privacy import mask_name, mask_phone

CHUNK = 1000


@dataclass(frozen=True)
class AppealPurge:
    contacts_masked: int
    photos_deleted: int
    phone_codes_deleted: int = 0
    visits_cleared: int = 0


def _ended_before(cutoff: datetime):
    # closed_at for closed appeals; a declined or withdrawn one last changed when it ended.
    return (Appeal.objects.filter(state__in=FINAL_STATES)
            .alias(ended=Coalesce("closed_at", "updated_at")).filter(ended__lt=cutoff))


def _unmasked() -> Q:
    return (Q(phone__gt="") & ~Q(phone__contains="*")) | (Q(name__gt="") & ~Q(name__contains="*"))


def mask_finished_contacts(*, now: datetime) -> int:
    """Mask the phone and name (and blank the Open311 e-mail) of appeals that ended more
    than APPEAL_CONTACT_RETENTION_DAYS ago. Returns how many appeals were masked."""
    cutoff = now - timedelta(days=settings.APPEAL_CONTACT_RETENTION_DAYS)
    masked = 0
    while True:
        rows = list(_ended_before(cutoff).filter(_unmasked()).order_by("pk").only("pk", "phone", "name")[:CHUNK])
        if not rows:
            return masked
        for appeal in rows:
            appeal.phone = mask_phone(appeal.phone) if "*" not in appeal.phone else appeal.phone
            appeal.name = mask_name(appeal.name) if "*" not in appeal.name else appeal.name
        with transaction.atomic():
            # updated_at is left alone (bulk_update writes only these): the end stays the end.
            Appeal.objects.bulk_update(rows, ["phone", "name"])
            Open311Request.objects.filter(appeal_id__in=[a.pk for a in rows]).exclude(email="").update(email="")
        masked += len(rows)


def delete_finished_photos(*, now: datetime) -> int:
    """Delete the photos (files and rows) of appeals that ended more than
    APPEAL_PHOTO_RETENTION_DAYS ago. Returns how many were deleted."""
    cutoff = now - timedelta(days=settings.APPEAL_PHOTO_RETENTION_DAYS)
    deleted = 0
    while True:
        photos = list(AppealAttachment.objects.filter(appeal__in=_ended_before(cutoff)).order_by("pk")[:CHUNK])
        if not photos:
            return deleted
        for photo in photos:
            # The file first: a row without its file is harmless, a file without its row is a leak.
            photo.image.delete(save=False)
        AppealAttachment.objects.filter(pk__in=[p.pk for p in photos]).delete()
        deleted += len(photos)


def delete_old_phone_codes(*, now: datetime) -> int:
    """Delete the one-time codes of 我的诉求 (appeals.phone_proof) sent more than two days
    ago: the per-day limit looks back one day, nothing else reads them."""
    return PhoneCode.objects.filter(created_at__lt=now - timedelta(days=2)).delete()[0]


def purge_finished_appeals(*, now: datetime) -> AppealPurge:
    return AppealPurge(contacts_masked=mask_finished_contacts(now=now), photos_deleted=delete_finished_photos(now=now),
                       phone_codes_deleted=delete_old_phone_codes(now=now),
                       visits_cleared=anonymise_old_visits(now=now))

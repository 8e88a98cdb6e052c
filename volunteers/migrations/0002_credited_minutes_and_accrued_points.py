"""Credited minutes instead of rounded, capped hours per sign-up, and the points rule's
own figure (accrued) on each activity line of the ledger (issue 13, item 5).

Existing attendance is re-credited with the new rule (volunteers.services.credited_minutes,
repeated here as it stands today): from the later of the check-in and the start to the
earlier of the check-out and the scheduled end + VOLUNTEER_CHECKOUT_GRACE_MINUTES. Existing
activity lines keep their delta and accrue what they credited (the old rule's figure; a
line clipped by the balance cap then counts as clipped). No ledger line is written here:
the drift of the old per-activity rounding is corrected by reversing lines, written by
``python manage.py reconcile_activity_points --apply`` (or at the volunteer's next
check-out).
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models


def credit_minutes(apps, schema_editor):
    Signup = apps.get_model("volunteers", "Signup")
    PointsEntry = apps.get_model("volunteers", "PointsEntry")
    grace = timedelta(minutes=getattr(settings, "VOLUNTEER_CHECKOUT_GRACE_MINUTES", 30))
    batch = []
    attended = Signup.objects.filter(status="attended").select_related("activity").order_by("pk")
    for signup in attended.iterator(chunk_size=2000):
        if signup.checked_in_at and signup.checked_out_at:
            start = max(signup.checked_in_at, signup.activity.starts_at)
            end = min(signup.checked_out_at, signup.activity.ends_at + grace)
            signup.minutes_credited = max(0, int((end - start).total_seconds()) // 60)
        else:
            signup.minutes_credited = int(signup.hours_credited * 60)
        batch.append(signup)
        if len(batch) == 2000:
            Signup.objects.bulk_update(batch, ["minutes_credited"])
            batch = []
    Signup.objects.bulk_update(batch, ["minutes_credited"])
    PointsEntry.objects.filter(source="activity").update(accrued=models.F("delta"))


class Migration(migrations.Migration):

    dependencies = [
        ('volunteers', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='pointsentry',
            name='accrued',
            field=models.IntegerField(default=0, verbose_name='按规则应计'),
        ),
        migrations.AddField(
            model_name='signup',
            name='minutes_credited',
            field=models.PositiveIntegerField(default=0, verbose_name='认定时长（分钟）'),
        ),
        migrations.RunPython(credit_minutes, migrations.RunPython.noop),
    ]

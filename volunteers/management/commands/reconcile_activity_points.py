"""python manage.py reconcile_activity_points [--apply]"""

from django.core.management.base import BaseCommand

from volunteers import selectors, services
from volunteers.models import Volunteer


class Command(BaseCommand):
    help = (
        "Lists the volunteers whose activity points differ from the points rule (issue 13: "
        "floor(Σ min(minutes, cap) × rate / 60) over their attendance); with --apply, writes "
        "one ledger line each for the difference — a reversing line (冲正) when points go "
        "back — and never edits a past line. Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="write the correcting lines")

    def handle(self, *args, apply: bool = False, **options):
        drift = selectors.activity_points_drift()
        names = dict(Volunteer.objects.filter(pk__in=[d.volunteer_id for d in drift]).values_list("pk", "name"))
        for d in drift:
            line = f"{names.get(d.volunteer_id, d.volunteer_id)} (#{d.volunteer_id}): 应计 {d.due}，已计 {d.accrued}，差 {d.due - d.accrued:+d}"
            if apply:
                entry = services.activity_points_reconcile(volunteer=Volunteer.objects.get(pk=d.volunteer_id))
                line += (f" → {entry.get_kind_display()} {entry.delta:+d}（余额 {entry.balance_after}）" if entry
                         else " → 已无差额")
            self.stdout.write(line)
        verb = "已更正" if apply else "需更正（加 --apply 写入冲正/补记明细）"
        self.stdout.write(f"{len(drift)} 名志愿者{verb}。")

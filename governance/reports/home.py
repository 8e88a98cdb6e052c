"""The staff home's report card: this month's stored scores of my units, and the overdue
appeals in my jurisdiction for those who read reports (from the daily flows)."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from governance.assessment import flows
from governance.assessment.enums import UnitKind
from governance.assessment.models import MonthlyScore
from governance.assessment.periods import Period, month_start, today_local
from governance.reports.hotspots import flow_units
from governance.reports.scope import can_see_reports, post_units
from governance.reports.units import RANK_WITHIN, unit_url
from governance.staff.selectors import Jurisdiction


def home_scores(*, jurisdiction: Jurisdiction, now: datetime | None = None) -> list[dict]:
    """This month's stored scores of the viewer's own units (one query)."""
    units = post_units(jurisdiction)
    if not units:
        return []
    month = month_start(today_local(now or timezone.now()))
    q = Q(pk__in=[])
    for kind, code, _name in units:
        q |= Q(unit_kind=kind, unit_code=code)
    stored = {(s.unit_kind, s.unit_code): s for s in MonthlyScore.objects.filter(q, month=month)}
    period = Period.month(month.year, month.month)
    out = []
    for kind, code, name in units:
        score = stored.get((kind, code))
        out.append({
            "kind": kind, "code": code, "name": name, "kind_label": UnitKind(kind).label, "score": score,
            # As the tables read it: "街道内 3/3" (units.RANK_WITHIN).
            "rank_text": f"{RANK_WITHIN.get(kind, '')} {score.rank}/{score.peer_count}".strip()
            if score is not None and score.rank and kind in RANK_WITHIN else "",
            "url": unit_url(kind, code, period) if kind != UnitKind.DEPARTMENT or jurisdiction.covers(code) else "",
        })
    return out


def home_card(*, jurisdiction: Jurisdiction, now: datetime | None = None) -> dict:
    """The home dashboard's card: this month's stored scores of my units and, for those who
    read reports, the appeals overdue in my jurisdiction at the daily flows' last refresh
    (``as_of``), summed from the flows of my units (hotspots' units: disjoint)."""
    if not (jurisdiction.everything or jurisdiction.posts):
        return {"scores": [], "overdue": None, "reports": False, "as_of": None}
    reports = can_see_reports(jurisdiction)
    overdue = as_of = None
    if reports:
        overdue = flows.overdue_now(units=flow_units(jurisdiction, ""))
        as_of = flows.flows_as_of()
    return {
        "scores": home_scores(jurisdiction=jurisdiction, now=now),
        "overdue": overdue, "as_of": as_of,
        "reports": reports,
    }

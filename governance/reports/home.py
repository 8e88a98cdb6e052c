"""The staff home's report card: this month's stored scores of my units, and the overdue
appeals in my jurisdiction for those who read reports (from the daily flows)."""

import hashlib
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from governance.assessment import flows
from governance.assessment.enums import UnitKind
from governance.assessment.models import MonthlyScore
from governance.assessment.periods import Period, month_start, today_local
from governance.kernel import shared_cache
from governance.reports.hotspots import flow_units
from governance.reports.scope import can_see_reports, post_units
from governance.reports.units import RANK_WITHIN, unit_url
from governance.staff.selectors import Jurisdiction


def home_scores(*, jurisdiction: Jurisdiction, now: datetime | None = None,
                units: list[tuple[str, str, str]] | None = None) -> list[dict]:
    """This month's stored scores of the viewer's own units (``units``: post_units, if the
    caller has them) in one query."""
    units = post_units(jurisdiction) if units is None else units
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
    units = post_units(jurisdiction)
    overdue = as_of = None
    if reports:
        # A city-wide account's flow units are its own units (the cities): read once.
        mine = ([(kind, code) for kind, code, _name in units if kind == UnitKind.CITY] if jurisdiction.everything
                else flow_units(jurisdiction, ""))
        # The sum changes only with a refresh of the flows: kept under the refresh's token.
        # Never refreshed (a new installation's first minutes): no flows to sum, and the card
        # says 汇总数据尚未生成 beside the 0.
        as_of, refresh = flows.flows_state()
        overdue = 0
        if refresh:
            key = "home-overdue:" + hashlib.sha256(repr((refresh, sorted(mine))).encode()).hexdigest()
            overdue = shared_cache.get(key, what="home overdue count")
            if overdue is None:
                overdue = flows.overdue_now(units=mine)
                shared_cache.put(key, overdue, 3600, what="home overdue count")
    return {
        "scores": home_scores(jurisdiction=jurisdiction, now=now, units=units),
        "overdue": overdue, "as_of": as_of,
        "reports": reports,
    }

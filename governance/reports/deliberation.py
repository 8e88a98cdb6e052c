"""民主协商 measures (issue 22 §2) beside the appeal measures on a unit's page: per community
and month of the period, the meetings held and the decisions due, done on time, and
their rate. Figures only (no topic, no names): whoever reads the unit's report reads them,
supervisors included. Counted live from the meetings (a community holds a few a month)."""

from collections import defaultdict

from django.utils.translation import gettext as _

from appeals.deliberation.enums import MeetingState
from appeals.deliberation.models import Meeting, MeetingDecision
from governance.assessment.enums import UnitKind
from governance.assessment.periods import Period, day_window
from governance.kernel.clock import CHINA
from governance.kernel.codes import descendants_q
from governance.reports.tables import Column, ReportTable

LEVELS = (UnitKind.COMMUNITY, UnitKind.STREET, UnitKind.DISTRICT, UnitKind.CITY)


def _prefix(kind: str, code: str) -> str:
    # The city's code is its districts' first four digits + "00" (assessment.enums.UnitKind).
    return code[:4] if kind == UnitKind.CITY else code


def deliberation_table(*, period: Period, kind: str, code: str) -> ReportTable | None:
    """One row per community and month with a meeting held or a decision due in it (three
    queries whatever the size). Done on time: finished (China time) on or before its due day."""
    if kind not in LEVELS:
        return None
    prefix = _prefix(kind, code)
    start, end = day_window(period.first, period.last)
    counts: dict[tuple[str, str], dict] = defaultdict(lambda: {"held": 0, "due": 0, "on_time": 0})
    names: dict[str, str] = {}
    held = (Meeting.objects.filter(descendants_q("community__code", prefix), state=MeetingState.HELD,
                                   starts_at__gte=start, starts_at__lt=end)
            .values_list("community_id", "community__name", "starts_at"))
    for community, name, starts_at in held:
        names[community] = name
        counts[(community, starts_at.astimezone(CHINA).strftime("%Y-%m"))]["held"] += 1
    due = (MeetingDecision.objects.filter(descendants_q("meeting__community__code", prefix), due_date__gte=period.first,
                                          due_date__lte=period.last)
           .values_list("meeting__community_id", "meeting__community__name", "due_date", "done_at"))
    for community, name, due_date, done_at in due:
        names[community] = name
        row = counts[(community, due_date.strftime("%Y-%m"))]
        row["due"] += 1
        if done_at is not None and done_at.astimezone(CHINA).date() <= due_date:
            row["on_time"] += 1
    rows = []
    for (community, month), c in sorted(counts.items()):
        rows.append({"community_code": community, "community": names[community], "month": month, **c,
                     "on_time_rate": round(100 * c["on_time"] / c["due"], 2) if c["due"] else None})
    return ReportTable(
        key="deliberation", title=_("民主协商"), rows=rows,
        columns=[
            Column("community_code", _("社区编码"), "code"), Column("community", _("社区")), Column("month", _("月份")),
            Column("held", _("召开议事会议"), "int"), Column("due", _("议定事项到期"), "int"),
            Column("on_time", _("按期完成"), "int"), Column("on_time_rate", _("按期完成率(%)"), "rate"),
        ],
    )

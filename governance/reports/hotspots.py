"""Hot spots (高频诉求): categories, buildings and households with repeated appeals."""

from dataclasses import dataclass

from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.enums import AppealState
from appeals.selectors import appeal_scope
from governance.assessment.periods import Period, day_window
from governance.kernel.clock import CHINA
from governance.kernel.errors import NotFound
from governance.kernel.privacy import mask_phone
from governance.reports.tables import LIST_LIMIT, Column, ReportTable
from governance.staff.selectors import Jurisdiction

HOTSPOT_MIN = 2  # "repeated": at least this many appeals in the period


def _period_appeals(*, jurisdiction: Jurisdiction, period: Period, unit: str):
    """Appeals received in the period (created_at, indexed) inside the jurisdiction."""
    start, end = day_window(period.first, period.last)
    qs = appeal_scope(jurisdiction).filter(created_at__gte=start, created_at__lt=end).exclude(
        state=AppealState.WITHDRAWN
    )
    if unit:
        if not jurisdiction.covers(unit):
            raise NotFound()
        qs = qs.filter(territory_code__startswith=unit)
    return qs


@dataclass
class Hotspots:
    categories: ReportTable
    buildings: ReportTable
    households: ReportTable


def hotspots(*, jurisdiction: Jurisdiction, period: Period, unit: str = "") -> Hotspots:
    """高频诉求: categories, buildings and households (by phone) with at least HOTSPOT_MIN
    appeals received in the period — three grouped queries, each cut to LIST_LIMIT rows.
    Phones are masked; the caller logs the view (personal data)."""
    base = _period_appeals(jurisdiction=jurisdiction, period=period, unit=unit)
    categories = list(
        base.values("category__code", "category__name")
        .annotate(n=Count("id"), buildings=Count("building", distinct=True), communities=Count("community", distinct=True))
        .filter(n__gte=HOTSPOT_MIN).order_by("-n", "category__code")[:LIST_LIMIT]
    )
    buildings = list(
        base.filter(building__isnull=False)
        .values("building__code", "building__address", "building__compound", "community__name")
        .annotate(n=Count("id"), categories=Count("category", distinct=True), last=Max("created_at"))
        .filter(n__gte=HOTSPOT_MIN).order_by("-n", "building__code")[:LIST_LIMIT]
    )
    households = list(
        base.exclude(phone="").values("phone")
        .annotate(n=Count("id"), categories=Count("category", distinct=True), first=Min("created_at"),
                  last=Max("created_at"), community=Max("community__name"), address=Max("building__address"))
        .filter(n__gte=HOTSPOT_MIN).order_by("-n", "phone")[:LIST_LIMIT]
    )

    def day(value):
        return timezone.localtime(value, CHINA).strftime("%Y-%m-%d") if value else ""

    return Hotspots(
        categories=ReportTable(
            key="hotspot-categories", title=_("高频诉求类别"),
            columns=[Column("category_code", _("类别编码"), "code"), Column("category", _("类别")),
                     Column("count", _("诉求数"), "int"), Column("buildings", _("涉及楼栋"), "int"),
                     Column("communities", _("涉及社区"), "int")],
            rows=[{"category_code": r["category__code"] or "", "category": r["category__name"] or _("未分类"),
                   "count": r["n"], "buildings": r["buildings"], "communities": r["communities"]} for r in categories],
        ),
        buildings=ReportTable(
            key="hotspot-buildings", title=_("重复诉求楼栋"),
            columns=[Column("building_code", _("楼栋编码"), "code"), Column("address", _("地址")),
                     Column("compound", _("小区")), Column("community", _("社区")),
                     Column("count", _("诉求数"), "int"), Column("categories", _("类别数"), "int"),
                     Column("last", _("最近诉求"))],
            rows=[{"building_code": r["building__code"], "address": r["building__address"],
                   "compound": r["building__compound"], "community": r["community__name"] or "",
                   "count": r["n"], "categories": r["categories"], "last": day(r["last"])} for r in buildings],
        ),
        households=ReportTable(
            key="hotspot-households", title=_("反复诉求的住户（电话已脱敏）"),
            columns=[Column("phone", _("联系电话"), "code"), Column("community", _("社区")),
                     Column("address", _("楼栋")), Column("count", _("诉求数"), "int"),
                     Column("categories", _("类别数"), "int"), Column("first", _("首次")), Column("last", _("最近"))],
            rows=[{"phone": mask_phone(r["phone"]), "community": r["community"] or "", "address": r["address"] or "",
                   "count": r["n"], "categories": r["categories"], "first": day(r["first"]), "last": day(r["last"])}
                  for r in households],
        ),
    )

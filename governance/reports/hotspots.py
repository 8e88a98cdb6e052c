"""Hot spots (高频诉求): categories, buildings and households with repeated appeals."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.enums import AppealState
from appeals.models import Category
from appeals.selectors import appeal_scope
from governance.assessment import flows
from governance.assessment.enums import UnitKind
from governance.assessment.periods import Period, day_window, today_local
from governance.kernel import shared_cache
from governance.kernel.clock import CHINA
from governance.kernel.codes import collapse
from governance.kernel.errors import NotFound
from governance.kernel.privacy import mask_phone
from governance.reports.scope import KIND_BY_LENGTH, city_codes
from governance.reports.tables import LIST_LIMIT, Column, ReportTable
from governance.staff.selectors import Jurisdiction
from grids.models import Department

logger = logging.getLogger(__name__)

HOTSPOT_MIN = 2  # "repeated": at least this many appeals in the period


def _period_appeals(*, jurisdiction: Jurisdiction, period: Period, unit: str):
    """Appeals received in the period (created_at, indexed) inside the jurisdiction."""
    start, end = day_window(period.first, period.last)
    qs = appeal_scope(jurisdiction).filter(created_at__gte=start, created_at__lt=end).exclude(
        state=AppealState.WITHDRAWN
    )
    if unit:
        qs = qs.filter(**{_PLACE_KEY[KIND_BY_LENGTH[len(unit)]]: unit})
    return qs


_PLACE_KEY = {UnitKind.DISTRICT: "district_id", UnitKind.STREET: "street_id", UnitKind.COMMUNITY: "community_id",
              UnitKind.GRID: "grid_id"}


def flow_units(jurisdiction: Jurisdiction, unit: str) -> list[tuple[str, str]]:
    """The units whose flows the hot spots sum, disjoint: the one asked for, else the
    jurisdiction's own (its code prefixes, collapsed; its departments), else the cities."""
    if unit:
        if len(unit) not in KIND_BY_LENGTH or not jurisdiction.covers(unit):
            raise NotFound()
        return [(KIND_BY_LENGTH[len(unit)], unit)]
    if jurisdiction.everything:
        return [(UnitKind.CITY, c) for c in city_codes()]
    units = [(KIND_BY_LENGTH[len(p)], p) for p in collapse(jurisdiction.prefixes) if len(p) in KIND_BY_LENGTH]
    if jurisdiction.department_ids:
        units += [(UnitKind.DEPARTMENT, c) for c in
                  Department.objects.filter(pk__in=jurisdiction.department_ids).values_list("code", flat=True)]
    return units


def _category_rows(*, jurisdiction: Jurisdiction, period: Period, unit: str) -> tuple[list[dict], int]:
    """The categories received at least HOTSPOT_MIN times in the period, most first:
    summed from the daily flows of the units (flow_units); and the appeals received in the
    period in all categories (the size of what _repeats groups, without counting them)."""
    units = flow_units(jurisdiction, unit)
    if not units:
        return [], 0
    summed = flows.units_category_flows(units=units, first=period.first, last=period.last)
    received = sum(r["received"] for r in summed)
    found = [r for r in summed if r["received"] >= HOTSPOT_MIN]
    found.sort(key=lambda r: (-r["received"], r["category_code"]))
    found = found[:LIST_LIMIT]
    names = dict(Category.objects.filter(code__in=[r["category_code"] for r in found if r["category_code"]])
                 .values_list("code", "name"))
    return [{"category_code": r["category_code"], "category": names.get(r["category_code"]) or _("未分类"),
             "count": r["received"]} for r in found], received


@dataclass
class Hotspots:
    categories: ReportTable
    buildings: ReportTable | None  # None (with households) while a task groups them: ``pending``
    households: ReportTable | None
    as_of: datetime | None = None  # the categories' data time (the flows' last refresh)
    appeals: int = 0  # the appeals received in the period (the flows): what the repeats group

    @property
    def pending(self) -> bool:
        """The buildings and households are being grouped off the request (a large period)."""
        return self.buildings is None


def hotspots(*, jurisdiction: Jurisdiction, period: Period, unit: str = "") -> Hotspots:
    """高频诉求: categories, buildings and households (by phone) with at least HOTSPOT_MIN
    appeals received in the period, each cut to LIST_LIMIT rows: the categories' counts
    summed from the daily flows (as of their last refresh, ``as_of``); the buildings and
    communities they came from, the buildings and the households grouped from the
    period's appeals once per refresh (_repeats) — inline for a period of at most
    HOTSPOT_INLINE_MAX_APPEALS appeals, else by a task, the tables None (``pending``)
    until it is done. Phones are masked; the caller logs the view (personal data)."""
    categories, appeals = _category_rows(jurisdiction=jurisdiction, period=period, unit=unit)
    as_of, token = flows.flows_state()
    ask = RepeatsAsk.of(jurisdiction=jurisdiction, period=period, unit=unit, as_of=as_of, token=token,
                        categories=[r["category_code"] for r in categories])
    found = _repeats(ask, appeals=appeals)
    spread, buildings, households = found if found is not None else (None, None, None)
    for row in categories:
        row.update(spread.get(row["category_code"], {"buildings": 0, "communities": 0}) if spread is not None
                   else {"buildings": None, "communities": None})

    return Hotspots(
        categories=ReportTable(
            key="hotspot-categories", title=_("高频诉求类别"),
            columns=[Column("category_code", _("类别编码"), "code"), Column("category", _("类别")),
                     Column("count", _("诉求数"), "int"), Column("buildings", _("涉及楼栋"), "int"),
                     Column("communities", _("涉及社区"), "int")],
            rows=categories,
        ),
        buildings=None if buildings is None else ReportTable(
            key="hotspot-buildings", title=_("重复诉求楼栋"),
            columns=[Column("building_code", _("楼栋编码"), "code"), Column("address", _("地址")),
                     Column("compound", _("小区")), Column("community", _("社区")),
                     Column("count", _("诉求数"), "int"), Column("categories", _("类别数"), "int"),
                     Column("last", _("最近诉求"))],
            rows=buildings,
        ),
        households=None if households is None else ReportTable(
            key="hotspot-households", title=_("反复诉求的住户（电话已脱敏）"),
            columns=[Column("phone", _("联系电话"), "code"), Column("community", _("社区")),
                     Column("address", _("楼栋")), Column("count", _("诉求数"), "int"),
                     Column("categories", _("类别数"), "int"), Column("first", _("首次")), Column("last", _("最近"))],
            rows=households,
        ),
        as_of=as_of, appeals=appeals,
    )


def _day(value) -> str:
    return timezone.localtime(value, CHINA).strftime("%Y-%m-%d") if value else ""


# These bound the space only: the key changes with each refresh (or each day).
REPEATS_CACHE_SECONDS, REPEATS_CACHE_DAY_SECONDS = 900, 26 * 3600
# One task per key at a time: whoever misses the cache while the lock is held waits for
# that task. As long as the task may run (its time limit): a lost or failed task is sent
# again by the first view after the lock expires.
REPEATS_TASK_SECONDS = 600
REPEATS_RETRY_SECONDS = 60  # after the broker refused the task


@dataclass(frozen=True)
class RepeatsAsk:
    """What _repeats groups, as plain values (the task's arguments: the scope's parts, not
    the account, so that the task groups what the cache key names)."""

    everything: bool
    prefixes: tuple[str, ...]
    department_ids: tuple[int, ...]
    unit: str
    period: Period
    as_of: datetime | None
    token: str
    categories: tuple[str, ...]

    @classmethod
    def of(cls, *, jurisdiction: Jurisdiction, period: Period, unit: str, as_of, token: str,
           categories: list[str]) -> "RepeatsAsk":
        return cls(everything=jurisdiction.everything, prefixes=tuple(sorted(jurisdiction.prefixes)),
                   department_ids=tuple(sorted(jurisdiction.department_ids)), unit=unit, period=period,
                   as_of=as_of, token=token, categories=tuple(categories))

    def task_kwargs(self) -> dict:
        return {"everything": self.everything, "prefixes": list(self.prefixes),
                "department_ids": list(self.department_ids), "unit": self.unit,
                "period": [self.period.kind, self.period.first.isoformat(), self.period.last.isoformat()],
                "as_of": self.as_of.isoformat() if self.as_of else None, "token": self.token,
                "categories": list(self.categories)}

    @classmethod
    def from_task_kwargs(cls, *, everything: bool, prefixes: list[str], department_ids: list[int], unit: str,
                         period: list[str], as_of: str | None, token: str, categories: list[str]) -> "RepeatsAsk":
        kind, first, last = period
        return cls(everything=everything, prefixes=tuple(prefixes), department_ids=tuple(department_ids),
                   unit=unit, period=Period(kind, date.fromisoformat(first), date.fromisoformat(last)),
                   as_of=datetime.fromisoformat(as_of) if as_of else None, token=token,
                   categories=tuple(categories))

    def jurisdiction(self) -> Jurisdiction:
        return Jurisdiction(user_id=None, everything=self.everything, prefixes=frozenset(self.prefixes),
                            department_ids=frozenset(self.department_ids))

    def cache_key(self) -> tuple[str | None, int]:
        """The shared cache's key and lifetime: per scope, unit, period, categories and
        refresh (a period over before today: per day); None before the flows' first refresh."""
        if self.as_of is None:
            return None, REPEATS_CACHE_SECONDS
        scope = (self.everything, list(self.prefixes), list(self.department_ids))
        # A period over before today changes no more with the refreshes: grouped once a day.
        version, seconds = self.token, REPEATS_CACHE_SECONDS
        if self.period.last < today_local(self.as_of):
            version, seconds = f"day:{today_local(self.as_of)}", REPEATS_CACHE_DAY_SECONDS
        name = repr(("v1", connection.settings_dict["NAME"], scope, self.unit, self.period.label, version,
                     list(self.categories)))
        return f"reports:hotspot-repeats:{hashlib.sha256(name.encode()).hexdigest()}", seconds


def _repeats(ask: RepeatsAsk, *, appeals: int) -> tuple[dict, list[dict], list[dict]] | None:
    """The repeats from the shared cache; else grouped here (_group) when the period
    received at most HOTSPOT_INLINE_MAX_APPEALS appeals (or before the flows' first
    refresh: nothing to key them by), and cached; else None, and a task queued to group
    them (once: the first to miss takes a lock)."""
    key, seconds = ask.cache_key()
    if key is not None:
        found = shared_cache.get(key, what="reports")
        if found is not None:
            return found
        if appeals > settings.HOTSPOT_INLINE_MAX_APPEALS:
            lock = f"{key}:queued"
            if shared_cache.claim(lock, REPEATS_TASK_SECONDS, what="reports"):
                kwargs = ask.task_kwargs()
                transaction.on_commit(lambda: _enqueue(kwargs, lock=lock))
            return None
    found = _group(ask)
    if key is not None:
        shared_cache.put(key, found, seconds, what="reports")
    return found


def _enqueue(kwargs: dict, *, lock: str) -> None:
    """Send the task, failing fast (a page waits for it): with the broker down, the lock is
    kept for REPEATS_RETRY_SECONDS only, so that a later view sends it again, and the views
    and polls in between do not each wait for the broker."""
    from governance.reports.tasks import hotspot_repeats

    try:
        hotspot_repeats.apply_async(kwargs=kwargs, retry=False)
    except Exception:
        logger.warning("hot spots: could not queue the repeats' task; trying again in %s s",
                       REPEATS_RETRY_SECONDS, exc_info=True)
        shared_cache.put(lock, 1, REPEATS_RETRY_SECONDS, what="reports")


def repeats_fill(**kwargs) -> str:
    """The task's work (governance.reports.tasks.hotspot_repeats): group what ``kwargs``
    (RepeatsAsk.task_kwargs) ask for into their cache key, unless it is there already
    (safe to run twice)."""
    ask = RepeatsAsk.from_task_kwargs(**kwargs)
    key, seconds = ask.cache_key()
    if key is None:
        return "no flows"
    if shared_cache.get(key, what="reports") is not None:
        return "cached"
    shared_cache.put(key, _group(ask), seconds, what="reports")
    return "grouped"


def _group(ask: RepeatsAsk) -> tuple[dict, list[dict], list[dict]]:
    """What no per-unit sum can tell, from the appeals received in the period before
    ``as_of`` (the flows' last refresh, so that the tables count the same appeals): how
    many buildings and communities each of ``categories`` came from, and the buildings
    and households (masked phones) with at least HOTSPOT_MIN appeals — three grouped
    queries over the period's appeals, which _repeats (or the task, repeats_fill) keeps in
    the shared cache until the next refresh (a period over before today: until the next
    day), so the scan runs once per refresh (or day), scope and period, not once per view."""
    categories = list(ask.categories)
    base = _period_appeals(jurisdiction=ask.jurisdiction(), period=ask.period, unit=ask.unit)
    if ask.as_of is not None:
        base = base.filter(created_at__lt=ask.as_of)
    named = [c for c in categories if c]
    in_categories = Q(category__code__in=named) | (Q(category__isnull=True) if "" in categories else Q(pk__in=[]))
    spread = {
        r["category__code"] or "": {"buildings": r["buildings"], "communities": r["communities"]}
        for r in base.filter(in_categories).values("category__code").order_by()
        .annotate(buildings=Count("building", distinct=True), communities=Count("community", distinct=True))
    } if categories else {}
    buildings = [
        {"building_code": r["building__code"], "address": r["building__address"],
         "compound": r["building__compound"], "community": r["community__name"] or "",
         "count": r["n"], "categories": r["categories"], "last": _day(r["last"])}
        for r in base.filter(building__isnull=False)
        .values("building__code", "building__address", "building__compound", "community__name")
        .annotate(n=Count("id"), categories=Count("category", distinct=True), last=Max("created_at"))
        .filter(n__gte=HOTSPOT_MIN).order_by("-n", "building__code")[:LIST_LIMIT]
    ]
    households = [
        {"phone": mask_phone(r["phone"]), "community": r["community"] or "", "address": r["address"] or "",
         "count": r["n"], "categories": r["categories"], "first": _day(r["first"]), "last": _day(r["last"])}
        for r in base.exclude(phone="").values("phone")
        .annotate(n=Count("id"), categories=Count("category", distinct=True), first=Min("created_at"),
                  last=Max("created_at"), community=Max("community__name"), address=Max("building__address"))
        .filter(n__gte=HOTSPOT_MIN).order_by("-n", "phone")[:LIST_LIMIT]
    ]
    return spread, buildings, households

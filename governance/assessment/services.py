"""Scoring (DESIGN.md §5, issue 4 item 5) and 考核核减 (exclusions).

Counting rules, as implemented:
- **Month and day.** An appeal counts on the day (Asia/Shanghai) its deadline falls, and
  so in that month; a deadline at 24:00 (stored as next-day 00:00) belongs to the day
  before. The deadline is the appeal's current one (only an approved extension moves
  it). Month to date: only deadlines already passed count.
- **Unit.** It counts for the unit holding it at its deadline: the last holder-changing
  event (dispatch, reroute of the handler, return, escalation) at or before the
  deadline decides (governance.assessment.eventlog.read_path). An escalation that moves
  the handler up (grid → community → street) moves the count with it; at the district
  督办 the handler keeps it. A returned appeal still waiting at its deadline counts
  for the queue's unit (community, or the street's dispatch centre).
  Counts roll up by code: grid → community → street → district → city, and
  department → district → city.
- **As of.** Only events before ``as_of`` count: now, or — for a month whose cutoff
  (00:00 on SCORE_CUTOFF_DAY of the next month) has passed — the cutoff. Such a month
  is then final: stored once with final=True and never overwritten (``force``
  recomputes it, as of the same cutoff, to the same figures). Likewise only
  exclusions approved before ``as_of`` count.
- **Per appeal** (counted for its holder and day):
  dispatched = due = 1 (every appeal with a deadline was dispatched);
  responded_in_time: first contact (先行联系) at or before its response deadline;
  evaluated/solved/satisfied/basically_satisfied: its latest evaluation;
  deferred: an approved extension (缓办); resolved (办结): its latest 办结 was not
  followed by a rework; resolved_on_time: that 办结 at or before the deadline;
  reworked: resolved after at least one rework (unsatisfied evaluation, failed
  verification). Deferred appeals stay out of resolved/resolved_on_time/reworked, as
  they are out of the closure denominators (due − deferred).
  Withdrawn, declined or merged appeals are not scored. Excluded ones (approved 考核核减)
  count only in ``excluded``.
- **Averages:** response = first contact − first dispatch; resolution = the counted
  办结 − first dispatch; sums of seconds and counts, so they sum over any period.
- **主动发现** (SELF_FOUND_SOURCES: 巡查, later 走访): the worker raised it, so it stays out
  of dispatched/responded_in_time/response times and of the evaluations (响应率, 解决率,
  满意率 — a patrol appeal changes none of its finder's); it counts in due, resolved and
  the rest for its holder like any appeal, and apart: self_found and
  self_found_resolved for the place it was found (its grid).
- **不出格率, 不出社区率** (issue 15, formulas.measures): an appeal that reached 办结 (as
  ``resolved``, deferred or not), unless excluded or dispatched again elsewhere after a
  return (``appeals.events.handling``), counts
  in grid_resolved (residents') or self_grid_resolved (主动发现) for the grid it was first
  dispatched to — and in grid_kept / self_grid_kept if it stayed there (no escalation,
  上报, 吹哨 or handler outside the grid); and in community_resolved for the community of
  its place when first dispatched to that community or a grid of it — in community_kept
  if nothing took it above the community. The events read are those before ``as_of``,
  not only those before the deadline: an escalation after the deadline still took the
  appeal out of the grid.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.archive import frozen_years
from appeals.enums import SELF_FOUND_SOURCES, AppealAction, AppealState, Rating
from appeals.models import Appeal, AppealEvent
from appeals.permissions import is_visible
from governance.assessment import eventlog, formulas
from governance.assessment.enums import ExclusionReason, ExclusionStatus, UnitKind
from governance.assessment.models import COUNTERS, DailyTally, MonthlyScore, ScoreExclusion
from governance.assessment.periods import (
    cutoff_moment,
    day_window,
    deadline_day,
    is_final,
    local_midnight,
    month_end,
    next_month,
    previous_month,
    today_local,
)
from governance.assessment.selectors import SCORES_TOKEN_KEY
from governance.enums import Role
from governance.kernel import shared_cache
from governance.kernel.bulk import chunked
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.staff.selectors import jurisdiction_for
from grids.models import Community, Department, District, Grid, Street

logger = logging.getLogger(__name__)
BATCH = 2000


@dataclass
class MonthResult:
    month: date
    as_of: datetime | None = None
    final: bool = False
    skipped: bool = False  # already final: left as stored
    appeals: int = 0  # appeals due (excluded included) in the month so far
    excluded: int = 0
    tallies: int = 0
    units: int = 0
    city: dict = field(default_factory=dict)  # the city rows' measures, for summaries


# --- per appeal: a few set-based queries per day --------------------------------------------


def _appeal_rows(*, start: datetime, end: datetime, as_of: datetime) -> list[dict]:
    """The appeals whose deadline falls in (start, end], each with what the log says
    about it as of ``as_of``.

    Four queries, whatever the number of appeals: the appeals; their event facts
    aggregated per appeal in SQL (first dispatch, last 办结, last rework, terminal,
    deferred); the events that say where each went (eventlog.PATH_Q), in order — the
    holder at the deadline and the Handling (``holder``, ``handling``); and their
    evaluations, in order, keeping the last one per appeal.
    """
    appeals = (
        # Every state is listed so that PostgreSQL can range-scan the (state, deadline) index.
        Appeal.objects.filter(state__in=AppealState.values, deadline__gt=start, deadline__lte=end)
        .annotate(is_excluded=Exists(ScoreExclusion.objects.filter(
            appeal=OuterRef("pk"), status=ExclusionStatus.APPROVED, approved_at__lt=as_of)))
        .values(
            "id", "deadline", "response_deadline", "first_contact_at", "source",
            "grid_id", "community_id", "street_id", "district_id",
            "handling_level", "handling_department__code", "queue_level", "is_excluded",
        )
        .order_by()
    )
    rows = {row["id"]: row for row in appeals}
    if not rows:
        return []
    events = AppealEvent.objects.filter(
        appeal__state__in=AppealState.values, appeal__deadline__gt=start, appeal__deadline__lte=end,
        created_at__lt=as_of,
    ).order_by()
    facts = (
        events.filter(action__in=(AppealAction.DISPATCH, AppealAction.RESOLVE, AppealAction.VERIFY_FAIL, AppealAction.EVALUATE,
                                  *eventlog.TERMINAL_ACTIONS, *eventlog.DEFERRAL_ACTIONS))
        .values("appeal_id")
        .annotate(
            first_dispatch=Min("created_at", filter=Q(action=AppealAction.DISPATCH)),
            last_resolve=Max("created_at", filter=Q(action=AppealAction.RESOLVE)),
            last_rework=Max("created_at", filter=eventlog.REWORK_Q),
            terminal=Count("id", filter=Q(action__in=eventlog.TERMINAL_ACTIONS)),
            is_deferred=Count("id", filter=Q(action__in=eventlog.DEFERRAL_ACTIONS)),
        )
    )
    empty = {"first_dispatch": None, "last_resolve": None, "last_rework": None, "terminal": 0,
             "is_deferred": 0, "evaluation": None}
    for row in rows.values():
        row.update(empty)
    for fact in facts:
        rows[fact.pop("appeal_id")].update(fact)
    paths: dict[int, list] = defaultdict(list)
    for appeal_id, *event in events.filter(eventlog.PATH_Q).order_by("appeal_id", "created_at", "id").values_list(
        "appeal_id", "created_at", "action", "data"
    ):
        paths[appeal_id].append(event)
    for appeal_id, row in rows.items():
        row["holder"], row["handling"] = eventlog.read_path(paths.get(appeal_id, ()), deadline=row["deadline"])
    for appeal_id, data in events.filter(action=AppealAction.EVALUATE).order_by("appeal_id", "created_at", "id").values_list(
        "appeal_id", "data"
    ):
        rows[appeal_id]["evaluation"] = data
    return list(rows.values())


def _resolved_at(row: dict) -> datetime | None:
    """Its latest 办结, unless a rework followed it (back in work at as_of: not 办结)."""
    resolved_at, rework = row["last_resolve"], row["last_rework"]
    if resolved_at is not None and rework is not None and rework > resolved_at:
        return None
    return resolved_at


def _count(t: dict, row: dict, as_of: datetime) -> None:
    """Add one appeal's contribution to its holder's tally ``t`` (see the module docstring)."""
    if row["is_excluded"]:
        t["excluded"] += 1
        return
    deadline = row["deadline"]
    self_found = row["source"] in SELF_FOUND_SOURCES
    t["due"] += 1
    dispatched_at = row["first_dispatch"]
    contact = row["first_contact_at"]
    if not self_found:
        t["dispatched"] += 1
    if not self_found and contact is not None and contact < as_of:
        if row["response_deadline"] is not None and contact <= row["response_deadline"]:
            t["responded_in_time"] += 1
        if dispatched_at is not None and contact >= dispatched_at:
            t["response_seconds"] += int((contact - dispatched_at).total_seconds())
            t["response_count"] += 1
    evaluation = row["evaluation"]
    if evaluation and not self_found:
        t["evaluated"] += 1
        t["solved"] += evaluation.get("solved") is True
        t["satisfied"] += evaluation.get("rating") == Rating.SATISFIED
        t["basically_satisfied"] += evaluation.get("rating") == Rating.BASICALLY
    resolved_at, rework = _resolved_at(row), row["last_rework"]
    if resolved_at is not None and dispatched_at is not None:
        t["resolution_seconds"] += int((resolved_at - dispatched_at).total_seconds())
        t["resolution_count"] += 1
    if row["is_deferred"]:
        t["deferred"] += 1
        return
    if resolved_at is not None:
        t["resolved"] += 1
        t["resolved_on_time"] += resolved_at <= deadline
        t["reworked"] += rework is not None


def _count_apart(leaves: dict, row: dict, day: date) -> None:
    """Add what an appeal counts for other units than its holder (``leaves``: the tallies
    by (kind, code, day)): 主动发现 for its place; 不出格 for the grid it was first
    dispatched to; 不出社区 for its community (see the module docstring)."""
    if row["is_excluded"]:
        return
    self_found = row["source"] in SELF_FOUND_SOURCES
    resolved = _resolved_at(row) is not None
    if self_found:
        place = eventlog.place(row)
        if place is not None:
            leaves[(*place, day)]["self_found"] += 1
            leaves[(*place, day)]["self_found_resolved"] += resolved
    handling = row["handling"]  # appeals.events.Handling
    first = eventlog.unit_key(handling.first)
    if not resolved or first is None or handling.redispatched_elsewhere:
        return
    if first[0] == UnitKind.GRID:
        t = leaves[(*first, day)]
        prefix = "self_grid" if self_found else "grid"
        t[f"{prefix}_resolved"] += 1
        t[f"{prefix}_kept"] += handling.kept_in_grid
    community = row["community_id"]
    if community and first[0] in (UnitKind.GRID, UnitKind.COMMUNITY) and first[1].startswith(community):
        t = leaves[(UnitKind.COMMUNITY, community, day)]
        t["community_resolved"] += 1
        t["community_kept"] += handling.kept_in_community(community)


def _empty() -> dict:
    return dict.fromkeys(COUNTERS, 0)


def tally_appeals(*, first: date, last: date, as_of: datetime) -> tuple[dict, dict]:
    """Daily tallies for the deadlines on days first..last known at ``as_of``, rolled up.

    Steps: 1. per day, the due appeals with their log facts (_appeal_rows); 2. each
    appeal's holder at its deadline and its contribution, added to (holder, day), and
    what it counts apart — 主动发现 for its place, 不出格 for its first grid, 不出社区 for
    its community (_count_apart); 3. each leaf tally added to the unit's ancestors.
    Returns ({(kind, code, day): counters}, stats).
    """
    end = min(day_window(first, last)[1], as_of)
    leaves: dict = defaultdict(_empty)
    stats = {"appeals": 0, "excluded": 0, "unplaced": 0}
    # One day at a time: memory stays bounded by a day's appeals, whatever the month.
    windows = []
    for offset in range((last - first).days + 1):
        day_start, day_end = day_window(first + timedelta(days=offset), first + timedelta(days=offset))
        day_end = min(day_end, end)
        if day_end > day_start:
            windows.append((day_start, day_end))
    for day_start, day_end in windows:
        for row in _appeal_rows(start=day_start, end=day_end, as_of=as_of):
            if row["terminal"]:
                continue
            unit = row["holder"] or eventlog.current_holder(row)
            if unit is None:
                stats["unplaced"] += 1
                continue
            stats["appeals"] += 1
            stats["excluded"] += bool(row["is_excluded"])
            day = deadline_day(row["deadline"])
            _count(leaves[(*unit, day)], row, as_of)
            _count_apart(leaves, row, day)
    if stats["unplaced"]:
        logger.warning("scoring: %s appeals had no unit at their deadline and were left out", stats["unplaced"])
    rolled: dict = defaultdict(_empty)
    for (kind, code, day), counters in leaves.items():
        for ancestor in formulas.ancestors(kind, code):
            target = rolled[(*ancestor, day)]
            for name, value in counters.items():
                target[name] += value
    return rolled, stats


# --- a month ----------------------------------------------------------------------------------


def _all_units() -> dict[tuple[str, str], str]:
    """Every unit that is scored, with its name (a unit without appeals is shown too)."""
    units: dict[tuple[str, str], str] = {}
    for model, kind in ((Grid, UnitKind.GRID), (Community, UnitKind.COMMUNITY), (Street, UnitKind.STREET),
                        (District, UnitKind.DISTRICT), (Department, UnitKind.DEPARTMENT)):
        for code, name in model.objects.values_list("code", "name"):
            units[(kind, code)] = name
            if kind == UnitKind.DISTRICT:
                units.setdefault((UnitKind.CITY, formulas.city_code(code)), _("全市"))
    return units


def _lock_month(month: date) -> None:
    # Two runs of one month at once (beat + a manual command) would both delete and
    # insert; on PostgreSQL the second waits for the first. SQLite serialises writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x5C0E, month.year * 100 + month.month])


def score_rows(*, sums: dict[tuple[str, str], dict], names: dict[tuple[str, str], str]) -> list[dict]:
    """Measures and ranks for units from their summed counters (months and ranges alike).

    Ranks: competition ranking by composite within the peer group
    (formulas.peer_group); streets also within the city (city_rank).
    """
    rows = []
    for key in sorted(set(sums) | set(names)):
        kind, code = key
        counters = sums.get(key) or _empty()
        rows.append({
            "unit_kind": kind, "unit_code": code, "unit_name": names.get(key, ""),
            "peer_group": formulas.peer_group(kind, code), **counters, **formulas.measures(counters),
        })
    def peers(row):
        return row["unit_kind"], row["peer_group"]

    def city_of_street(row):
        return formulas.city_code(row["unit_code"][:6])

    streets = [r for r in rows if r["unit_kind"] == UnitKind.STREET]
    ranks = formulas.competition_ranks(rows, group_of=peers)
    city_ranks = formulas.competition_ranks(streets, group_of=city_of_street)
    ranked = Counter(peers(r) for r in rows if formulas.rankable(r))
    city_ranked = Counter(city_of_street(r) for r in streets if formulas.rankable(r))
    for row in rows:
        key = (row["unit_kind"], row["unit_code"])
        row["rank"] = ranks.get(key)
        row["peer_count"] = ranked[peers(row)]  # an unranked unit still shows how many were ranked
        row["city_rank"] = city_ranks.get(key)
        row["city_peer_count"] = city_ranked[city_of_street(row)] if row["unit_kind"] == UnitKind.STREET else 0
    return rows


def _insert(model, rows: list[dict]) -> None:
    """A multi-row INSERT of plain dicts: bulk_create's per-value preparation costs more
    than the database at a month's hundreds of thousands of tally values. Integers and
    text go as they are; dates, times and decimals through their field's preparation."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    prepared = {f.attname for f in fields if f.get_internal_type() in ("DateField", "DateTimeField", "DecimalField")}
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, min(BATCH, connection.ops.bulk_batch_size(fields, rows)))
    with connection.cursor() as cursor:
        for batch in chunked(rows, size):
            params = []
            for row in batch:
                for f in fields:
                    value = row.get(f.attname, f.get_default())
                    params.append(f.get_db_prep_save(value, connection) if f.attname in prepared else value)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholder] * len(batch))}", params
            )


def _publish_scores() -> None:
    shared_cache.renew(SCORES_TOKEN_KEY)  # robust on_commit: a failure is logged


def month_state(month: date, now: datetime) -> tuple[datetime, bool, bool]:
    """(as_of, final, month_to_date) of ``month`` seen at ``now``."""
    return min(now, cutoff_moment(month)), is_final(month, now), now < local_midnight(next_month(month))


def compute_month(*, month: date, now: datetime | None = None, force: bool = False) -> MonthResult:
    """Compute and store one month's daily tallies and monthly scores.

    Steps: 1. as_of = now, or the cutoff once it has passed (the month is then final);
    2. a month already stored as final is left alone unless ``force`` (which recomputes
    it as of the same cutoff); a month of an archived year, or of the year after one,
    is refused (appeals.archive.frozen_years: its stored scores stay); 3. the daily tallies from the log (tally_appeals);
    4. in one transaction, under a per-month lock: replace the month's DailyTally rows,
    sum them per unit in SQL, compute measures and ranks, replace its MonthlyScore rows;
    5. once that is committed, a new scores token (selectors.scores_token), so that the
    report pages cached from the stored scores are built again.
    """
    now = now or timezone.now()
    month = month.replace(day=1)
    result = MonthResult(month=month)
    if local_midnight(month) > now:
        raise ApplicationError(_("%(month)s 尚未开始，无法计算。") % {"month": f"{month:%Y-%m}"})
    if month.year in frozen_years():
        # Its appeals (or some of those due in it) are in the archive: recounting would
        # replace the stored figures with smaller ones (appeals.archive).
        raise ApplicationError(_("%(month)s 所在年份或上一年已归档，保留已存的得分，不再重算。")
                               % {"month": f"{month:%Y-%m}"})
    as_of, final, month_to_date = month_state(month, now)
    result.as_of, result.final = as_of, final
    if not force and MonthlyScore.objects.filter(month=month, final=True).exists():
        result.skipped = True
        return result
    tallies, stats = tally_appeals(first=month, last=month_end(month), as_of=as_of)
    names = _all_units()
    with transaction.atomic():
        _lock_month(month)
        if not force and MonthlyScore.objects.filter(month=month, final=True).exists():
            result.skipped = True  # another run finalised it while we counted
            return result
        DailyTally.objects.filter(day__gte=month, day__lte=month_end(month)).delete()
        _insert(DailyTally, [{"unit_kind": k, "unit_code": c, "day": d, "computed_at": now, **counters}
                             for (k, c, d), counters in tallies.items()])
        sums = {
            (r.pop("unit_kind"), r.pop("unit_code")): r
            for r in DailyTally.objects.filter(day__gte=month, day__lte=month_end(month))
            .values("unit_kind", "unit_code").order_by()
            .annotate(**{name: Sum(name) for name in COUNTERS})
        }
        rows = score_rows(sums=sums, names=names)
        MonthlyScore.objects.filter(month=month).delete()
        _insert(MonthlyScore, [{"month": month, "final": final, "month_to_date": month_to_date, "as_of": as_of,
                                "computed_at": now, **row} for row in rows])
        # What is cached from stored scores (report pages) is keyed by the token: a new one
        # once these rows are committed (at once, outside an outer transaction).
        transaction.on_commit(_publish_scores, robust=True)
    result.appeals, result.excluded = stats["appeals"], stats["excluded"]
    result.tallies, result.units = len(tallies), len(rows)
    result.city = next((r for r in rows if r["unit_kind"] == UnitKind.CITY), {})
    return result


def months_due(*, now: datetime) -> list[date]:
    """What the nightly run computes: last month while it is not stored as final (so the
    run on the cutoff day finalises it, and a missed night catches up), then this month
    to date."""
    this_month = today_local(now).replace(day=1)
    last_month = previous_month(this_month)
    months = []
    if not MonthlyScore.objects.filter(month=last_month, final=True).exists():
        months.append(last_month)
    months.append(this_month)
    return months


def months_with_appeals(*, now: datetime) -> list[date]:
    """Every month from the earliest deadline to this month (for --all-months), but those
    of archived years and the years after them (their stored scores stay)."""
    earliest = Appeal.objects.filter(deadline__isnull=False).order_by("deadline").values_list("deadline", flat=True).first()
    this_month = today_local(now).replace(day=1)
    if earliest is None:
        return [this_month]
    month = deadline_day(earliest).replace(day=1)
    months, frozen = [], frozen_years()
    while month <= this_month:
        if month.year not in frozen:
            months.append(month)
        month = next_month(month)
    return months


# --- 考核核减 ----------------------------------------------------------------------------------


def _may_approve(actor, jurisdiction, appeal: Appeal) -> bool:
    if actor.is_superuser:
        return True
    return any(
        p.role == Role.STREET_OFFICER and appeal.street_id and p.street.code == appeal.street_id
        for p in jurisdiction.posts
    )


def exclusion_request(*, actor, appeal: Appeal, reason_kind: str, reason: str) -> ScoreExclusion:
    """Ask the street to leave an appeal out of the assessment (考核核减).

    Steps: 1. the appeal must be visible to the actor (else NotFound); 2. supervisors
    are read-only (ActionForbidden); 3. a known reason kind and a reason text; 4. one
    request per appeal (Conflict if one exists); 5. a pending ScoreExclusion.
    """
    jurisdiction = jurisdiction_for(actor)
    if not is_visible(jurisdiction, appeal):
        raise NotFound()
    if jurisdiction.posts and jurisdiction.read_only:
        raise ActionForbidden(_("督查考核账号只读，不能申请考核核减。"))
    if reason_kind not in ExclusionReason.values:
        raise ApplicationError(_("请选择核减类型：恶意诉求、重复诉求、超出职权范围或其他。"))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请填写核减理由。"))
    with transaction.atomic():
        if ScoreExclusion.objects.filter(appeal=appeal).exists():
            raise Conflict(_("该诉求已申请过考核核减。"))
        return ScoreExclusion.objects.create(appeal=appeal, reason_kind=reason_kind, reason=reason, requested_by=actor)


def exclusion_decide(*, actor, exclusion: ScoreExclusion, approve: bool, note: str = "",
                     now: datetime | None = None) -> ScoreExclusion:
    """The street (or an administrator) approves or rejects a 考核核减 request.

    Steps: 1. the appeal must be visible (NotFound); 2. only a street officer of the
    appeal's street or an administrator decides (ActionForbidden); 3. a conditional
    update from pending (Conflict if someone decided first). The reason is kept either
    way; an approval counts from the next computation of a month that is not final.
    """
    jurisdiction = jurisdiction_for(actor)
    appeal = exclusion.appeal
    if not is_visible(jurisdiction, appeal):
        raise NotFound()
    if not _may_approve(actor, jurisdiction, appeal):
        raise ActionForbidden(_("只有诉求所在街道的工作人员可以审批考核核减。"))
    now = now or timezone.now()
    status = ExclusionStatus.APPROVED if approve else ExclusionStatus.REJECTED
    updated = ScoreExclusion.objects.filter(pk=exclusion.pk, status=ExclusionStatus.PENDING).update(
        status=status, approved_by=actor, approved_at=now, decision_note=(note or "")[:200]
    )
    if updated != 1:
        raise Conflict(_("该核减申请已被审批，请刷新后查看。"))
    exclusion.refresh_from_db()
    return exclusion

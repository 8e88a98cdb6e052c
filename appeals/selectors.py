"""Reads of appeals, always scoped by jurisdiction (DESIGN.md §3).

Outside an account's jurisdiction an appeal does not exist (NotFound); the public
tracking view shows unit names only, never staff personal data.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.query import ModelIterable
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals import permissions, public_policy, workflow
from appeals.archive import AppealArchived, archived_appeal
from appeals.deadlines import deadline_text
from appeals.enums import (
    FINAL_STATES,
    OPEN_STATES,
    AppealAction,
    AppealState,
    AttachmentKind,
    DeadlineUnit,
    HandlingLevel,
    QueueLevel,
)
from appeals.models import Appeal, AppealAttachment, AppealCoHandler, AppealEvent, Category, normalize_tracking_code
from governance.enums import COMMUNITY_ROLES, AccessAction, Role
from governance.kernel import shared_cache
from governance.kernel.access import access_log_record
from governance.kernel.clock import CHINA
from governance.kernel.errors import ActionForbidden, NotFound
from governance.kernel.keyset import Sort, capped_counts, ordered
from governance.kernel.privacy import mask_name, mask_phone, phone_for_handler
from governance.staff.selectors import Jurisdiction, jurisdiction_for
from grids.models import Community, Department, Grid, Street


def category_list(*, active_only: bool = True) -> QuerySet[Category]:
    qs = Category.objects.all()
    return qs.filter(active=True) if active_only else qs


# The states whose resolution clock runs: an appeal in them past its deadline is overdue.
OVERDUE_STATES = (AppealState.DISPATCHED, AppealState.IN_PROGRESS)


def overdue_q(now: datetime) -> Q:
    """Overdue (超期): past the resolution deadline and not resolved yet. The one rule of
    the queue, the API's filter, the tab counts and the reports' 督办 list."""
    return Q(deadline__lt=now, state__in=OVERDUE_STATES)


def late_q(now: datetime) -> Q:
    """Late (超期, as the reports count an appeal against its unit): resolved after its
    deadline, or past it and not resolved. Unlike ``overdue_q`` (the work still waiting),
    an appeal resolved late stays late."""
    return Q(resolved_at__isnull=True, deadline__lt=now) | Q(resolved_at__gt=F("deadline"))


def search_q(term: str) -> Q | None:
    """The staff search box: the tracking code, part of the phone number, or part of the
    address (in words or the building's). None for an empty term."""
    term = (term or "").strip()
    if not term:
        return None
    q = Q(address_text__icontains=term) | Q(building__address__icontains=term)
    code = normalize_tracking_code(term)
    if code:
        q |= Q(tracking_code=code)
    if term.replace("-", "").isdigit():
        q |= Q(phone__contains=term)
    return q


# --- the lists' orders (keyset pages: governance.kernel.keyset) --------------------------------------

# Each offered order has its index on (column, id) (Appeal.Meta: appeal_deadline_id, appeal_created_id),
# which serves it in both directions. Appeals without a deadline (waiting for dispatch) come
# after every deadline, soonest first, and before them latest first.
APPEAL_SORTS = {
    sort.key: sort
    for sort in (
        Sort("deadline", "deadline", nullable=True, label=gettext_lazy("办结期限最近在前")),
        Sort("-deadline", "deadline", descending=True, nullable=True, label=gettext_lazy("办结期限最远在前")),
        Sort("-created_at", "created_at", descending=True, label=gettext_lazy("最新受理在前")),
        Sort("created_at", "created_at", label=gettext_lazy("最早受理在前")),
    )
}
QUEUE_SORT = "deadline"  # a worker's queue: the most urgent first
BROWSE_SORT = "-created_at"  # browsing a scope (supervisors), and the API's list


def appeal_sort(key: str | None, *, default: str) -> Sort:
    """The offered order named ``key`` (callers' forms have checked it), else ``default``."""
    return APPEAL_SORTS.get(key or default) or APPEAL_SORTS[default]


def appeal_scope(jurisdiction: Jurisdiction, *, street: str | None = None,
                 community: str | None = None) -> QuerySet[Appeal]:
    """Every appeal the account may see: its place lies under one of the account's code
    prefixes, or it is routed or whistled to one of the account's departments.

    ``street``, ``community`` (codes, the API's ``?street=``/``?community=``): only that
    unit's appeals, by its key (Appeal.street, Appeal.community). Where the account's
    prefixes cover the unit, every appeal of it is in scope, so the key alone says it:
    given the prefix as well, PostgreSQL takes the two for independent, expects a handful
    of rows and reads the whole unit to sort it, where appeal_comm_state_created /
    appeal_street_state_created give a page in order."""
    qs = Appeal.objects.all()
    units = {"street_id": street, "community_id": community}
    for key, code in units.items():
        if code is not None:
            qs = qs.filter(**{key: code})
    if any(code is not None and jurisdiction.covers(code) for code in units.values()):
        return qs
    if jurisdiction.everything:
        return qs
    q = jurisdiction.code_q("territory_code")
    if jurisdiction.department_ids:
        depts = list(jurisdiction.department_ids)
        q |= Q(handling_department_id__in=depts) | Q(
            Exists(AppealCoHandler.objects.filter(appeal=OuterRef("pk"), department_id__in=depts))
        )
    return qs.filter(q)


def appeal_get(*, jurisdiction: Jurisdiction, tracking_code: str) -> Appeal:
    """One appeal by tracking code, or NotFound (also outside the jurisdiction);
    AppealArchived (404 with its year) for an archived one within it (appeals.archive)."""
    code = normalize_tracking_code(tracking_code)
    appeal = listed(appeal_scope(jurisdiction)).filter(tracking_code=code).first()
    if appeal is None:
        archived = archived_appeal(code)
        if archived and (jurisdiction.covers(archived.territory_code)
                         or archived.handling_department_id in jurisdiction.department_ids):
            raise AppealArchived(archived.year)
        raise NotFound()
    return appeal


def appeal_photo(*, jurisdiction: Jurisdiction, tracking_code: str, pk: int) -> AppealAttachment:
    """A photo of an appeal the account sees, or NotFound: photos are served only through
    this check (the page's and the API's photo views), never from a public /media/ URL."""
    appeal = appeal_get(jurisdiction=jurisdiction, tracking_code=tracking_code)
    attachment = appeal.attachments.filter(pk=pk).first()
    if attachment is None:
        raise NotFound()
    return attachment


def _queue_q(jurisdiction: Jurisdiction) -> Q:
    """The appeals the account's units handle, or that wait in their dispatch queue."""
    q = Q(pk__in=[])
    for post in jurisdiction.posts:
        if post.role == Role.GRID_WORKER:
            q |= Q(handling_grid_id=post.grid.code)
            # 核查: resolved appeals of the grid wait for the grid worker on site.
            q |= Q(workflow.NEEDS_VERIFICATION_Q, grid_id=post.grid.code, state=AppealState.RESOLVED, verified=False)
        elif post.role in COMMUNITY_ROLES:
            q |= Q(handling_community_id=post.community.code)
            # The handling grid always lies in the appeal's community (dispatch checks it).
            q |= Q(handling_level=HandlingLevel.GRID, community_id=post.community.code)
            q |= Q(state=AppealState.RECEIVED, queue_level=QueueLevel.COMMUNITY, community_id=post.community.code)
            # Feedback by call or visit for appeals without a mobile number.
            q |= Q(state=AppealState.RESOLVED, community_id=post.community.code)
        elif post.role == Role.STREET_OFFICER:
            q |= Q(handling_street_id=post.street.code)
            q |= Q(state=AppealState.RECEIVED, street_id=post.street.code)
        elif post.role == Role.DEPARTMENT_HANDLER:
            q |= Q(handling_department_id=post.department_id)
            q |= Q(Exists(AppealCoHandler.objects.filter(appeal=OuterRef("pk"), department_id=post.department_id)))
    return q


def appeal_queue(
    *, jurisdiction: Jurisdiction, state: str | None = None, category: Category | int | None = None,
    grid: str | None = None, overdue: bool | None = None, search: str | None = None,
    date_from: date | None = None, date_to: date | None = None, now: datetime | None = None,
    sort: str | None = None,
) -> QuerySet[Appeal]:
    """The worker dashboard's queue: appeals the account's units handle or must dispatch,
    verify or give feedback on (a supervisor's queue is empty: it reads through
    ``appeal_scope``).

    Filters: ``state`` (default: the open states), ``category`` (object or id), ``grid``
    (grid code of the place), ``overdue`` (True: the resolution deadline has passed and
    the appeal is not resolved yet; False: not overdue), ``search`` (tracking code,
    phone, or part of the address), ``date_from``/``date_to`` (received on, inclusive,
    China time). Ordered by ``sort`` (one of APPEAL_SORTS; default: the deadline, soonest
    first, none last, then the id). The appeals come with their category, place and
    handling unit (``with_units``).
    """
    qs = appeal_scope(jurisdiction).filter(_queue_q(jurisdiction))
    qs = qs.filter(state=state) if state else qs.filter(state__in=OPEN_STATES)
    qs = _dashboard_filters(qs, category=category, grid=grid, overdue=overdue, search=search,
                            date_from=date_from, date_to=date_to, now=now or timezone.now())
    return ordered(listed(qs), appeal_sort(sort, default=QUEUE_SORT))


def is_overdue(appeal: Appeal, *, now: datetime | None = None) -> bool:
    """``overdue_q`` for one appeal in memory."""
    now = now or timezone.now()
    return bool(appeal.deadline and appeal.deadline < now and appeal.state in OVERDUE_STATES)


def appeal_timeline(appeal: Appeal) -> list[AppealEvent]:
    """The appeal's events, oldest first, with their photos."""
    return list(appeal.events.select_related("actor").prefetch_related("attachments").order_by("created_at", "id"))


def appeal_co_handlers(appeal: Appeal) -> list[AppealCoHandler]:
    return list(appeal.co_handlers.select_related("department"))


# --- the resident's personal data (个人信息保护法) ----------------------------------------------


@dataclass(frozen=True)
class ResidentContact:
    """What one viewer sees of the resident who raised an appeal."""

    phone: str
    name: str
    full: bool  # the full number and name (the view is in the access log)
    # 匿名: the phone is masked for this viewer, who may still reveal it (resident_phone_reveal).
    revealable: bool = False


def sees_resident(*, user, appeal: Appeal, jurisdiction: Jurisdiction | None = None) -> bool:
    """The one rule of who sees the resident's full phone and name (the minimum necessary):
    while the appeal is open, whoever takes part in handling it — a post of the handling
    unit, the queue's keeper, the appeal's own street, community or grid, a whistled
    department (appeals.permissions.takes_part) — and the volunteer who claimed it.
    Nobody else: not read-only posts (supervisors), not departments it was never sent
    to, and nobody once the appeal has left the workflow (closed, declined, withdrawn)."""
    if appeal.state not in OPEN_STATES:
        return False
    if permissions.is_claimant(user, appeal):
        return True
    jurisdiction = jurisdiction or jurisdiction_for(user)
    if not permissions.is_visible(jurisdiction, appeal):
        return False
    return any(permissions.takes_part(post, appeal) for post in jurisdiction.acting_posts)


def masked_contact(appeal: Appeal) -> ResidentContact:
    """The resident as lists, exports and everyone outside the rule see them."""
    name = appeal.display_name if appeal.anonymous or not appeal.name else mask_name(appeal.name)
    return ResidentContact(phone=mask_phone(appeal.phone), name=name, full=False)


def resident_contact(*, user, appeal: Appeal, jurisdiction: Jurisdiction | None = None,
                     request=None) -> ResidentContact:
    """The resident's phone and name as this viewer may see them, for the staff page, the
    API, exports and the volunteers' pages alike; a full view is written to the access
    log (who saw whose personal data, when, from where)."""
    if sees_resident(user=user, appeal=appeal, jurisdiction=jurisdiction):
        if appeal.anonymous:
            # 匿名 (governance.kernel.privacy.phone_for_handler): the name was never kept, the
            # phone is masked until revealed; nothing personal is shown, nothing is logged.
            phone = phone_for_handler(appeal.phone, anonymous=True)
            return ResidentContact(phone=phone, name=appeal.display_name, full=False,
                                   revealable=bool(appeal.phone))
        if appeal.phone or appeal.name:
            access_log_record(user=user, action=AccessAction.VIEW, subject=f"appeal:{appeal.tracking_code}",
                              request=request)
        return ResidentContact(phone=appeal.phone, name=appeal.display_name, full=True)
    return masked_contact(appeal)


def resident_phone_reveal(*, user, appeal: Appeal, jurisdiction: Jurisdiction | None = None, request=None) -> str:
    """"拨打/显示号码" on an anonymous appeal (or any other): the full phone to whoever may
    contact the resident (sees_resident), written to the access log as a view of the
    appeal's phone; ActionForbidden for anyone else who sees the appeal (callers have
    found it within the jurisdiction)."""
    if not sees_resident(user=user, appeal=appeal, jurisdiction=jurisdiction):
        raise ActionForbidden(_("只有参与办理的工作人员在办理期间可以查看居民的联系电话。"))
    if not appeal.phone:
        raise NotFound(_("该诉求没有联系电话。"))
    access_log_record(user=user, action=AccessAction.VIEW, subject=f"appeal:{appeal.tracking_code}:phone",
                      request=request)
    return appeal.phone


# --- the public tracking page -------------------------------------------------------------------

# What a resident sees of each step: the action and the unit, plus the text meant for them
# (a correction of the deadline says old → new and why, written by the system).
_PUBLIC_NOTE_ACTIONS = {AppealAction.DECLINE, AppealAction.RESOLVE, AppealAction.WITHDRAW, AppealAction.EVALUATE, AppealAction.DEADLINE_CORRECT, AppealAction.SUPPLEMENT,
                        # 提交议事: the meeting's type, topic, time and place (public on its 公示 page too)
                        AppealAction.DELIBERATE}
# The resident's own photos (at submission and 补充), and the result's once the result is told.
RESIDENT_PHOTO_KINDS = (AttachmentKind.INTAKE, AttachmentKind.SUPPLEMENT)
RESULT_SHOWN_STATES = (AppealState.AWAITING_EVALUATION, AppealState.CLOSED)


@dataclass(frozen=True)
class TrackStep:
    at: datetime
    action: str
    action_label: str
    unit: str  # "居民", "系统" or the unit's name — never a staff member's name
    state: str
    state_label: str
    note: str


@dataclass(frozen=True)
class TrackView:
    tracking_code: str
    state: str
    state_label: str
    category: str
    description: str
    handling_unit: str
    created_at: datetime
    deadline: datetime | None
    deadline_text: str  # appeals.deadlines.deadline_text: "12月15日（周二）24:00"
    result: str
    rating: str
    can_evaluate: bool
    can_withdraw: bool
    version: int
    steps: tuple[TrackStep, ...]
    point: tuple[float, float] | None = None  # the place on the small map (Appeal.map_point)
    place: str = ""
    photos: tuple[int, ...] = ()  # the resident's photo ids (appeals.selectors.resident_photo serves them)
    result_photos: tuple[int, ...] = ()  # the 办结 photos, once the result is told
    rating_label: str = ""
    solved: bool | None = None
    evaluation_comment: str = ""
    can_supplement: bool = False


def appeal_track(*, tracking_code: str, phone_last4: str) -> TrackView:
    """The public tracking view of one appeal by tracking code + the phone's last 4
    digits; NotFound("查询码或手机号后四位不正确。") otherwise. Callers throttle guesses."""
    from appeals.services import appeal_for_resident

    appeal = appeal_for_resident(tracking_code=tracking_code, phone_last4=phone_last4)
    events = appeal.events.order_by("created_at", "id")
    result_shown = appeal.state in RESULT_SHOWN_STATES
    photos, result_photos = [], []
    for pk, kind in appeal.attachments.order_by("created_at", "id").values_list("pk", "kind"):
        if kind in RESIDENT_PHOTO_KINDS:
            photos.append(pk)
        elif kind == AttachmentKind.RESULT and result_shown:
            result_photos.append(pk)
    steps = tuple(
        TrackStep(
            at=e.created_at, action=e.action, action_label=str(AppealAction(e.action).label),
            unit=_public_unit(e.actor_label), state=e.to_state, state_label=str(AppealState(e.to_state).label),
            note=e.note if e.action in _PUBLIC_NOTE_ACTIONS else "",
        )
        for e in events
    )
    return TrackView(
        tracking_code=appeal.tracking_code, state=appeal.state, state_label=appeal.get_state_display(),
        category=str(appeal.category) if appeal.category else "", description=appeal.description,
        handling_unit=appeal.handling_unit_name, created_at=appeal.created_at, deadline=appeal.deadline,
        deadline_text=deadline_text(appeal), result=appeal.result if result_shown else "",
        rating=appeal.rating, can_evaluate=appeal.state == AppealState.AWAITING_EVALUATION,
        can_withdraw=appeal.state in workflow.sources(AppealAction.WITHDRAW), version=appeal.version, steps=steps,
        point=appeal.map_point, place=appeal.address_text or appeal.place_name,
        photos=tuple(photos), result_photos=tuple(result_photos),
        rating_label=appeal.get_rating_display() if appeal.rating else "", solved=appeal.solved,
        evaluation_comment=appeal.evaluation_comment,
        can_supplement=appeal.state in workflow.sources(AppealAction.SUPPLEMENT),
    )


def resident_photo(*, tracking_code: str, phone_last4: str, pk: int) -> AppealAttachment:
    """A photo of the resident's own appeal, as the tracking page shows them: their own
    (at submission and 补充) and, once the result is told, the 办结 photos; NotFound for
    anything else. Callers have checked the resident's proof (the tracking code and
    the digits, or the phone's one-time code)."""
    from appeals.services import appeal_for_resident

    appeal = appeal_for_resident(tracking_code=tracking_code, phone_last4=phone_last4)
    kinds = RESIDENT_PHOTO_KINDS + ((AttachmentKind.RESULT,) if appeal.state in RESULT_SHOWN_STATES else ())
    attachment = appeal.attachments.filter(pk=pk, kind__in=kinds).first()
    if attachment is None:
        raise NotFound()
    return attachment


def _public_unit(actor_label: str) -> str:
    # Staff labels are "unit·role": the resident sees the unit.
    return actor_label.split("·", 1)[0]


def appeal_possible_duplicates(*, building, category, limit: int = 3, public_only: bool = False) -> list[Appeal]:
    """Open appeals at the same building in the same category (the intake forms' hint);
    ``public_only``: only those the public may see (the residents' form, appeals.public_policy)."""
    if building is None or category is None:
        return []
    qs = Appeal.objects.filter(building=building, category=category, state__in=OPEN_STATES)
    if public_only:
        qs = qs.filter(public_policy.public_q())
    return list(qs.order_by("-created_at")[:limit])


# --- the worker dashboard: browsing the scope, tab counts, pending 报到 ----------------------------


def _dashboard_filters(
    qs: QuerySet[Appeal], *, category=None, grid: str | None = None, overdue: bool | None = None,
    search: str | None = None, date_from: date | None = None, date_to: date | None = None, now: datetime,
) -> QuerySet[Appeal]:
    # The filters of the queue, the scope browser and the tab counts.
    if category:
        qs = qs.filter(category=category)
    if grid:
        qs = qs.filter(grid_id=grid)
    if overdue is True:
        qs = qs.filter(overdue_q(now))
    elif overdue is False:
        qs = qs.exclude(overdue_q(now))
    if search and (q := search_q(search)) is not None:
        qs = qs.filter(q)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return qs


def appeal_browse(
    *, jurisdiction: Jurisdiction, state: str | None = None, now: datetime | None = None, sort: str | None = None,
    **filters,
) -> QuerySet[Appeal]:
    """Every appeal in the account's scope (read-only browsing, e.g. for supervisors, whose
    queue is empty), with appeal_queue's filters; ``state`` None means every state.
    Ordered by ``sort`` (default: newest first), with the category, place and handling
    unit as in appeal_queue."""
    qs = appeal_scope(jurisdiction)
    if state:
        qs = qs.filter(state=state)
    qs = _dashboard_filters(qs, now=now or timezone.now(), **filters)
    return ordered(listed(qs), appeal_sort(sort, default=BROWSE_SORT))


def queue_counts(*, jurisdiction: Jurisdiction, browse: bool = False, now: datetime | None = None, **filters) -> dict:
    """The dashboard's tab counts: {"states": {state: n}, "open": n, "overdue": n} for the
    account's queue (or its whole scope with ``browse``), under the same filters as the
    list (except the state, which the tabs choose).

    Nothing here grows with the years:
    - the final states (closed, declined, withdrawn), which only grow and which no one
      works on, are capped counts (governance.kernel.keyset.capped_count: at most
      COUNT_CAP + 1 rows read each, shown as "1万+" above COUNT_CAP) — a grid worker's
      已办结 tab costs the same in the tenth year as in the first; browsing, they are
      also kept in the shared cache for QUEUE_FINAL_COUNTS_SECONDS;
    - a worker's open states and overdue count are exact, in one grouped query: they are
      the work waiting, which leaves the queue as it is done;
    - browsing a scope (a city's supervisor), the open states and the overdue count are
      capped too, each in its branch of one query: a city's backlog is a scope's size,
      not a page's."""
    now = now or timezone.now()
    qs = appeal_scope(jurisdiction)
    if not browse:
        qs = qs.filter(_queue_q(jurisdiction))
    qs = _dashboard_filters(qs, now=now, **filters).order_by()
    final_parts = {state: qs.filter(state=state) for state in FINAL_STATES}
    if browse:
        open_parts = {state: qs.filter(state=state) for state in OPEN_STATES}
        open_parts["overdue"] = qs.filter(overdue_q(now))
        found = capped_counts(open_parts)
        overdue = found.pop("overdue")
    else:
        found, overdue = {}, 0
        # Counting the state and the deadline (never null where the filter holds), not the
        # id: they are in an index, the id is not, so PostgreSQL can count from the index alone.
        rows = qs.filter(state__in=OPEN_STATES).values("state").annotate(
            n=Count("state"), late=Count("deadline", filter=overdue_q(now)))
        for row in rows:
            found[row["state"]] = row["n"]
            overdue += row["late"]
    found.update(_final_counts(final_parts, cached=browse))
    states = {state: found.get(state, 0) for state in AppealState.values}
    return {"states": states, "open": sum(states[s] for s in OPEN_STATES), "overdue": overdue}


def _final_counts(parts: dict[str, QuerySet[Appeal]], *, cached: bool) -> dict:
    seconds = settings.QUEUE_FINAL_COUNTS_SECONDS
    if not cached or not seconds:
        return capped_counts(parts)
    # The queries themselves are the key (the same scope and filters, the same counts), and
    # the database's name: two databases (the benchmark's tiers) may share a cache.
    name = repr((connection.settings_dict["NAME"], [str(qs.query) for qs in parts.values()]))
    key = "appeals:queue-final-counts:" + hashlib.sha256(name.encode()).hexdigest()
    found = shared_cache.get(key, what="queue counts")
    if found is None:
        found = capped_counts(parts)
        shared_cache.put(key, found, seconds, what="queue counts")
    return found


def pending_checkins(*, jurisdiction: Jurisdiction, appeal_ids) -> set[int]:
    """Of ``appeal_ids``, those whistled to one of the account's departments that has not
    checked in (报到) yet — one query for a whole page of the queue."""
    if not jurisdiction.department_ids:
        return set()
    return set(
        AppealCoHandler.objects.filter(
            appeal_id__in=list(appeal_ids), department_id__in=jurisdiction.department_ids, checked_in_at__isnull=True,
        ).values_list("appeal_id", flat=True)
    )


# --- the place and the handling unit of listed appeals ----------------------------------------------

# The relations the staff pages show of an appeal besides its category: its place and the unit
# handling it (a handling grid with its community, for the unit's name).
_UNIT_FIELDS = ("grid", "handling_grid", "community", "handling_community", "street", "handling_street",
                "handling_department")
# Joined into the appeal query: PostgreSQL plans this chain in about a millisecond at city scale,
# and the grid's community and street are most often the appeal's own and its handling unit's.
_LIST_RELATED = ("category", "grid__community__street", "building")


def with_units(appeals: list[Appeal]) -> list[Appeal]:
    """Fill the place (street, community, grid) and the handling unit (grid with its community,
    community, street, department) of ``appeals`` in place, as select_related would: from the
    relations already read with them (``_LIST_RELATED``), then at most one small query each for
    the grids, communities, streets and departments still missing.

    Joining all nine relations into the appeal query instead makes PostgreSQL spend 7–15 ms
    planning the join order at city scale, many times what the query takes to run. Returns
    ``appeals``."""
    units = _Units()
    for appeal in appeals:
        units.add_grid(_cached(appeal, "grid"))
        units.add_community(_cached(appeal, "community"))

    def missing(known: dict, *fields) -> set:
        return {v for a in appeals for f in fields if (v := getattr(a, f"{f}_id")) is not None} - known.keys()

    for grid in _by_code(Grid.objects.select_related("community__street"),
                         missing(units.grids, "grid", "handling_grid")):
        units.add_grid(grid)
    for community in _by_code(Community.objects.select_related("street"),
                              missing(units.communities, "community", "handling_community")):
        units.add_community(community)
    for street in _by_code(Street.objects.all(), missing(units.streets, "street", "handling_street")):
        units.streets[street.code] = street
    if wanted := missing({}, "handling_department"):
        units.departments = {d.pk: d for d in Department.objects.filter(pk__in=wanted).order_by()}
    relations = [(Appeal._meta.get_field(name), units.of(name)) for name in _UNIT_FIELDS]
    for appeal in appeals:
        for relation, known in relations:
            key = getattr(appeal, relation.attname)
            if key is None or key in known:
                relation.set_cached_value(appeal, None if key is None else known[key])
    return appeals


@dataclass
class _Units:
    """Territory units and departments by code (departments by id), gathered for with_units."""

    grids: dict = field(default_factory=dict)
    communities: dict = field(default_factory=dict)
    streets: dict = field(default_factory=dict)
    departments: dict = field(default_factory=dict)

    def add_grid(self, grid) -> None:
        if grid is not None:
            self.grids[grid.code] = grid
            self.add_community(_cached(grid, "community"))

    def add_community(self, community) -> None:
        if community is not None:
            self.communities[community.code] = community
            if (street := _cached(community, "street")) is not None:
                self.streets[street.code] = street

    def of(self, name: str) -> dict:
        """The units an Appeal relation ``name`` (one of _UNIT_FIELDS) points to."""
        return {"grid": self.grids, "community": self.communities, "street": self.streets,
                "department": self.departments}[name.removeprefix("handling_")]


def _cached(obj, name: str):
    """The related object ``name`` of ``obj`` if it was read with it, else None (no query)."""
    relation = obj._meta.get_field(name)
    return relation.get_cached_value(obj) if relation.is_cached(obj) else None


def _by_code(qs: QuerySet, codes: set) -> list:
    return list(qs.filter(code__in=codes).order_by()) if codes else []


class _WithUnits(ModelIterable):
    """Appeals read with ``_LIST_RELATED``, then ``with_units`` for all the rows at once
    (per chunk of ``QuerySet.iterator()``, which streams)."""

    def __iter__(self):
        rows = super().__iter__()
        if not self.chunked_fetch:
            yield from with_units(list(rows))
            return
        while chunk := list(islice(rows, self.chunk_size)):
            yield from with_units(chunk)


def listed(qs: QuerySet[Appeal]) -> QuerySet[Appeal]:
    """``qs`` whose appeals come with their category, place and handling unit, in a fixed
    number of queries however many rows it has (``with_units``)."""
    qs = qs.select_related(*_LIST_RELATED)
    qs._iterable_class = _WithUnits
    return qs


# --- the working-day calendar --------------------------------------------------------------------


def deadlines_reaching_into(year: int) -> QuerySet[Appeal]:
    """Open appeals whose deadline depends on the working days of ``year``: received
    before the year ends, with a deadline after it begins, not counted in hours (the
    deadlines a change of the year's calendar may move; appeals.recompute)."""
    return Appeal.objects.filter(
        state__in=workflow.sources(AppealAction.DEADLINE_CORRECT),
        deadline__gt=datetime(year, 1, 1, tzinfo=CHINA), created_at__lt=datetime(year + 1, 1, 1, tzinfo=CHINA),
    ).exclude(deadline_unit=DeadlineUnit.HOURS)


@dataclass(frozen=True)
class ProvisionalYear:
    year: int
    open_appeals: int | None  # None: not counted (only whether there are any)


PROVISIONAL_CACHE_KEY = "appeals:calendar-provisional"
PROVISIONAL_CACHE_SECONDS = 300


def calendar_provisional_years(*, now: datetime | None = None, count: bool = True) -> list[ProvisionalYear]:
    """The years from last year to next year whose working days are still the law's
    estimate (appeals.workdays.is_provisional) and that hold open deadlines: what the
    admin's and supervisors' home, /healthz and the admin warn about. With ``count``, how
    many open appeals reach into each (kept in the shared cache for a few minutes: the
    count runs over every open deadline of the year); without, only whether any does."""
    from appeals.workdays import is_provisional, load_official_years

    now = now or timezone.now()
    this = now.astimezone(CHINA).year
    official = load_official_years()
    years = [y for y in (this - 1, this, this + 1) if is_provisional(y, official_years=official)]
    if not years:
        return []
    if not count:
        return [ProvisionalYear(y, None) for y in years if deadlines_reaching_into(y).exists()]
    key = f"{PROVISIONAL_CACHE_KEY}:{'-'.join(map(str, years))}"
    cached = shared_cache.get(key, what="provisional calendar years")
    if cached is not None:
        return [ProvisionalYear(y, n) for y, n in cached]
    counted = [(y, deadlines_reaching_into(y).count()) for y in years]
    counted = [(y, n) for y, n in counted if n]
    shared_cache.put(key, counted, PROVISIONAL_CACHE_SECONDS, what="provisional calendar years")
    return [ProvisionalYear(y, n) for y, n in counted]

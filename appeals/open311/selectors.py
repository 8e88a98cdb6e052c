"""Public reads for Open311 (DESIGN.md §8): services and service requests.

GET requests is public. What of which appeal it shows is appeals.public_policy's: only
public appeals (a public category; the resident's own or with consent; not declined or
withdrawn), every list — by ids too — within 90 days and 1,000 rows, the 公开摘要 as the
description, the street and 小区 as the address, the point rounded to about 100 m, the
photos marked public, the state as the status notes. No reporter's name, phone or e-mail
is ever part of a response.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from appeals import public_policy
from appeals.enums import AppealState
from appeals.models import Appeal, AppealAttachment, Category
from appeals.open311.models import Open311Request, ServiceAttribute
from governance.kernel.params import MAX_YEAR, MIN_YEAR, QueryForm, QueryText

MAX_RECORDS = public_policy.MAX_RECORDS
DEFAULT_WINDOW = public_policy.WINDOW

# closed = the appeal's story has ended for the resident; everything else is open
# (a resolved appeal stays open until the resident evaluates it or it closes unevaluated).
CLOSED_STATES = frozenset({AppealState.CLOSED, AppealState.DECLINED, AppealState.WITHDRAWN})
STATUS_OPEN, STATUS_CLOSED = "open", "closed"

_RELATED = (
    "category", "building", "street", "community", "handling_grid__community", "handling_community", "handling_street",
    "handling_department",
)


class QueryError(ValueError):
    """A bad query parameter (400); the message says which."""


# --- services ------------------------------------------------------------------------


def _active_categories() -> QuerySet[Category]:
    return Category.objects.filter(active=True).order_by("code")


def _service(category: Category, has_attributes: bool) -> dict:
    description = _("%(cls)s · %(name)s（%(type)s类，办结时限 %(limit)s）") % {
        "cls": category.class_name, "name": category.name,
        "type": category.get_type_display(), "limit": category.limit_label,
    }
    if not category.public:
        description += _("本类诉求涉及个人，不公开：可以提交，不出现在 GET requests 中。")
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": description,
        "metadata": has_attributes,
        "type": "realtime",
        "keywords": f"{category.class_name},{category.get_type_display()}",
        "group": category.class_name,
    }


def service_list() -> list[dict]:
    """Every active category as a service (two queries)."""
    with_attributes = set(ServiceAttribute.objects.values_list("category_id", flat=True).distinct())
    return [_service(c, c.pk in with_attributes) for c in _active_categories()]


def category_for_code(code: str) -> Category | None:
    code = (code or "").strip()
    if not code.isdigit():
        return None
    return _active_categories().filter(code=code).first()


def service_definition(category: Category) -> dict:
    """The service definition; a category without attributes has an empty list (the
    service exists, so not a 404; its metadata is false, so clients need not ask)."""
    attributes = [
        {
            "variable": a.variable,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": a.datatype_description or None,
            "order": a.order,
            "description": a.description,
            "values": [{"key": str(v.get("key")), "name": str(v.get("name", ""))}
                       for v in a.values or [] if isinstance(v, dict)],
        }
        for a in category.open311_attributes.all()
    ]
    return {"service_code": category.code, "attributes": attributes}


# --- service discovery ---------------------------------------------------------------

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]


def discovery(*, endpoint_url: str, changeset: datetime) -> dict:
    """The GeoReport service discovery document (the spec's Service Discovery page):
    one production endpoint, both formats, how to reach the operators and get a key."""
    stamp = _dt(changeset)
    return {
        "changeset": stamp,
        "contact": settings.OPEN311_CONTACT,
        "key_service": settings.OPEN311_KEY_SERVICE,
        "endpoints": [{
            "specification": SPECIFICATION, "url": endpoint_url, "changeset": stamp,
            "type": "production", "formats": FORMATS,
        }],
    }


# --- requests ------------------------------------------------------------------------


def _dt(value: datetime | None) -> str | None:
    """ISO 8601 (w3 profile) in China time with its offset, e.g. 2025-05-01T09:30:00+08:00."""
    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def public_status(state: str) -> str:
    return STATUS_CLOSED if state in CLOSED_STATES else STATUS_OPEN


def _status_notes(appeal: Appeal) -> str:
    """The state in words: never free text (a result or a reason may name people)."""
    return str(AppealState(appeal.state).label)


def _media_url(appeal: Appeal, *, base_url: str) -> str | None:
    """The first photo staff marked public, served by the public photo view."""
    photos = public_policy.public_photos(appeal)
    if not photos:
        return None
    return f"{base_url}{reverse('open311-media', kwargs={'pk': photos[0].pk})}"


def service_notice(appeal: Appeal) -> str | None:
    if appeal.category is None:
        return None
    return _("本类诉求办结时限为 %(limit)s。") % {"limit": appeal.category.limit_label}


def request_row(appeal: Appeal, *, base_url: str = "") -> dict:
    """One public appeal as a GeoReport service request (appeals.public_policy decides
    every field a person could be found by); nothing of the reporter."""
    lat, long = public_policy.public_point(appeal)
    return {
        "service_request_id": str(appeal.pk),
        "status": public_status(appeal.state),
        "status_notes": _status_notes(appeal),
        "service_name": appeal.category.name if appeal.category else None,
        "service_code": appeal.category.code if appeal.category else None,
        "description": public_policy.public_description(appeal),
        "agency_responsible": appeal.handling_unit_name or None,
        "service_notice": service_notice(appeal),
        "requested_datetime": _dt(appeal.created_at),
        # Every transition stamps updated_at; nothing changes a closed appeal, so for
        # closed requests it is the closing time, as the spec wants.
        "updated_datetime": _dt(appeal.updated_at),
        "expected_datetime": _dt(appeal.deadline),
        "address": public_policy.public_address(appeal) or None,
        # The building would point at a few dozen households: never published.
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": long,
        "media_url": _media_url(appeal, base_url=base_url),
    }


def _appeals() -> QuerySet[Appeal]:
    """The appeals the public may see, with what their rows need (a bounded number of queries)."""
    photos = AppealAttachment.objects.filter(public=True).order_by("created_at", "id")
    return (
        Appeal.objects.filter(public_policy.public_q()).select_related(*_RELATED)
        .prefetch_related(Prefetch("attachments", queryset=photos, to_attr="public_photo_list"))
        .order_by("-created_at", "-id")
    )


def appeal_for_request_id(request_id: str) -> Appeal | None:
    request_id = (request_id or "").strip()
    if not request_id.isdigit() or len(request_id) > 18:
        return None
    return _appeals().filter(pk=int(request_id)).first()


def request_id_for_token(token: str) -> str | None:
    """Requests are realtime: POST answers the service_request_id at once, so a token is
    never needed. For clients that ask anyway, a public request filed through Open311
    answers to its own service_request_id as token."""
    token = (token or "").strip()
    if not token.isdigit() or len(token) > 18:
        return None
    found = Open311Request.objects.filter(
        appeal_id=int(token), appeal__in=Appeal.objects.filter(public_policy.public_q()),
    ).values_list("appeal_id", flat=True).first()
    return str(found) if found is not None else None


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def parse_w3_datetime(value: str, *, field: str, end: bool = False) -> datetime:
    """A w3 (ISO 8601) date or date-time. A date means that day in China time (its
    start, or its end for end_date); a date-time without an offset is China time too."""
    text = value.strip()
    # An unencoded "+08:00" in a query string arrives as " 08:00".
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    parsed = None
    try:
        # A date first: parse_datetime would read "2025-05-01" as its midnight.
        day = parse_date(text) if len(text) == 10 else None
        if day is not None:
            parsed = datetime.combine(day, datetime.max.time() if end else datetime.min.time())
        else:
            parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise QueryError(
            _("%(f)s“%(v)s”不是有效的 ISO 8601 时间，例如 2025-05-01T00:00:00+08:00。") % {"f": field, "v": value[:40]}
        )
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        # A 90-day window from 9999-12-31 ends past any date Python can hold.
        raise QueryError(_("%(f)s 须在 %(a)s 年至 %(b)s 年之间。") % {"f": field, "a": MIN_YEAR, "b": MAX_YEAR})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@dataclass(frozen=True)
class RequestQuery:
    by_id: bool = False
    service_request_ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()


class RequestQueryForm(QueryForm):
    """GET requests' parameters as text within bounds (governance.kernel.params: no NUL,
    a length a real query has); parse_request_query reads their meaning."""

    service_request_id = QueryText(max_length=MAX_RECORDS * 20)
    service_code = QueryText(max_length=2000)
    start_date = QueryText(max_length=40)
    end_date = QueryText(max_length=40)
    status = QueryText(max_length=20)


def parse_request_query(params, *, now: datetime | None = None) -> RequestQuery:
    """The GET requests parameters, checked. Empty parameters count as absent.
    Raises BadQuery or QueryError (400) for a NUL or an overlong value, a bad date or one
    outside the years the portal knows, a span over 90 days, or an unknown status."""
    params = RequestQueryForm.parse(params)
    ids = _split(params.get("service_request_id"))
    if ids:
        # "This overrides all other arguments" — not the public policy: the ids asked for
        # are capped like the rows, and only those of the last 90 days are answered.
        if len(ids) > MAX_RECORDS:
            raise QueryError(_("service_request_id 一次最多 %(n)s 个，收到 %(m)s 个。") % {"n": MAX_RECORDS, "m": len(ids)})
        start, end = public_policy.public_window(now=now)
        return RequestQuery(by_id=True, service_request_ids=tuple(int(i) for i in ids if i.isdigit() and len(i) <= 18),
                            start=start, end=end)
    statuses = tuple(s.lower() for s in _split(params.get("status")))
    unknown = [s for s in statuses if s not in (STATUS_OPEN, STATUS_CLOSED)]
    if unknown:
        raise QueryError(_("status 只能是 open 或 closed（可用逗号分隔），收到“%(v)s”。") % {"v": unknown[0][:20]})
    start_raw, end_raw = (params.get("start_date") or "").strip(), (params.get("end_date") or "").strip()
    start = parse_w3_datetime(start_raw, field="start_date") if start_raw else None
    end = parse_w3_datetime(end_raw, field="end_date", end=True) if end_raw else None
    if start and end:
        if end < start:
            raise QueryError(_("end_date 不能早于 start_date。"))
        if end - start > DEFAULT_WINDOW:
            raise QueryError(_("start_date 与 end_date 的间隔不能超过 90 天。"))
    start, end = public_policy.public_window(start=start, end=end, now=now)
    return RequestQuery(
        service_codes=tuple(_split(params.get("service_code"))), start=start, end=end, statuses=statuses,
    )


def request_list(query: RequestQuery, *, base_url: str = "") -> list[dict]:
    """At most 1,000 public requests of the query's window, newest first (a bounded
    number of queries); by ids, those of the last 90 days."""
    qs = _appeals().filter(created_at__gte=query.start, created_at__lte=query.end)
    if query.by_id:
        qs = qs.filter(pk__in=query.service_request_ids)
    else:
        if query.service_codes:
            qs = qs.filter(category__code__in=query.service_codes)
        if set(query.statuses) == {STATUS_CLOSED}:
            qs = qs.filter(state__in=CLOSED_STATES)
        elif set(query.statuses) == {STATUS_OPEN}:
            qs = qs.exclude(state__in=CLOSED_STATES)
    return [request_row(a, base_url=base_url) for a in qs[:MAX_RECORDS]]

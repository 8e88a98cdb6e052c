"""Open311 writes: API keys, and filing a request through the appeals intake service."""

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import ratelimit
from appeals.enums import Source
from appeals.models import Appeal, Category
from appeals.open311 import locations, selectors
from appeals.open311.enums import AttributeType
from appeals.open311.models import ApiKey, Open311Request, ServiceAttribute, ServicesChange, hash_key
from appeals.services import appeal_receive
from governance.kernel.errors import ActionForbidden, ApplicationError, NotFound
from grids.models import Street
from grids.validators import normalize_phone

logger = logging.getLogger(__name__)
_LATIN = re.compile(r"[A-Za-z]")


class LocationNotFound(ApplicationError):
    """No location parameter named a building: 400, one message per parameter."""

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


# --- API keys --------------------------------------------------------------------------


def api_key_create(*, name: str) -> tuple[ApiKey, str]:
    """Issue a key; returns (the row, the raw key). Only the key's SHA-256 is kept."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("请填写密钥名称（如使用方的应用名）。"))
    if len(name) > 100:
        raise ApplicationError(_("密钥名称不能超过 100 个字。"))
    return ApiKey.issue(name=name)


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    key.revoke()
    return key


def api_key_authenticate(raw: str | None) -> ApiKey:
    """The active key for ``raw``, or ActionForbidden (403) for a missing, unknown or
    revoked key. Records when the key was last used."""
    raw = (raw or "").strip()
    if not raw:
        raise ActionForbidden(_("缺少 api_key：提交诉求须提供有效的接口密钥。"))
    key = ApiKey.objects.filter(key_hash=hash_key(raw), revoked_at__isnull=True).first()
    if key is None:
        raise ActionForbidden(_("api_key 无效或已被吊销，无法提交诉求。"))
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
    return key


def check_key_rate(*, key: ApiKey) -> None:
    """Raise RateLimited (429) once a key files more than OPEN311_RATE_PER_KEY."""
    if not ratelimit.hit("open311-key", str(key.pk), ratelimit.Rate.parse(settings.OPEN311_RATE_PER_KEY)):
        raise ratelimit.RateLimited(_("该 api_key 提交过于频繁，请稍后再试。"))


# --- the discovery document's changeset -------------------------------------------------


def services_changeset() -> datetime:
    """When the services were first seen as they are now: the latest ServicesChange,
    or a new one when the services' fingerprint (the services list and every attribute,
    as published) differs from it. A write on a read, at most once per change."""
    published = [selectors.service_list(), list(
        ServiceAttribute.objects.filter(category__active=True).order_by("category_id", "order", "id").values_list(
            "category_id", "code", "order", "description", "datatype", "datatype_description", "required",
            "variable", "values",
        )
    )]
    fingerprint = hashlib.sha256(json.dumps(published, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()
    latest = ServicesChange.objects.order_by("-id").first()
    if latest is None or latest.fingerprint != fingerprint:
        latest = ServicesChange.objects.create(fingerprint=fingerprint)
    return latest.seen_at


# --- intake ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestInput:
    """What a client POSTs (form-encoded); empty values count as absent."""

    service_code: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    media_url: str = ""
    attributes: dict | None = None


def _full_name(first: str, last: str) -> str:
    first, last = first.strip(), last.strip()
    if _LATIN.search(first + last):
        return " ".join(p for p in (first, last) if p)
    # Chinese order: family name first, no space (last_name is the family name).
    return f"{last}{first}"


def _clean_attributes(category: Category, given: dict) -> dict:
    """Check the values against the service definition (required ones present, list
    values among the keys); attributes the definition does not name are kept as sent."""
    given = {str(k)[:50]: v for k, v in (given or {}).items()}
    for attribute in category.open311_attributes.all():
        value = given.get(attribute.code)
        values = [v for v in (value if isinstance(value, list) else [value]) if v not in (None, "")]
        if not values:
            if attribute.required and attribute.variable:
                raise ApplicationError(
                    _("缺少必填属性 attribute[%(c)s]（%(d)s）。") % {"c": attribute.code, "d": attribute.description}
                )
            continue
        if attribute.datatype in (AttributeType.SINGLE, AttributeType.MULTI):
            if attribute.datatype == AttributeType.SINGLE and len(values) > 1:
                raise ApplicationError(_("属性 attribute[%(c)s] 只能选一项。") % {"c": attribute.code})
            bad = [v for v in values if str(v) not in attribute.keys]
            if bad:
                raise ApplicationError(
                    _("属性 attribute[%(c)s] 的值“%(v)s”不在可选范围内。") % {"c": attribute.code, "v": str(bad[0])[:40]}
                )
        elif attribute.datatype == AttributeType.NUMBER:
            try:
                float(values[0])
            except (TypeError, ValueError):
                raise ApplicationError(_("属性 attribute[%(c)s] 须为数字。") % {"c": attribute.code}) from None
    return {
        k: [str(x)[:1000] for x in v][:20] if isinstance(v, list) else str(v)[:1000]
        for k, v in given.items()
    }


def fallback_street() -> Street | None:
    """The street of OPEN311_FALLBACK_STREET, or None when unset (or since deleted: the
    start-up check reports a code that names no street)."""
    code = settings.OPEN311_FALLBACK_STREET
    if not code:
        return None
    street = Street.objects.filter(code=code).first()
    if street is None:
        logger.error("OPEN311_FALLBACK_STREET=%r names no street; 地址不明 requests are refused.", code)
    return street


def request_create(*, api_key: ApiKey, data: RequestInput) -> Appeal:
    """File an Open311 service request as an appeal.

    Steps: 1. the key's rate (429); 2. the service (404 unknown, 400 missing); 3. the
    place: a building from address_id, the point of lat/long (grids.locate: the grid
    whose boundary holds it, else the nearest building), or a building from
    address_string (400 naming what could not be found) — or, for an address_string that names several buildings or
    only units (地址不明), the one street it identifies, else OPEN311_FALLBACK_STREET
    (neither: 400); 4. email, media_url and attributes checked; 5. the per-phone intake
    limit shared with the web form; 6. ``appeal_receive(source=OPEN311)`` — the same
    validation, events and automatic dispatch as the web form; a 地址不明 appeal keeps its
    text and the flag and waits in its street's dispatch queue; a reported lat/long is
    kept as given — and the Open311 details, in one transaction. Returns the appeal (its
    pk is the service_request_id).
    """
    check_key_rate(key=api_key)
    code = data.service_code.strip()
    if not code:
        raise ApplicationError(_("缺少 service_code。"))
    category = Category.objects.filter(code=code, active=True).first() if code.isdigit() else None
    if category is None:
        raise NotFound(_("service_code“%(c)s”不存在。") % {"c": code[:20]})
    placement = locations.place(
        address_id=data.address_id, lat=data.lat, long=data.long, address_string=data.address_string,
    )
    street = None
    if placement.building is None and placement.location is None:
        if placement.unclear is None:
            raise LocationNotFound(placement.errors)
        street = placement.unclear.street or fallback_street()
        if street is None:
            raise LocationNotFound([
                _("address_string“%(v)s”对应多个楼栋或只到区，无法确定所属街道，诉求未提交；"
                  "请提供 address_id、lat/long，或写明街道、社区和楼栋。") % {"v": data.address_string.strip()[:60]}
            ])
    email = data.email.strip()
    if email:
        try:
            EmailValidator()(email)
        except ValidationError:
            raise ApplicationError(_("email“%(v)s”不是有效的电子邮箱。") % {"v": email[:60]}) from None
    media_url = data.media_url.strip()
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            raise ApplicationError(_("media_url 须为 http 或 https 链接。")) from None
        if len(media_url) > 1000:
            raise ApplicationError(_("media_url 不能超过 1000 个字符。"))
    attributes = _clean_attributes(category, data.attributes or {})
    try:
        phone = normalize_phone(data.phone, allow_landline=True)
    except ValidationError:
        phone = ""  # appeal_receive reports the bad number in its own words
    # Per phone as on the web form; not per address: one client app relays many residents.
    ratelimit.ensure_intake_allowed(ip=None, phone=phone or None)
    with transaction.atomic():
        latitude, longitude = placement.point or (None, None)
        appeal = appeal_receive(
            source=Source.OPEN311,
            category=category,
            building=placement.building,
            # 地址不明: the street's dispatch centre places it by hand, from the text as sent.
            street=street,
            address_text=data.address_string.strip() if street else "",
            address_unclear=street is not None,
            latitude=latitude,
            longitude=longitude,
            # The spec makes the description optional; the appeal needs one.
            description=data.description.strip() or category.name,
            phone=data.phone,
            name=_full_name(data.first_name, data.last_name),
        )
        Open311Request.objects.create(
            appeal=appeal, api_key=api_key, email=email, media_url=media_url, attributes=attributes,
        )
    ratelimit.charge_intake(ip=None, phone=phone or None)  # saved: it counts
    return appeal

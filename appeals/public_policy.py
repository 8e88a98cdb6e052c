"""What the public may see of appeals (DESIGN.md §8, 个人信息保护法): the one policy that
Open311 and every public page apply.

Which appeals (``public_q``):
- of a category flagged public (``Category.public``, off by default: family, neighbours,
  care and welfare are never published);
- filed by the resident themselves (web, API, Open311), or entered by staff with the
  resident's consent (``Appeal.public_consent``, asked by the staff intake form);
- never declined or withdrawn.

Lists (``public_window``): every list, also by ids, covers at most the last 90 days (or a
90-day span the client names), and returns at most MAX_RECORDS rows; a list asks for at
most MAX_RECORDS ids.

What of an appeal:
- the description is the 公开摘要 staff wrote or approved (``Appeal.public_summary``),
  empty until then — names cannot be found by pattern in Chinese text (马路, 高楼 and 王府井
  start with surnames), so people decide; ``redact`` runs on the summary all the same, a
  second line against what slipped through (phones with separators or in Chinese
  numerals, e-mail also as "(at)", ID and card numbers, plates, rooms, WeChat and QQ ids);
- the address is the street and the 小区, never the building, flat or the text a resident
  typed; a point is rounded to 3 decimals (about 100 m);
- photos only those staff marked public with the summary;
- the status notes are the state, never free text.

Reads are limited per client address in this process (``allow_read``): neither Redis nor a
database write per read.
"""

import re
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from appeals import ratelimit
from appeals.enums import PUBLIC_SOURCES, AppealState
from appeals.models import Appeal, AppealAttachment
from governance.kernel import local_rate

WINDOW = timedelta(days=90)
MAX_RECORDS = 1000
HIDDEN_STATES = (AppealState.DECLINED, AppealState.WITHDRAWN)
MASK = "***"


# --- which appeals -----------------------------------------------------------------------


def public_q() -> Q:
    """The appeals the public may see (any list, any lookup by id)."""
    return (
        Q(category__public=True)
        & (Q(source__in=PUBLIC_SOURCES) | Q(public_consent=True))
        & ~Q(state__in=HIDDEN_STATES)
    )


def is_public(appeal: Appeal) -> bool:
    return bool(
        appeal.category is not None and appeal.category.public
        and (appeal.source in PUBLIC_SOURCES or appeal.public_consent)
        and appeal.state not in HIDDEN_STATES
    )


def public_window(*, start: datetime | None = None, end: datetime | None = None,
                  now: datetime | None = None) -> tuple[datetime, datetime]:
    """The span a public list covers: the one asked for (at most WINDOW long), from its
    start or up to its end; by default the last WINDOW."""
    if start is not None and end is None:
        end = start + WINDOW
    elif end is not None and start is None:
        start = end - WINDOW
    elif start is None:
        end = now or timezone.now()
        start = end - WINDOW
    return start, end


# --- what of an appeal -------------------------------------------------------------------

_PUBLIC_PRECISION = Decimal("0.001")  # about 100 m of latitude


def public_coordinate(value) -> float | None:
    """A coordinate as the public may see it: rounded to 3 decimals, about 100 m."""
    if value is None:
        return None
    return float(Decimal(value).quantize(_PUBLIC_PRECISION, rounding=ROUND_HALF_UP))


def public_point(appeal: Appeal) -> tuple[float | None, float | None]:
    """Where the appeal is (Appeal.map_point: the reported point, else the building's),
    rounded (public_coordinate)."""
    point = appeal.map_point
    if point is None:
        return (None, None)
    return (public_coordinate(point[0]), public_coordinate(point[1]))


def public_address(appeal: Appeal) -> str:
    """The street and the 小区: "东华门街道，和平里小区" (the street alone without a 小区)."""
    parts = [appeal.street.name if appeal.street_id else ""]
    if appeal.building is not None:
        parts.append(appeal.building.compound)
    return "，".join(p for p in parts if p)


def public_description(appeal: Appeal) -> str:
    """The 公开摘要, redacted; empty until staff write or approve one."""
    return redact(appeal.public_summary, names=(appeal.name,))


def public_photos(appeal: Appeal) -> list[AppealAttachment]:
    """The photos staff marked public, oldest first (prefetched as ``public_photo_list``)."""
    photos = getattr(appeal, "public_photo_list", None)
    if photos is None:
        photos = list(appeal.attachments.filter(public=True).order_by("created_at", "id"))
    return photos


def public_photo(pk: int) -> AppealAttachment | None:
    """A photo the public may see: marked public, of an appeal the public may see."""
    return AppealAttachment.objects.filter(pk=pk, public=True).filter(
        appeal__in=Appeal.objects.filter(public_q())
    ).first()


# --- redaction: the second line ------------------------------------------------------------

_D = "0-9０-９〇零一二三四五六七八九幺"  # digits as typed: ASCII, full-width, Chinese numerals
_SEP = r"[\s\-‐－—.．·・()（）/／]"
# 7 or more digits with separators between them (phones, landlines, ID and card numbers);
# an ID number may end in X.
_NUMBER = re.compile(rf"\+?[{_D}](?:{_SEP}{{0,2}}[{_D}]){{6,}}(?:{_SEP}?[Xx])?")
_DATE = re.compile(r"\d{4}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}\s*日?")
_AT = r"(?:@|＠|\s*[(（\[【]\s*(?:at|AT|艾特)\s*[)）\]】]\s*|\s+at\s+)"
_DOT = r"(?:\.|。|\s*[(（\[【]\s*(?:dot|DOT|点)\s*[)）\]】]\s*|\s+dot\s+)"
_EMAIL = re.compile(rf"[A-Za-z0-9._%+\-]+{_AT}[A-Za-z0-9\-]+(?:{_DOT}[A-Za-z0-9\-]+)+")
_WECHAT_ID = re.compile(r"wxid_[A-Za-z0-9_\-]+", re.IGNORECASE)
_WECHAT = re.compile(
    r"((?:微信|微 信|威信|薇信|v信|V信|weixin|wechat|vx|wx)\s*(?:号|id|ID)?\s*(?:是|为)?\s*[:：]?\s*)"
    r"[A-Za-z][A-Za-z0-9_\-]{4,19}", re.IGNORECASE)
_QQ = re.compile(r"((?:QQ|扣扣)\s*(?:号|群)?\s*(?:是|为)?\s*[:：]?\s*)[1-9]\d{4,11}", re.IGNORECASE)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
# 京A12345, 京A·1234学, 粤BD12345 (new energy): at least 3 digits after the letter.
_PLATE = re.compile(rf"[{_PROVINCES}]\s*[A-HJ-NP-Z]\s*[·・.\-\s]?\s*(?=(?:[A-HJ-NP-Z]*\d){{3}})"
                    r"[A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]?", re.IGNORECASE)
_CN = "一二三四五六七八九十两"
_ROOM = re.compile(
    # 3号楼2单元502室, 2栋1单元, 3单元502
    rf"(?:[\d{_CN}]+\s*(?:号楼|栋|幢|座|号院)\s*)?[\d{_CN}]+\s*单元\s*(?:[\d{_CN}]+\s*(?:楼|层)\s*)?\d*\s*(?:室|号|户|房)?"
    # 五楼502, 5层502室
    rf"|[\d{_CN}]+\s*(?:楼|层)\s*\d{{2,4}}\s*(?:室|号|户|房间?)?"
    # 502室, 502房间, 302号房, 1201户 (not "共120户": a count of households)
    r"|\d{2,5}\s*(?:室|房间|号房)|(?<![共有约近余逾])\d{3,5}\s*户"
    # 3-2-502, 12-1-1201 (building-unit-flat), not a date
    r"|(?<![\d\-])\d{1,3}\s*[-－—]\s*\d{1,2}\s*[-－—]\s*\d{2,4}(?![\d\-])"
)


def redact(text: str, *, names: tuple[str, ...] = ()) -> str:
    """Mask personal data in text about to be published (the second line behind the 公开摘要
    staff write): e-mail, WeChat and QQ ids, plates, rooms, numbers of 7+ digits (a date
    is kept), and the ``names`` given (the reporter's own)."""
    if not text:
        return text

    def number(match: re.Match) -> str:
        value = match.group(0)
        if _DATE.fullmatch(value.strip()):
            return value
        return MASK

    text = _EMAIL.sub(MASK, text)
    text = _WECHAT_ID.sub(MASK, text)
    text = _WECHAT.sub(lambda m: m.group(1) + MASK, text)
    text = _QQ.sub(lambda m: m.group(1) + MASK, text)
    text = _PLATE.sub(MASK, text)
    text = _ROOM.sub(MASK, text)
    text = _NUMBER.sub(number, text)
    for name in names:
        name = (name or "").strip()
        if len(name) >= 2:
            text = text.replace(name, MASK)
    return text


# --- reads, limited per address in this process -------------------------------------------


def allow_read(*, ip: str | None) -> bool:
    """Count one public read by ``ip``; False once over PUBLIC_READ_RATE_PER_IP."""
    rate = ratelimit.Rate.parse(settings.PUBLIC_READ_RATE_PER_IP)
    return local_rate.hit("public-read", ip or "-", count=rate.count, seconds=rate.seconds)


def allow_suggest(*, ip: str | None) -> bool:
    """Count one category suggestion asked by ``ip`` (the submit form, as the resident
    types); False once over CATEGORY_SUGGEST_RATE_PER_IP."""
    rate = ratelimit.Rate.parse(settings.CATEGORY_SUGGEST_RATE_PER_IP)
    return local_rate.hit("category-suggest", ip or "-", count=rate.count, seconds=rate.seconds)


def suggest_retry_after() -> int:
    return ratelimit.Rate.parse(settings.CATEGORY_SUGGEST_RATE_PER_IP).seconds


def read_retry_after() -> int:
    return ratelimit.Rate.parse(settings.PUBLIC_READ_RATE_PER_IP).seconds

"""The reference data of intake and dispatch, cached in each process: the responsibility
list (categories), the districts' departments and the entered working-day calendar
(CalendarDay rows, and the years whose official schedule was entered).

Every intake reads them (the category by its code, the department of the category's
kind in the appeal's district, the calendar for the deadline), and they change a few
times a year, by an admin. One snapshot of the small tables is kept per process
and checked against a token in the shared cache (Redis in production): at the first
use in a request (one cache read per request, however many lookups), and at every use
outside requests (workers, commands):

- saving or deleting a Category, Department, CalendarDay or CalendarYear (signals) drops this
  process's snapshot at once and, after the commit, writes a new token, so that every
  other process reloads on its next use (a reload before the commit would read the old
  rows, hence after the commit);
- a missing token (a cleared cache) counts as a change;
- bulk writes send no signals (the demo's territory, the benchmark's COPY): a snapshot
  is reloaded at the latest CATALOG_MAX_AGE seconds after it was read.

The instances handed out are shared by the requests of the process: read them, never
change or save them.
"""

import threading
import time
from dataclasses import dataclass
from datetime import date

from django.core.signals import got_request_exception, request_finished, request_started
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from appeals.models import CalendarDay, CalendarYear, Category
from governance.kernel import shared_cache
from grids.models import Department

TOKEN_KEY = "appeals:catalog-token"
CATALOG_MAX_AGE = 60.0  # seconds


@dataclass(frozen=True)
class Catalog:
    categories: dict[str, Category]  # by code, inactive ones too ("已停用" is not "找不到")
    departments: dict[str, Department]  # by code, "<district>-<kind>"
    overrides: dict[date, bool]  # CalendarDay: date → is_workday
    official_years: frozenset[int]  # CalendarYear marked "official schedule entered"
    token: str
    loaded_at: float


_snapshot: Catalog | None = None
# The token this thread's current request has already checked (None outside requests).
_request = threading.local()


def _request_started(**_kwargs) -> None:
    _request.in_request, _request.checked_token = True, None


def _request_finished(**_kwargs) -> None:
    _request.in_request, _request.checked_token = False, None


def _shared_token() -> str | None:
    """The token in the shared cache (made if missing); None if the cache is down: then
    the reference tables are read and nothing is kept."""
    return shared_cache.token(TOKEN_KEY, what="catalog")


def _load(token: str) -> Catalog:
    return Catalog(
        categories={c.code: c for c in Category.objects.all()},
        departments={d.code: d for d in Department.objects.all()},
        overrides=dict(CalendarDay.objects.values_list("date", "is_workday")),
        official_years=frozenset(CalendarYear.objects.filter(official_entered=True).values_list("year", flat=True)),
        token=token,
        loaded_at=time.monotonic(),
    )


def _fresh(snapshot: Catalog | None, token: str | None) -> bool:
    return (
        snapshot is not None and token is not None and snapshot.token == token
        and time.monotonic() - snapshot.loaded_at <= CATALOG_MAX_AGE
    )


def catalog() -> Catalog:
    """The current snapshot: one cache read per request (or per use outside requests),
    and four small queries when it changed."""
    global _snapshot
    snapshot = _snapshot
    if _fresh(snapshot, getattr(_request, "checked_token", None)):
        return snapshot
    token = _shared_token()
    if token is None:
        _snapshot = None
        return _load("")
    snapshot = _snapshot
    if not _fresh(snapshot, token):
        snapshot = _snapshot = _load(token)
    if getattr(_request, "in_request", False):
        _request.checked_token = token
    return snapshot


def category_by_code(code: str) -> Category | None:
    """The category of the responsibility list with ``code`` (active or not), or None."""
    return catalog().categories.get(code)


def active_categories_by_code() -> dict[str, Category]:
    """The active categories by code (the ones a suggestion may offer)."""
    return {code: c for code, c in catalog().categories.items() if c.active}


def department_by_code(code: str) -> Department | None:
    return catalog().departments.get(code)


def workday_overrides(start: date, end: date) -> dict[date, bool]:
    """The admins' calendar days between two dates (inclusive)."""
    return {day: workday for day, workday in catalog().overrides.items() if start <= day <= end}


def official_years() -> frozenset[int]:
    """The years whose official schedule an admin marked entered."""
    return catalog().official_years


def reload() -> Catalog:
    """A fresh snapshot now, whatever the token says: for a job that must see a change
    another process committed a moment ago (the token is renewed after that commit,
    possibly after the job was queued)."""
    global _snapshot
    _snapshot = None
    token = _shared_token()
    snapshot = _load(token or "")
    if token is not None:
        _snapshot = snapshot
    return snapshot


def _publish_change() -> None:
    global _snapshot
    _snapshot = None
    shared_cache.renew(TOKEN_KEY)  # robust on_commit: a failure is logged


def invalidate(**_kwargs) -> None:
    """Drop this process's snapshot now; tell the other processes after the commit."""
    global _snapshot
    _snapshot = None
    transaction.on_commit(_publish_change, robust=True)


request_started.connect(_request_started, dispatch_uid="catalog-request-started")
request_finished.connect(_request_finished, dispatch_uid="catalog-request-finished")
# A request that raises (a test client re-raises before closing the response) ends here too.
got_request_exception.connect(_request_finished, dispatch_uid="catalog-request-exception")
for _model in (Category, Department, CalendarDay, CalendarYear):
    post_save.connect(invalidate, sender=_model, dispatch_uid=f"catalog-save-{_model._meta.label}")
    post_delete.connect(invalidate, sender=_model, dispatch_uid=f"catalog-delete-{_model._meta.label}")

"""The 督办清单's pages (issue 24): keyset pages by a signed cursor in the list's one order
(deadline, then id: the most overdue first), through runs of equal deadlines, both ways;
the filters kept in the links; a capped count (1万+); the API paged as API v1's lists
(cursor, page up to 100, count_capped); and the index that serves a page."""

import copy
import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.db.models import F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.utils import timezone
from rest_framework.test import APIClient

from appeals.enums import AppealState, EscalationLevel
from appeals.models import Appeal, new_tracking_code
from governance.kernel import keyset
from governance.reports import supervision, tables
from governance.reports.supervision import SupervisionFilters
from governance.staff.selectors import jurisdiction_for
from tests.appeals.factories import grid_category, receive

pytestmark = pytest.mark.django_db

URL = "/reports/supervision/"
API = "/api/v1/reports/supervision/"
SIZE = 5  # rows a page, for the tests (tables.PAGE_SIZE is read when a page is made)


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(tables, "PAGE_SIZE", SIZE)


@pytest.fixture
def tied(city, overdue):
    """The fixture's three listed appeals (c1 in 乙一社区, a1 at the district level, a2)
    and 16 more in 甲街道's grid A1, overdue: 6 sharing one deadline, 6 the next day's
    (working-day deadlines fall at 00:00), 4 of their own; and 2 not yet due (unlisted)."""
    template = receive(city, category=grid_category(), building=city.building_a1)
    Appeal.objects.filter(pk=template.pk).delete()
    template.state = AppealState.IN_PROGRESS
    template.escalation_level = EscalationLevel.GRID
    day = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=6)
    deadlines = ([day] * 6 + [day + timedelta(days=1)] * 6 + [day - timedelta(hours=h) for h in (3, 5, 7, 30)]
                 + [timezone.now() + timedelta(days=2)] * 2)
    rows = []
    for deadline in deadlines:
        row = copy.copy(template)
        row.pk, row.tracking_code, row.deadline = None, new_tracking_code(), deadline
        rows.append(row)
    Appeal.objects.bulk_create(rows)
    return overdue


def _expected(*, territory: str = "") -> list[str]:
    """The list's codes in its order, worked out here: overdue and being handled (or at
    the district level), by deadline then id."""
    now = timezone.now()
    listed = [a for a in Appeal.objects.filter(territory_code__startswith=territory)
              if a.state in (AppealState.DISPATCHED, AppealState.IN_PROGRESS) and a.deadline and a.deadline < now
              or a.escalation_level == EscalationLevel.DISTRICT]
    return [a.tracking_code for a in sorted(listed, key=lambda a: (a.deadline, a.pk))]


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.content.decode()[:500]
    return [r["tracking_code"] for r in response.context["table"].rows]


def _link(response, rel: str) -> str | None:
    """The page's own next / previous link (href), as a browser follows it."""
    found = re.search(rf'<a href="(\?[^"]*)" rel="{rel}"', response.content.decode())
    return html.unescape(found.group(1)) if found else None


def test_pages_by_cursor_through_equal_deadlines_both_ways(city, tied, small_pages, login,
                                                           django_assert_max_num_queries):
    client = login(city.users.supervisor)
    expected = _expected()
    assert len(expected) == 19 and len(set(expected)) == 19
    pages, link = [], "?"
    while link:
        with django_assert_max_num_queries(12):  # the session's and the account's, a page, the count
            response = client.get(URL + link)
        pages.append(_codes(response))
        assert response.context["total"] == 19
        assert "共 19 件" in response.content.decode()
        link = _link(response, "next")
    # No gap, no overlap, in order, across the runs of equal deadlines.
    assert [len(p) for p in pages] == [5, 5, 5, 4]
    assert sum(pages, []) == expected
    # Back from the last page, page by page, to the first (which has no previous link).
    back, link = [], _link(response, "prev")
    while link:
        response = client.get(URL + link)
        back.insert(0, _codes(response))
        link = _link(response, "prev")
    assert back == pages[:-1]
    assert _link(response, "next") and not _link(response, "prev")


def test_page_two_costs_what_page_one_does(city, tied, small_pages, login, django_assert_max_num_queries):
    client = login(city.users.supervisor)
    client.get(URL)  # the session and the caches warm
    with django_assert_max_num_queries(12) as first:
        response = client.get(URL)
    with django_assert_max_num_queries(12) as second:
        page_two = client.get(URL + _link(response, "next"))
    assert _codes(page_two) == _expected()[SIZE:2 * SIZE]
    assert len(second.captured_queries) <= len(first.captured_queries) + 1  # + a second index range, at most
    # Neither reads an OFFSET nor counts the whole list.
    sql = " ".join(q["sql"] for q in first.captured_queries + second.captured_queries).upper()
    assert "OFFSET" not in sql and "LIMIT 10001" in sql


def test_the_filters_stay_in_the_links_and_a_stale_page_is_the_first(city, tied, small_pages, login):
    client = login(city.users.supervisor)
    response = client.get(URL + "?unit=110101001&min_days=1&page=7")
    street_a = _expected(territory="110101001")
    assert _codes(response) == street_a[:SIZE]  # ?page= from the numbered pages: ignored
    link = _link(response, "next")
    query = parse_qs(urlparse(link).query)
    assert query["unit"] == ["110101001"] and query["min_days"] == ["1"] and "page" not in query
    assert _codes(client.get(URL + link)) == street_a[SIZE:2 * SIZE]
    # The export links keep the filters, not the cursor.
    assert 'href="?unit=110101001&amp;min_days=1&amp;export=csv"' in client.get(URL + link).content.decode()
    # The district level alone: one appeal, one page, no links.
    only = client.get(URL + "?district_only=1")
    assert _codes(only) == [tied["a1"].tracking_code]
    assert _link(only, "next") is None and _link(only, "prev") is None


def test_a_changed_cursor_is_a_400_that_says_so(city, tied, small_pages, login):
    client = login(city.users.supervisor)
    link = _link(client.get(URL), "next")
    cursor = parse_qs(urlparse(link).query)["cursor"][0]
    for bad in (cursor[:-2] + "xx", "garbage", "x" * 400):
        response = client.get(URL, {"cursor": bad})
        assert response.status_code == 400
        assert "cursor" in response.content.decode()
    # A cursor of another list's order (the staff queue's -created_at) is refused too.
    other = keyset.make_cursor(keyset.Sort("-created_at", "created_at", descending=True), tied["a1"], forward=True)
    assert client.get(URL, {"cursor": other}).status_code == 400


def test_the_count_stops_at_the_cap(city, tied, small_pages, login, monkeypatch):
    monkeypatch.setattr(keyset, "COUNT_CAP", 10)
    client = login(city.users.supervisor)
    response = client.get(URL)
    assert response.context["total"] == 11  # 10 + 1: "more than 10"
    assert "共 10+ 件" in response.content.decode()
    api = APIClient()
    api.force_authenticate(city.users.supervisor)
    body = api.get(API).json()
    assert body["count"] == 10 and body["total"] == 10 and body["count_capped"] is True
    monkeypatch.setattr(keyset, "COUNT_CAP", 19)
    body = api.get(API).json()
    assert body["count"] == 19 and body["count_capped"] is False


def test_the_default_cap_reads_1wan_plus(city, overdue, login, monkeypatch):
    """Above 10,000 the heading reads 1万+ (count_text), whatever the exact number."""
    monkeypatch.setattr(supervision, "capped_count", lambda qs, cap=None: keyset.COUNT_CAP + 1)
    response = login(city.users.supervisor).get(URL)
    assert "共 1万+ 件" in response.content.decode()


def test_the_api_pages_by_cursor_as_api_v1_does(city, tied):
    api = APIClient()
    api.force_authenticate(city.users.supervisor)
    expected = _expected()
    body = api.get(API, {"page_size": 5}).json()
    assert body["count"] == 19 and body["count_capped"] is False and body["previous"] is None
    assert [c["key"] for c in body["columns"]][0] == "tracking_code"
    seen = [r["tracking_code"] for r in body["rows"]]
    pages = 1
    while body["next"]:
        assert "cursor=" in body["next"] and "page_size=5" in body["next"]
        body = api.get(body["next"]).json()
        seen += [r["tracking_code"] for r in body["rows"]]
        pages += 1
    assert seen == expected and pages == 4
    back = api.get(body["previous"]).json()
    assert [r["tracking_code"] for r in back["rows"]] == expected[10:15]
    # page still works for the first pages, and ends in cursor links.
    second = api.get(API, {"page": 2, "page_size": 5}).json()
    assert [r["tracking_code"] for r in second["rows"]] == expected[5:10]
    assert [r["tracking_code"] for r in api.get(second["next"]).json()["rows"]] == expected[10:15]
    assert [r["tracking_code"] for r in api.get(second["previous"]).json()["rows"]] == expected[:5]
    # Past page 100: a 400 that asks for a filter or the cursor; page and cursor together: 400.
    deep = api.get(API, {"page": 101})
    assert deep.status_code == 400 and "cursor" in str(deep.json()) and "district_only" in str(deep.json())
    cursor = parse_qs(urlparse(second["next"]).query)["cursor"][0]
    assert api.get(API, {"page": 2, "cursor": cursor}).status_code == 400
    assert api.get(API, {"cursor": cursor[:-2] + "xx"}).status_code == 400
    # The filters apply to the pages: the district level alone.
    only = api.get(API, {"district_only": "true"}).json()
    assert [r["tracking_code"] for r in only["rows"]] == [tied["a1"].tracking_code] and only["count"] == 1


def test_each_account_pages_through_its_own_jurisdiction(city, tied, small_pages, login):
    """The street officer of 甲街道 pages through 甲's appeals only; 乙一社区's worker (the
    outsider) sees only c1 — on the page, in the count and in the API."""
    street = login(city.users.street_officer)
    seen, link = [], "?"
    while link:
        response = street.get(URL + link)
        seen += _codes(response)
        link = _link(response, "next")
    assert seen == _expected(territory="110101001")
    assert tied["c1"].tracking_code not in seen and response.context["total"] == len(seen)
    outsider = login(city.users.outsider)
    response = outsider.get(URL)
    assert _codes(response) == [tied["c1"].tracking_code] and response.context["total"] == 1
    api = APIClient()
    api.force_authenticate(city.users.outsider)
    body = api.get(API).json()
    assert [r["tracking_code"] for r in body["rows"]] == [tied["c1"].tracking_code] and body["count"] == 1


def test_the_export_is_the_whole_list_in_the_same_order(city, tied, small_pages, login):
    raw = b"".join(login(city.users.supervisor).get(URL + "?export=csv&cursor=ignored").streaming_content)
    rows = raw.decode("utf-8-sig").splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == _expected()


@pytest.mark.postgres
def test_the_open_deadline_index_serves_a_page_in_order(city, tied):
    """A page of the list, first or after a cursor, is read from appeal_open_deadline in
    its order (no sort), so that it costs the rows it shows at any depth."""
    jurisdiction = jurisdiction_for(city.users.supervisor)
    now = timezone.now()
    qs = supervision.supervision_queryset(jurisdiction=jurisdiction, filters=SupervisionFilters(), now=now)
    first = keyset.keyset_page(qs, sort=supervision.SUPERVISION_SORT, size=SIZE)
    value, pk, _forward = keyset.read_cursor(qs, supervision.SUPERVISION_SORT, first.next_cursor)
    # The query keyset_page reads a page after a cursor with (governance.kernel.keyset._after).
    deeper = qs.filter(deadline__isnull=False).filter(TupleGreaterThan(Tuple(F("deadline"), F("pk")), (value, pk)))
    with connection.cursor() as cursor:
        # The planner's choice on a tiny table is a scan, or the index on (deadline, id) of
        # every appeal, as cheap here; what matters is that the open appeals' index can serve
        # (the query's conditions imply its own). Dropped inside the test's transaction.
        cursor.execute("DROP INDEX appeal_deadline_id")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    for q in (qs[:SIZE + 1], deeper.order_by("deadline", "pk")[:SIZE + 1]):
        plan = q.explain()
        assert "appeal_open_deadline" in plan, plan
        assert "Sort" not in plan, plan

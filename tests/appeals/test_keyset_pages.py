"""Deep pages (issue 23): the appeal lists page by keyset on (column, id) with a signed
cursor, in every offered order, both ways; the API keeps ``page`` up to 100; counts stop
at 10,000 ("1万+", ``count_capped``)."""

import copy
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from appeals.enums import AppealState as S
from appeals.models import Appeal, new_tracking_code
from appeals.selectors import APPEAL_SORTS, appeal_browse, queue_counts
from governance.kernel import keyset
from governance.kernel.keyset import BadCursor, capped_count, count_text, keyset_page
from governance.staff.selectors import jurisdiction_for
from tests.appeals.factories import grid_category, receive

pytestmark = pytest.mark.django_db


def _clones(template: Appeal, values: list[dict]) -> list[Appeal]:
    """Copies of ``template`` (same place and handling unit), one per dict of fields, in one
    INSERT: many rows with the same deadline or time, as a city's working days make them."""
    rows = []
    for fields in values:
        row = copy.copy(template)
        row.pk = None
        row.tracking_code = new_tracking_code()
        for name, value in fields.items():
            setattr(row, name, value)
        rows.append(row)
    made = Appeal.objects.bulk_create(rows, batch_size=2000)
    created = [f.get("created_at") for f in values]
    if any(created):  # auto_now_add set its own time: put back the chosen ones
        for row, at in zip(made, created):
            if at is not None:
                row.created_at = at
        Appeal.objects.bulk_update(made, ["created_at"], batch_size=2000)
    return made


@pytest.fixture
def tied(city):
    """39 appeals of grid A1, dispatched: 12 with one deadline, 12 with the next day's, 9
    without one (waiting), 6 with deadlines of their own; their received times tie in
    threes."""
    template = receive(city, category=grid_category())
    Appeal.objects.filter(pk=template.pk).delete()
    template.state = S.DISPATCHED
    day = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    deadlines = [day] * 12 + [day + timedelta(days=1)] * 12 + [None] * 9 + [day + timedelta(hours=h) for h in range(6)]
    received = timezone.now() - timedelta(days=2)
    values = [{"deadline": d, "created_at": received + timedelta(minutes=i // 3)} for i, d in enumerate(deadlines)]
    return _clones(template, values)


def _expected(rows: list[Appeal], key: str) -> list[int]:
    """The order a sort promises: its column (nulls as the greatest value), then the id,
    both in the sort's direction."""
    sort = APPEAL_SORTS[key]

    def position(a):
        value = getattr(a, sort.column)
        return (value is None, value or 0, a.pk)

    return [a.pk for a in sorted(rows, key=position, reverse=sort.descending)]


@pytest.mark.parametrize("key", list(APPEAL_SORTS))
def test_paging_through_ties_skips_and_repeats_nothing_both_ways(city, tied, key, django_assert_max_num_queries):
    jur = jurisdiction_for(city.users.supervisor)
    qs = appeal_browse(jurisdiction=jur)
    sort = APPEAL_SORTS[key]
    pages, cursor = [], None
    while True:
        with django_assert_max_num_queries(2 + 4):  # two index ranges where the nulls begin, with_units
            page = keyset_page(qs, sort=sort, size=5, cursor=cursor)
        pages.append([a.pk for a in page.rows])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    forward = [pk for p in pages for pk in p]
    assert forward == _expected(tied, key)
    assert len(pages) == 8 and all(len(p) == 5 for p in pages[:-1]) and len(pages[-1]) == 4

    # Back from the last page: the same pages, in reverse.
    back, cursor = [pages[-1]], page.previous_cursor
    while cursor is not None:
        page = keyset_page(qs, sort=sort, size=5, cursor=cursor)
        back.append([a.pk for a in page.rows])
        cursor = page.previous_cursor
    assert back == pages[::-1]


def test_a_cursor_changed_or_made_for_another_order_is_refused(city, tied):
    qs = appeal_browse(jurisdiction=jurisdiction_for(city.users.supervisor))
    cursor = keyset_page(qs, sort=APPEAL_SORTS["deadline"], size=5).next_cursor
    changed = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
    for bad, sort in ((changed, "deadline"), (cursor, "-created_at"), ("x" * 400, "deadline"), ("garbage", "deadline")):
        with pytest.raises(BadCursor):
            keyset_page(qs, sort=APPEAL_SORTS[sort], size=5, cursor=bad)


def _walk_api(client, params: dict, *, link: str) -> list[list[str]]:
    pages, url = [], "/api/v1/appeals/"
    while url:
        response = client.get(url, params)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        pages.append([r["tracking_code"] for r in body["results"]])
        url, params = body[link], None
    return pages


@pytest.mark.parametrize("key", list(APPEAL_SORTS))
def test_the_api_follows_next_and_previous_through_ties(city, tied, key):
    client = APIClient()
    client.force_authenticate(city.users.supervisor)
    codes = {a.pk: a.tracking_code for a in tied}
    pages = _walk_api(client, {"ordering": key, "page_size": 5}, link="next")
    assert [c for p in pages for c in p] == [codes[pk] for pk in _expected(tied, key)]
    last = client.get("/api/v1/appeals/", {"ordering": key, "page_size": 5, "page": len(pages)}).json()
    assert [r["tracking_code"] for r in last["results"]] == pages[-1] and last["next"] is None
    back = _walk_api(client, parse_qs(urlparse(last["previous"]).query), link="previous")
    assert [pages[-1]] + back == pages[::-1]


def test_the_api_pages_up_to_100_then_asks_for_a_filter_or_the_cursor(city, tied):
    client = APIClient()
    client.force_authenticate(city.users.supervisor)
    first = client.get("/api/v1/appeals/", {"page_size": 5}).json()
    assert first["count"] == 39 and first["count_capped"] is False and first["previous"] is None
    assert "cursor=" in first["next"] and "page=" not in first["next"]
    second = client.get("/api/v1/appeals/", {"page_size": 5, "page": 2}).json()
    via_cursor = client.get(first["next"]).json()
    assert second["results"] == via_cursor["results"] and "cursor=" in second["previous"]

    refused = client.get("/api/v1/appeals/", {"page": 101})
    assert refused.status_code == 400 and refused.json()["code"] == "bad_query"
    assert "页码最多为 100" in refused.json()["detail"] and "筛选" in refused.json()["detail"]
    assert "cursor" in refused.json()["detail"]
    assert client.get("/api/v1/appeals/", {"page": 100}).status_code == 404  # past the end, as before

    cursor = parse_qs(urlparse(first["next"]).query)["cursor"][0]
    both = client.get("/api/v1/appeals/", {"page": 2, "cursor": cursor})
    assert both.status_code == 400 and "只能用其一" in both.json()["detail"]
    for bad in (cursor[:-2] + "zz", "not-a-cursor", "%00"):
        response = client.get("/api/v1/appeals/", {"cursor": bad})
        assert response.status_code == 400, response.content[:200]
    tampered = client.get("/api/v1/appeals/", {"cursor": cursor[:-2] + "zz"}).json()
    assert tampered["code"] == "bad_cursor" and "从第一页重新开始" in tampered["detail"]
    other_order = client.get("/api/v1/appeals/", {"cursor": cursor, "ordering": "deadline"})
    assert other_order.status_code == 400
    assert client.get("/api/v1/appeals/", {"ordering": "tracking_code"}).status_code == 400


def test_a_deep_api_page_takes_as_many_queries_as_the_first(city, tied, django_assert_max_num_queries):
    client = APIClient()
    client.force_authenticate(city.users.supervisor)
    cursor = None
    for _page in range(7):
        params = {"ordering": "deadline", "page_size": 5, **({"cursor": cursor} if cursor else {})}
        # The capped count, two index ranges where the deadlines end, the place's units.
        with django_assert_max_num_queries(4):
            body = client.get("/api/v1/appeals/", params).json()
        cursor = parse_qs(urlparse(body["next"]).query)["cursor"][0]


def test_the_queue_pages_by_cursor_and_refuses_a_changed_one(city, tied, client):
    client.force_login(city.users.supervisor)
    codes = {a.pk: a.tracking_code for a in tied}
    seen, params = [], {"sort": "deadline"}
    while True:
        response = client.get(reverse("appeals:queue"), params)
        assert response.status_code == 200
        seen += [a.tracking_code for a in response.context["rows"]]
        page = response.context["page"]
        if page.next_cursor is None:
            break
        assert f"cursor={quote(page.next_cursor, safe='/')}" in response.content.decode()
        params = {"sort": "deadline", "cursor": page.next_cursor}
    assert seen == [codes[pk] for pk in _expected(tied, "deadline")][: len(seen)] and len(seen) == 39
    refused = client.get(reverse("appeals:queue"), {"sort": "deadline", "cursor": page.previous_cursor + "x"})
    assert refused.status_code == 400 and "cursor" in refused.content.decode()


def test_counts_stop_at_ten_thousand_and_read_1wan_plus(city, client):
    """10,001 closed appeals handled by grid A1: the grid worker's 已办结 tab, the
    supervisor's tabs and the API's count all stop at the cap, whatever the years add."""
    template = receive(city, category=grid_category())
    Appeal.objects.filter(pk=template.pk).update(state=S.CLOSED)
    template.state = S.CLOSED
    _clones(template, [{} for _i in range(10_000)])
    assert capped_count(Appeal.objects.all()) == 10_001 and capped_count(Appeal.objects.all(), cap=50) == 51
    assert count_text(10_000) == "10000" and count_text(10_001) == "1万+"

    worker = jurisdiction_for(city.users.grid_worker)
    assert queue_counts(jurisdiction=worker)["states"]["closed"] == keyset.COUNT_CAP + 1
    client.force_login(city.users.grid_worker)
    tabs = client.get(reverse("appeals:queue")).content.decode()
    assert '<span class="count">1万+</span>' in tabs

    api = APIClient()
    api.force_authenticate(city.users.supervisor)
    body = api.get("/api/v1/appeals/", {"page_size": 1}).json()
    assert body["count"] == 10_000 and body["count_capped"] is True
    assert api.get("/api/v1/appeals/", {"page_size": 1, "state": "received"}).json()["count_capped"] is False


def test_the_schema_documents_the_cursor_the_cap_and_the_capped_count():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/appeals/"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert {"cursor", "page", "page_size", "ordering"} <= set(params)
    assert params["page"]["schema"]["maximum"] == 100
    assert set(params["ordering"]["schema"]["enum"]) == set(APPEAL_SORTS)
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert {"count", "count_capped", "next", "previous", "results"} <= set(body["properties"])

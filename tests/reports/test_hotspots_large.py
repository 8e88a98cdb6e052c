"""Hot spots of a large period (issue 24): the buildings and households are grouped by a
Celery task, not in the request; the page, its fragment, the API and the export show
what the cache has, and the task (run for real, eagerly, as the conftest runs tasks)
fills it."""

import json
import logging
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.assessment.flows import flows_refresh_recent, flows_state
from governance.assessment.periods import Period
from governance.models import AccessLog
from governance.reports.hotspots import RepeatsAsk
from governance.reports.tasks import hotspot_repeats
from governance.staff.selectors import jurisdiction_for
from tests.appeals.factories import grid_category, receive
from tests.reports.conftest import page_tables

pytestmark = pytest.mark.django_db

PENDING = "楼栋和住户的重复诉求统计正在生成（本期共约 4 件诉求），完成后自动显示。"


@pytest.fixture
def appeals(city):
    """甲街道: three appeals from one phone at 和平里1号楼, one at 2号楼; one in 乙街道."""
    category = grid_category()
    for _i in range(3):
        receive(city, category=category, building=city.building_a1, phone="13812345678")
    receive(city, category=category, building=city.building_a2, phone="13900001111")
    receive(city, category=category, building=city.building_c1, phone="13900002222")  # other street
    flows_refresh_recent()
    today = timezone.localdate()
    return f"from={today - timedelta(days=1)}&to={today}"


@pytest.fixture
def large(settings):
    """Every period with more than 2 appeals is large."""
    settings.HOTSPOT_INLINE_MAX_APPEALS = 2


def _grouping_appeals(queries) -> list[str]:
    """The queries that group the appeals themselves (the flows' sums group other rows)."""
    return [q["sql"] for q in queries
            if "GROUP BY" in q["sql"].upper() and '"appeals_appeal"' in q["sql"].split("GROUP BY")[0]]


def _views(user) -> int:
    return AccessLog.objects.filter(user=user, action="view").count()


def test_a_small_period_is_grouped_in_the_request(city, login, appeals, django_capture_on_commit_callbacks):
    client = login(city.users.street_officer)
    with django_capture_on_commit_callbacks() as queued, CaptureQueriesContext(connection) as ctx:
        html = client.get(f"/reports/hotspots/?{appeals}").content.decode()
    assert queued == []  # no task
    assert len(_grouping_appeals(ctx.captured_queries)) == 3  # spread, buildings, households
    tables = page_tables(html)
    assert tables["hotspot-categories"][1] == ["01001", "暴露垃圾", "4", "2", "1"]
    assert tables["hotspot-households"][1][0] == "138****5678"
    assert "正在生成" not in html and "hx-get" not in html.split('id="hotspot-repeats"')[1].split(">")[0]


def test_a_small_unit_of_a_large_scope_is_grouped_in_the_request(
        city, login, appeals, large, django_capture_on_commit_callbacks):
    """Large or small is the unit's own count: 第二网格 received one appeal."""
    client = login(city.users.street_officer)
    with django_capture_on_commit_callbacks() as queued:
        html = client.get(f"/reports/hotspots/?{appeals}&unit={city.grid_a2.code}").content.decode()
        assert PENDING in client.get(f"/reports/hotspots/?{appeals}").content.decode()  # 甲街道: 4
    assert len(queued) == 1  # the street's only
    assert "正在生成" not in html and "hotspot-households" in page_tables(html)


def test_a_large_period_is_grouped_by_one_task_and_then_shown(
        city, login, appeals, large, django_capture_on_commit_callbacks):
    officer = city.users.street_officer
    client = login(officer)
    url = f"/reports/hotspots/?{appeals}"
    with django_capture_on_commit_callbacks() as queued:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert client.get(url).status_code == 200  # a second viewer while the task is queued
        assert client.get(f"/reports/hotspots/repeats/?{appeals}").status_code == 200  # and a poll
    assert len(queued) == 1  # one task: the lock
    assert _grouping_appeals(ctx.captured_queries) == []
    html = response.content.decode()
    assert PENDING in html
    assert f'hx-get="/reports/hotspots/repeats/?{appeals.replace("&", "&amp;")}"' in html
    assert f'href="/reports/hotspots/?{appeals.replace("&", "&amp;")}">刷新</a>' in html  # without JavaScript
    tables = page_tables(html)
    assert tables["hotspot-categories"][1] == ["01001", "暴露垃圾", "4", "—", "—"]  # at once, from the flows
    assert "hotspot-buildings" not in tables and "hotspot-households" not in tables
    assert _views(officer) == 0  # no household shown

    queued[0]()  # the commit: the task is sent, and runs (eagerly, the real task)

    with CaptureQueriesContext(connection) as ctx:
        fragment = client.get(f"/reports/hotspots/repeats/?{appeals}").content.decode()
    assert _grouping_appeals(ctx.captured_queries) == []  # from the cache the task filled
    assert "正在生成" not in fragment and "hx-trigger" not in fragment  # polling stops
    tables = page_tables(fragment)
    assert tables["hotspot-buildings"][1][1] == "和平里1号楼" and tables["hotspot-buildings"][1][4] == "3"
    assert tables["hotspot-households"][1][0] == "138****5678" and "13812345678" not in fragment
    assert 'hx-swap-oob="true"' in fragment and tables["hotspot-categories"][1][3:] == ["2", "1"]
    log = AccessLog.objects.get(user=officer)
    assert log.action == "view" and log.subject.startswith("hotspots:") and log.record_count == 1

    page = client.get(url).content.decode()
    assert "正在生成" not in page and page_tables(page)["hotspot-households"][1][0] == "138****5678"
    assert _views(officer) == 2

    # What the task grouped is what the request groups for a small period.
    cache.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.conf.settings.HOTSPOT_INLINE_MAX_APPEALS", 50_000)
        inline = page_tables(client.get(url).content.decode())
    assert {k: inline[k] for k in ("hotspot-categories", "hotspot-buildings", "hotspot-households")} == {
        k: page_tables(page)[k] for k in ("hotspot-categories", "hotspot-buildings", "hotspot-households")}


def test_the_task_is_sent_again_once_the_lock_expires(city, login, appeals, large, django_capture_on_commit_callbacks):
    """A task lost with its worker does not leave the page pending for good."""
    officer = city.users.street_officer
    client = login(officer)
    with django_capture_on_commit_callbacks() as queued:
        client.get(f"/reports/hotspots/?{appeals}")
    assert len(queued) == 1
    as_of, token = flows_state()
    today = timezone.localdate()
    key, _seconds = RepeatsAsk.of(jurisdiction=jurisdiction_for(officer), period=Period.range(today - timedelta(days=1), today),
                                  unit="", as_of=as_of, token=token, categories=["01001"]).cache_key()
    assert cache.get(f"{key}:queued") is not None and cache.get(key) is None
    cache.delete(f"{key}:queued")  # its time is up; the task never ran
    with django_capture_on_commit_callbacks() as again:
        assert PENDING in client.get(f"/reports/hotspots/?{appeals}").content.decode()
    assert len(again) == 1
    again[0]()
    assert cache.get(key)[2][0]["phone"] == "138****5678"  # the key the page reads


def test_the_fragment_keeps_to_the_jurisdiction(city, login, appeals, large, django_capture_on_commit_callbacks):
    client = login(city.users.street_officer)
    with django_capture_on_commit_callbacks() as queued:
        assert client.get(f"/reports/hotspots/repeats/?{appeals}&unit=110101002").status_code == 404  # 乙街道
    assert queued == []
    assert login(city.users.department_handler).get(f"/reports/hotspots/repeats/?{appeals}").status_code == 403
    assert not AccessLog.objects.exists()


def test_the_api_answers_pending_then_the_tables(city, login, appeals, large, django_capture_on_commit_callbacks):
    client = login(city.users.street_officer)
    with django_capture_on_commit_callbacks() as queued:
        response = client.get(f"/api/v1/reports/hotspots/?{appeals}")
    assert response.status_code == 202 and response["Retry-After"] == "5"
    data = response.json()
    assert data["pending"] is True and data["appeals"] == 4
    assert data["buildings"] is None and data["households"] is None
    assert data["categories"]["rows"] == [{"category_code": "01001", "category": "暴露垃圾", "count": 4,
                                           "buildings": None, "communities": None}]
    assert not AccessLog.objects.exists()
    assert len(queued) == 1
    queued[0]()
    response = client.get(f"/api/v1/reports/hotspots/?{appeals}")
    assert response.status_code == 200
    data = response.json()
    assert data["pending"] is False
    assert data["categories"]["rows"][0]["buildings"] == 2
    assert data["households"]["rows"][0]["phone"] == "138****5678"
    assert AccessLog.objects.get().record_count == 1


def test_the_export_of_a_pending_period_returns_to_the_page(
        city, login, appeals, large, django_capture_on_commit_callbacks):
    officer = city.users.street_officer
    client = login(officer)
    with django_capture_on_commit_callbacks() as queued, CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/reports/hotspots/?{appeals}&export=xlsx")
    assert response.status_code == 302 and response["Location"] == f"/reports/hotspots/?{appeals}"
    assert _grouping_appeals(ctx.captured_queries) == []
    assert len(queued) == 1
    page = client.get(response["Location"]).content.decode()
    assert "楼栋和住户的重复诉求统计正在生成（本期共约 4 件诉求），完成后即可导出。" in page
    assert not AccessLog.objects.filter(action="export").exists()
    queued[0]()
    response = client.get(f"/reports/hotspots/?{appeals}&export=xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AccessLog.objects.get(user=officer, action="export").record_count == 1


@pytest.mark.live_celery
def test_a_broker_down_costs_the_page_nothing_and_is_tried_again_later(
        city, login, appeals, large, caplog, django_capture_on_commit_callbacks):
    from tests.appeals.test_broker_outage import broker_down

    client = login(city.users.street_officer)
    url = f"/reports/hotspots/?{appeals}"
    started = time.monotonic()
    with broker_down(), caplog.at_level(logging.WARNING, logger="governance.reports.hotspots"):
        with django_capture_on_commit_callbacks(execute=True):
            assert PENDING in client.get(url).content.decode()
        with django_capture_on_commit_callbacks(execute=True) as again:
            assert PENDING in client.get(url).content.decode()
    assert time.monotonic() - started < 10
    assert caplog.text.count("could not queue the repeats' task") == 1
    assert again == []  # the lock is kept a while: not every view waits for the broker
    assert "13812345678" not in caplog.text


def test_the_task_takes_plain_values_and_is_safe_to_run_twice(city, appeals):
    as_of, token = flows_state()
    today = timezone.localdate()
    ask = RepeatsAsk.of(jurisdiction=jurisdiction_for(city.users.street_officer),
                        period=Period.range(today - timedelta(days=1), today), unit="", as_of=as_of, token=token,
                        categories=["01001"])
    kwargs = json.loads(json.dumps(ask.task_kwargs()))  # as the broker carries them
    assert RepeatsAsk.from_task_kwargs(**kwargs) == ask
    assert hotspot_repeats.apply(kwargs=kwargs).get() == "grouped"
    assert hotspot_repeats.apply(kwargs=kwargs).get() == "cached"
    spread, buildings, households = cache.get(ask.cache_key()[0])
    assert spread == {"01001": {"buildings": 2, "communities": 1}}  # 甲街道's only: the scope's parts
    assert [h["phone"] for h in households] == ["138****5678"]

"""The 督办 list (district level and other overdue appeals), its filters and export, and
supervisors' 督办 notes."""

import csv
import io

import pytest

from appeals.enums import AppealAction, AppealState
from appeals.models import AppealEvent
from governance.models import Notification
from tests.reports.conftest import make_overdue

pytestmark = pytest.mark.django_db


def _codes(response):
    return [r["tracking_code"] for r in response.context["table"].rows]


def test_the_list_the_most_overdue_first_with_filters(city, overdue, login):
    client = login(city.users.supervisor)
    response = client.get("/reports/supervision/")
    assert _codes(response) == [overdue[k].tracking_code for k in ("c1", "a1", "a2")]
    first = response.context["table"].rows[0]
    assert first["overdue"] == "10天1小时" and first["overdue_hours"] == 241
    assert response.context["table"].rows[1]["level"] == "区督办"
    assert _codes(client.get("/reports/supervision/?district_only=1")) == [overdue["a1"].tracking_code]
    assert _codes(client.get("/reports/supervision/?min_days=2&max_days=5")) == [overdue["a1"].tracking_code]
    assert _codes(client.get("/reports/supervision/?unit=110101001001")) == [
        overdue["a1"].tracking_code, overdue["a2"].tracking_code]
    assert client.get("/reports/supervision/?min_days=x").status_code == 400
    # Scoped: the street officer of 甲街道 does not see 乙一社区's appeal, nor filter by it.
    street = login(city.users.street_officer)
    assert _codes(street.get("/reports/supervision/")) == [overdue[k].tracking_code for k in ("a1", "a2")]
    assert street.get("/reports/supervision/?unit=110101002").status_code == 404
    # Exported as shown.
    client = login(city.users.supervisor)
    raw = b"".join(client.get("/reports/supervision/?export=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))
    assert [r[0] for r in rows[1:]] == [overdue[k].tracking_code for k in ("c1", "a1", "a2")]
    api = client.get("/api/v1/reports/supervision/?district_only=true").json()
    assert [r["tracking_code"] for r in api["rows"]] == [overdue["a1"].tracking_code]


def test_a_supervisor_adds_a_note_the_handler_is_told(city, overdue, login, django_capture_on_commit_callbacks):
    appeal = overdue["a1"]
    version = appeal.version
    client = login(city.users.district_supervisor)
    with django_capture_on_commit_callbacks(execute=True):  # the outbox's relay delivers the inbox message
        response = client.post(f"/reports/supervision/{appeal.tracking_code}/", {"note": "请三日内办结并回复。"})
    assert response.status_code == 302
    event = AppealEvent.objects.get(appeal=appeal, action=AppealAction.SUPERVISE)
    assert event.note == "请三日内办结并回复。"
    assert event.actor == city.users.district_supervisor and "督办" in event.actor_label
    appeal.refresh_from_db()
    assert appeal.version == version and appeal.state == AppealState.IN_PROGRESS
    # The grid worker handling it gets an inbox message; the list counts the note.
    assert Notification.objects.filter(recipient=city.users.grid_worker, title__contains=appeal.tracking_code).exists()
    rows = client.get("/reports/supervision/?district_only=1").context["table"].rows
    assert rows[0]["notes"] == 1
    page = client.get(f"/reports/supervision/{appeal.tracking_code}/")
    assert "请三日内办结并回复。" in page.content.decode()
    # It shows on the appeal's own timeline too.
    assert "请三日内办结并回复。" in client.get(f"/appeals/{appeal.tracking_code}/").content.decode()


def test_only_supervisors_write_notes(city, overdue, login):
    code = overdue["a1"].tracking_code
    response = login(city.users.street_officer).post(f"/reports/supervision/{code}/", {"note": "x"})
    assert response.status_code == 403 and "督查考核" in response.content.decode()
    outside = login(city.users.outsider).post(f"/reports/supervision/{code}/", {"note": "x"})
    assert outside.status_code == 404
    empty = login(city.users.supervisor).post(f"/reports/supervision/{code}/", {"note": "  "})
    assert empty.status_code == 400
    assert not AppealEvent.objects.filter(action=AppealAction.SUPERVISE).exists()


def test_each_row_names_place_and_handler_as_the_appeal_does(city, overdue, login, django_assert_max_num_queries):
    """The list names the places and handlers from one query of the units' names
    (tables.place_texts), not from joins: the same texts as the appeal's own properties,
    whoever handles it — a grid (with its community), a street, a department, or nobody
    yet (the community's or the street's queue)."""
    from appeals.enums import HandlingLevel, QueueLevel
    from appeals.models import Appeal

    extra = make_overdue(city)  # a second set: more kinds of handler in one page
    handled = {
        "a1": dict(handling_level=HandlingLevel.GRID, handling_grid=city.grid_a2),
        "a2": dict(handling_level=HandlingLevel.DEPARTMENT, handling_department=city.chengguan),
        "c1": dict(handling_level=HandlingLevel.STREET, handling_street=city.street_b),
    }
    unhandled = dict(handling_level="", handling_grid=None, handling_community=None, handling_street=None,
                     handling_department=None)
    for key, fields in handled.items():
        Appeal.objects.filter(pk=overdue[key].pk).update(**{**unhandled, **fields})
    Appeal.objects.filter(pk=extra["a1"].pk).update(**unhandled, queue_level=QueueLevel.COMMUNITY)
    Appeal.objects.filter(pk=extra["a2"].pk).update(**unhandled, queue_level=QueueLevel.STREET)
    client = login(city.users.supervisor)
    client.get("/reports/supervision/")
    with django_assert_max_num_queries(12):
        rows = {r["tracking_code"]: r for r in client.get("/reports/supervision/").context["table"].rows}
    assert len(rows) == 6
    handlers = set()
    for appeal in Appeal.objects.filter(tracking_code__in=rows):
        assert (rows[appeal.tracking_code]["place"], rows[appeal.tracking_code]["handler"]) == (
            appeal.place_name, appeal.handling_unit_name)
        handlers.add(appeal.handling_unit_name)
    assert {"甲一社区第二网格", "城管", "乙街道", "甲一社区（待派单）", "甲街道分中心（待派单）"} <= handlers
    assert rows[overdue["c1"].tracking_code]["place"] == "乙一社区第一网格"

"""Correcting open deadlines when the calendar changes (issue 13): entering a day or marking
a year's official schedule moves the open deadlines it changes, each with an event; the
guards (never before the end of the next working day, nothing un-escalated); rows without
stored inputs; the operator's command; the warnings while a year is provisional; and the
catch-up after a broker outage. Every expected date is worked out by hand in the comments."""

import io
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from appeals import escalation, extensions, services, tasks
from appeals.enums import AppealAction, CalendarSource, EscalationLevel, HandlingLevel
from appeals.models import Appeal, CalendarDay, CalendarYear
from appeals.recompute import deadlines_recompute, year_recompute
from governance.kernel.clock import CHINA
from tests.appeals.factories import component_department_category, grid_category, receive
from tests.factories import UserFactory

A = AppealAction
pytestmark = pytest.mark.django_db


def cst(y, m, d, h=0, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=CHINA)


@pytest.fixture
def dispatch_at(city, freeze):
    """An appeal received and dispatched automatically to grid A1 at ``moment`` (the
    clock frozen there, so that its events carry that time too)."""

    def _dispatch(moment, category=None):
        freeze(moment)
        return receive(city, category=category or grid_category(), now=moment)

    return _dispatch


def corrections(appeal):
    return list(appeal.events.filter(action=A.DEADLINE_CORRECT))


def official_day(day, *, workday, name):
    return CalendarDay.objects.create(date=day, is_workday=workday, source=CalendarSource.OFFICIAL, name=name)


@pytest.fixture
def admin_client(client):
    """A client of an administrator: ``admin_client.login_now()`` after the clock is set
    (a session from another time has expired)."""
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.login_now = lambda: client.force_login(admin)
    return client


# --- the case: one 调休 Saturday entered in the admin ------------------------------------


def test_entering_one_adjusted_saturday_moves_an_open_deadline_with_its_event(
    city, dispatch_at, freeze, admin_client, django_capture_on_commit_callbacks,
):
    # Dispatched Mon 28 Dec 2026 with 7 working days: 29, 30, 31 Dec, (元旦), 4, 5, 6, 7 Jan.
    appeal = dispatch_at(cst(2026, 12, 28, 10))
    assert appeal.deadline == appeal.level_deadline == cst(2027, 1, 8)  # 2027-01-07 24:00
    version = appeal.version
    freeze(cst(2026, 12, 29, 9))
    admin_client.login_now()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/appeals/calendarday/add/", {
            "date": "2027-01-02", "is_workday": "on", "source": "official", "name": "元旦调休上班", "note": "",
        })
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response.url == "/admin/appeals/calendarday/", response.url
    # Sat 2 Jan is worked: 29, 30, 31 Dec, 2, 4, 5, 6 Jan — the end of Wednesday 6 January.
    appeal.refresh_from_db()
    assert appeal.deadline == appeal.level_deadline == cst(2027, 1, 7)
    assert appeal.version == version + 1
    (event,) = corrections(appeal)
    assert (event.actor_label, event.from_state, event.to_state) == ("系统", "dispatched", "dispatched")
    assert event.data["deadline"] == ["2027-01-08T00:00:00+08:00", "2027-01-07T00:00:00+08:00"]
    assert event.data["level_deadline"] == ["2027-01-08T00:00:00+08:00", "2027-01-07T00:00:00+08:00"]
    assert event.note.startswith("办结时限由 1月7日（周四）24:00 校正为 1月6日（周三）24:00。")
    assert "2027-01-02 设为上班（元旦调休上班，国办通知）" in event.note
    year = CalendarYear.objects.get(year=2027)
    assert year.recompute_requested_at is None and year.recomputed_at is not None

    # The resident's tracking page shows the new deadline and why.
    admin_client.post(reverse("public:track"), {"tracking_code": appeal.tracking_code, "phone_last4": "5678"})
    page = admin_client.get(reverse("public:track-detail", args=[appeal.tracking_code])).content.decode()
    assert "<dd>1月6日（周三）24:00</dd>" in page and "时限校正" in page

    # Run again: nothing moves twice.
    assert year_recompute(year=2027, force=True).moved == 0
    assert len(corrections(appeal)) == 1


def test_deleting_the_day_moves_it_back(city, dispatch_at, freeze, admin_client, django_capture_on_commit_callbacks):
    appeal = dispatch_at(cst(2026, 12, 28, 10))
    day = official_day(date(2027, 1, 2), workday=True, name="元旦调休上班")
    year_recompute(year=2027, now=cst(2026, 12, 29, 9))
    appeal.refresh_from_db()
    assert appeal.deadline == cst(2027, 1, 7)
    freeze(cst(2026, 12, 29, 9))
    admin_client.login_now()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/admin/appeals/calendarday/{day.pk}/delete/", {"post": "yes"}).status_code == 302
    appeal.refresh_from_db()
    assert appeal.deadline == cst(2027, 1, 8)
    assert [e.data["deadline"][1] for e in corrections(appeal)] == [
        "2027-01-07T00:00:00+08:00", "2027-01-08T00:00:00+08:00"]
    assert "删除 2027-01-02（上班）" in corrections(appeal)[-1].note


# --- the guards ---------------------------------------------------------------------------------


def test_the_level_deadline_moves_at_the_first_level_and_nothing_is_unescalated(city, dispatch_at):
    late = dispatch_at(cst(2026, 12, 28, 10))  # 2027-01-07 24:00, as above
    # Thu 31 Dec: 4, 5, 6, 7, 8, 11, 12 Jan → the end of Tuesday 12 January.
    early = dispatch_at(cst(2026, 12, 31, 10))
    assert early.deadline == early.level_deadline == cst(2027, 1, 13)
    hourly = dispatch_at(cst(2026, 12, 31, 23), category=component_department_category())  # 2 h
    assert escalation.escalation_sweep(now=cst(2027, 1, 8, 1)).escalated == 2  # `late` and `hourly`
    late.refresh_from_db()
    assert late.escalation_level == EscalationLevel.COMMUNITY and late.level_deadline == cst(2027, 1, 9, 1)

    # A stoppage on Tuesday 5 January.
    CalendarDay.objects.create(date=date(2027, 1, 5), is_workday=False, source=CalendarSource.OVERRIDE,
                               name="临时停工")
    result = deadlines_recompute(year=2027, reason="临时停工", now=cst(2027, 1, 8, 2))
    assert (result.moved, result.guarded) == (2, 0)
    late.refresh_from_db()
    early.refresh_from_db()
    hourly.refresh_from_db()
    # `late`: 29, 30, 31 Dec, 4, 6, 7, 8 Jan — the end of Friday 8 January; it stays escalated,
    # at the community, with the level deadline the escalation gave it.
    assert late.deadline == cst(2027, 1, 9)
    assert (late.escalation_level, late.handling_level, late.level_deadline) == (
        EscalationLevel.COMMUNITY, HandlingLevel.COMMUNITY, cst(2027, 1, 9, 1))
    assert "level_deadline" not in corrections(late)[0].data
    # `early`, still at its first level: 4, 6, 7, 8, 11, 12, 13 Jan; its level deadline moves with it.
    assert early.deadline == early.level_deadline == cst(2027, 1, 14)
    # Hours are hours: the 2-hour deadline does not depend on the calendar.
    assert hourly.deadline == cst(2027, 1, 1, 1) and corrections(hourly) == []


def test_a_deadline_never_moves_before_the_end_of_the_next_working_day(city, dispatch_at):
    appeal = dispatch_at(cst(2026, 12, 28, 10))  # 2027-01-07 24:00
    # A (hypothetical) notice makes Saturday 2 and Sunday 3 January working days: 29, 30, 31 Dec,
    # 2, 3, 4, 5 Jan — the end of Tuesday 5 January.
    official_day(date(2027, 1, 2), workday=True, name="调休上班")
    official_day(date(2027, 1, 3), workday=True, name="调休上班")
    # On Thursday 7 January the next working day is Friday 8: nothing earlier than its end,
    # which is later than the deadline itself, so it stays.
    assert deadlines_recompute(year=2027, reason="录入", now=cst(2027, 1, 7, 10)).moved == 0
    # On Tuesday 5 January: not before the end of Wednesday 6, instead of the 5th.
    result = deadlines_recompute(year=2027, reason="录入", now=cst(2027, 1, 5, 10))
    assert (result.moved, result.guarded) == (1, 1)
    appeal.refresh_from_db()
    assert appeal.deadline == appeal.level_deadline == cst(2027, 1, 7)
    (event,) = corrections(appeal)
    assert event.data["guarded"] is True and event.data["computed"] == "2027-01-06T00:00:00+08:00"
    assert "按新日历应为 1月5日（周二）24:00" in event.note


def test_approved_extensions_count_in_working_days(city, dispatch_at):
    u = city.users
    whole = dispatch_at(cst(2026, 12, 28, 10))
    evening = dispatch_at(cst(2026, 12, 28, 11))
    asked = cst(2026, 12, 29, 9)
    for appeal, until in ((whole, cst(2027, 1, 13)), (evening, cst(2027, 1, 12, 18))):
        request = extensions.extension_request(actor=u.grid_worker, appeal=appeal, requested_deadline=until,
                                               reason="需协调物业", now=asked)
        extensions.extension_approve(actor=u.community_worker, extension=request, now=asked)
        appeal.refresh_from_db()
        # From the end of 7 Jan: 8, 11 and 12 Jan (an extension to 18:00 on the 12th counts the 12th).
        assert (appeal.deadline, appeal.deadline_extension_days) == (until, 3)
    # Nothing changed in the calendar: nothing moves (18:00 on the 12th stays, its day is right).
    assert deadlines_recompute(year=2027, reason="核对", now=asked).moved == 0
    # Saturday 2 January worked: 7 + 3 working days are 29, 30, 31 Dec, 2, 4, 5, 6, 7, 8, 11 Jan.
    official_day(date(2027, 1, 2), workday=True, name="调休上班")
    assert deadlines_recompute(year=2027, reason="录入", now=asked).moved == 2
    for appeal in (whole, evening):
        appeal.refresh_from_db()
        assert appeal.deadline == cst(2027, 1, 12)  # 2027-01-11 24:00


# --- rows dispatched before the inputs were stored ---------------------------------------------


def test_a_row_without_inputs_is_recomputed_from_its_first_dispatch(city, dispatch_at, freeze):
    u = city.users
    appeal = dispatch_at(cst(2026, 12, 28, 10))
    # Returned on the 29th and dispatched again on the 30th: the deadline runs from the first dispatch.
    freeze(cst(2026, 12, 29, 10))
    appeal = services.appeal_act(actor=u.grid_worker, appeal=appeal, action=A.RETURN, reason="不属于本网格")
    freeze(cst(2026, 12, 30, 10))
    # Back to the unit that returned it: confirmed, with a note (issue 19).
    appeal = services.appeal_act(actor=u.street_officer, appeal=appeal, action=A.DISPATCH, unit=city.grid_a1,
                                 confirm_return=True, note="核实属本网格")
    assert appeal.dispatched_at == cst(2026, 12, 30, 10) and appeal.deadline == cst(2027, 1, 8)
    # As the code before issue 13 left it: no inputs, and Mon–Fri for 2027 (元旦 counted as worked).
    Appeal.objects.filter(pk=appeal.pk).update(
        deadline_start=None, deadline_limit=None, deadline_unit=None, deadline_extension_days=None,
        deadline=cst(2027, 1, 7), level_deadline=cst(2027, 1, 7),
    )
    result = deadlines_recompute(year=2027, reason="升级日历", now=cst(2026, 12, 30, 12))
    assert (result.moved, result.unknown) == (1, 0)
    appeal.refresh_from_db()
    # From 28 Dec, not from 30 Dec (which would end on 12 Jan).
    assert appeal.deadline == appeal.level_deadline == cst(2027, 1, 8)
    assert (appeal.deadline_start, appeal.deadline_limit, appeal.deadline_unit, appeal.deadline_extension_days) == (
        cst(2026, 12, 28, 10), 7, "working_days", 0)
    assert corrections(appeal)[0].data["inputs"]["derived"] is True


# --- marking a year official, the operator's command --------------------------------------------


def test_marking_the_year_official_recomputes_with_the_entered_days_only(
    city, dispatch_at, freeze, admin_client, django_capture_on_commit_callbacks,
):
    # Wed 3 Feb 2027 under the law: 4 Feb; 5–10 Feb off (除夕 to 初三, 补假 9 and 10); 11, 12,
    # 15, 16, 17, 18 Feb — the end of Thursday 18 February.
    appeal = dispatch_at(cst(2027, 2, 3, 10))
    assert appeal.deadline == cst(2027, 2, 19)
    # A (hypothetical) notice: 春节 off from 5 to 11 February, Saturday 20 February worked.
    for day in range(5, 12):
        official_day(date(2027, 2, day), workday=False, name="春节")
    official_day(date(2027, 2, 20), workday=True, name="春节调休上班")
    # The year's row exists since its first entered day; the admin marks it from the list.
    year = CalendarYear.objects.get(year=2027)
    assert not year.official_entered
    admin_client.login_now()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/appeals/calendaryear/", {
            "action": "mark_official", "_selected_action": [year.pk], "index": 0,
        })
    assert response.status_code == 302
    year = CalendarYear.objects.get(year=2027)
    assert year.official_entered and year.entered_by.username == "root"
    # 4 Feb; 5–11 off; 12, 15, 16, 17, 18, 19 Feb — the end of Friday 19 February. (With the
    # law's days and the rows alone it would be the same: the notice's rows decide here.)
    appeal.refresh_from_db()
    assert appeal.deadline == cst(2027, 2, 20)
    assert "标记已录入国办通知" in corrections(appeal)[-1].note


def test_the_operators_check_lists_a_years_days_with_name_and_source():
    out, err = io.StringIO(), io.StringIO()
    call_command("workdays", year=2027, stdout=out, stderr=err)
    assert out.getvalue().splitlines() == [
        "2027-01-01 元旦 法定 休息（周五）",
        "2027-02-05 春节 法定 休息（周五）",
        "2027-02-06 春节 法定 休息（周六）",
        "2027-02-07 春节 法定 休息（周日）",
        "2027-02-08 春节 法定 休息（周一）",
        "2027-02-09 春节补假 法定 休息（周二）",
        "2027-02-10 春节补假 法定 休息（周三）",
        "2027-04-05 清明节 法定 休息（周一）",
        "2027-05-01 劳动节 法定 休息（周六）",
        "2027-05-02 劳动节 法定 休息（周日）",
        "2027-05-03 劳动节补假 法定 休息（周一）",
        "2027-05-04 劳动节补假 法定 休息（周二）",
        "2027-06-09 端午节 法定 休息（周三）",
        "2027-09-15 中秋节 法定 休息（周三）",
        "2027-10-01 国庆节 法定 休息（周五）",
        "2027-10-02 国庆节 法定 休息（周六）",
        "2027-10-03 国庆节 法定 休息（周日）",
        "2027-10-04 国庆节补假 法定 休息（周一）",
        "2027-10-05 国庆节补假 法定 休息（周二）",
    ]
    assert "暂定" in err.getvalue()
    # An entered 调休 Saturday is listed among them, with its source.
    official_day(date(2027, 2, 20), workday=True, name="春节调休上班")
    out = io.StringIO()
    call_command("workdays", year=2027, stdout=out, stderr=io.StringIO())
    assert "2027-02-20 春节调休上班 国办通知 上班（周六）" in out.getvalue().splitlines()
    # A year the library covers: the State Council's schedule with its 调休 days.
    out = io.StringIO()
    call_command("workdays", year=2026, stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()
    assert lines[:4] == [
        "2026-01-01 元旦 国办通知 休息（周四）", "2026-01-02 元旦 国办通知 休息（周五）",
        "2026-01-03 元旦 国办通知 休息（周六）", "2026-01-04 元旦调休上班 国办通知 上班（周日）",
    ]
    assert "2026-10-10 国庆节调休上班 国办通知 上班（周六）" in lines


def test_the_command_applies_the_recomputation(city, dispatch_at, freeze):
    appeal = dispatch_at(cst(2026, 12, 28, 10))
    # The day entered without a queued job (as if the broker had been down): the command runs it.
    official_day(date(2027, 1, 2), workday=True, name="元旦调休上班")
    freeze(cst(2026, 12, 29, 9))
    err = io.StringIO()
    call_command("workdays", year=2027, apply=True, stdout=io.StringIO(), stderr=err)
    assert "校正 1 件" in err.getvalue()
    appeal.refresh_from_db()
    assert appeal.deadline == cst(2027, 1, 7)


# --- warnings while a year is provisional ------------------------------------------------------


def test_provisional_year_is_shown_to_admins_and_supervisors_and_on_healthz(
    city, dispatch_at, freeze, client, admin_client, django_assert_max_num_queries,
):
    dispatch_at(cst(2026, 12, 28, 10))  # its deadline reaches into 2027, which is provisional
    freeze(cst(2026, 12, 29, 9))
    admin_client.login_now()
    banner = "2027年工作日历为暂定"
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["calendar"]["provisional_years"] == [2027]
    assert banner in admin_client.get("/").content.decode()
    assert banner in admin_client.get("/admin/").content.decode()
    assert banner in admin_client.get("/admin/appeals/calendarday/").content.decode()
    client.force_login(city.users.supervisor)
    page = client.get("/").content.decode()
    assert banner in page and "1 件未办结诉求" in page
    # The count is kept a few minutes: the page costs what a grid worker's does (session,
    # user, posts, queue counts, report card).
    with django_assert_max_num_queries(8):  # + the menu asks whether the account is a volunteer (governance.nav)
        assert banner in client.get("/").content.decode()
    client.force_login(city.users.grid_worker)
    assert banner not in client.get("/").content.decode()

    CalendarYear.objects.update_or_create(year=2027, defaults={"official_entered": True})
    assert client.get("/healthz").json()["calendar"]["provisional_years"] == []
    assert banner not in admin_client.get("/").content.decode()


# --- a broker outage ----------------------------------------------------------------------------


@pytest.mark.live_celery
def test_a_change_made_while_the_broker_is_down_is_caught_up_by_the_beat(
    city, dispatch_at, freeze, caplog, django_capture_on_commit_callbacks,
):
    from tests.appeals.test_broker_outage import broker_down

    appeal = dispatch_at(cst(2026, 12, 28, 10))
    freeze(cst(2026, 12, 29, 9))
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        official_day(date(2027, 1, 2), workday=True, name="元旦调休上班")  # saved; the job cannot be queued
    assert "could not queue the deadline re-computation of 2027" in caplog.text
    appeal.refresh_from_db()
    assert appeal.deadline == cst(2027, 1, 8)
    assert CalendarYear.objects.get(year=2027).recompute_requested_at == cst(2026, 12, 29, 9)
    # The beat's catch-up leaves a queued job its head start, then runs what is still pending.
    assert tasks.recompute_pending_deadlines() == []
    freeze(cst(2026, 12, 29, 9) + timedelta(seconds=tasks.RECOMPUTE_CATCH_UP_AFTER))
    assert tasks.recompute_pending_deadlines() == [2027]
    appeal.refresh_from_db()
    assert appeal.deadline == cst(2027, 1, 7) and len(corrections(appeal)) == 1
    assert CalendarYear.objects.get(year=2027).recompute_requested_at is None

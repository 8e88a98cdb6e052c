"""The staff dashboard of appeals through its pages: the queue, the appeal page and its
action forms (plain POST and htmx), intake on a resident's behalf and grid patrol."""

from datetime import timedelta

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.test.html import parse_html
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appeals import services
from appeals.enums import AppealAction, AppealState, Rating, Source
from appeals.forms import ACTION_FORMS, QuickSelect
from appeals.models import Appeal, AppealCoHandler
from appeals.selectors import appeal_browse, appeal_timeline
from appeals.views import countdown
from governance.models import AccessLog
from governance.staff.selectors import jurisdiction_for
from tests.appeals.factories import (
    community_category,
    component_department_category,
    grid_category,
    receive,
    street_category,
    verified_category,
)
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.helpers import detail_url, png

A = AppealAction
S = AppealState
pytestmark = pytest.mark.django_db

CONFLICT = "该诉求已被他人处理（已变更），请刷新后重试。"
HTMX = {"HTTP_HX_REQUEST": "true"}


def action_url(appeal, action) -> str:
    return reverse("appeals:action", args=[appeal.tracking_code, action])


def post_action(client, appeal, action, **data):
    appeal.refresh_from_db()
    data.setdefault("expected_version", appeal.version)
    return client.post(action_url(appeal, action), data)


def events(appeal) -> list[str]:
    return [e.action for e in appeal_timeline(appeal)]


def text(response) -> str:
    return response.content.decode()


# --- the whole loop ------------------------------------------------------------------------------


def test_loop_through_the_pages_for_a_landline_walk_in(city, client, login, sms_outbox):
    """Walk-in with a landline → automatic dispatch to the grid → sign with contact →
    resolve with a photo → on-site verification → feedback by the community after a
    call → the resident evaluates → closed; every step on the timeline."""
    u = city.users
    category = verified_category()
    login(u.community_worker)
    response = client.post(reverse("appeals:intake"), {
        "source": Source.WALK_IN, "phone": "010 12345678", "name": "张大妈", "building": city.building_a1.code,
        "category": category.pk, "description": "楼道里堆满杂物，影响通行",
    })
    appeal = Appeal.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(appeal)
    assert appeal.source == Source.WALK_IN and appeal.phone == "010-12345678"
    assert appeal.state == S.DISPATCHED and appeal.handling_grid == city.grid_a1
    assert sms_outbox == []  # a landline gets no SMS

    login(u.grid_worker)
    page = client.get(detail_url(appeal))
    assert page.status_code == 200
    assert "010-12345678" in text(page)  # the handler sees the full number to call back
    assert 'action="%s"' % action_url(appeal, A.SIGN) in text(page)
    assert post_action(client, appeal, A.SIGN, contact="on", note="已电话联系").status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == S.IN_PROGRESS and appeal.first_contact_at is not None

    response = post_action(client, appeal, A.RESOLVE, result="已协调物业清理楼道", photos=[png()])
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == S.RESOLVED and appeal.attachments.filter(kind="result").count() == 1

    # Verification comes first: the community cannot give feedback yet.
    login(u.community_worker)
    assert f'action="{action_url(appeal, A.FEEDBACK)}"' not in text(client.get(detail_url(appeal)))
    response = post_action(client, appeal, A.FEEDBACK, method="phone", note="已电话告知")
    assert response.status_code == 409
    login(u.grid_worker)
    assert post_action(client, appeal, A.VERIFY_PASS, note="现场已清理").status_code == 302

    login(u.community_worker)
    response = post_action(client, appeal, A.FEEDBACK, method="phone", note="已电话告知居民办理结果")
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == S.AWAITING_EVALUATION

    services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=True,
                             rating=Rating.SATISFIED, comment="满意")
    appeal.refresh_from_db()
    assert appeal.state == S.CLOSED
    assert events(appeal) == [A.RECEIVE, A.DISPATCH, A.SIGN, A.RESOLVE, A.VERIFY_PASS, A.FEEDBACK, A.EVALUATE]
    feedback = appeal_timeline(appeal)[5]
    assert feedback.actor == u.community_worker and feedback.data == {"method": "phone"}

    page = text(client.get(detail_url(appeal)))
    for label in ("受理", "派单", "签收", "办结", "核查通过", "反馈", "评价", "已协调物业清理楼道", "电话回访", "满意"):
        assert label in page
    # The result photo is served to staff who see the appeal, through the scope.
    photo = appeal.attachments.get()
    assert reverse("appeals:photo", args=[appeal.tracking_code, photo.pk]) in page
    assert client.get(reverse("appeals:photo", args=[appeal.tracking_code, photo.pk])).status_code == 200


def test_loop_with_htmx_swaps_the_region(city, client, login):
    appeal = receive(city, category=grid_category())
    login(city.users.grid_worker)
    appeal.refresh_from_db()
    response = client.post(action_url(appeal, A.SIGN), {"expected_version": appeal.version, "contact": "on"}, **HTMX)
    assert response.status_code == 200
    body = text(response)
    assert body.startswith('<div id="appeal-region">') and "<html" not in body
    assert "已签收" in body and 'action="%s"' % action_url(appeal, A.RESOLVE) in body
    appeal.refresh_from_db()
    assert appeal.state == S.IN_PROGRESS


# --- who may see and act ------------------------------------------------------------------------------


def test_outsider_gets_404_on_every_page_and_action(city, client, login):
    appeal = receive(city, category=grid_category())
    services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.SIGN)
    services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.RESOLVE, result="已处理",
                        photos=[png()])
    photo = appeal.attachments.get()
    login(city.users.outsider)
    assert client.get(detail_url(appeal)).status_code == 404
    assert client.get(reverse("appeals:photo", args=[appeal.tracking_code, photo.pk])).status_code == 404
    for action in ACTION_FORMS:
        response = client.post(action_url(appeal, action), {"expected_version": appeal.version, "note": "x", "reason": "x"})
        assert response.status_code == 404, action
        assert client.post(action_url(appeal, action), {}, **HTMX).status_code == 404
    assert appeal.tracking_code not in text(client.get(reverse("appeals:queue") + "?scope=1"))
    assert client.get(reverse("appeals:queue"), {"q": appeal.tracking_code, "scope": "1"}).context["rows"] == []
    assert events(appeal) == [A.RECEIVE, A.DISPATCH, A.SIGN, A.RESOLVE, A.FEEDBACK]


@pytest.mark.parametrize("who", ["supervisor", "district_supervisor"])
def test_supervisor_reads_but_gets_403_with_reason_on_actions(city, client, login, who):
    appeal = receive(city, category=grid_category())
    login(getattr(city.users, who))
    page = client.get(detail_url(appeal))
    assert page.status_code == 200
    assert "138****5678" in text(page) and "13812345678" not in text(page)
    assert "督查考核账号只读" in text(page)
    assert not AccessLog.objects.exists()  # nothing personal was shown
    response = post_action(client, appeal, A.SIGN)
    assert response.status_code == 403 and "督查考核账号只读，不能办理诉求。" in text(response)
    response = client.post(action_url(appeal, A.NOTE), {"expected_version": appeal.version}, **HTMX)
    assert response.status_code == 403 and response["HX-Retarget"] == "#flash"
    assert "督查考核账号只读" in text(response) and "<html" not in text(response)
    assert events(appeal) == [A.RECEIVE, A.DISPATCH]


def test_colleague_inside_the_jurisdiction_gets_403_with_the_reason(city, client, login):
    appeal = receive(city, category=grid_category())
    login(city.users.street_officer)  # sees it, but grid A1 handles it
    response = post_action(client, appeal, A.RETURN)  # even with the form incomplete
    assert response.status_code == 403 and "只有当前办理单位可以退单。" in text(response)


def test_viewing_the_full_phone_is_logged(city, client, login):
    appeal = receive(city, category=grid_category())
    login(city.users.grid_worker)
    client.get(detail_url(appeal))
    log = AccessLog.objects.get()
    assert log.user == city.users.grid_worker and log.action == "view" and log.subject == f"appeal:{appeal.tracking_code}"


# --- stale pages, bad input -------------------------------------------------------------------------


def test_stale_version_gives_the_conflict_message_and_no_event(city, client, login):
    appeal = receive(city, category=grid_category())
    seen = appeal.version
    services.appeal_act(actor=city.users.community_worker, appeal=appeal, action=A.NOTE, note="请尽快处理")
    login(city.users.grid_worker)
    response = client.post(action_url(appeal, A.SIGN), {"expected_version": seen, "contact": "on"})
    assert response.status_code == 409 and CONFLICT in text(response)
    # The refreshed page offers the action again with the current version.
    appeal.refresh_from_db()
    assert f'name="expected_version" value="{appeal.version}"' in text(response)
    response = client.post(action_url(appeal, A.SIGN), {"expected_version": seen}, **HTMX)
    assert response.status_code == 409 and CONFLICT in text(response)
    appeal.refresh_from_db()
    assert appeal.state == S.DISPATCHED and events(appeal) == [A.RECEIVE, A.DISPATCH, A.NOTE]


def test_reason_required_and_missing_version_refused(city, client, login):
    appeal = receive(city, category=grid_category())
    login(city.users.grid_worker)
    response = post_action(client, appeal, A.RETURN, reason="  ")
    assert response.status_code == 400 and "请填写退单理由。" in text(response)
    response = client.post(action_url(appeal, A.SIGN), {})
    assert response.status_code == 400
    assert events(appeal) == [A.RECEIVE, A.DISPATCH]


def test_bad_uploads_are_refused(city, client, login):
    appeal = receive(city, category=grid_category())
    services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.SIGN)
    login(city.users.grid_worker)
    fake = SimpleUploadedFile("result.jpg", b"this is not a picture", content_type="image/jpeg")
    response = post_action(client, appeal, A.RESOLVE, result="已处理", photos=[fake])
    assert response.status_code == 400 and "不是有效的图片" in text(response)
    response = post_action(client, appeal, A.RESOLVE, result="已处理", photos=[png("1.png"), png("2.png"), png("3.png"), png("4.png")])
    assert response.status_code == 400 and "最多上传 3 张照片" in text(response)
    appeal.refresh_from_db()
    assert appeal.state == S.IN_PROGRESS and not appeal.attachments.exists()

    response = client.post(reverse("appeals:patrol"), {
        "description": "路灯不亮", "address_text": "1号楼东侧", "photos": [SimpleUploadedFile("a.png", b"GIF89a...")],
    })
    assert response.status_code == 200 and "不是有效的图片" in text(response)
    assert Appeal.objects.count() == 1


# --- intake -----------------------------------------------------------------------------------------


def test_staff_intake_by_phone_with_landline_and_address_in_words(city, client, login):
    login(city.users.community_worker)
    page = client.get(reverse("appeals:intake"))
    assert page.status_code == 200 and "来访" in text(page)
    response = client.post(reverse("appeals:intake"), {
        "source": Source.PHONE, "phone": "01087654321", "place": f"community:{city.comm_a.code}",
        "address_text": "和平里小区北门", "description": "北门路灯坏了", "anonymous": "on", "name": "不显示",
    })
    appeal = Appeal.objects.get()
    assert response.status_code == 302
    assert appeal.source == Source.PHONE and appeal.phone == "010-87654321" and appeal.anonymous and appeal.name == ""
    assert appeal.state == S.RECEIVED and appeal.community == city.comm_a  # waits in the community's queue
    assert appeal_timeline(appeal)[0].actor == city.users.community_worker

    # Bad input is shown on the form, nothing is saved.
    response = client.post(reverse("appeals:intake"), {"source": Source.PHONE, "phone": "12345", "description": ""})
    assert response.status_code == 200
    assert "电话号码“12345”无效" in text(response) and "请填写诉求内容。" in text(response)
    response = client.post(reverse("appeals:intake"), {
        "source": Source.PHONE, "building": city.building_c1.code, "description": "外辖区楼栋",
    })
    assert "找不到该楼栋，或不在您的辖区内。" in text(response)
    assert Appeal.objects.count() == 1


def test_intake_building_search_stays_in_the_jurisdiction(city, client, login):
    login(city.users.community_worker)
    response = client.get(reverse("appeals:building-search"), {"bq": "号楼"}, **HTMX)
    assert "和平里1号楼" in text(response) and "和平里2号楼" in text(response)
    assert "交道口4号楼" not in text(response) and "安定门3号楼" not in text(response)
    # Without JavaScript the form reloads with the results and what was typed.
    page = client.get(reverse("appeals:intake"), {"bq": "和平里1", "description": "已填写的内容"})
    assert f'value="{city.building_a1.code}"' in text(page) and "已填写的内容" in text(page)


def test_intake_refused_to_supervisors_and_departments(city, client, login):
    for user in (city.users.supervisor, city.users.department_handler):
        login(user)
        response = client.get(reverse("appeals:intake"))
        assert response.status_code == 403 and "只有网格员、社区和街道工作人员可以代居民登记诉求。" in text(response)
    assert client.get(reverse("appeals:patrol")).status_code == 403


def test_grid_patrol_with_a_photo_from_the_phone(city, client, login):
    category = grid_category()
    login(city.users.grid_worker)
    page = text(client.get(reverse("appeals:patrol")))
    assert 'capture="environment"' in page and 'accept="image/*"' in page and "multiple" in page
    response = client.post(reverse("appeals:patrol"), {
        "category": category.pk, "description": "垃圾桶满溢", "address_text": "1号楼西侧垃圾站", "photos": [png()],
    })
    appeal = Appeal.objects.get()
    assert response.status_code == 302
    assert appeal.source == Source.GRID_PATROL and appeal.grid == city.grid_a1 and appeal.phone == ""
    assert appeal.attachments.filter(kind="intake").count() == 1
    # A patrol report with a grid dispatches to that grid at once; the finder's own: in progress.
    assert appeal.state == S.IN_PROGRESS and appeal.handling_grid == city.grid_a1
    page = text(client.get(detail_url(appeal)))
    assert "网格巡查" in page and reverse("appeals:photo", args=[appeal.tracking_code, appeal.attachments.get().pk]) in page


# --- dispatch, whistle, 报到 ----------------------------------------------------------------------------


def test_community_dispatches_from_its_queue(city, client, login):
    appeal = receive(city, category=None)
    assert appeal.state == S.RECEIVED
    login(city.users.community_worker)
    page = text(client.get(detail_url(appeal)))
    assert f'value="grid:{city.grid_a1.code}"' in page and f'value="department:{city.chengguan.code}"' in page
    response = post_action(client, appeal, A.DISPATCH, unit=f"grid:{city.grid_a1.code}", category=grid_category().pk)
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == S.DISPATCHED and appeal.handling_grid == city.grid_a1 and appeal.deadline


def test_merge_and_decline_need_their_input(city, client, login):
    target = receive(city, category=None, description="同一处垃圾")
    appeal = receive(city, category=None)
    login(city.users.community_worker)
    response = post_action(client, appeal, A.MERGE, target="NOSUCHCODE22")
    assert response.status_code == 400 and "找不到查询码为" in text(response)
    response = post_action(client, appeal, A.MERGE, target=target.tracking_code.lower())
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == S.DECLINED and appeal.merged_into == target


def test_street_whistles_and_the_department_checks_in_from_its_queue(city, client, login):
    appeal = receive(city, category=grid_category())
    login(city.users.street_officer)
    page = text(client.get(detail_url(appeal)))
    assert "吹哨" in page and "城管" in page
    response = post_action(client, appeal, A.WHISTLE, departments=[city.chengguan.pk], note="请城管协助")
    assert response.status_code == 302

    login(city.users.department_handler)
    queue = text(client.get(reverse("appeals:queue")))
    assert appeal.tracking_code in queue and "报到" in queue
    appeal.refresh_from_db()
    response = client.post(action_url(appeal, A.CHECKIN), {"expected_version": appeal.version, "next": "queue"})
    assert response.status_code == 302 and response["Location"] == reverse("appeals:queue")
    co = AppealCoHandler.objects.get(appeal=appeal)
    assert co.department == city.chengguan and co.checked_in_at is not None
    assert events(appeal) == [A.RECEIVE, A.DISPATCH, A.WHISTLE, A.CHECKIN]
    page = text(client.get(detail_url(appeal)))
    assert "已报到" in page
    assert f'action="{action_url(appeal, A.CHECKIN)}"' not in page  # once only


def test_department_handler_lands_on_what_is_routed_to_it(city, client, login):
    routed = receive(city, category=component_department_category())
    other = receive(city, category=grid_category())
    login(city.users.department_handler)
    page = text(client.get(reverse("appeals:queue")))
    assert routed.tracking_code in page and other.tracking_code not in page
    assert client.get(detail_url(other)).status_code == 404


# --- the queue ---------------------------------------------------------------------------------------


def _queue_query_count(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("appeals:queue"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("who", "listed"), [("community_worker", 30), ("street_officer", 30), ("supervisor", 60),
                                             ("department_handler", 30)])
def test_queue_query_count_is_bounded(city, client, login, who, listed, django_assert_max_num_queries):
    """5 appeals or 60 (two pages): the same number of queries. Half wait for dispatch,
    half (部件) went to the department, some of them overdue."""
    u = city.users
    categories = [None, component_department_category()]
    buildings = [city.building_a1, city.building_a2]

    def make(i):
        appeal = receive(city, category=categories[i % 2], building=buildings[i // 2 % 2], phone=f"1380000{i:04d}")
        if appeal.state == S.DISPATCHED:
            Appeal.objects.filter(pk=appeal.pk).update(deadline=timezone.now() - timedelta(hours=i % 3))

    for i in range(5):
        make(i)
    login(getattr(u, who))
    few = _queue_query_count(client)
    for i in range(5, 60):
        make(i)
    with django_assert_max_num_queries(few):
        page = client.get(reverse("appeals:queue"))
    assert page.context["total"] == listed
    # The list's count is the tab counts' (one query for the worker's queue, two when
    # browsing: the open states, the final ones), the rows two index ranges where the
    # deadlines end, their units one query at most here (the department's).
    assert few <= 13, few


def test_lists_read_the_place_and_handling_unit_of_every_level_in_few_queries(city, django_assert_max_num_queries):
    """The lists join only the category and the grid's community and street (a wider join
    costs PostgreSQL more to plan than to run); the rest of what a row shows comes from at
    most four small queries — the same names as a full select_related."""
    made = [
        receive(city, category=grid_category()),
        receive(city, category=community_category(), building=city.building_a2),
        receive(city, category=street_category(), building=city.building_c1),
        receive(city, category=component_department_category(), building=city.building_b1),
        receive(city, category=None),  # waits in the community's queue
        receive(city, category=None, community=city.comm_c, address_text="胡同口"),  # no grid
        receive(city, category=None, street=city.street_b, address_text="桥下"),  # only a street
    ]
    assert {a.handling_level for a in made} == {"grid", "community", "street", "department", ""}

    def shown(a) -> tuple:
        names = [u.name if u else None for u in (a.category, a.street, a.community, a.grid, a.handling_unit)]
        return (*names, a.handling_unit_name)

    full = Appeal.objects.select_related(
        "category", "street", "community", "grid", "handling_grid__community", "handling_community",
        "handling_street", "handling_department",
    )
    expected = {a.pk: shown(a) for a in full}
    jur = jurisdiction_for(city.users.district_supervisor)
    with django_assert_max_num_queries(5):
        listed = {a.pk: shown(a) for a in appeal_browse(jurisdiction=jur)}
    assert listed == expected and len(listed) == len(made)
    # Streamed by QuerySet.iterator(): the same, chunk by chunk.
    assert {a.pk: shown(a) for a in appeal_browse(jurisdiction=jur).iterator(chunk_size=3)} == expected


def test_the_page_count_is_the_tab_count(city, client, login, settings):
    """The list's count is the tab count (no second COUNT): 7 open appeals of which 2 in
    progress, 5 per page, under each tab, a filter and the scope browser; the next page
    is a cursor link."""
    settings.PAGE_SIZE = 5
    appeals = [receive(city, category=grid_category(), phone=f"1390000{i:04d}") for i in range(7)]
    for appeal in appeals[:2]:
        services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.SIGN)
    login(city.users.community_worker)

    def paging(**params) -> tuple[int, bool, int]:
        response = client.get(reverse("appeals:queue"), params)
        return response.context["total"], response.context["page"].next_cursor is not None, len(response.context["rows"])

    first = client.get(reverse("appeals:queue")).context["page"]
    assert paging() == (7, True, 5) and paging(cursor=first.next_cursor) == (7, False, 2)
    assert paging(state=S.IN_PROGRESS) == (2, False, 2) and paging(state=S.DISPATCHED) == (5, False, 5)
    assert paging(q=appeals[0].tracking_code) == (1, False, 1)
    assert paging(scope="1", state=S.CLOSED) == (0, False, 0)
    page = text(client.get(reverse("appeals:queue"), {"cursor": first.next_cursor}))
    assert "共 7 条" in page and "上一页" in page and "下一页" not in page


def test_quick_select_writes_the_markup_of_djangos_select():
    """The queue's category and grid filters render in Python: the same HTML as Django's
    template-rendered <select>, escaping included."""
    choices = [("", "全部类别"), ("市容 <环境>", [(1, "垃圾 & 杂物"), (2, '"引号"')]), (3, "<b>丙</b>")]
    for value in ("", "2", "3", None):
        quick = QuickSelect(choices=choices).render("category", value, {"id": "id_category", "required": False})
        assert parse_html(quick) == parse_html(forms.Select(choices=choices).render(
            "category", value, {"id": "id_category", "required": False}))
    assert "&lt;b&gt;丙&lt;/b&gt;" in quick and "<b>" not in quick


def test_appeal_page_query_count_is_bounded(city, client, login, django_assert_max_num_queries):
    """The appeal page of a worker who may act (forms, the full phone logged), with intake
    photos, whistled to a department: 2 progress notes or 30, the same number of queries."""
    appeal = receive(city, category=grid_category(), photos=[png("a.png"), png("b.png")])
    services.appeal_act(actor=city.users.street_officer, appeal=appeal, action=A.WHISTLE,
                        departments=[city.chengguan], note="请城管协助")

    def add_notes(n):
        for i in range(n):
            services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.NOTE, note=f"进展{i}")
            appeal.refresh_from_db()

    add_notes(2)
    login(city.users.grid_worker)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(detail_url(appeal)).status_code == 200
    few = len(ctx.captured_queries)
    add_notes(28)
    with django_assert_max_num_queries(few):
        page = text(client.get(detail_url(appeal)))
    assert "进展27" in page and "城管" in page and "签收" in page
    assert few <= 14, few
    # The timeline names each step and state change as the model's get_*_display does.
    for event in appeal_timeline(appeal):
        assert f"<b>{event.get_action_display()}</b>" in page
        if event.from_state != event.to_state:
            assert f"{event.get_from_state_display()} → {event.get_to_state_display()}" in page


def test_tabs_filters_and_search(city, client, login):
    u = city.users
    grid_cat, comm_cat = grid_category(), community_category()
    a1 = receive(city, category=grid_cat, phone="13900000001")
    a2 = receive(city, category=grid_cat, building=city.building_a2, phone="13900000002")
    c1 = receive(city, category=comm_cat, phone="13900000003")
    waiting = receive(city, category=None, phone="13900000004")
    services.appeal_act(actor=u.grid_worker, appeal=a1, action=A.SIGN)
    late = receive(city, category=grid_cat, phone="13900000005")
    Appeal.objects.filter(pk=late.pk).update(deadline=timezone.now() - timedelta(hours=3))
    elsewhere = receive(city, category=grid_cat, building=city.building_b1, phone="13900000006")

    login(u.community_worker)

    def codes(**params):
        response = client.get(reverse("appeals:queue"), params)
        assert response.status_code == 200
        return {a.tracking_code for a in response.context["rows"]}

    everything = {a1.tracking_code, a2.tracking_code, c1.tracking_code, waiting.tracking_code, late.tracking_code}
    assert codes() == everything  # not the other community's
    tabs = {t["state"]: t["count"] for t in client.get(reverse("appeals:queue")).context["tabs"]}
    assert tabs[""] == 5 and tabs[S.RECEIVED] == 1 and tabs[S.DISPATCHED] == 3 and tabs[S.IN_PROGRESS] == 1
    assert codes(state=S.IN_PROGRESS) == {a1.tracking_code}
    assert codes(state=S.RECEIVED) == {waiting.tracking_code}
    assert codes(category=comm_cat.pk) == {c1.tracking_code}
    assert codes(grid=city.grid_a2.code) == {a2.tracking_code}
    assert codes(overdue="on") == {late.tracking_code}
    assert codes(q=a2.tracking_code.lower()) == {a2.tracking_code}
    assert codes(q="13900000003") == {c1.tracking_code}
    assert codes(q="2号楼") == {a2.tracking_code}
    today = timezone.localdate()
    assert codes(date_from=today.isoformat(), date_to=today.isoformat()) == everything
    assert codes(date_from=(today + timedelta(days=1)).isoformat()) == set()
    # Filters narrow the tab counts too.
    tabs = {t["state"]: t["count"] for t in client.get(reverse("appeals:queue"), {"category": comm_cat.pk}).context["tabs"]}
    assert tabs[""] == 1 and tabs[S.DISPATCHED] == 1
    # The list masks phone numbers.
    page = text(client.get(reverse("appeals:queue")))
    assert "139****0003" in page and "13900000003" not in page
    # Each row links to its page and shows when it was received (as |date:"m-d H:i").
    assert f'<a href="{detail_url(a2)}" class="code">{a2.tracking_code}</a>' in page
    assert f'<td data-label="受理时间">{date_filter(timezone.localtime(a2.created_at), "m-d H:i")}</td>' in page
    assert elsewhere.tracking_code not in page

    # The grid worker's queue: only grid A1's work.
    login(u.grid_worker)
    assert codes() == {a1.tracking_code, late.tracking_code}


def test_supervisor_browses_the_scope_with_filters(city, client, login):
    a = receive(city, category=grid_category())
    c = receive(city, category=grid_category(), building=city.building_c1)
    login(city.users.district_supervisor)
    response = client.get(reverse("appeals:queue"))
    assert response.context["read_only"] and "辖区诉求（只读）" in text(response)
    assert {r.tracking_code for r in response.context["rows"]} == {a.tracking_code, c.tracking_code}
    response = client.get(reverse("appeals:queue"), {"grid": city.grid_c1.code})
    assert {r.tracking_code for r in response.context["rows"]} == {c.tracking_code}
    assert "138****5678" in text(response)


def test_countdown_text_and_overdue_highlight(city, client, login):
    now = timezone.now()
    assert countdown(now + timedelta(days=2, hours=3, minutes=30), now) == ("剩余 2天3小时", False)
    assert countdown(now - timedelta(hours=5, minutes=10), now) == ("已超期 5小时", True)
    assert countdown(now + timedelta(minutes=20, seconds=5), now) == ("剩余 20分钟", False)
    assert countdown(None, now) == ("", False)

    soon = receive(city, category=grid_category())
    late = receive(city, category=grid_category(), phone="13900000009")
    Appeal.objects.filter(pk=soon.pk).update(deadline=now + timedelta(days=2, hours=3, minutes=40))
    Appeal.objects.filter(pk=late.pk).update(deadline=now - timedelta(hours=5, minutes=10))
    login(city.users.grid_worker)
    page = text(client.get(reverse("appeals:queue")))
    assert "剩余 2天3小时" in page and "已超期 5小时" in page
    assert '<tr class="overdue">' in page and page.count('<tr class="overdue">') == 1
    assert "1 件诉求已超期" in page
    assert "已超期 5小时" in text(client.get(detail_url(late)))


def test_home_shows_my_queue_counts(city, client, login):
    receive(city, category=grid_category())
    late = receive(city, category=grid_category(), phone="13900000009")
    Appeal.objects.filter(pk=late.pk).update(deadline=timezone.now() - timedelta(hours=1))
    login(city.users.grid_worker)
    response = client.get(reverse("home"))
    assert response.context["my_queue"]["open"] == 2 and response.context["my_queue"]["overdue"] == 1
    page = text(response)
    assert "我的待办" in page and reverse("appeals:queue") in page
    assert f'href="{reverse("volunteers:home")}"' in page


def _tab_counts(client, **params) -> dict:
    response = client.get(reverse("appeals:queue"), params)
    assert response.status_code == 200
    return {tab["state"]: tab["count"] for tab in response.context["tabs"]}


def test_browsing_counts_the_final_states_from_the_cache_and_the_open_ones_each_time(city, client, login, settings):
    """A supervisor's scope is mostly closed appeals: their tab counts are kept for
    QUEUE_FINAL_COUNTS_SECONDS; the open states are counted on every page."""
    settings.QUEUE_FINAL_COUNTS_SECONDS = 60
    first = receive(city, category=None, phone="13800000001")
    receive(city, category=None, phone="13800000002")
    login(city.users.supervisor)
    assert _tab_counts(client)["withdrawn"] == 0 and _tab_counts(client)["received"] == 2

    services.appeal_withdraw_by_resident(tracking_code=first.tracking_code, phone_last4="0001")
    receive(city, category=None, phone="13800000003")
    counts = _tab_counts(client)
    assert counts["received"] == 2  # open: exact (one withdrawn, one new)
    assert counts["withdrawn"] == 0  # final: as counted a moment ago

    settings.QUEUE_FINAL_COUNTS_SECONDS = 0  # no caching: counted each time
    assert _tab_counts(client)["withdrawn"] == 1


def test_with_the_cache_down_the_supervisors_queue_counts_every_time(city, client, login, settings, monkeypatch):
    from django.core.cache import cache

    settings.QUEUE_FINAL_COUNTS_SECONDS = 60
    appeal = receive(city, category=None, phone="13800000001")
    services.appeal_withdraw_by_resident(tracking_code=appeal.tracking_code, phone_last4="0001")
    login(city.users.supervisor)

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for method in ("get", "set", "add"):
        monkeypatch.setattr(cache, method, down)
    assert _tab_counts(client)["withdrawn"] == 1


def test_a_workers_own_queue_counts_the_final_states_each_time(city, client, login, settings):
    settings.QUEUE_FINAL_COUNTS_SECONDS = 60
    appeal = receive(city, category=grid_category(), phone="13800000001")  # to the community's grid

    def withdrawn(**params) -> int:
        return client.get(reverse("appeals:queue"), params).context["counts"]["states"]["withdrawn"]

    login(city.users.community_worker)
    assert withdrawn() == 0 and withdrawn(scope="1") == 0
    services.appeal_withdraw_by_resident(tracking_code=appeal.tracking_code, phone_last4="0001")
    assert withdrawn() == 1  # the queue: counted each time
    assert withdrawn(scope="1") == 0  # browsing the scope: from the cache


# --- in a browser, on a phone screen -------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_queue_is_cards_and_actions_swap_in_place(city, browser_page, live_server):  # noqa: F811
    """390 px wide: the queue's rows are cards; signing for an appeal with htmx swaps the
    region without a reload, and a stale form shows the conflict message in place."""
    appeal = receive(city, category=grid_category())
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 800})
    login_as(page, live_server, "grid_worker")
    page.goto(f"{live_server.url}{reverse('appeals:queue')}")
    row = page.locator("table.cards tbody tr").first
    assert row.evaluate("el => getComputedStyle(el).display") == "block"
    assert page.locator("table.cards thead").evaluate("el => getComputedStyle(el).display") == "none"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    row.locator("a.code").click()
    page.wait_for_url(f"**{detail_url(appeal)}")
    page.evaluate("window.__same_document = true")
    # Someone else acts meanwhile: the page's forms are now stale.
    services.appeal_act(actor=city.users.community_worker, appeal=appeal, action=A.NOTE, note="请尽快")
    sign = page.locator("details.action-sign")
    sign.locator("input[name=contact]").check()
    sign.locator("button[type=submit]").click()
    page.locator("#appeal-region .msg-error", has_text=CONFLICT).wait_for()
    assert page.evaluate("window.__same_document") is True  # swapped, not reloaded
    page.locator("details.action-sign input[name=contact]").check()
    page.locator("details.action-sign button[type=submit]").click()
    page.locator("#appeal-region .msg-success", has_text="已签收").wait_for()
    assert page.evaluate("window.__same_document") is True
    appeal.refresh_from_db()
    assert appeal.state == S.IN_PROGRESS and appeal.first_contact_at is not None
    # The browser logs the 409 answer itself; nothing else may fail.
    assert [e for e in page.console_errors if "409" not in e] == []


def test_an_account_without_a_staff_post_is_sent_to_the_volunteers_pages(city, login):
    response = login(city.users.volunteer).get(reverse("appeals:queue"))
    assert response.status_code == 302
    assert response["Location"] == reverse("volunteers:home")

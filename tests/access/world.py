"""The world the jurisdiction matrix runs in: tests/factories.make_city, a third territory
in 西城区 (outside the district supervisor's), and one object of each kind on each side —
inside 甲一社区 (grid A1, 甲街道, 东城区), inside 乙一社区 (grid C1, 乙街道) and in 西城区 —
plus what only a department, a volunteer or the account itself sees.

Every object is made through the services, as people make them (each appeal has its
history), so that a state, a handling unit and a pending request are what they say.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

from django.core.files.base import ContentFile
from django.utils import timezone

from appeals import extensions, services
from appeals.deliberation import services as meeting_services
from appeals.enums import AppealAction, AppealState, CategoryType, HandlingLevel, Source
from appeals.models import AppealAttachment, Visit
from governance.enums import Role
from governance.kernel import exports
from governance.models import ExportJob, Notification
from governance.staff.selectors import jurisdiction_for
from grids.models import Community, Department, Grid, Street
from tests.appeals.factories import (
    CategoryFactory,
    component_department_category,
    grid_category,
    verified_category,
)
from tests.factories import BuildingFactory, HouseholdFactory, ResidentFactory, UserFactory, make_city, post
from volunteers import services as volunteer_services
from volunteers.models import Activity, Reward

A = AppealAction
S = AppealState
GRID_A, GRID_C, GRID_X = "110101001001001", "110101002001001", "110102001001001"


@dataclass(frozen=True)
class Thing:
    """One object a URL names: the URL's arguments, and where it lies (for who sees it)."""

    kwargs: dict
    code: str = ""  # the territory code it lies at ("" for none)
    department: bool = False  # routed or whistled to 城管 (the department handler sees it)
    community: str = ""  # the community whose volunteers see it (activities, rewards, the order hall)
    owner: str = ""  # the only role whose own thing it is (notifications, claimed appeals)
    extra: dict = field(default_factory=dict)


def _appeal(city, building, category, *, phone="13812345678", source=Source.WEB, name="王建国", actor=None):
    return services.appeal_receive(source=source, category=category, building=building, description="楼道堆放杂物",
                                   phone=phone, name=name, actor=actor)


def build() -> SimpleNamespace:
    city = make_city()
    u = city.users
    street_x = Street.objects.create(district=city.xicheng, code="110102001", name="丙街道")
    comm_x = Community.objects.create(street=street_x, code="110102001001", name="丙一社区", population=3000)
    grid_x = Grid.objects.create(community=comm_x, code=GRID_X, name="第一网格")
    building_x = BuildingFactory(grid=grid_x, code=f"{GRID_X}0001", address="丙1号楼")
    household_x = HouseholdFactory(building=building_x, room="505", contact_name="孙丽")
    chengguan_x = Department.objects.create(district=city.xicheng, code="110102-CG", name="城管")
    # The handlers of the other sides (each side's appeals are moved along by its own staff).
    c_worker, x_worker = UserFactory(username="c_grid_worker"), UserFactory(username="x_community_worker")
    c_street, x_street = UserFactory(username="c_street_officer"), UserFactory(username="x_street_officer")
    post(c_worker, Role.GRID_WORKER, grid=city.grid_c1)
    post(x_worker, Role.COMMUNITY_WORKER, community=comm_x)
    post(c_street, Role.STREET_OFFICER, street=city.street_b)
    post(x_street, Role.STREET_OFFICER, street=street_x)
    handler = {"a": u.grid_worker, "c": c_worker, "x": x_worker}
    street = {"a": u.street_officer, "c": c_street, "x": x_street}
    buildings = {"a": city.building_a1, "c": city.building_c1, "x": building_x}
    codes = {"a": GRID_A, "c": GRID_C, "x": GRID_X}
    households = {"a": city.household_a1, "c": city.household_c1, "x": household_x}

    garbage, checked, pipe = grid_category(), verified_category(), component_department_category()
    errand = CategoryFactory(code="06001", class_name="养老服务", name="助老服务（代购、陪诊）", type=CategoryType.SERVICE,
                             default_level=HandlingLevel.COMMUNITY, volunteer_suitable=True)

    def act(side, appeal, action, **data):
        actor = street[side] if action == A.WHISTLE else handler[side]
        return services.appeal_act(actor=actor, appeal=appeal, action=action, **data)

    things: dict[str, list[Thing]] = {}

    def add(kind, thing):
        things.setdefault(kind, []).append(thing)

    for side in ("a", "c", "x"):
        b, code = buildings[side], codes[side]
        add("received", Thing({"code": _appeal(city, b, None).tracking_code}, code))
        dispatched = _appeal(city, b, garbage)
        add("dispatched", Thing({"code": dispatched.tracking_code}, code))
        signed = act(side, _appeal(city, b, garbage), A.SIGN)
        add("in_progress", Thing({"code": signed.tracking_code}, code))
        to_verify = act(side, act(side, _appeal(city, b, checked), A.SIGN), A.RESOLVE, result="已清理")
        add("resolved_unverified", Thing({"code": to_verify.tracking_code}, code))
        landline = _appeal(city, b, garbage, phone="010-65001234", source=Source.PHONE, actor=handler[side])
        resolved = act(side, act(side, landline, A.SIGN), A.RESOLVE, result="已清理")
        assert resolved.state == S.RESOLVED
        add("resolved", Thing({"code": resolved.tracking_code}, code))
        summoned = city.chengguan if side != "x" else chengguan_x
        whistled = act(side, _appeal(city, b, garbage), A.WHISTLE, departments=[summoned], note="请城管到场")
        add("whistled", Thing({"code": whistled.tracking_code}, code, department=side != "x"))
        extended = _appeal(city, b, garbage)
        request = extensions.extension_request(actor=handler[side] if side != "x" else x_worker, appeal=extended,
                                               requested_deadline=extended.deadline + timedelta(days=5),
                                               reason="需协调物业") if side != "x" else None
        if request is not None:
            add("extension", Thing({"pk": request.pk}, code))
        photo = AppealAttachment.objects.create(appeal=dispatched, kind="intake")
        photo.image.save("p.jpg", ContentFile(b"\xff\xd8\xff\xe0 not a real jpeg"), save=True)
        add("photo", Thing({"code": dispatched.tracking_code, "pk": photo.pk}, code))
        add("household", Thing({"pk": households[side].pk}, code + "0001"))
        # 入户走访 (issue 22): a visit of the household by its grid's worker.
        households[side].care_tags = "elderly_alone"
        households[side].save(update_fields=["care_tags"])
        visit = Visit.objects.create(household=households[side], territory_code=code, visited_at=timezone.now(),
                                     visitor=handler[side], visitor_label="网格员", method="home", counts_done=True)
        add("visit", Thing({"pk": visit.pk}, code))
        resident = ResidentFactory(household=households[side], name=f"居民{side}")
        add("resident", Thing({"pk": households[side].pk, "resident_pk": resident.pk}, code + "0001"))
    routed = _appeal(city, city.building_a2, pipe)
    assert routed.handling_department_id == city.chengguan.pk
    add("department_appeal", Thing({"code": routed.tracking_code}, "110101001001002", department=True))

    # Territory, by level.
    for kind, units in (
        ("district", [(city.dongcheng.code, city.dongcheng.code), (city.xicheng.code, city.xicheng.code)]),
        ("street", [(city.street_a.code,) * 2, (city.street_b.code,) * 2, (street_x.code,) * 2]),
        ("community", [(city.comm_a.code,) * 2, (city.comm_c.code,) * 2, (comm_x.code,) * 2]),
        ("grid", [(GRID_A,) * 2, (GRID_C,) * 2, (GRID_X,) * 2]),
        ("building", [(b.code, b.code) for b in buildings.values()]),
    ):
        for code, where in units:
            add(kind, Thing({"code": code, "level": kind}, where))

    # Volunteers: the volunteer of 甲一社区, an activity on each side, a reward, the order hall.
    volunteer = volunteer_services.volunteer_register(community=city.comm_a, user=u.volunteer, name="周敏")
    now = timezone.now()
    for side, community, organiser in (("a", city.comm_a, u.community_worker), ("c", city.comm_c, u.outsider),
                                       ("x", comm_x, x_worker)):
        activity = Activity.objects.create(
            community=community, organiser=organiser, title="楼道清洁", place="1号楼",
            starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=2), capacity_max=5)
        signup = volunteer_services.signup_create(activity=activity, volunteer=volunteer) if side == "a" else None
        code = community.code
        add("activity", Thing({"pk": activity.pk}, code, community=code))
        if signup is not None:
            add("signup", Thing({"pk": activity.pk, "signup_pk": signup.pk}, code, community=code))
        reward = Reward.objects.create(name="洗衣液", cost=10, stock=5, community=community)
        add("reward", Thing({"pk": reward.pk}, code, community=code))
    hall_a = _appeal(city, city.building_a1, errand)
    hall_c = _appeal(city, city.building_c1, errand)
    claimed = _appeal(city, city.building_a2, errand)
    volunteer_services.service_appeal_claim(user=u.volunteer, appeal=claimed)
    add("hall", Thing({"code": hall_a.tracking_code}, GRID_A, community=city.comm_a.code))
    add("hall", Thing({"code": hall_c.tracking_code}, GRID_C, community=city.comm_c.code))
    add("claimed", Thing({"code": claimed.tracking_code}, "110101001001002", owner="volunteer"))
    add("claimed", Thing({"code": hall_c.tracking_code}, GRID_C))
    # 民主协商: a held meeting with a decision in each community (appeals.deliberation).
    for community, organiser in ((city.comm_a, u.community_worker), (city.comm_c, u.outsider), (comm_x, x_worker)):
        meeting = meeting_services.meeting_schedule(actor=organiser, community_code=community.code, kind="hearing",
                                                    topic="停车难", place="议事厅", starts_at=now)
        meeting_services.meeting_record(actor=organiser, meeting=meeting, residents_count=10, minutes="纪要")
        decision = meeting_services.decision_add(actor=organiser, meeting=meeting, kind="decision", text="施划车位",
                                                 owner="物业", due_date=now.date() + timedelta(days=30))
        add("meeting", Thing({"pk": meeting.pk}, community.code))
        add("decision", Thing({"pk": meeting.pk, "decision_pk": decision.pk}, community.code))
        add("meeting_decision", Thing({"pk": decision.pk}, community.code))
    # Notifications: one of the grid worker's, one of someone else's.
    for user, owner in ((u.grid_worker, "grid_worker"), (c_worker, "")):
        n = Notification.objects.create(recipient=user, kind="test", title="测试", body="", link="")
        add("notification", Thing({"pk": n.pk}, owner=owner))
    # Export jobs (issue 23), done: the street officer's, and another street's officer's.
    for user, owner in ((u.street_officer, "street_officer"), (c_street, "")):
        job = exports.job_create(user=user, scope=jurisdiction_for(user).scope_key, kind="supervision", fmt="csv",
                                 params={}, title="督办清单", download_name="supervision.csv", total=1)
        (exports.export_dir() / f"{job.token}.csv").write_bytes("\ufeff查询码\n".encode())
        ExportJob.objects.filter(pk=job.pk).update(state="done", file_name=f"{job.token}.csv", done_rows=1)
        add("export_job", Thing({"token": job.token}, owner=owner))
    return SimpleNamespace(city=city, things=things, volunteer=volunteer)

"""seed_demo step (governance.demo.seed.DEMO_STEPS): residents' deliberation in the demo
community — a hearing on parking with the appeals it settles (one decision done, its
appeals resolved and one evaluated, one in progress, one overdue on the community's
home), an evaluation of the property company with its 整改事项, a consultation on a
lift to come, and last month's coordination meeting for the reports. All made through
the services, as people make them."""

from datetime import timedelta

from django.utils import timezone

from appeals import services
from appeals.deliberation import services as meetings
from appeals.deliberation.enums import DecisionState, MeetingKind, ParticipantRole
from appeals.deliberation.models import Meeting
from appeals.demo import _write, demo_place
from appeals.enums import AppealAction, AppealState, Rating, Source
from appeals.models import Category
from governance.kernel.clock import CHINA

P = ParticipantRole


def seed(ctx=None) -> None:
    found = demo_place(ctx, "民主协商演示数据", accounts={"community_worker"},
                       seeded=lambda community: Meeting.objects.filter(community=community).exists())
    if found is None:
        return
    community, pairs, users = found
    dispute = Category.objects.filter(code="05002").first()  # 邻里矛盾调解: the community handles it
    if dispute is None:
        _write(ctx, "民主协商演示数据：缺少诉求类别，跳过")
        return
    cw = users["community_worker"]
    now = timezone.now()
    today = now.astimezone(CHINA).date()
    building = pairs[0][1]
    estate = building.compound
    buildings = [b for _g, b in pairs]
    texts = [
        ("晚上下班回来小区里根本找不到车位，车只能停到马路对面。", "13920001001"),
        ("外来车辆长期占用楼下车位，业主反而没地方停。", "13920001002"),
        ("楼门口停满了车，消防车和救护车都进不来，太危险了。", "13920001003"),
        ("停车位划线不清，邻居之间天天为停车吵架。", "13920001004"),
    ]
    appeals = []
    for i, (text, phone) in enumerate(texts):
        appeal = services.appeal_receive(source=Source.WEB, category=dispute, building=buildings[i % len(buildings)],
                                         description=text, phone=phone, name="")
        if i < 3:
            appeal = services.appeal_act(actor=cw, appeal=appeal, action=AppealAction.SIGN)
        appeals.append(appeal)

    # 1. 民意听证会 on parking, five days ago: linked appeals, a show of hands, three decisions.
    hearing = meetings.meeting_schedule(
        actor=cw, community_code=community.code, kind=MeetingKind.HEARING, topic="小区停车秩序与临时车位施划",
        place="社区党群服务中心二楼议事厅", starts_at=now - timedelta(days=5, hours=2), estate=estate,
        building_codes=[b.code for b in buildings], category_id=dispute.pk)
    meetings.meeting_link(actor=cw, meeting=hearing, codes=[a.tracking_code for a in appeals],
                          extend_to=today + timedelta(days=40))
    meetings.meeting_record(
        actor=cw, meeting=hearing, residents_count=42,
        minutes=("一、社区通报近三个月停车类诉求情况。\n二、物业介绍东侧空地和夜间外来车辆的情况。\n"
                 "三、居民代表发言，多数赞成施划临时车位、外来车辆登记限时停放。\n"
                 "四、车位收费及维修资金使用须由业主大会依法决定，本次表决仅为意见征集。"),
        participants=[(P.PARTY_MEMBER, "周建华（楼栋党小组长）"), (P.PARTY_MEMBER, "吴秀兰"),
                      (P.DEPUTY, "区人大代表 陈立新"), (P.PROPERTY, "和顺物业服务有限公司"),
                      (P.OWNERS_COMMITTEE, "小区业主委员会"), (P.UNIT, "区交通支队")],
        votes=(31, 6, 5))
    registration = meetings.decision_add(actor=cw, meeting=hearing, kind="decision", text="外来车辆进门登记，夜间限时停放",
                                         owner="和顺物业服务有限公司", due_date=today + timedelta(days=3))
    meetings.decision_add(actor=cw, meeting=hearing, kind="decision", text="东侧空地施划临时停车位36个",
                          owner="和顺物业服务有限公司", due_date=today + timedelta(days=20))
    late = meetings.decision_add(actor=cw, meeting=hearing, kind="decision", text="协调驻区单位夜间错时开放停车场",
                                 owner="社区居委会", due_date=today - timedelta(days=2))
    meetings.decision_update(actor=cw, decision=late, state=DecisionState.IN_PROGRESS, progress="已与区交通支队初步沟通")
    meetings.decision_update(actor=cw, decision=registration, state=DecisionState.DONE, resolve_appeals=True)
    resolved = [a for a in appeals if a.state != AppealState.DISPATCHED]
    for appeal in resolved[:1]:
        appeal.refresh_from_db()
        if appeal.state == AppealState.AWAITING_EVALUATION:
            services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4=appeal.phone[-4:], solved=True,
                                     rating=Rating.SATISFIED, comment="登记以后晚上好停多了")

    # 2. 民主评议会 of the property company, two days ago: ratings and 整改事项.
    evaluation = meetings.meeting_schedule(
        actor=cw, community_code=community.code, kind=MeetingKind.EVALUATION, topic="物业服务年度民主评议",
        place="社区党群服务中心", starts_at=now - timedelta(days=2, hours=3), estate=estate)
    meetings.meeting_record(actor=cw, meeting=evaluation, residents_count=38, minutes="居民对保洁、绿化、维修响应逐项评议。",
                            participants=[(P.PROPERTY, "和顺物业服务有限公司"), (P.OWNERS_COMMITTEE, "小区业主委员会")],
                            evaluated_unit="和顺物业服务有限公司", ratings=(18, 13, 7))
    meetings.decision_add(actor=cw, meeting=evaluation, kind="rectification", text="垃圾清运改为每日两次",
                          owner="和顺物业服务有限公司", due_date=today + timedelta(days=14))
    meetings.decision_add(actor=cw, meeting=evaluation, kind="rectification", text="报修24小时内上门",
                          owner="和顺物业服务有限公司", due_date=today + timedelta(days=30))

    # 3. 民情恳谈会 to come: a lift for a six-storey building.
    meetings.meeting_schedule(
        actor=cw, community_code=community.code, kind=MeetingKind.CONSULTATION, topic="老旧楼加装电梯意见征集",
        place=f"{building.address}楼下", starts_at=now + timedelta(days=5), estate=estate,
        building_codes=[building.code])

    # 4. Last month's 民事协调会, its decision done on time (the reports' measures).
    earlier = meetings.meeting_schedule(
        actor=cw, community_code=community.code, kind=MeetingKind.COORDINATION, topic="共享院落晾晒和堆物规约",
        place="社区党群服务中心", starts_at=now - timedelta(days=35), estate=estate)
    meetings.meeting_record(actor=cw, meeting=earlier, residents_count=17, minutes="议定院落公约五条，张贴于各单元门口。",
                            participants=[(P.PARTY_MEMBER, "周建华（楼栋党小组长）")])
    convention = meetings.decision_add(actor=cw, meeting=earlier, kind="decision", text="院落公约张贴到各单元",
                                       owner="社区居委会", due_date=today - timedelta(days=25))
    meetings.decision_update(actor=cw, decision=convention, state=DecisionState.DONE, now=now - timedelta(days=28))
    Meeting.objects.filter(pk=earlier.pk).update(held_at=now - timedelta(days=35))
    _write(ctx, f"民主协商：4 场议事会议，{len(appeals)} 件诉求提交议事（{community.name}）")

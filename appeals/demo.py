"""Demo data of appeals: the responsibility list and appeals in every state.

``seed(ctx)`` is a seed_demo step (governance.demo.DEMO_STEPS). It loads CATEGORIES
(update_or_create by code, so admins' later edits of other fields are overwritten only
for the listed fields) and, once per demo community, walks demo appeals through the
real services so each has its event history; afterwards some clocks are moved into the
past so that overdue appeals and escalation show at once.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from appeals import services
from appeals.enums import AppealAction, CategoryType, DeadlineUnit, HandlingLevel, Rating, Source
from appeals.suggest.coldstart import texts_for
from governance.kernel.demo import demo_say as _write
from grids.models import Building, Community


@dataclass(frozen=True)
class DemoCategory:
    code: str
    class_name: str
    name: str
    type: str
    level: str
    response_hours: int
    limit: int
    unit: str
    department: str = ""
    cooperating: str = ""
    urgent: bool = False
    verify: bool = False
    volunteer: bool = False


WD, H = DeadlineUnit.WORKING_DAYS, DeadlineUnit.HOURS
G, C, S, D = HandlingLevel.GRID, HandlingLevel.COMMUNITY, HandlingLevel.STREET, HandlingLevel.DEPARTMENT

# Limits as DESIGN.md §4: emergencies 2 h; water, power, gas and heating 24 h; general
# 7 working days; complex 15. Department short codes as governance.demo.territory.DEPARTMENTS.
CATEGORIES = [
    # 01 市容环境
    DemoCategory("01001", "市容环境", "暴露垃圾", CategoryType.EVENT, G, 24, 7, WD, verify=True),
    DemoCategory("01002", "市容环境", "垃圾分类投放不规范", CategoryType.EVENT, G, 24, 7, WD),
    DemoCategory("01003", "市容环境", "乱堆乱放", CategoryType.EVENT, G, 24, 7, WD, verify=True),
    DemoCategory("01004", "市容环境", "小广告乱贴乱画", CategoryType.EVENT, G, 24, 7, WD),
    DemoCategory("01005", "市容环境", "楼道杂物堆积", CategoryType.EVENT, G, 24, 7, WD),
    DemoCategory("01006", "市容环境", "绿地毁损、树木倒伏", CategoryType.COMPONENT, D, 24, 7, WD, department="YL"),
    # 02 街面秩序
    DemoCategory("02001", "街面秩序", "占道经营", CategoryType.EVENT, S, 24, 7, WD, cooperating="CG"),
    DemoCategory("02002", "街面秩序", "违法建设", CategoryType.EVENT, D, 24, 15, WD, department="CG", cooperating="ZJ"),
    DemoCategory("02003", "街面秩序", "共享单车乱停放", CategoryType.EVENT, G, 24, 7, WD),
    DemoCategory("02004", "街面秩序", "机动车乱停放", CategoryType.EVENT, S, 24, 7, WD, cooperating="GA"),
    DemoCategory("02005", "街面秩序", "店外经营", CategoryType.EVENT, D, 24, 7, WD, department="CG"),
    # 03 公用设施
    DemoCategory("03001", "公用设施", "井盖缺失、破损", CategoryType.COMPONENT, D, 1, 2, H, department="CG", urgent=True),
    DemoCategory("03002", "公用设施", "路灯不亮", CategoryType.COMPONENT, D, 24, 7, WD, department="CG"),
    DemoCategory("03003", "公用设施", "道路坑洼破损", CategoryType.COMPONENT, D, 24, 15, WD, department="ZJ"),
    DemoCategory("03004", "公用设施", "健身器材损坏", CategoryType.COMPONENT, C, 24, 7, WD),
    DemoCategory("03005", "公用设施", "无障碍设施损坏", CategoryType.COMPONENT, C, 24, 7, WD),
    # 04 物业管理
    DemoCategory("04001", "物业管理", "电梯故障", CategoryType.EVENT, C, 2, 24, H, cooperating="SJ", urgent=True),
    DemoCategory("04002", "物业管理", "楼道照明损坏", CategoryType.EVENT, G, 24, 7, WD),
    DemoCategory("04003", "物业管理", "小区门禁损坏", CategoryType.EVENT, G, 24, 7, WD),
    DemoCategory("04004", "物业管理", "物业服务不到位", CategoryType.EVENT, C, 24, 15, WD, cooperating="ZJ"),
    DemoCategory("04005", "物业管理", "房屋漏水", CategoryType.EVENT, C, 24, 15, WD, cooperating="ZJ", verify=True),
    DemoCategory("04006", "物业管理", "违规饲养宠物", CategoryType.EVENT, G, 24, 7, WD),
    # 05 邻里纠纷
    DemoCategory("05001", "邻里纠纷", "噪音扰民", CategoryType.EVENT, G, 24, 7, WD),
    DemoCategory("05002", "邻里纠纷", "邻里矛盾调解", CategoryType.EVENT, C, 24, 15, WD, cooperating="SF"),
    DemoCategory("05003", "邻里纠纷", "楼上漏水纠纷", CategoryType.EVENT, C, 24, 15, WD),
    DemoCategory("05004", "邻里纠纷", "家庭矛盾", CategoryType.EVENT, C, 24, 15, WD, cooperating="SF"),
    # 06 养老服务
    DemoCategory("06001", "养老服务", "助老服务（代购、陪诊）", CategoryType.SERVICE, C, 24, 7, WD, volunteer=True),
    DemoCategory("06002", "养老服务", "独居老人探访", CategoryType.SERVICE, G, 24, 7, WD, volunteer=True),
    DemoCategory("06003", "养老服务", "养老助餐", CategoryType.SERVICE, C, 24, 7, WD, cooperating="MZ", volunteer=True),
    DemoCategory("06004", "养老服务", "适老化改造咨询", CategoryType.ENQUIRY, C, 24, 7, WD, cooperating="MZ"),
    # 07 社会治安
    DemoCategory("07001", "社会治安", "可疑人员", CategoryType.EVENT, D, 1, 2, H, department="GA", urgent=True),
    DemoCategory("07002", "社会治安", "群租房", CategoryType.EVENT, S, 24, 15, WD, cooperating="GA,ZJ"),
    DemoCategory("07003", "社会治安", "电动自行车被盗", CategoryType.EVENT, D, 24, 7, WD, department="GA"),
    # 08 消防安全
    DemoCategory("08001", "消防安全", "消防通道堵塞", CategoryType.EVENT, G, 2, 2, H, urgent=True),
    DemoCategory("08002", "消防安全", "电动车楼道充电", CategoryType.EVENT, G, 2, 24, H, urgent=True),
    DemoCategory("08003", "消防安全", "消防设施损坏", CategoryType.COMPONENT, C, 24, 7, WD, verify=True),
    # 09 供水供电供气
    DemoCategory("09001", "供水供电供气", "停水", CategoryType.EVENT, D, 2, 24, H, department="SW", urgent=True),
    DemoCategory("09002", "供水供电供气", "停电", CategoryType.EVENT, S, 2, 24, H, urgent=True),
    DemoCategory("09003", "供水供电供气", "燃气泄漏", CategoryType.EVENT, S, 1, 2, H, urgent=True),
    DemoCategory("09004", "供水供电供气", "供暖不热", CategoryType.EVENT, C, 2, 24, H),
    DemoCategory("09005", "供水供电供气", "水管爆裂", CategoryType.COMPONENT, D, 1, 2, H, department="SW", urgent=True),
    # 10 政策咨询
    DemoCategory("10001", "政策咨询", "社保医保咨询", CategoryType.ENQUIRY, C, 24, 7, WD),
    DemoCategory("10002", "政策咨询", "低保救助咨询", CategoryType.ENQUIRY, C, 24, 7, WD, cooperating="MZ"),
    DemoCategory("10003", "政策咨询", "户籍居住证咨询", CategoryType.ENQUIRY, S, 24, 7, WD),
    DemoCategory("10004", "政策咨询", "证明材料代办", CategoryType.SERVICE, C, 24, 7, WD, volunteer=True),
    # 11 环境保护
    DemoCategory("11001", "环境保护", "餐饮油烟", CategoryType.EVENT, D, 24, 15, WD, department="ST"),
    DemoCategory("11002", "环境保护", "施工噪音", CategoryType.EVENT, D, 24, 7, WD, department="CG"),
    # 12 市场监管
    DemoCategory("12001", "市场监管", "食品安全", CategoryType.EVENT, D, 24, 15, WD, department="SJ"),
    DemoCategory("12002", "市场监管", "价格欺诈", CategoryType.EVENT, D, 24, 15, WD, department="SJ"),
    # 13 教育卫生
    DemoCategory("13001", "教育卫生", "疫苗接种咨询", CategoryType.ENQUIRY, D, 24, 7, WD, department="WJ"),
    DemoCategory("13002", "教育卫生", "校外培训", CategoryType.EVENT, D, 24, 15, WD, department="JY"),
]


# Published through Open311 (Category.public, appeals.public_policy): places, public
# components, street order, utilities, the environment, the market. Never the matters of
# people: a flat's leak, a neighbour's dog, neighbours' disputes, care for the elderly,
# security reports about people, welfare and other personal enquiries.
PUBLIC_CATEGORIES = frozenset({
    "01001", "01002", "01003", "01004", "01005", "01006",
    "02001", "02002", "02003", "02004", "02005",
    "03001", "03002", "03003", "03004", "03005",
    "04001", "04002", "04003", "04004",
    "08001", "08002", "08003",
    "09001", "09002", "09003", "09004", "09005",
    "11001", "11002", "12001", "12002", "13002",
})


def categories_load() -> int:
    """Create or update every listed category; returns how many were listed."""
    from appeals.models import Category

    for c in CATEGORIES:
        Category.objects.update_or_create(
            code=c.code,
            defaults=dict(
                class_name=c.class_name, name=c.name, type=c.type, default_level=c.level,
                department_kind=c.department, cooperating_departments=c.cooperating, urgent=c.urgent,
                needs_verification=c.verify, volunteer_suitable=c.volunteer, response_hours=c.response_hours,
                resolution_limit=c.limit, resolution_unit=c.unit, active=True, public=c.code in PUBLIC_CATEGORIES,
            ),
        )
    return len(CATEGORIES)


def _territory(ctx):
    """The demo community, its grids, buildings and street, from ctx or the database."""
    territory = getattr(ctx, "territory", None)
    community = getattr(territory, "community", None)
    if community is None:
        community = (
            Community.objects.filter(grids__buildings__isnull=False).distinct().order_by("code").first()
        )
    if community is None:
        return None
    grids = list(community.grids.order_by("code"))
    buildings = [Building.objects.filter(grid=g).order_by("code").first() for g in grids]
    pairs = [(g, b) for g, b in zip(grids, buildings) if b is not None]
    return community, pairs


def _accounts(ctx) -> dict:
    from django.contrib.auth import get_user_model

    accounts = dict(getattr(ctx, "accounts", None) or {})
    wanted = ["grid_worker", "grid_worker2", "community_worker", "street_officer", "department_handler"]
    missing = [u for u in wanted if u not in accounts]
    if missing:
        for user in get_user_model().objects.filter(username__in=missing):
            accounts[user.username] = user
    return accounts


def demo_place(ctx, step: str, *, accounts: set[str], seeded):
    """The demo community, its (grid, building) pairs and the accounts for a seed step;
    None, having said why, when they are missing or the step ``seeded(community)`` already."""
    found = _territory(ctx)
    users = _accounts(ctx)
    if found is None or not found[1] or not accounts <= set(users):
        _write(ctx, f"{step}：未找到演示社区或演示账号，跳过")
        return None
    community, pairs = found
    if seeded(community):
        _write(ctx, f"{step}：已存在，跳过")
        return None
    return community, pairs, users


def seed(ctx=None) -> None:
    """seed_demo step: the responsibility list, then demo appeals in every state."""
    from appeals.models import Appeal, Category

    n = categories_load()
    _write(ctx, f"诉求类别（职责清单）：{n} 类")
    found = demo_place(ctx, "诉求演示数据", accounts={"grid_worker", "community_worker", "street_officer"},
                       seeded=lambda community: Appeal.objects.filter(community=community).exists())
    if found is None:
        return
    community, pairs, users = found
    cats = {c.code: c for c in Category.objects.all()}
    grid, building = pairs[0]
    building2 = pairs[1][1] if len(pairs) > 1 else building
    gw, cw, so = users["grid_worker"], users["community_worker"], users["street_officer"]
    gw2 = users.get("grid_worker2") if len(pairs) > 1 and users.get("grid_worker2") else gw
    dh = users.get("department_handler")
    phones = iter(f"1391000{i:04d}" for i in range(1, 100))

    used: dict[str, int] = {}

    def said(code: str, fallback: str) -> str:
        """A resident's words for the category from the corpus (appeals.suggest), each once."""
        lines = texts_for(code)
        if not lines:
            return fallback
        i = used.get(code, 0)
        used[code] = i + 1
        return lines[i % len(lines)]

    def new(category_code=None, *, text, where=building, **kw):
        kw.setdefault("phone", next(phones))
        kw.setdefault("name", "")
        if category_code and not kw.pop("exact", False):
            text = said(category_code, text)
        return services.appeal_receive(
            source=kw.pop("source", Source.WEB), category=cats.get(category_code) if category_code else None,
            building=where, description=text, **kw,
        )

    def act(user, appeal, action, **data):
        return services.appeal_act(actor=user, appeal=appeal, action=action, **data)

    def evaluate(appeal, rating, solved=True, comment=""):
        return services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4=appeal.phone[-4:],
                                        solved=solved, rating=rating, comment=comment)

    made: list = []
    # received: waiting in the community's queue (no category) and at the street centre.
    made.append(new(text="小区北门外有一处地面塌陷，不知道该找哪个部门。", name="张伟"))
    made.append(new("02003", where=None, street=community.street, text="地铁站出口共享单车堆满人行道。",
                    address_text=f"{community.street}地铁站B口"))
    # dispatched, one of them already overdue.
    made.append(new("01002", text="垃圾桶旁分类投放混乱，厨余垃圾混在其他垃圾里。", name="李娜"))
    overdue_dispatched = new("04002", where=building2, text="3单元楼道灯一周没亮了，老人上下楼不安全。")
    made.append(overdue_dispatched)
    # in progress (signed with first contact), one overdue.
    a = new("05001", text="楼上住户每晚十一点后还在装修，影响休息。", name="王芳")
    made.append(act(gw, a, AppealAction.SIGN, contact=True, note="已电话联系居民，约定明晚上门"))
    b = new("04006", text="邻居在楼道里养狗，气味很大。")
    b = act(gw, b, AppealAction.SIGN)
    made.append(act(gw, b, AppealAction.NOTE, note="已与养犬户沟通，对方答应三日内处理"))
    overdue_in_progress = b
    # resolved, waiting for the grid worker's on-site check.
    c = new("01001", text="单元门口暴露垃圾无人清运。")
    c = act(gw, c, AppealAction.SIGN, contact=True)
    made.append(act(gw, c, AppealAction.RESOLVE, result="已联系保洁公司清运，并增加每日巡查。"))
    # found on patrol (主动发现, no resident's phone): on the grid worker's own grid it starts
    # in progress; resolved, it waits for the 核查 that closes it.
    made.append(services.appeal_receive(source=Source.GRID_PATROL, actor=gw, building=building, category=cats["01004"],
                                        description="巡查发现：" + said("01004", "单元门口墙面贴满小广告。")))
    patrol = services.appeal_receive(source=Source.GRID_PATROL, actor=gw, building=building, category=cats["01002"],
                                     description="巡查发现：" + said("01002", "垃圾桶旁厨余垃圾散落。"))
    made.append(act(gw, patrol, AppealAction.RESOLVE, result="已清理，并提醒保洁员按时清运。"))
    # resolved, phoned in from a landline: the community calls back.
    d = new("06001", source=Source.PHONE, actor=cw, phone="010-64001234", name="赵大爷",
            text="独居老人需要有人帮忙去医院取药。")
    d = act(cw, d, AppealAction.SIGN, contact=True)
    made.append(act(cw, d, AppealAction.RESOLVE, result="社区志愿者已陪同老人取药。"))
    # awaiting evaluation (the result SMS went out).
    e = new("04003", text="小区门禁刷卡不灵，经常打不开。")
    e = act(gw, e, AppealAction.SIGN, contact=True)
    made.append(act(gw, e, AppealAction.RESOLVE, result="物业已更换门禁读卡器。"))
    # closed: satisfied; reworked then basically satisfied; reworked to the limit.
    f = new("01004", text="楼道墙上贴满小广告。")
    f = act(gw, act(gw, f, AppealAction.SIGN, contact=True), AppealAction.RESOLVE, result="已清理小广告并张贴提示。")
    # Two of them published (公开摘要): Open311's GET requests shows them with this text.
    f = act(gw, f, AppealAction.PUBLISH, summary="楼道墙面小广告较多，已清理并张贴提示。")
    act(gw, c, AppealAction.PUBLISH, summary="单元门口有暴露垃圾待清运。")
    made.append(evaluate(f, Rating.SATISFIED, comment="处理很及时，谢谢网格员。"))
    g = new("05003", text="楼上卫生间漏水到我家天花板。", name="孙丽华")
    g = act(cw, act(cw, g, AppealAction.SIGN, contact=True), AppealAction.RESOLVE, result="已协调楼上住户维修防水。")
    g = evaluate(g, Rating.UNSATISFIED, solved=False, comment="还在滴水。")
    g = act(cw, g, AppealAction.RESOLVE, result="物业重新做了防水，已验收不再渗漏。")
    made.append(evaluate(g, Rating.BASICALLY, comment="终于修好了。"))
    # closed without evaluation after the waiting days.
    h = new("02003", where=building2, text="共享单车堆在楼门口。")
    h = act(gw2, act(gw2, h, AppealAction.SIGN), AppealAction.RESOLVE, result="已联系运营企业清运。")
    Appeal.objects.filter(pk=h.pk).update(feedback_at=F("feedback_at") - timedelta(days=8))
    h.refresh_from_db()
    made.append(services.appeal_close_unevaluated(appeal=h))
    # declined, merged, withdrawn.
    i = new(text="希望小区能开一家大型超市。")
    made.append(act(cw, i, AppealAction.DECLINE, reason="属于商业经营事项，不在受理范围内，已告知居民可向街道商务科反映。"))
    j = new(text="北门外地面塌陷了，很危险！")
    made.append(act(cw, j, AppealAction.MERGE, target=made[0], note="与同一地点的诉求重复"))
    k = new("01002", text="垃圾分类问题。")
    made.append(services.appeal_withdraw_by_resident(tracking_code=k.tracking_code, phone_last4=k.phone[-4:],
                                                     reason="已自行与物业沟通解决"))
    # returned to the street centre; a department's appeal with a whistle and 报到.
    m = new("01003", text="楼后空地堆了大量建筑垃圾。")
    made.append(act(gw, m, AppealAction.RETURN, reason="堆物位于小区外市政绿地，不属于本网格。"))
    if dh is not None and "03001" in cats:
        n_ = new("03001", text="小区南门井盖缺失，晚上看不清很危险！", name="刘强")
        n_ = act(dh, n_, AppealAction.SIGN, contact=True)
        made.append(n_)
        o = new("02001", where=building, text="小区门口早市占道经营，堵塞消防通道。")
        o = act(so, o, AppealAction.SIGN, contact=True)
        o = act(so, o, AppealAction.WHISTLE, departments=[services.department_for(kind="CG", district_id=o.district_id)],
                note="占道问题反复出现，请城管到场联合执法")
        made.append(act(dh, o, AppealAction.CHECKIN, note="执法队员已到场"))

    # Move some clocks into the past so that overdue appeals show at once.
    past = timezone.now() - timedelta(days=3)
    overdue = [overdue_dispatched, overdue_in_progress]
    if dh is not None and "03001" in cats:
        overdue.append(o)  # the street's own: it goes up to the district's 督办
    for appeal in overdue:
        Appeal.objects.filter(pk=appeal.pk).update(
            deadline=past, level_deadline=past, response_deadline=past - timedelta(days=5),
            created_at=past - timedelta(days=10), dispatched_at=past - timedelta(days=10),
        )
    # And one whose level time is nearly up, for the 临期预警. The escalation sweep
    # (appeals.escalation, every ESCALATION_SWEEP_SECONDS) does all of it at its first
    # run after start-up, and sends the digests to the units' inboxes.
    soon = timezone.now() + timedelta(hours=2)
    Appeal.objects.filter(pk=a.pk).update(deadline=soon, level_deadline=soon, dispatched_at=past)
    total = Appeal.objects.filter(street=community.street).count()
    _write(ctx, f"诉求演示数据：{total} 件（含各状态与超期）")

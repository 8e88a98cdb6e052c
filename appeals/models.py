"""Appeals (群众诉求) and the responsibility list (DESIGN.md §4).

Every change of an appeal goes through appeals.services, which updates conditionally
on ``version`` and writes one AppealEvent in the same transaction; nothing else should
save an Appeal.
"""

import secrets

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from appeals.enums import (
    OPEN_STATES,
    AppealAction,
    AppealState,
    AttachmentKind,
    CalendarSource,
    CategoryType,
    DeadlineUnit,
    EscalationLevel,
    ExtensionState,
    HandlingLevel,
    QueueLevel,
    Rating,
    Source,
)

# No 0/O, 1/I/L: a tracking code is read out over the phone and typed from an SMS.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 12  # 31^12 ≈ 7.9e17: unguessable, and the track page is throttled too.
DESCRIPTION_MAX = 4000


def new_tracking_code() -> str:
    """12 characters of the alphabet with at least one digit and one letter: the shape the
    log mask recognises (governance.kernel.logmask) without masking ordinary words. About
    2.8 % of uniform draws are letters only (23 letters of 31 characters, (23/31)^12); they
    are drawn again."""
    while True:
        code = "".join(secrets.choice(TRACKING_ALPHABET) for _i in range(TRACKING_LENGTH))
        if any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return code


def normalize_tracking_code(value: str) -> str:
    """What a resident types: any case, with spaces or dashes."""
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


class Category(models.Model):
    """One line of the responsibility list (职责清单)."""

    code = models.CharField(
        _("编码"), max_length=5, unique=True,
        validators=[RegexValidator(r"^\d{5}$", _("编码须为5位数字：2位大类 + 3位小类。"))],
    )
    class_name = models.CharField(_("大类"), max_length=30)
    name = models.CharField(_("名称"), max_length=60)
    type = models.CharField(_("类型"), max_length=12, choices=CategoryType.choices, default=CategoryType.EVENT)
    default_level = models.CharField(
        _("默认办理层级"), max_length=12, choices=HandlingLevel.choices[:4], default=HandlingLevel.GRID
    )
    # Departments belong to districts; the list names the *kind* (e.g. "CG" 城管) and the
    # appeal's district picks the department: code = district code + "-" + kind.
    department_kind = models.CharField(
        _("责任部门简码"), max_length=10, blank=True,
        help_text=_("如 CG（城管）、ZJ（住建）；按诉求所在区解析为“区划代码-简码”的职能部门。"),
    )
    cooperating_departments = models.CharField(
        _("协办部门简码"), max_length=100, blank=True, help_text=_("逗号分隔，如 ZJ,SW"),
    )
    urgent = models.BooleanField(_("紧急"), default=False)
    needs_verification = models.BooleanField(_("需现场核查"), default=False)
    volunteer_suitable = models.BooleanField(_("适合志愿者接单"), default=False)
    response_hours = models.PositiveIntegerField(
        _("响应时限（小时）"), default=24, validators=[MinValueValidator(1)],
        help_text=_("先行联系居民的时限，按自然小时计。"),
    )
    resolution_limit = models.PositiveIntegerField(
        _("办结时限"), default=7, validators=[MinValueValidator(1)]
    )
    resolution_unit = models.CharField(
        _("办结时限单位"), max_length=14, choices=DeadlineUnit.choices, default=DeadlineUnit.WORKING_DAYS
    )
    active = models.BooleanField(_("启用"), default=True)
    # Off by default: matters of people (family, neighbours, care, welfare) are never
    # published; public components and street order are (appeals.public_policy).
    public = models.BooleanField(
        _("可公开"), default=False,
        help_text=_("勾选后，本类诉求（居民本人提交、或居民同意公开）可经 Open311 公开，描述只显示工作人员审定的公开摘要。"
                    "家庭、邻里、养老、救助等涉及个人的类别不要勾选。"),
    )

    class Meta:
        verbose_name = verbose_name_plural = _("诉求类别（职责清单）")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{5}$"), name="category_code_5_digits"),
            models.CheckConstraint(
                condition=~Q(default_level=HandlingLevel.DEPARTMENT) | ~Q(department_kind=""),
                name="category_department_level_has_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.class_name} · {self.name}"

    @property
    def cooperating_kinds(self) -> list[str]:
        return [k.strip() for k in self.cooperating_departments.split(",") if k.strip()]

    @property
    def limit_label(self) -> str:
        return f"{self.resolution_limit}{self.get_resolution_unit_display()}"


def handling_unit_text(*, level: str, unit_name: str, grid_community_name: str, queue_level: str,
                       community_name: str, street_name: str) -> str:
    """Who handles an appeal, in words (``Appeal.handling_unit_name``; exports read the names
    as values): the unit (a grid with its community), else the queue it waits in."""
    if unit_name:
        return f"{grid_community_name}{unit_name}" if level == HandlingLevel.GRID else unit_name
    if queue_level == QueueLevel.COMMUNITY and community_name:
        return f"{community_name}（{_('待派单')}）"
    if street_name:
        return f"{street_name}{_('分中心')}（{_('待派单')}）"
    return ""


def place_text(*, community_name: str, grid_name: str, street_name: str) -> str:
    """Where an appeal is (``Appeal.place_name``): community and grid, or the street."""
    return f"{community_name}{grid_name}" or street_name


class Appeal(models.Model):
    # Unique by the constraint appeal_tracking_code_unique (Meta): a unique=True field
    # would also get an unused "_like" index on PostgreSQL.
    tracking_code = models.CharField(_("查询码"), max_length=16, default=new_tracking_code, editable=False)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="appeals", verbose_name=_("类别")
    )
    description = models.TextField(_("诉求内容"), validators=[MaxLengthValidator(DESCRIPTION_MAX)])
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)

    # The place. District..grid are denormalised from the building (or given directly)
    # so that scoped queries need no joins; territory_code is the most precise code
    # known, so that visibility is a single prefix filter.
    building = models.ForeignKey(
        "grids.Building", on_delete=models.PROTECT, null=True, blank=True, db_index=False, related_name="+",
        verbose_name=_("楼栋"),
    )
    address_text = models.CharField(_("地址描述"), max_length=200, blank=True)
    # 地址不明: the address named no single building (Open311: several, or only a unit);
    # the appeal waits for dispatch by hand in its street's queue, never pinned to a guess.
    address_unclear = models.BooleanField(_("地址不明"), default=False)
    # The point a client reported (WGS-84, Open311 lat/long), kept as given; public reads
    # round it to about 100 m (DESIGN.md §8).
    latitude = models.DecimalField(_("上报纬度"), max_digits=12, decimal_places=9, null=True, blank=True)
    longitude = models.DecimalField(_("上报经度"), max_digits=12, decimal_places=9, null=True, blank=True)
    district = models.ForeignKey(
        "grids.District", on_delete=models.PROTECT, to_field="code", db_column="district_code",
        null=True, blank=True, db_index=False, related_name="+", verbose_name=_("区"),
    )
    street = models.ForeignKey(
        "grids.Street", on_delete=models.PROTECT, to_field="code", db_column="street_code",
        null=True, blank=True, db_index=False, related_name="+", verbose_name=_("街道"),
    )
    community = models.ForeignKey(
        "grids.Community", on_delete=models.PROTECT, to_field="code", db_column="community_code",
        null=True, blank=True, db_index=False, related_name="+", verbose_name=_("社区"),
    )
    grid = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, to_field="code", db_column="grid_code",
        null=True, blank=True, db_index=False, related_name="+", verbose_name=_("网格"),
    )
    # Indexed by appeal_territory (Meta): prefix matches only.
    territory_code = models.CharField(_("属地编码"), max_length=19)

    # The resident.
    name = models.CharField(_("姓名"), max_length=50, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    # What the public may see (appeals.public_policy): staff-entered appeals only with the
    # resident's consent; the description only as the 公开摘要 staff write or approve.
    public_consent = models.BooleanField(_("同意公开"), default=False)
    public_summary = models.TextField(_("公开摘要"), blank=True, validators=[MaxLengthValidator(1000)])

    state = models.CharField(_("状态"), max_length=20, choices=AppealState.choices, default=AppealState.RECEIVED)

    # Who handles it now: exactly the FK of handling_level, or nothing while it waits
    # for dispatch by hand in the queue named by queue_level.
    handling_level = models.CharField(_("办理层级"), max_length=12, choices=HandlingLevel.choices, blank=True)
    handling_grid = models.ForeignKey(
        "grids.Grid", on_delete=models.PROTECT, to_field="code", db_column="handling_grid_code",
        null=True, blank=True, db_index=False, related_name="+", verbose_name=_("办理网格"),
    )
    handling_community = models.ForeignKey(
        "grids.Community", on_delete=models.PROTECT, to_field="code", db_column="handling_community_code",
        null=True, blank=True, db_index=False, related_name="+", verbose_name=_("办理社区"),
    )
    handling_street = models.ForeignKey(
        "grids.Street", on_delete=models.PROTECT, to_field="code", db_column="handling_street_code",
        null=True, blank=True, db_index=False, related_name="+", verbose_name=_("办理街道"),
    )
    handling_department = models.ForeignKey(
        "grids.Department", on_delete=models.PROTECT, null=True, blank=True, db_index=False, related_name="+",
        verbose_name=_("办理部门"),
    )
    queue_level = models.CharField(_("待派队列"), max_length=12, choices=QueueLevel.choices, blank=True)
    # Who dispatched it, so that a return (退单) goes back there: "" = automatic (the
    # street's dispatch centre reviews returns of automatic dispatch), or community/street.
    dispatcher_level = models.CharField(_("派单方"), max_length=12, choices=QueueLevel.choices, blank=True)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, db_index=False, related_name="+",
        verbose_name=_("派单人"),
    )

    # Escalation is a change of level, not of state (the sweep comes with a later issue).
    escalation_level = models.CharField(_("督办层级"), max_length=12, choices=EscalationLevel.choices, blank=True)
    level_deadline = models.DateTimeField(_("本级时限"), null=True, blank=True)
    response_deadline = models.DateTimeField(_("响应时限"), null=True, blank=True)
    deadline = models.DateTimeField(_("办结时限"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("首次联系时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    feedback_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    # The deadline sweep's markers (appeals.escalation): when the current level began
    # (its last escalation), which level deadline was already warned about (临期预警,
    # once per level deadline: a new one — escalation, rework, extension — is warned
    # again), and the last daily 催办 at the district.
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)
    warned_level_deadline = models.DateTimeField(_("已预警的本级时限"), null=True, blank=True)
    last_reminded_at = models.DateTimeField(_("最近催办时间"), null=True, blank=True)
    # 缓办: an approved extension moved the deadline (appeals.extensions).
    deferred = models.BooleanField(_("缓办"), default=False)
    # What the deadline is computed from (appeals.deadlines), so that a correction of the
    # calendar can compute it again: set at the first dispatch, the extension days at each
    # approved extension. Empty on rows dispatched before they existed: derived when needed.
    deadline_start = models.DateTimeField(_("时限起算时间"), null=True, blank=True)
    deadline_limit = models.PositiveIntegerField(_("办结时限数值"), null=True, blank=True)
    deadline_unit = models.CharField(
        _("办结时限单位"), max_length=14, choices=DeadlineUnit.choices, null=True, blank=True
    )
    deadline_extension_days = models.PositiveIntegerField(_("批准延期工作日数"), null=True, blank=True)

    result = models.TextField(_("办理结果"), blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX)])
    verified = models.BooleanField(_("已核查"), default=False)
    rating = models.CharField(_("评价"), max_length=12, choices=Rating.choices, blank=True)
    solved = models.BooleanField(_("已解决"), null=True, blank=True)
    evaluation_comment = models.TextField(_("评价意见"), blank=True)
    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    flagged_for_supervisor = models.BooleanField(_("转督查"), default=False)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, db_index=False, related_name="merged",
        verbose_name=_("并入诉求"),
    )
    # The volunteer who claimed it in the community's order hall (接单大厅); the handling
    # unit stays responsible for it. By name: the appeals app never imports volunteers.
    claimed_by = models.ForeignKey(
        "volunteers.Volunteer", on_delete=models.PROTECT, null=True, blank=True, db_index=False,
        related_name="claimed_appeals",
        verbose_name=_("接单志愿者"),
    )

    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("受理时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("群众诉求")
        ordering = ["-created_at", "-id"]
        # Every index is written by each INSERT and by each UPDATE that changes an indexed
        # column (a state change does): at city scale each one costs intake and the
        # escalation sweep (docs/BENCHMARKS.md). So the foreign keys carry no index of their
        # own where a composite below leads with them (and on PostgreSQL no "_like" twin: the
        # codes are matched by prefix on territory_code only), and an index on a column that
        # is mostly NULL is partial.
        indexes = [
            models.Index(fields=["handling_grid", "state"], name="appeal_hgrid_state",
                         condition=Q(handling_grid__isnull=False)),
            models.Index(fields=["handling_community", "state"], name="appeal_hcomm_state",
                         condition=Q(handling_community__isnull=False)),
            models.Index(fields=["handling_street", "state"], name="appeal_hstreet_state",
                         condition=Q(handling_street__isnull=False)),
            models.Index(fields=["handling_department", "state"], name="appeal_hdept_state",
                         condition=Q(handling_department__isnull=False)),
            # Visibility is a prefix of territory_code (LIKE '110101001%'): the pattern
            # opclass serves it and equality (opclasses are ignored off PostgreSQL).
            models.Index(fields=["territory_code"], name="appeal_territory", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["dispatched_by"], name="appeal_dispatched_by",
                         condition=Q(dispatched_by__isnull=False)),
            models.Index(fields=["merged_into"], name="appeal_merged_into", condition=Q(merged_into__isnull=False)),
            models.Index(fields=["claimed_by"], name="appeal_claimed_by", condition=Q(claimed_by__isnull=False)),
            # A community's appeals of one state, newest first (the API's ?community=&state=,
            # appeals.filters): a page is the next rows of this index, in either direction
            # (keyset pages); its (community, state) prefix serves the queue's and the unit
            # pages' community keys. The same for streets below.
            models.Index(fields=["community", "state", "created_at", "id"], name="appeal_comm_state_created"),
            # A street's appeals of one state, newest first: the API's ?street=&state=, and
            # 类案参考 (appeals.suggest.similar), which reads a street's most recent closed
            # appeals in index order, stopping at its window (the same writes as (street, state)).
            models.Index(fields=["street", "state", "created_at", "id"], name="appeal_street_state_created"),
            models.Index(fields=["state", "deadline"], name="appeal_state_deadline"),
            models.Index(fields=["state", "level_deadline"], name="appeal_state_leveldl"),
            models.Index(fields=["feedback_at"], name="appeal_awaiting_feedback",
                         condition=Q(state=AppealState.AWAITING_EVALUATION)),
            models.Index(fields=["phone"], name="appeal_phone"),
            # One index per offered order of the lists (appeals.selectors.APPEAL_SORTS), read in
            # either direction by the keyset pages (governance.kernel.keyset); the id breaks ties.
            models.Index(fields=["created_at", "id"], name="appeal_created_id"),
            models.Index(fields=["deadline", "id"], name="appeal_deadline_id"),
            models.Index(fields=["building", "category", "state"], name="appeal_building_cat"),
            # The problem appeals of a unit page (governance.reports.unit_page): late,
            # unsatisfied or reworked, the most overdue first — a page of them is the
            # first rows of this index in deadline order (a narrow unit: its parent key).
            models.Index(fields=["deadline", "id"], name="appeal_problem_deadline",
                         condition=Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("deadline"))
                         | Q(rating=Rating.UNSATISFIED) | Q(rework_count__gt=0)),
            # The same for a street's page: at L the city's index above was walked past
            # 16,912 other streets' problem appeals for a street's first 50 (17 ms).
            models.Index(fields=["street", "deadline", "id"], name="appeal_street_problem",
                         condition=Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("deadline"))
                         | Q(rating=Rating.UNSATISFIED) | Q(rework_count__gt=0)),
            # The 督办清单 (governance.reports.supervision: overdue, or at the district 督办
            # level, and open either way), the most overdue first: a keyset page of it is the
            # next rows of this index from its cursor (the query's state filter implies the
            # condition; the territory prefix is checked on the rows read). Only open
            # appeals: a few percent of ten million, where (deadline, id) would step over
            # every closed one with a deadline past.
            models.Index(fields=["deadline", "id"], name="appeal_open_deadline",
                         condition=Q(state__in=sorted(OPEN_STATES))),
            # The open appeals near a point (appeals.maps): only the reported points.
            models.Index(fields=["latitude", "longitude"], name="appeal_point", condition=Q(latitude__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tracking_code"], name="appeal_tracking_code_unique"),
            models.CheckConstraint(
                condition=(
                    Q(handling_level="", handling_grid__isnull=True, handling_community__isnull=True,
                      handling_street__isnull=True, handling_department__isnull=True)
                    | Q(handling_level=HandlingLevel.GRID, handling_grid__isnull=False, handling_community__isnull=True,
                        handling_street__isnull=True, handling_department__isnull=True)
                    | Q(handling_level=HandlingLevel.COMMUNITY, handling_grid__isnull=True, handling_community__isnull=False,
                        handling_street__isnull=True, handling_department__isnull=True)
                    | Q(handling_level=HandlingLevel.STREET, handling_grid__isnull=True, handling_community__isnull=True,
                        handling_street__isnull=False, handling_department__isnull=True)
                    | Q(handling_level=HandlingLevel.DEPARTMENT, handling_grid__isnull=True, handling_community__isnull=True,
                        handling_street__isnull=True, handling_department__isnull=False)
                ),
                name="appeal_handling_matches_level",
            ),
            models.CheckConstraint(
                condition=~Q(state=AppealState.RECEIVED) | ~Q(queue_level=""),
                name="appeal_waiting_has_queue",
            ),
        ]

    @property
    def reported_point(self) -> str:
        """The reported lat/long as given, without trailing zeros: "39.9302, 116.4101"."""
        if self.latitude is None or self.longitude is None:
            return ""
        return ", ".join(format(v.normalize(), "f") for v in (self.latitude, self.longitude))

    @property
    def map_point(self) -> tuple[float, float] | None:
        """(lat, lon) where the appeal is on a map: the reported point, else its building's
        (loads the building if not loaded); None if neither is known."""
        if self.latitude is not None and self.longitude is not None:
            return float(self.latitude), float(self.longitude)
        building = self.building if self.building_id else None
        if building is not None and building.latitude is not None and building.longitude is not None:
            return float(building.latitude), float(building.longitude)
        return None

    def __str__(self) -> str:
        return self.tracking_code

    @property
    def handling_unit(self):
        return (
            self.handling_grid or self.handling_community or self.handling_street or self.handling_department
        )

    @property
    def handling_unit_name(self) -> str:
        # The names handling_unit_text needs, each read only when it is the one it prints
        # (a page shows this for one appeal: no unit is fetched that the text leaves out).
        unit = self.handling_unit
        if unit is not None:
            grid_community = str(self.handling_grid.community) if self.handling_level == HandlingLevel.GRID else ""
            return handling_unit_text(level=self.handling_level, unit_name=str(unit), grid_community_name=grid_community,
                                      queue_level=self.queue_level, community_name="", street_name="")
        community = (self.community.name if self.queue_level == QueueLevel.COMMUNITY and self.community_id else "")
        street = self.street.name if not community and self.street_id else ""
        return handling_unit_text(level=self.handling_level, unit_name="", grid_community_name="",
                                  queue_level=self.queue_level, community_name=community, street_name=street)

    @property
    def place_name(self) -> str:
        """Where it is, in words a list row shows: community and grid, or the street."""
        community = self.community.name if self.community_id else ""
        grid = self.grid.name if self.grid_id else ""
        street = self.street.name if not (community or grid) and self.street_id else ""
        return place_text(community_name=community, grid_name=grid, street_name=street)

    @property
    def handler_key(self) -> tuple[str, object] | None:
        """The handling unit as the notifications key it (governance.staff.notifications):
        territorial units by code, departments by id; None while it waits in a queue."""
        for level in ("grid", "community", "street"):
            code = getattr(self, f"handling_{level}_id")
            if code:
                return (level, code)
        return ("department", self.handling_department_id) if self.handling_department_id else None

    # Set by intake on the appeal it returns: the names of the photos sent with it that could
    # not be stored (a full or read-only disk); the appeal was saved without them.
    photos_not_stored: tuple[str, ...] = ()

    @property
    def phone_is_mobile(self) -> bool:
        return len(self.phone) == 11 and self.phone.startswith("1")

    @property
    def display_name(self) -> str:
        return str(_("匿名")) if self.anonymous or not self.name else self.name


class AppealEvent(models.Model):
    """The append-only history of an appeal; the source of every metric."""

    # Indexed by appealevent_appeal (appeal, created_at) below.
    appeal = models.ForeignKey(
        Appeal, on_delete=models.CASCADE, db_index=False, related_name="events", verbose_name=_("诉求")
    )
    action = models.CharField(_("操作"), max_length=20, choices=AppealAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, db_index=False, related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作方"), max_length=100, help_text=_("居民、系统，或单位与岗位"))
    from_state = models.CharField(_("原状态"), max_length=20, choices=AppealState.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, choices=AppealState.choices)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("诉求办理记录")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["appeal", "created_at"], name="appealevent_appeal"),
            models.Index(fields=["action", "created_at"], name="appealevent_action"),
            # The daily flows' refresh reads the events of the last day or two
            # (governance.assessment.flows).
            models.Index(fields=["created_at"], name="appealevent_created"),
            # The system's events (sweeps, auto-close) have no actor.
            models.Index(fields=["actor"], name="appealevent_actor", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.action}"


def _upload_to(instance, filename: str) -> str:
    from django.utils import timezone

    now = timezone.localtime()
    return f"appeals/{now:%Y}/{now:%m}/{filename}"


class AppealAttachment(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("诉求"))
    event = models.ForeignKey(
        AppealEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments",
        verbose_name=_("办理记录"),
    )
    image = models.ImageField(_("照片"), upload_to=_upload_to)
    kind = models.CharField(_("类型"), max_length=10, choices=AttachmentKind.choices)
    # Marked by staff with the 公开摘要 (appeals.services.appeal_publish): only such a photo
    # of a public appeal is given as Open311's media_url.
    public = models.BooleanField(_("公开"), default=False)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("诉求照片")
        ordering = ["created_at", "id"]


class AppealCoHandler(models.Model):
    """A department summoned by the street's whistle (吹哨), and its 报到."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="co_handlers", verbose_name=_("诉求"))
    department = models.ForeignKey(
        "grids.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("协办部门")
    )
    summoned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("吹哨人"),
    )
    summoned_at = models.DateTimeField(_("吹哨时间"), auto_now_add=True)
    checked_in_at = models.DateTimeField(_("报到时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("吹哨协办部门")
        ordering = ["summoned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["appeal", "department"], name="appeal_cohandler_unique"),
        ]
        indexes = [models.Index(fields=["department", "checked_in_at"], name="cohandler_dept")]


class ExtensionRequest(models.Model):
    """A handler's request for more time (延期), decided one level up (appeals.extensions).

    At most one request of an appeal is pending at a time.
    """

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="extensions", verbose_name=_("诉求"))
    # The handling level when it was asked: it names the approving level (one above).
    level = models.CharField(_("申请时办理层级"), max_length=12, choices=HandlingLevel.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("申请人"),
    )
    reason = models.TextField(_("延期理由"))
    previous_deadline = models.DateTimeField(_("原办结时限"))
    requested_deadline = models.DateTimeField(_("申请延至"))
    state = models.CharField(_("状态"), max_length=10, choices=ExtensionState.choices, default=ExtensionState.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("延期申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appeal"], condition=Q(state="pending"), name="extension_one_pending_per_appeal",
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="extension_state")]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.get_state_display()}"


class _RemembersLoaded:
    """Keeps the ``remembered`` fields as loaded (``loaded_<field>``): a change is then
    told from what was stored (appeals.recompute's signal handlers)."""

    remembered: tuple[str, ...] = ()

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        for name in cls.remembered:
            setattr(instance, f"loaded_{name}", instance.__dict__.get(name))
        return instance


class CalendarDay(_RemembersLoaded, models.Model):
    """A day of the working-day calendar entered by an administrator (appeals.workdays):
    a day of the State Council's schedule (国办通知: its holidays and 调休 working days), a
    statutory day pinned by hand (法定), or a local adjustment (调整, e.g. 临时停工). It wins
    over the chinesecalendar library and over the law's computation. Saving or deleting
    one re-computes the open deadlines of its year (appeals.recompute)."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"), help_text=_("勾选：上班；不勾选：休息"))
    source = models.CharField(
        _("来源"), max_length=10, choices=CalendarSource.choices, default=CalendarSource.OFFICIAL
    )
    name = models.CharField(_("名称"), max_length=30, blank=True, help_text=_("如 元旦、春节、调休上班、临时停工"))
    note = models.CharField(_("说明"), max_length=100, blank=True)
    # The date it had, so that moving a day to another year re-computes both years.
    remembered = ("date",)

    class Meta:
        verbose_name = verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name or ('上班' if self.is_workday else '休息')}"


class CalendarYear(_RemembersLoaded, models.Model):
    """One year of the calendar: whether its official schedule (国办通知) has been entered,
    and a pending re-computation of its open deadlines (set with every change, cleared by
    the run that saw it: the beat catches up when the broker was down)."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    official_entered = models.BooleanField(
        _("已录入国办通知"), default=False,
        help_text=_("国务院办公厅公布当年节假日安排并录入为“国办通知”日期后勾选；此前该年按法定假日推算，为暂定。"),
    )
    entered_at = models.DateTimeField(_("标记时间"), null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("标记人"),
    )
    recompute_requested_at = models.DateTimeField(_("待重算时限"), null=True, blank=True, editable=False)
    recompute_reason = models.CharField(_("重算原因"), max_length=200, blank=True, editable=False)
    recomputed_at = models.DateTimeField(_("最近重算时间"), null=True, blank=True, editable=False)
    remembered = ("official_entered",)

    class Meta:
        verbose_name = verbose_name_plural = _("年度工作日历")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}"


class PhoneCode(models.Model):
    """A one-time code sent by SMS to prove a phone (我的诉求, appeals.phone_proof). Neither
    the number nor the code is stored: only their keyed digests (HMAC under SECRET_KEY)."""

    phone_digest = models.CharField(_("手机号摘要"), max_length=64)
    code_digest = models.CharField(_("验证码摘要"), max_length=64)
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    created_at = models.DateTimeField(_("发送时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("手机验证码")
        indexes = [models.Index(fields=["phone_digest", "created_at"], name="phonecode_phone")]


class ArchivedYear(models.Model):
    """A calendar year whose finished appeals were moved to the archive tables
    (appeals.archive): its stored scores and daily flows are not recomputed any more.
    The counts are of the rows now in the archive (a restore takes one back)."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    archived_at = models.DateTimeField(_("归档时间"))
    appeals = models.PositiveIntegerField(_("已归档诉求"), default=0)
    events = models.PositiveIntegerField(_("已归档办理记录"), default=0)

    class Meta:
        verbose_name = _("已归档年份")
        verbose_name_plural = _("已归档年份")
        ordering = ["year"]

    def __str__(self) -> str:
        return f"{self.year}"


# Models that live with their code (issue 22): residents' deliberation (民主协商) and
# home visits (入户走访); the category models and suggestions of 智能分拨 (issue 26).
from appeals.deliberation.models import Meeting, MeetingAppeal, MeetingDecision, MeetingParticipant  # noqa: E402,F401
from appeals.suggest.models import CategoryModel, CategorySuggestion  # noqa: E402,F401
from appeals.visits.models import Visit, VisitRule  # noqa: E402,F401

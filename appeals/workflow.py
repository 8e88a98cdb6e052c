"""The workflow table (DESIGN.md §4): one row per action, holding the states it may be
taken from and the state it leads to, who may take it, and what a refusal says; and the
one function that answers "may this account take this action on this appeal now".

``permit`` answers in one order for every page, API endpoint and service:
1. outside the account's jurisdiction the appeal does not exist → NotFound (404); the
   volunteer who claimed it sees it;
2. the state does not allow the action → Conflict (409), naming state and action;
3. the account may not take it → ActionForbidden (403) with the row's reason: the
   relation between one of its posts and the appeal (appeals.permissions) decides, or
   the claimant's right; read-only accounts (supervisors) are told they read only;
4. the action's own precondition (the row's ``guard``: already at the district 督办, a
   deadline passed, a request pending, …) → its own answer (409 or 400).
The input comes after, in the service (400). A few preconditions answer before the role
(``guard_first``), where the state of the thing decided comes first.

``offered`` lists what a page or the API offers: the staff and claimant actions that
``permit`` would allow now. Who else acts: the resident (by tracking code and the
phone's last 4 digits: withdraw, evaluate), a volunteer of the community (claim, from
the order hall), and the system (intake, the sweeps, automatic feedback). A row whose
only party is the system has no form or endpoint; every other row has both
(tests/appeals/test_workflow.py holds that).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals import permissions
from appeals.enums import OPEN_STATES, SELF_FOUND_SOURCES, STAFF_SOURCES, AppealAction, AppealState, EscalationLevel
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.staff.selectors import Jurisdiction, jurisdiction_for


class Party(models.TextChoices):
    STAFF = "staff", gettext_lazy("工作人员")  # through a post and its relation to the appeal
    CLAIMANT = "claimant", gettext_lazy("接单志愿者")  # the volunteer who claimed the appeal
    VOLUNTEER = "volunteer", gettext_lazy("志愿者")  # a volunteer of the community, from the order hall
    RESIDENT = "resident", gettext_lazy("居民")  # by tracking code and the phone's last 4 digits
    SYSTEM = "system", gettext_lazy("系统")  # intake, the sweeps, automatic feedback


@dataclass(frozen=True)
class Case:
    """What a relation or a guard looks at: the appeal, and the extension request decided."""

    appeal: object
    now: datetime
    extension: object | None = None


@dataclass(frozen=True)
class Step:
    action: str
    sources: frozenset[str]
    # None: the action keeps the state. Several: the service picks by the outcome
    # (evaluate: satisfied → closed, unsatisfied → rework in_progress or closed at the limit).
    targets: tuple[str, ...] | None
    parties: frozenset[str]
    relation: Callable[[object, Case], bool] | None = None  # (post, case): the staff who may
    # 403: the staff relation is missing, or the action is no party's of the account's; a
    # callable takes the Case (the decisions name the unit that decides).
    refusal: Promise | str | Callable[[Case], str] = ""
    read_only_refusal: Promise | str = gettext_lazy("督查考核账号只读，不能办理诉求。")
    guard: Callable[[Case], None] | None = None  # raises its own Conflict / ApplicationError
    guard_first: bool = False  # the guard answers before the role (the thing decided comes first)
    keeps_version: bool = False  # warnings, reminders, 督办 notes: no handler's open form goes stale

    @property
    def system_only(self) -> bool:
        return self.parties == {Party.SYSTEM}


def _post(relation):
    return lambda post, case: relation(post, case.appeal)


ACTIVE = frozenset({AppealState.DISPATCHED, AppealState.IN_PROGRESS})
OPEN = frozenset(OPEN_STATES)


# --- 核查: which appeals a worker checks on site, and which ones 核查 closes --------------


def closes_on_verification(appeal) -> bool:
    """A 主动发现 appeal (SELF_FOUND_SOURCES) with no resident's phone: nobody is there to
    be told the result or to evaluate it, so the on-site check (核查) closes it — no
    feedback, no evaluation (issue 15). Its Q: CLOSES_ON_VERIFICATION_Q."""
    return appeal.source in SELF_FOUND_SOURCES and not appeal.phone


def needs_verification(appeal) -> bool:
    """A worker checks the result on site (核查) before anything follows: the category asks
    for it, or 核查 is what closes the appeal. Its Q: NEEDS_VERIFICATION_Q."""
    return bool(appeal.category and appeal.category.needs_verification) or closes_on_verification(appeal)


# The same two rules as conditions on appeals (the grid worker's queue of 核查).
CLOSES_ON_VERIFICATION_Q = Q(source__in=SELF_FOUND_SOURCES, phone="")
NEEDS_VERIFICATION_Q = Q(category__needs_verification=True) | CLOSES_ON_VERIFICATION_Q


def verify_pass_target(appeal) -> str:
    """Where 核查通过 leads: closed when 核查 closes the appeal, otherwise resolved (the
    feedback follows)."""
    return AppealState.CLOSED if closes_on_verification(appeal) else AppealState.RESOLVED


def _needs_verification(case: Case) -> None:
    appeal = case.appeal
    if not needs_verification(appeal):
        raise Conflict(_("该类别无需现场核查。"))
    if appeal.verified:
        raise Conflict(_("该诉求已核查通过。"))


def _verified_first(case: Case) -> None:
    appeal = case.appeal
    if closes_on_verification(appeal):
        raise Conflict(_("主动发现且无居民联系电话的诉求，现场核查通过即结案，无需反馈和评价。"))
    if needs_verification(appeal) and not appeal.verified:
        raise Conflict(_("该类别须先现场核查通过，才能反馈。"))


def _below_district(case: Case) -> None:
    if case.appeal.escalation_level == EscalationLevel.DISTRICT:
        raise Conflict(_("该诉求已列入区督办，不能再上报。"))


def _may_ask_for_time(case: Case) -> None:
    appeal = case.appeal
    if appeal.deadline is None or appeal.deadline <= case.now:
        raise ApplicationError(_("已超过办结时限，不能再申请延期；请尽快办结或上报。"))
    if permissions.pending_extension(appeal) is not None:
        raise Conflict(_("该诉求已有待审批的延期申请。"))


def _still_pending(case: Case) -> None:
    extension = case.extension or permissions.pending_extension(case.appeal)
    if extension is None:
        raise Conflict(_("该诉求没有待审批的延期申请。"))
    if extension.state != "pending":
        raise Conflict(_("该延期申请已处理（%(s)s）。") % {"s": extension.get_state_display()})


def _publishable(case: Case) -> None:
    """The public may read it at all (appeals.public_policy): a public category, and the
    resident's consent when staff entered it. Declined and withdrawn: the table's states."""
    appeal = case.appeal
    if appeal.category is None or not appeal.category.public:
        raise Conflict(_("该诉求的类别不公开（涉及个人的事项不公开），无需撰写公开摘要。"))
    if appeal.source in STAFF_SOURCES and not appeal.public_consent:
        raise Conflict(_("工作人员代登记的诉求须经居民同意才能公开；登记时未勾选同意公开。"))


def _decider(post, case: Case) -> bool:
    return permissions.decides_extension(post, case.appeal, extension=case.extension)


_DECIDER_NAME = {"community": gettext_lazy("社区"), "street": gettext_lazy("街道"), "district": gettext_lazy("区督查")}


def _decides(case: Case) -> str:
    extension = case.extension or permissions.pending_extension(case.appeal)
    level, _code = permissions.approver_unit(level=extension.level, appeal=case.appeal)
    return _("延期须由上一级审批：该申请由%(unit)s审批。") % {"unit": _DECIDER_NAME[level]}

TABLE: dict[str, Step] = {step.action: step for step in (
    Step(AppealAction.RECEIVE, frozenset(), (AppealState.RECEIVED,), frozenset({Party.SYSTEM})),  # creation: from no state
    Step(AppealAction.DISPATCH, frozenset({AppealState.RECEIVED}), (AppealState.DISPATCHED,), frozenset({Party.STAFF, Party.SYSTEM}),
         _post(permissions.keeps_queue), gettext_lazy("只有诉求所在的待派队列（社区或街道分中心）可以派单。")),
    Step(AppealAction.DECLINE, frozenset({AppealState.RECEIVED}), (AppealState.DECLINED,), frozenset({Party.STAFF}),
         _post(permissions.keeps_queue), gettext_lazy("只有诉求所在的待派队列（社区或街道分中心）可以不予受理。")),
    Step(AppealAction.MERGE, frozenset({AppealState.RECEIVED}), (AppealState.DECLINED,), frozenset({Party.STAFF}),
         _post(permissions.keeps_queue), gettext_lazy("只有诉求所在的待派队列（社区或街道分中心）可以并案。")),
    Step(AppealAction.WITHDRAW, frozenset({AppealState.RECEIVED, AppealState.DISPATCHED}), (AppealState.WITHDRAWN,), frozenset({Party.RESIDENT}),
         refusal=gettext_lazy("撤回和评价由居民本人凭查询码和手机号后四位进行。")),
    Step(AppealAction.SIGN, frozenset({AppealState.DISPATCHED}), (AppealState.IN_PROGRESS,), frozenset({Party.STAFF}),
         _post(permissions.handles), gettext_lazy("只有当前办理单位可以签收。")),
    # A volunteer of the community takes a volunteer-suitable appeal from the order hall
    # (接单): a sign-for on the handling unit's behalf (appeals.services.appeal_claim).
    Step(AppealAction.CLAIM, frozenset({AppealState.DISPATCHED}), (AppealState.IN_PROGRESS,), frozenset({Party.VOLUNTEER}),
         refusal=gettext_lazy("接单由本社区志愿者在接单大厅进行。")),
    Step(AppealAction.RETURN, frozenset({AppealState.DISPATCHED}), (AppealState.RECEIVED,), frozenset({Party.STAFF}),
         _post(permissions.handles), gettext_lazy("只有当前办理单位可以退单。")),
    Step(AppealAction.RESOLVE, frozenset({AppealState.IN_PROGRESS}), (AppealState.RESOLVED,), frozenset({Party.STAFF, Party.CLAIMANT}),
         _post(permissions.handles), gettext_lazy("只有当前办理单位可以办结。")),
    # 核查通过: the feedback follows; a 主动发现 appeal with no resident to tell closes here
    # (verify_pass_target).
    Step(AppealAction.VERIFY_PASS, frozenset({AppealState.RESOLVED}), (AppealState.RESOLVED, AppealState.CLOSED), frozenset({Party.STAFF}),
         _post(permissions.verifier), gettext_lazy("只有诉求所在网格的网格员可以现场核查。"), guard=_needs_verification),
    Step(AppealAction.VERIFY_FAIL, frozenset({AppealState.RESOLVED}), (AppealState.IN_PROGRESS,), frozenset({Party.STAFF}),
         _post(permissions.verifier), gettext_lazy("只有诉求所在网格的网格员可以现场核查。"), guard=_needs_verification),
    Step(AppealAction.FEEDBACK, frozenset({AppealState.RESOLVED}), (AppealState.AWAITING_EVALUATION,), frozenset({Party.STAFF, Party.SYSTEM}),
         lambda post, case: permissions.local(post, case.appeal) or permissions.handles(post, case.appeal),
         gettext_lazy("只有诉求所在社区、网格的工作人员或办理单位可以记录反馈。"), guard=_verified_first),
    Step(AppealAction.EVALUATE, frozenset({AppealState.AWAITING_EVALUATION}), (AppealState.CLOSED, AppealState.IN_PROGRESS), frozenset({Party.RESIDENT}),
         refusal=gettext_lazy("撤回和评价由居民本人凭查询码和手机号后四位进行。")),
    Step(AppealAction.CLOSE_UNEVALUATED, frozenset({AppealState.AWAITING_EVALUATION}), (AppealState.CLOSED,), frozenset({Party.SYSTEM})),
    # Actions that keep the state.
    Step(AppealAction.CONTACT, ACTIVE, None, frozenset({Party.STAFF, Party.CLAIMANT}),
         _post(permissions.handles), gettext_lazy("只有当前办理单位可以记录先行联系。")),
    Step(AppealAction.NOTE, OPEN, None, frozenset({Party.STAFF, Party.CLAIMANT}),
         _post(permissions.takes_part), gettext_lazy("只有参与办理的单位可以记录办理进展。")),
    # 公开摘要 (DESIGN.md §8): what the public reads of it; nothing a handler acts on. While
    # it is open: nothing changes a closed appeal (its last change is its closing time).
    Step(AppealAction.PUBLISH, OPEN, None, frozenset({Party.STAFF}),
         _post(permissions.publisher), gettext_lazy("只有诉求所在社区、网格、街道的工作人员或办理单位可以撰写公开摘要。"),
         guard=_publishable, keeps_version=True),
    # Supervisors' one write: it changes nothing a handler acts on.
    Step(AppealAction.SUPERVISE, OPEN, None, frozenset({Party.STAFF}),
         _post(permissions.supervises), gettext_lazy("只有督查考核人员可以添加督办意见。"), read_only_refusal="",
         keeps_version=True),
    Step(AppealAction.REROUTE, frozenset({AppealState.RECEIVED, AppealState.DISPATCHED}), None, frozenset({Party.STAFF}),
         _post(permissions.rerouter), gettext_lazy("只有派单方（街道分中心，或本社区对其网格）可以改派。")),
    Step(AppealAction.WHISTLE, ACTIVE, None, frozenset({Party.STAFF}),
         _post(permissions.street_of), gettext_lazy("只有诉求所在街道的工作人员可以吹哨。")),
    Step(AppealAction.CHECKIN, frozenset({AppealState.DISPATCHED, AppealState.IN_PROGRESS, AppealState.RESOLVED}), None, frozenset({Party.STAFF}),
         _post(permissions.cohandler_to_check_in), gettext_lazy("只有被吹哨且尚未报到的职能部门可以报到。")),
    # Deadlines (appeals.escalation, appeals.extensions): the level changes, not the state;
    # the clocks run while the handler works on it (dispatched or in progress).
    Step(AppealAction.ESCALATE, ACTIVE, None, frozenset({Party.STAFF, Party.SYSTEM}),
         _post(permissions.handles), gettext_lazy("只有当前办理单位可以上报。"),
         read_only_refusal=gettext_lazy("督查考核账号只读，不能上报诉求。"), guard=_below_district),
    Step(AppealAction.WARN, ACTIVE, None, frozenset({Party.SYSTEM}), keeps_version=True),
    # The working-day calendar changed: the system computes the deadline again (appeals.recompute).
    Step(AppealAction.DEADLINE_CORRECT, OPEN, None, frozenset({Party.SYSTEM})),
    Step(AppealAction.REMIND, ACTIVE, None, frozenset({Party.SYSTEM}), keeps_version=True),
    # Only the unit at the handling level asks (a community does not ask for its grid's
    # appeal: it would then approve its own request).
    Step(AppealAction.EXTEND_REQUEST, ACTIVE, None, frozenset({Party.STAFF}),
         _post(permissions.is_handling_unit), gettext_lazy("只有当前办理单位可以申请延期。"),
         read_only_refusal=gettext_lazy("督查考核账号只读，不能申请延期。"), guard=_may_ask_for_time),
    Step(AppealAction.EXTEND_APPROVE, ACTIVE, None, frozenset({Party.STAFF}), _decider, _decides,
         read_only_refusal="", guard=_still_pending, guard_first=True),
    # A pending request can still be turned down after the appeal was resolved.
    Step(AppealAction.EXTEND_REJECT, OPEN, None, frozenset({Party.STAFF}), _decider, _decides,
         read_only_refusal="", guard=_still_pending, guard_first=True),
    # 居民补充 (text, photos) while the appeal is open: nothing a handler acts on changes, so
    # no handler's open form goes stale; the handling unit is told in its inbox.
    Step(AppealAction.SUPPLEMENT, OPEN, None, frozenset({Party.RESIDENT}),
         refusal=gettext_lazy("补充材料由居民本人在查询页凭查询码或手机验证码进行。"), keeps_version=True),
    # Residents' deliberation (appeals.deliberation): written by the meeting's services,
    # which let the staff of the meeting's community act on the meeting (not on the appeal,
    # so no form on the appeal page); nothing a handler acts on changes — the clock runs on.
    Step(AppealAction.DELIBERATE, OPEN, None, frozenset({Party.SYSTEM}), keeps_version=True),
    Step(AppealAction.DELIBERATION_NOTE, OPEN, None, frozenset({Party.SYSTEM}), keeps_version=True),
)}
assert set(TABLE) == set(AppealAction), "every action needs a row in the workflow table"

# The staff actions the appeal page offers forms for, in the order it lists them. The
# 延期 decisions are offered on the pending request, the 督办意见 on the 督办 page.
OFFERED_ORDER = (
    AppealAction.DISPATCH, AppealAction.DECLINE, AppealAction.MERGE, AppealAction.SIGN, AppealAction.CONTACT, AppealAction.RETURN, AppealAction.REROUTE, AppealAction.RESOLVE, AppealAction.VERIFY_PASS,
    AppealAction.VERIFY_FAIL, AppealAction.FEEDBACK, AppealAction.NOTE, AppealAction.WHISTLE, AppealAction.CHECKIN, AppealAction.ESCALATE, AppealAction.EXTEND_REQUEST, AppealAction.PUBLISH,
)
STAFF_ACTIONS = (*OFFERED_ORDER, AppealAction.SUPERVISE)
assert {a for a, s in TABLE.items() if s.parties & {Party.STAFF, Party.CLAIMANT}} == set(STAFF_ACTIONS) | {
    AppealAction.EXTEND_APPROVE, AppealAction.EXTEND_REJECT}, "every staff action has its place on a page"


def sources(action: str) -> frozenset[str]:
    return TABLE[action].sources


def ensure_state(action: str, state: str) -> None:
    """409 unless the table allows ``action`` from ``state``."""
    if state not in TABLE[action].sources:
        raise Conflict(
            _("诉求当前为“%(state)s”，不能进行“%(action)s”。")
            % {"state": AppealState(state).label if state else "", "action": AppealAction(action).label}
        )


@dataclass(frozen=True)
class Permit:
    """Who takes an allowed action: the acting post, or the claimant volunteer; and the
    label its event carries."""

    post: object | None
    claimant: object | None
    label: str
    jurisdiction: Jurisdiction


def permit(*, user, appeal, action: str, jurisdiction: Jurisdiction | None = None, extension=None,
           now: datetime | None = None) -> Permit:
    """May ``user`` take ``action`` on ``appeal`` now? The Permit, or the refusal in the
    module's order: NotFound, Conflict (state), [guard_first], ActionForbidden, guard."""
    jurisdiction = jurisdiction or jurisdiction_for(user)
    step = TABLE[action]
    case = Case(appeal=appeal, now=now or timezone.now(), extension=extension)
    visible = permissions.is_visible(jurisdiction, appeal)
    claimant = permissions.is_claimant(user, appeal)
    if not (visible or claimant):
        raise NotFound()
    if claimant and not visible and Party.CLAIMANT not in step.parties:
        raise ActionForbidden(_("接单志愿者只能记录联系情况、办理进展和办结。"))
    if not step.parties & {Party.STAFF, Party.CLAIMANT}:
        # Not an action of staff at all (the resident's, a volunteer's, the system's): say so first.
        raise ActionForbidden(str(step.refusal or _("该操作由系统自动进行。")))
    ensure_state(action, appeal.state)
    if step.guard and step.guard_first:
        step.guard(case)
    post = None
    if Party.STAFF in step.parties and visible and step.relation is not None:
        post = next((p for p in jurisdiction.posts if step.relation(p, case)), None)
    if post is None:
        if claimant and Party.CLAIMANT in step.parties:
            if step.guard and not step.guard_first:
                step.guard(case)
            volunteer = appeal.claimed_by
            return Permit(post=None, claimant=volunteer, label=permissions.claimant_label(volunteer),
                          jurisdiction=jurisdiction)
        if jurisdiction.read_only and (jurisdiction.posts or jurisdiction.everything) and step.read_only_refusal:
            raise ActionForbidden(str(step.read_only_refusal))
        raise ActionForbidden(str(step.refusal(case) if callable(step.refusal) else step.refusal))
    if step.guard and not step.guard_first:
        step.guard(case)
    label = permissions.actor_label(post)
    if action == AppealAction.SUPERVISE:
        label = f"{label}（{_('督办')}）"
    return Permit(post=post, claimant=None, label=label, jurisdiction=jurisdiction)


def allowed(**kwargs) -> bool:
    """``permit`` as a yes or no (pages decide what to offer)."""
    try:
        permit(**kwargs)
    except ApplicationError:
        return False
    return True


def offered(*, user, appeal, jurisdiction: Jurisdiction | None = None, now: datetime | None = None,
            actions: tuple[str, ...] = OFFERED_ORDER) -> list[str]:
    """Of ``actions`` (by default the appeal page's), those this account may take on the
    appeal now, in their order. Empty outside the jurisdiction."""
    jurisdiction = jurisdiction or jurisdiction_for(user)
    if not (permissions.is_visible(jurisdiction, appeal) or permissions.is_claimant(user, appeal)):
        return []
    now = now or timezone.now()
    return [a for a in actions
            if appeal.state in TABLE[a].sources
            and allowed(user=user, appeal=appeal, action=a, jurisdiction=jurisdiction, now=now)]

"""Who may see an appeal and who may act on it (DESIGN.md §3), in one place.

Used by the transition service (to refuse) and by the selectors (to list the actions
a page may offer), so that the two cannot drift apart.

- Visibility follows the appeal's place (``territory_code`` under one of the account's
  prefixes), plus what is routed or whistled to the account's departments.
- Only the unit currently handling an appeal acts on it; the queue's keeper
  (community, or the street's dispatch centre) dispatches it; the street whistles.
- The volunteer who claimed an appeal from the order hall (接单大厅) — an account with
  no post — sees and acts on exactly that appeal, and only with VOLUNTEER_ACTIONS
  (contact, note, resolve); the handling unit keeps all of its rights.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals.enums import VOLUNTEER_ACTIONS, AppealAction, AppealState, HandlingLevel, QueueLevel
from governance.enums import COMMUNITY_ROLES, Role
from governance.errors import ActionForbidden, NotFound
from governance.selectors import Jurisdiction
from governance.models import Post

A = AppealAction


def cohandler_departments(appeal) -> dict[int, bool]:
    """{department id: checked in?} of the departments whistled to the appeal."""
    cached = getattr(appeal, "_cohandler_departments", None)
    if cached is None:
        cached = dict(
            (dept_id, checked is not None)
            for dept_id, checked in appeal.co_handlers.values_list("department_id", "checked_in_at")
        )
        appeal._cohandler_departments = cached
    return cached


def is_visible(jurisdiction: Jurisdiction, appeal) -> bool:
    if jurisdiction.covers(appeal.territory_code or "\0"):
        return True
    if not jurisdiction.department_ids:
        return False
    if appeal.handling_department_id in jurisdiction.department_ids:
        return True
    return bool(set(cohandler_departments(appeal)) & jurisdiction.department_ids)


def ensure_visible(jurisdiction: Jurisdiction, appeal) -> None:
    if not is_visible(jurisdiction, appeal):
        raise NotFound()


# --- the relations between one post and one appeal --------------------------------------
# Posts point at their unit by primary key, appeals by code: compare codes.


def _code(unit) -> str | None:
    return unit.code if unit is not None else None


def _handles(post: Post, appeal) -> bool:
    level = appeal.handling_level
    if level == HandlingLevel.GRID:
        return (post.role == Role.GRID_WORKER and _code(post.grid) == appeal.handling_grid_id) or (
            post.role in COMMUNITY_ROLES and post.community_id is not None and appeal.handling_grid_id.startswith(post.community.code)
        )
    if level == HandlingLevel.COMMUNITY:
        return post.role in COMMUNITY_ROLES and _code(post.community) == appeal.handling_community_id
    if level == HandlingLevel.STREET:
        return post.role == Role.STREET_OFFICER and _code(post.street) == appeal.handling_street_id
    if level == HandlingLevel.DEPARTMENT:
        return post.role == Role.DEPARTMENT_HANDLER and post.department_id == appeal.handling_department_id
    return False


def _street_of(post: Post, appeal) -> bool:
    return post.role == Role.STREET_OFFICER and appeal.street_id is not None and _code(post.street) == appeal.street_id


def _keeps_queue(post: Post, appeal) -> bool:
    """The queue an undispatched appeal waits in; the street may always take over."""
    if appeal.state != AppealState.RECEIVED:
        return False
    if _street_of(post, appeal):
        return True
    return (
        appeal.queue_level == QueueLevel.COMMUNITY
        and post.role in COMMUNITY_ROLES
        and appeal.community_id is not None
        and _code(post.community) == appeal.community_id
    )


def _local(post: Post, appeal) -> bool:
    """Staff of the appeal's own community or grid (those who call or visit the resident)."""
    if post.role in COMMUNITY_ROLES:
        return appeal.community_id is not None and _code(post.community) == appeal.community_id
    if post.role == Role.GRID_WORKER:
        return appeal.grid_id is not None and _code(post.grid) == appeal.grid_id
    return False


def _verifier(post: Post, appeal) -> bool:
    if appeal.grid_id:
        return post.role == Role.GRID_WORKER and _code(post.grid) == appeal.grid_id
    return post.role in COMMUNITY_ROLES and appeal.community_id is not None and _code(post.community) == appeal.community_id


def _cohandler(post: Post, appeal, *, unchecked: bool = False) -> bool:
    if post.role != Role.DEPARTMENT_HANDLER:
        return False
    depts = cohandler_departments(appeal)
    if post.department_id not in depts:
        return False
    return not depts[post.department_id] if unchecked else True


def _rerouter(post: Post, appeal) -> bool:
    if appeal.state == AppealState.RECEIVED:
        return _keeps_queue(post, appeal)
    if _street_of(post, appeal):
        return True
    # A community moves work between itself and its grids.
    return (
        post.role in COMMUNITY_ROLES
        and appeal.handling_level in (HandlingLevel.GRID, HandlingLevel.COMMUNITY)
        and appeal.community_id is not None
        and _code(post.community) == appeal.community_id
    )


RULES = {
    A.DISPATCH: _keeps_queue,
    A.DECLINE: _keeps_queue,
    A.MERGE: _keeps_queue,
    A.SIGN: _handles,
    A.RETURN: _handles,
    A.RESOLVE: _handles,
    A.CONTACT: _handles,
    A.REROUTE: _rerouter,
    A.VERIFY_PASS: _verifier,
    A.VERIFY_FAIL: _verifier,
    A.FEEDBACK: lambda p, a: _local(p, a) or _handles(p, a),
    A.NOTE: lambda p, a: _handles(p, a) or _keeps_queue(p, a) or _street_of(p, a) or _local(p, a) or _cohandler(p, a),
    A.WHISTLE: _street_of,
    A.CHECKIN: lambda p, a: _cohandler(p, a, unchecked=True),
}

REASONS = {
    A.DISPATCH: gettext_lazy("只有诉求所在的待派队列（社区或街道分中心）可以派单。"),
    A.DECLINE: gettext_lazy("只有诉求所在的待派队列（社区或街道分中心）可以不予受理。"),
    A.MERGE: gettext_lazy("只有诉求所在的待派队列（社区或街道分中心）可以并案。"),
    A.SIGN: gettext_lazy("只有当前办理单位可以签收。"),
    A.RETURN: gettext_lazy("只有当前办理单位可以退单。"),
    A.RESOLVE: gettext_lazy("只有当前办理单位可以办结。"),
    A.CONTACT: gettext_lazy("只有当前办理单位可以记录先行联系。"),
    A.REROUTE: gettext_lazy("只有派单方（街道分中心，或本社区对其网格）可以改派。"),
    A.VERIFY_PASS: gettext_lazy("只有诉求所在网格的网格员可以现场核查。"),
    A.VERIFY_FAIL: gettext_lazy("只有诉求所在网格的网格员可以现场核查。"),
    A.FEEDBACK: gettext_lazy("只有诉求所在社区、网格的工作人员或办理单位可以记录反馈。"),
    A.NOTE: gettext_lazy("只有参与办理的单位可以记录办理进展。"),
    A.WHISTLE: gettext_lazy("只有诉求所在街道的工作人员可以吹哨。"),
    A.CHECKIN: gettext_lazy("只有被吹哨且尚未报到的职能部门可以报到。"),
}


def acting_post(jurisdiction: Jurisdiction, appeal, action: str) -> Post | None:
    """The account's post that may take ``action`` on the appeal now (role and unit only;
    the state is the transition table's business)."""
    rule = RULES.get(action)
    if rule is None:
        return None
    for post in jurisdiction.posts:
        if post.role != Role.SUPERVISOR and rule(post, appeal):
            return post
    return None


def ensure_may_act(jurisdiction: Jurisdiction, appeal, action: str) -> Post:
    """The acting post, or ActionForbidden with the reason (the caller checked visibility)."""
    if action in (A.WITHDRAW, A.EVALUATE):
        raise ActionForbidden(_("撤回和评价由居民本人凭查询码和手机号后四位进行。"))
    if action in (A.RECEIVE, A.CLOSE_UNEVALUATED, A.WARN, A.REMIND):
        raise ActionForbidden(_("该操作由系统自动进行。"))
    if action == A.CLAIM:
        raise ActionForbidden(_("接单由本社区志愿者在接单大厅进行。"))
    if action not in RULES:  # escalation and extensions have their own services (appeals.escalation, .extensions)
        raise ActionForbidden(_("该操作须通过上报或延期的专门入口进行。"))
    post = acting_post(jurisdiction, appeal, action)
    if post is not None:
        return post
    if jurisdiction.posts and all(p.role == Role.SUPERVISOR for p in jurisdiction.posts) or (
        jurisdiction.everything and not jurisdiction.posts
    ):
        raise ActionForbidden(_("督查考核账号只读，不能办理诉求。"))
    raise ActionForbidden(str(REASONS[action]))


def actor_label(post: Post | None) -> str:
    if post is None:
        return str(_("工作人员"))
    return f"{post.unit_name}·{post.get_role_display()}"


# --- the volunteer who claimed an appeal (接单) -------------------------------------------


def in_order_hall_community(appeal, community_code: str) -> bool:
    """The appeal belongs to that community's order hall: a volunteer-suitable category, at
    a place in the community (whether it is still open to claims is the table's business)."""
    category = appeal.category
    return bool(category is not None and category.volunteer_suitable and appeal.community_id == community_code)


def is_claimant(user, appeal) -> bool:
    """The account is the volunteer who claimed the appeal."""
    if appeal.claimed_by_id is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    return appeal.claimed_by.user_id == user.pk


def claimant_may_act(jurisdiction: Jurisdiction, user, appeal, action: str) -> bool:
    """True when ``user`` takes ``action`` as the volunteer who claimed the appeal.

    A claimant whose own post may take the action acts as staff (False). A claimant
    without such a post may take VOLUNTEER_ACTIONS; any other action is refused with
    the reason (ActionForbidden) — unless they see the appeal as staff, where
    ``ensure_may_act`` gives the staff reason. Anyone else: False.
    """
    if not is_claimant(user, appeal):
        return False
    visible = is_visible(jurisdiction, appeal)
    if visible and acting_post(jurisdiction, appeal, action) is not None:
        return False
    if action in VOLUNTEER_ACTIONS:
        return True
    if visible:
        return False
    raise ActionForbidden(_("接单志愿者只能记录联系情况、办理进展和办结。"))


def claimant_label(volunteer) -> str:
    # "unit·who" like staff labels: the resident's tracking page shows the community only.
    return f"{volunteer.community.name}·{_('志愿者')}{volunteer.name}"

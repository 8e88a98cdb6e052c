"""Who sees an appeal, and the relations between a post and an appeal that the workflow
table (appeals.workflow) names as "who may take an action" (DESIGN.md §3).

- Visibility follows the appeal's place (``territory_code`` under one of the account's
  prefixes), plus what is routed or whistled to the account's departments.
- Only the unit currently handling an appeal acts on it; the queue's keeper
  (community, or the street's dispatch centre) dispatches it; the street whistles.
- The volunteer who claimed an appeal from the order hall (接单大厅) — an account with
  no post — sees and acts on exactly that appeal, with the actions the table grants the
  claimant (contact, note, resolve); the handling unit keeps all of its rights.

Posts point at their unit by primary key, appeals by code: the relations compare codes.
Read-only posts (governance.enums.READ_ONLY_ROLES) relate to nothing here but the two
acts the table grants supervisors (``supervises``, ``decides_extension``).
"""

from django.utils.translation import gettext as _

from appeals.enums import AppealState, ExtensionState, HandlingLevel, QueueLevel
from governance.enums import COMMUNITY_ROLES, Role
from governance.kernel.errors import NotFound
from governance.models import Post
from governance.staff.selectors import Jurisdiction

# --- The staff pages an account may use (the views refuse by these; the nav shows by them) --

# Who records an appeal on a resident's behalf (电话/来访): the territorial handlers.
INTAKE_ROLES = frozenset({Role.GRID_WORKER, Role.STREET_OFFICER, *COMMUNITY_ROLES})
# Who decides extension requests (appeals.extensions says which ones, by relation).
EXTENSION_APPROVER_ROLES = frozenset({*COMMUNITY_ROLES, Role.STREET_OFFICER, Role.SUPERVISOR})


def may_work_queue(jurisdiction: Jurisdiction) -> bool:
    """Has a queue (我的待办 / 辖区诉求): a post or an administrator. An account without
    one (a volunteer) is sent to its own home instead."""
    return jurisdiction.is_staff_member


def may_intake(jurisdiction: Jurisdiction) -> bool:
    """May record an appeal for a resident (代居民登记)."""
    return bool(jurisdiction.roles & INTAKE_ROLES)


def patrol_grids(jurisdiction: Jurisdiction) -> list:
    """The grids the account patrols (网格巡查): its grid-worker posts' grids."""
    return [p.grid for p in jurisdiction.posts if p.role == Role.GRID_WORKER]


def may_patrol(jurisdiction: Jurisdiction) -> bool:
    return bool(patrol_grids(jurisdiction))


def decides_extensions(jurisdiction: Jurisdiction) -> bool:
    """Has an extension-request list (延期审批) to decide from."""
    return bool(jurisdiction.roles & EXTENSION_APPROVER_ROLES)



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
# Each takes (post, appeal); the table (appeals.workflow) names them per action.


def _code(unit) -> str | None:
    return unit.code if unit is not None else None


def handles(post: Post, appeal) -> bool:
    """The post's unit handles the appeal now (a community also for its grids' appeals)."""
    level = appeal.handling_level
    if level == HandlingLevel.GRID:
        return (post.role == Role.GRID_WORKER and _code(post.grid) == appeal.handling_grid_id) or (
            post.role in COMMUNITY_ROLES and post.community_id is not None
            and appeal.handling_grid_id.startswith(post.community.code)
        )
    return is_handling_unit(post, appeal)


def is_handling_unit(post: Post, appeal) -> bool:
    """The post's unit is the handling unit itself (not the community above its grid)."""
    level = appeal.handling_level
    if level == HandlingLevel.GRID:
        return post.role == Role.GRID_WORKER and _code(post.grid) == appeal.handling_grid_id
    if level == HandlingLevel.COMMUNITY:
        return post.role in COMMUNITY_ROLES and _code(post.community) == appeal.handling_community_id
    if level == HandlingLevel.STREET:
        return post.role == Role.STREET_OFFICER and _code(post.street) == appeal.handling_street_id
    if level == HandlingLevel.DEPARTMENT:
        return post.role == Role.DEPARTMENT_HANDLER and post.department_id == appeal.handling_department_id
    return False


def street_of(post: Post, appeal) -> bool:
    return post.role == Role.STREET_OFFICER and appeal.street_id is not None and _code(post.street) == appeal.street_id


def keeps_queue(post: Post, appeal) -> bool:
    """The queue an undispatched appeal waits in; the street may always take over."""
    if appeal.state != AppealState.RECEIVED:
        return False
    if street_of(post, appeal):
        return True
    return (
        appeal.queue_level == QueueLevel.COMMUNITY
        and post.role in COMMUNITY_ROLES
        and appeal.community_id is not None
        and _code(post.community) == appeal.community_id
    )


def local(post: Post, appeal) -> bool:
    """Staff of the appeal's own community or grid (those who call or visit the resident)."""
    if post.role in COMMUNITY_ROLES:
        return appeal.community_id is not None and _code(post.community) == appeal.community_id
    if post.role == Role.GRID_WORKER:
        return appeal.grid_id is not None and _code(post.grid) == appeal.grid_id
    return False


def verifier(post: Post, appeal) -> bool:
    if appeal.grid_id:
        return post.role == Role.GRID_WORKER and _code(post.grid) == appeal.grid_id
    return post.role in COMMUNITY_ROLES and appeal.community_id is not None and _code(post.community) == appeal.community_id


def cohandler(post: Post, appeal) -> bool:
    return post.role == Role.DEPARTMENT_HANDLER and post.department_id in cohandler_departments(appeal)


def cohandler_to_check_in(post: Post, appeal) -> bool:
    if post.role != Role.DEPARTMENT_HANDLER:
        return False
    depts = cohandler_departments(appeal)
    return post.department_id in depts and not depts[post.department_id]


def rerouter(post: Post, appeal) -> bool:
    if appeal.state == AppealState.RECEIVED:
        return keeps_queue(post, appeal)
    if street_of(post, appeal):
        return True
    # A community moves work between itself and its grids.
    return (
        post.role in COMMUNITY_ROLES
        and appeal.handling_level in (HandlingLevel.GRID, HandlingLevel.COMMUNITY)
        and appeal.community_id is not None
        and _code(post.community) == appeal.community_id
    )


def takes_part(post: Post, appeal) -> bool:
    """Any unit that takes part in the appeal's handling (who may record progress)."""
    return (handles(post, appeal) or keeps_queue(post, appeal) or street_of(post, appeal) or local(post, appeal)
            or cohandler(post, appeal))


def publisher(post: Post, appeal) -> bool:
    """Who writes or approves the 公开摘要: the staff of the appeal's community or grid,
    its street, or the unit handling it."""
    return local(post, appeal) or street_of(post, appeal) or handles(post, appeal)


def supervises(post: Post, appeal) -> bool:
    """A supervisor whose unit (a district, or the city) covers the appeal's place: 督办."""
    if not post.read_only:
        return False
    return post.district_id is None or (appeal.district_id is not None and _code(post.district) == appeal.district_id)


# Who decides a 延期 request, by the handling level when it was asked: the community for
# its grids, the street for its communities, the district's supervisors for streets and
# departments (departments are not below streets, and nothing handles above the street).
APPROVER = {
    HandlingLevel.GRID: HandlingLevel.COMMUNITY, HandlingLevel.COMMUNITY: HandlingLevel.STREET,
    HandlingLevel.STREET: HandlingLevel.DISTRICT, HandlingLevel.DEPARTMENT: HandlingLevel.DISTRICT,
}


def approver_unit(*, level: str, appeal) -> tuple[str, str]:
    """The unit (level, code) that decides a request asked at ``level``."""
    above = APPROVER[level]
    return str(above), {HandlingLevel.COMMUNITY: appeal.community_id, HandlingLevel.STREET: appeal.street_id,
                        HandlingLevel.DISTRICT: appeal.district_id}[above]


def decides_extension(post: Post, appeal, *, extension=None) -> bool:
    """The post decides ``extension`` (by default the appeal's pending 延期 request): one
    level above where it was asked."""
    extension = extension or pending_extension(appeal)
    if extension is None:
        return False
    level, code = approver_unit(level=extension.level, appeal=appeal)
    if level == HandlingLevel.COMMUNITY:
        return post.role in COMMUNITY_ROLES and _code(post.community) == code
    if level == HandlingLevel.STREET:
        return post.role == Role.STREET_OFFICER and _code(post.street) == code
    return post.role == Role.SUPERVISOR and post.district_id is not None and _code(post.district) == code


def pending_extension(appeal):
    """The appeal's 延期 request waiting for a decision (at most one), read once per appeal."""
    if not hasattr(appeal, "_pending_extension"):
        appeal._pending_extension = appeal.extensions.filter(state=ExtensionState.PENDING).select_related(
            "requested_by").first()
    return appeal._pending_extension


def forget(appeal) -> None:
    """Drop what the relations read once per appeal (after the appeal changed)."""
    for name in ("_cohandler_departments", "_pending_extension"):
        if hasattr(appeal, name):
            delattr(appeal, name)


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


def claimant_label(volunteer) -> str:
    # "unit·who" like staff labels: the resident's tracking page shows the community only.
    return f"{volunteer.community.name}·{_('志愿者')}{volunteer.name}"

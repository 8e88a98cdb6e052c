"""Jurisdiction: what an account may see and do (DESIGN.md §3).

Territory codes are hierarchical (a child's code starts with its parent's), so an
account's reach is a set of code prefixes: everything whose code starts with one of
them lies inside. Every page, API and export asks these selectors; none builds its
own unscoped queryset.
"""

import hashlib
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from governance.enums import COMMUNITY_ROLES, HOUSEHOLD_EDITORS, Role
from governance.kernel.codes import under_any_q
from governance.kernel.errors import ActionForbidden
from governance.models import Post


@dataclass(frozen=True)
class Jurisdiction:
    user_id: int | None
    everything: bool = False  # admin, or a city-wide supervisor
    prefixes: frozenset[str] = frozenset()  # territory code prefixes the account sees
    department_ids: frozenset[int] = frozenset()
    posts: tuple[Post, ...] = field(default_factory=tuple)

    @property
    def roles(self) -> set[str]:
        return {p.role for p in self.posts}

    @property
    def acting_posts(self) -> tuple[Post, ...]:
        """The posts that handle appeals and keep records (all but the read-only ones)."""
        return tuple(p for p in self.posts if not p.read_only)

    @property
    def read_only(self) -> bool:
        """The account handles nothing: supervisors, administrators without a post, and
        accounts with no post at all (volunteers, residents)."""
        return not self.acting_posts

    @property
    def sees_territory(self) -> bool:
        """Has territory to browse (辖区): an administrator, a supervisor or a post bound
        to a grid, community or street — not a department-only post, not a volunteer."""
        return self.everything or bool(self.prefixes)

    @property
    def is_staff_member(self) -> bool:
        """Has at least one post, or is an administrator: has a queue and a 工作台."""
        return self.everything or bool(self.posts)

    def sees_care(self, code: str) -> bool:
        """May see the care tags (关怀标签) and home visits (入户走访) of the household whose
        grid code is ``code``: sensitive personal information under PIPL (issue 22), so only
        the grid's workers and the community's staff — street officers, departments,
        supervisors and administrators see figures only."""
        return self.care_post(code) is not None

    def care_post(self, code: str) -> Post | None:
        """The post through which the account sees (and visits) that household's care."""
        return next((
            p for p in self.posts
            if (p.role == Role.GRID_WORKER and code.startswith(p.grid.code))
            or (p.role in COMMUNITY_ROLES and code.startswith(p.community.code))
        ), None)

    def care_code_q(self, path: str) -> Q:
        """A filter on the grid code at ``path``: the households whose care tags and visits
        the account sees (``sees_care``); nothing for everyone else."""
        q = Q(pk__in=[])
        for p in self.posts:
            if p.role == Role.GRID_WORKER:
                q |= Q(**{f"{path}__startswith": p.grid.code})
            elif p.role in COMMUNITY_ROLES:
                q |= Q(**{f"{path}__startswith": p.community.code})
        return q

    @property
    def sees_any_care(self) -> bool:
        return any(p.role == Role.GRID_WORKER or p.role in COMMUNITY_ROLES for p in self.posts)

    def covers(self, code: str) -> bool:
        return self.everything or any(code.startswith(p) for p in self.prefixes)

    def code_q(self, path: str) -> Q | None:
        """A filter on the territory code at ``path``; None means no restriction."""
        if self.everything:
            return None
        q = Q(pk__in=[])
        for prefix in sorted(self.prefixes):
            q |= Q(**{f"{path}__startswith": prefix})
        return q

    @property
    def scope_key(self) -> str:
        """What the account's reads reach, as one key: two accounts with the same key see
        the same rows (an export job's file is served to either of them, issue 23) — the
        code prefixes (or everything), the departments and where it sees care tags."""
        care = sorted(p.grid.code if p.role == Role.GRID_WORKER else p.community.code
                      for p in self.posts if p.role == Role.GRID_WORKER or p.role in COMMUNITY_ROLES)
        reach = "*" if self.everything else ",".join(sorted(self.prefixes))
        text = f"{reach}|{','.join(map(str, sorted(self.department_ids)))}|{','.join(care)}"
        return hashlib.sha256(text.encode()).hexdigest()

    def code_range_q(self, path: str) -> Q | None:
        """As ``code_q``, as code ranges (governance.kernel.codes) for the tables whose
        codes have a plain B-tree index (units, scores, flows; the appeals' territory code
        has a pattern index, which serves ``code_q``'s prefixes). None: no restriction."""
        if self.everything:
            return None
        return under_any_q(path, self.prefixes)

    def scope(self, qs: QuerySet, path: str) -> QuerySet:
        q = self.code_q(path)
        return qs if q is None else qs.filter(q)


_ANONYMOUS = Jurisdiction(user_id=None)


def _post_prefix(post: Post) -> str | None:
    if post.role == Role.GRID_WORKER:
        return post.grid.code
    if post.role in COMMUNITY_ROLES:
        return post.community.code
    if post.role == Role.STREET_OFFICER:
        return post.street.code
    if post.role == Role.SUPERVISOR and post.district_id:
        return post.district.code
    return None


def jurisdiction_for(user) -> Jurisdiction:
    """The account's jurisdiction, computed once per request and kept on the user."""
    if user is None or not user.is_authenticated or not user.is_active:
        return _ANONYMOUS
    cached = getattr(user, "_gongzhi_jurisdiction", None)
    if cached is not None:
        return cached
    posts = tuple(
        Post.objects.filter(user=user).select_related("grid__community", "community", "street", "district", "department")
    )
    everything = user.is_superuser or any(
        p.role == Role.SUPERVISOR and p.district_id is None for p in posts
    )
    prefixes = frozenset(filter(None, (_post_prefix(p) for p in posts)))
    department_ids = frozenset(p.department_id for p in posts if p.role == Role.DEPARTMENT_HANDLER)
    jurisdiction = Jurisdiction(
        user_id=user.pk, everything=everything, prefixes=prefixes,
        department_ids=department_ids, posts=posts,
    )
    user._gongzhi_jurisdiction = jurisdiction
    return jurisdiction


def user_is_staff_member(user) -> bool:
    """Has at least one post, or is an administrator."""
    return jurisdiction_for(user).is_staff_member


def ensure_can_edit_households(jurisdiction: Jurisdiction, *, territory_code: str) -> None:
    """Raise ActionForbidden with the reason unless a household-keeping post covers the code.

    The caller has already scoped the object (outside the jurisdiction is a 404).
    """
    for post in jurisdiction.posts:
        if post.role in HOUSEHOLD_EDITORS and territory_code.startswith(_post_prefix(post) or "\0"):
            return
    if jurisdiction.posts and jurisdiction.read_only:
        raise ActionForbidden(_("督查考核账号只读，不能修改住户和居民信息。"))
    raise ActionForbidden(
        _("只有本社区的社区工作者或本网格的网格员可以修改住户和居民信息。")
    )

"""The staff site's menus, in one place: each entry names the check its view refuses by.

A menu shows a link only to the accounts that may use the page behind it. The checks are
not role lists copied here: each entry calls the predicate the view itself calls
(``appeals.permissions.may_intake`` for 代居民登记, ``volunteers.selectors.volunteer_for_user``
for the volunteers' own pages, ``governance.reports.scope.can_see_reports`` for the
reports…), so a rule changed there changes the menu too.

``base.html`` draws the main menu, the section templates (appeals, volunteers, reports)
draw their entry's children as the section menu, and the home page draws the shortcuts of
the account's role (``home`` entries). ``tests/governance/test_nav.py`` requests every
link each role is shown; ``tests/governance/test_browser_nav.py`` crawls them in a browser.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from appeals import permissions as appeal_pages
from appeals.deliberation.selectors import may_read_meetings
from governance.reports.scope import can_see_reports
from governance.staff.selectors import Jurisdiction, jurisdiction_for
from volunteers.selectors import volunteer_for_user


class Viewer:
    """What the checks ask of the account, computed once per request."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def jurisdiction(self) -> Jurisdiction:
        return jurisdiction_for(self.user)

    @cached_property
    def volunteer(self):
        return volunteer_for_user(self.user)

    @property
    def is_volunteer(self) -> bool:
        return self.volunteer is not None


def on_jurisdiction(predicate: Callable[[Jurisdiction], bool]) -> Callable[[Viewer], bool]:
    def check(viewer: Viewer) -> bool:
        return predicate(viewer.jurisdiction)

    check.__name__ = getattr(predicate, "__name__", "check")
    return check


def signed_in(viewer: Viewer) -> bool:
    return viewer.user.is_authenticated


def is_volunteer(viewer: Viewer) -> bool:
    """The volunteers' own pages refuse an account without a volunteer row
    (volunteers.selectors.volunteer_require)."""
    return viewer.is_volunteer


# The overview and 活动管理 are for staff who see communities (volunteers.selectors.ensure_staff_viewer).
sees_territory = on_jurisdiction(lambda j: j.sees_territory)
staff_member = on_jurisdiction(lambda j: j.is_staff_member)


def volunteers_section(viewer: Viewer) -> bool:
    # Territory first: staff who see communities are answered without the volunteer query.
    return viewer.jurisdiction.sees_territory or viewer.is_volunteer


def admin_site(viewer: Viewer) -> bool:
    """Django's admin lets in ``is_staff`` accounts (AdminSite.has_permission)."""
    return viewer.user.is_active and viewer.user.is_staff


@dataclass(frozen=True)
class Entry:
    key: str
    label: str
    url_name: str
    check: Callable[[Viewer], bool]
    query: str = ""
    children: tuple["Entry", ...] = ()
    # A shortcut on the 工作台 for whoever may use it (the button text).
    shortcut: str = ""
    # The entry is the active one for these URL names (``app:name``); default its own.
    active_for: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        url = reverse(self.url_name)
        return f"{url}?{self.query}" if self.query else url


MENU: tuple[Entry, ...] = (
    Entry("home", _("工作台"), "home", staff_member),
    Entry("territory", _("辖区"), "territory-root", sees_territory, active_for=(
        "district-detail", "street-detail", "community-detail", "grid-detail", "building-detail", "household-detail")),
    Entry("appeals", _("诉求"), "appeals:queue", on_jurisdiction(appeal_pages.may_work_queue), children=(
        Entry("queue", _("我的待办"), "appeals:queue", on_jurisdiction(appeal_pages.may_work_queue)),
        Entry("browse", _("辖区诉求"), "appeals:queue", on_jurisdiction(appeal_pages.may_work_queue), query="scope=1"),
        Entry("map", _("诉求地图"), "appeals:map", on_jurisdiction(appeal_pages.may_work_queue)),
        Entry("extensions", _("延期审批"), "appeals:extensions", on_jurisdiction(appeal_pages.decides_extensions),
              shortcut=_("延期审批")),
        Entry("patrol", _("网格巡查"), "appeals:patrol", on_jurisdiction(appeal_pages.may_patrol),
              shortcut=_("巡查上报")),
        Entry("intake", _("代居民登记"), "appeals:intake", on_jurisdiction(appeal_pages.may_intake),
              shortcut=_("代居民登记")),
        # 民主协商 (issue 22): community staff organise, street officers read (appeals.deliberation.selectors).
        Entry("meetings", _("民主协商"), "deliberation:list", on_jurisdiction(may_read_meetings),
              active_for=("deliberation:list", "deliberation:create", "deliberation:detail")),
        # 入户走访 (issue 22): the visits page refuses by Jurisdiction.sees_any_care.
        Entry("visits", _("入户走访"), "visits:list", on_jurisdiction(lambda j: j.sees_any_care),
              shortcut=_("走访清单"), active_for=("visits",)),
    ), active_for=("appeals", "deliberation", "visits")),
    Entry("volunteers", _("志愿服务"), "volunteers:home", volunteers_section, children=(
        Entry("volunteer-home", _("我的志愿"), "volunteers:home", is_volunteer),
        Entry("activities", _("活动报名"), "volunteers:activity-list", is_volunteer, shortcut=_("活动报名")),
        Entry("points", _("积分明细"), "volunteers:points", is_volunteer),
        Entry("hall", _("接单大厅"), "volunteers:hall", is_volunteer, shortcut=_("接单大厅")),
        Entry("my-appeals", _("我的接单"), "volunteers:my-appeals", is_volunteer),
        Entry("rewards", _("积分超市"), "volunteers:rewards", is_volunteer),
        Entry("manage", _("活动管理"), "volunteers:manage", sees_territory),
        Entry("overview", _("志愿服务统计"), "volunteers:overview", sees_territory),
    ), active_for=("volunteers",)),
    Entry("reports", _("报表"), "reports:index", on_jurisdiction(can_see_reports), children=(
        Entry("ranking", _("考核排名"), "reports:index", on_jurisdiction(can_see_reports), active_for=("reports:unit",)),
        Entry("supervision", _("督办清单"), "reports:supervision", on_jurisdiction(can_see_reports),
              shortcut=_("督办清单"), active_for=("reports:supervision-notes",)),
        Entry("hotspots", _("高频诉求"), "reports:hotspots", on_jurisdiction(can_see_reports)),
        Entry("map", _("一张图"), "reports:map", on_jurisdiction(can_see_reports)),
        Entry("staffing", _("社工配比"), "reports:staffing", on_jurisdiction(can_see_reports)),
        Entry("visits", _("入户走访"), "reports:visits", on_jurisdiction(can_see_reports)),
        Entry("suggestions", _("智能分拨"), "reports:suggestions", on_jurisdiction(can_see_reports)),
    ), active_for=("reports",)),
    Entry("notifications", _("消息"), "notifications", signed_in),
    Entry("admin", _("管理后台"), "admin:index", admin_site),
)


@dataclass(frozen=True)
class Link:
    key: str
    label: str
    url: str
    active: bool
    shortcut: str = ""


class Nav:
    """The menus one request shows (the template context's ``NAV``): each computed when a
    template first asks for it."""

    def __init__(self, request):
        self.request = request
        self.viewer = Viewer(getattr(request, "user", None) or AnonymousUser())

    def _current(self) -> tuple[str, str]:
        match = getattr(self.request, "resolver_match", None)
        if match is None:
            return "", ""
        return (match.namespace or "", f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name)

    def _query_matches(self, entry: Entry) -> bool:
        pairs = [kv.split("=", 1) for kv in entry.query.split("&") if kv]
        return all(self.request.GET.get(k) == v for k, v in pairs)

    def _active(self, entry: Entry, siblings: tuple[Entry, ...]) -> bool:
        namespace, name = self._current()
        if name == entry.url_name:
            if entry.query:
                return self._query_matches(entry)
            # 我的待办 and 辖区诉求 share a URL: the plain one is active unless the other's query is on.
            return not any(e.query and e.url_name == name and self._query_matches(e) for e in siblings)
        return name in entry.active_for or bool(namespace and namespace in entry.active_for)

    def _links(self, entries: tuple[Entry, ...]) -> list[Link]:
        return [Link(e.key, e.label, e.url, self._active(e, entries), e.shortcut)
                for e in entries if e.check(self.viewer)]

    @cached_property
    def main(self) -> list[Link]:
        if not self.viewer.user.is_authenticated:
            return []
        return self._links(MENU)

    @cached_property
    def sections(self) -> "_Sections":
        """Each section's menu by its key (``NAV.sections.appeals``), computed when asked."""
        return _Sections(self)

    @cached_property
    def shortcuts(self) -> list[Link]:
        """The home page's buttons: the role's own actions (巡查上报 for a grid worker…)."""
        return [link for e in MENU if e.children for link in self.sections[e.key] if link.shortcut]


class _Sections:
    def __init__(self, nav: Nav):
        self.nav = nav
        self.cache: dict[str, list[Link]] = {}

    def __getitem__(self, key: str) -> list[Link]:
        if key not in self.cache:
            entry = next((e for e in MENU if e.key == key), None)
            if entry is None:
                raise KeyError(key)
            shown = self.nav.viewer.user.is_authenticated and entry.check(self.nav.viewer)
            self.cache[key] = self.nav._links(entry.children) if shown else []
        return self.cache[key]


def menu_links(user) -> list[tuple[str, str]]:
    """Every (label, url) the account is shown in its menus: for the tests and the docs."""
    viewer = Viewer(user)
    out = []
    for entry in MENU:
        if entry.check(viewer):
            out.append((str(entry.label), entry.url))
            out += [(str(c.label), c.url) for c in entry.children if c.check(viewer)]
    return out

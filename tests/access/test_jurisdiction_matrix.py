"""Issue 18 §7: the jurisdiction matrix (DESIGN.md §3), generated from the URL resolver
and the API schema.

Every URL pattern × each role × an object inside and one outside the role's jurisdiction
answers what the design says:
- without an account: the login page (302) for a page, 401 for the API — unless public;
- outside the jurisdiction: 404, the object does not exist;
- inside it, an action the role may not take: 403 (with the reason);
- otherwise the page or the action is served (200, or a redirect, or the input's or the
  state's own answer, 400/409, after access was granted).

The patterns come from the resolver, the API's methods and which of its operations serve
anonymous callers from the schema. A pattern is classified by its URL arguments
(``tracking_code`` → an appeal, ``code`` under /territory/ → a unit, …), and GET on a
classified pattern is "whoever sees the object may read it". What the matrix cannot
classify — an argument it does not know, or a method other than GET (who may act is a
rule, not a convention) — fails the test until it is declared in RULES below.

Who sees what is written out by hand (SEES, from tests/factories.make_city), not asked
of the code under test.
"""

import copy
import re
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator

from tests.access.world import GRID_A, Thing, build
from volunteers.models import Activity
from volunteers.services import checkin_token_make

ROLES = ("anonymous", "grid_worker", "community_worker", "street_officer", "department_handler",
         "district_supervisor", "supervisor", "volunteer")
STAFF = frozenset(ROLES[1:7])
EVERYONE = frozenset(ROLES[1:])
# The territory code prefixes each role sees (tests/factories.make_city's posts).
SEES = {
    "anonymous": (), "volunteer": (), "department_handler": (),
    "grid_worker": (GRID_A,), "community_worker": ("110101001001",), "street_officer": ("110101001",),
    "district_supervisor": ("110101",), "supervisor": ("",),
}
VOLUNTEER_COMMUNITY = "110101001001"  # the volunteer's (tests/access/world.py)
HANDLERS = frozenset({"grid_worker", "community_worker"})  # of a grid's appeal: the grid and its community
SUPERVISORS = frozenset({"district_supervisor", "supervisor"})


@dataclass(frozen=True)
class Rule:
    """Who may ``method`` the pattern; ``kind`` names its objects (tests/access/world.py).

    - ``may``: the roles that are served (inside the jurisdiction, for an object); any
      other role gets 403 — or 404 where the object lies outside its jurisdiction;
    - ``public``: served without an account too;
    - ``volunteer_only``: an account without a volunteer row gets 403 before any object is
      looked at (volunteers.selectors.volunteer_require);
    - ``not_theirs``: roles for which the whole page is not theirs (the reports for a
      department handler): 403 before any object is looked at;
    - ``data``: the POST body (an empty one is fine where the input is checked after access).
    """

    method: str = "GET"
    kind: str | None = None
    may: frozenset = EVERYONE
    public: bool = False
    volunteer_only: bool = False
    not_theirs: frozenset = frozenset()
    data: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)  # fixed URL arguments (a variant of one pattern)
    expect: dict = field(default_factory=dict)  # role → status where the design says otherwise (explained)


def R(*args, **kwargs) -> Rule:
    for name in ("may",):
        if name in kwargs:
            kwargs[name] = frozenset(kwargs[name])
    return Rule(*args, **kwargs)


PUBLIC_GET = R(public=True)
PUBLIC_POST = R("POST", public=True)
VOLUNTEER = frozenset({"volunteer"})
APPEAL_GET = R(kind="dispatched")

# Appeal actions: the appeal each is tried on, and who may take it (appeals.workflow's table
# as DESIGN.md §4 words it, for the appeal of grid A1 and its side's counterparts).
ACTIONS = {
    "dispatch": R("POST", "received", {"community_worker", "street_officer"}),
    "decline": R("POST", "received", {"community_worker", "street_officer"}),
    "merge": R("POST", "received", {"community_worker", "street_officer"}),
    "sign": R("POST", "dispatched", HANDLERS),
    "contact": R("POST", "dispatched", HANDLERS),
    "return": R("POST", "dispatched", HANDLERS),
    "reroute": R("POST", "dispatched", {"community_worker", "street_officer"}),
    "resolve": R("POST", "in_progress", HANDLERS),
    "verify": R("POST", "resolved_unverified", {"grid_worker"}, data={"passed": True}),
    "feedback": R("POST", "resolved", HANDLERS),
    "note": R("POST", "dispatched", HANDLERS | {"street_officer"}),
    "whistle": R("POST", "dispatched", {"street_officer"}),
    "checkin": R("POST", "whistled", {"department_handler"}),
    "supervise": R("POST", "dispatched", SUPERVISORS),
    # 公开摘要: the appeal's community, grid and street, and its handler (appeals.permissions.publisher).
    "publish": R("POST", "dispatched", HANDLERS | {"street_officer"}),
    "escalate": R("POST", "dispatched", HANDLERS),
    "extensions": R("POST", "dispatched", {"grid_worker"}),
}
EDITORS = frozenset({"grid_worker", "community_worker"})  # households of grid A1
MANAGERS = frozenset({"community_worker", "street_officer"})  # activities of 甲一社区 (organiser and staff)
MEETING_READERS = frozenset({"community_worker", "street_officer"})  # appeals.deliberation.selectors
NO_REPORTS = frozenset({"department_handler", "volunteer"})  # no unit to report on

RULES: dict[str, Rule | dict[str, Rule]] = {
    # Public: residents, Open311 clients, the schema and the docs, health.
    "healthz": PUBLIC_GET, "api-schema": PUBLIC_GET, "api-docs": PUBLIC_GET,
    "api-token": PUBLIC_POST,
    "api-categories": PUBLIC_GET,
    "api-track": {"GET": R(public=True, kind="dispatched", expect={r: 400 for r in ROLES}),  # a query string: 400
                  "POST": R("POST", public=True, kind="dispatched", data={"phone_last4": "5678"})},
    "public:submit": {"GET": PUBLIC_GET, "POST": PUBLIC_POST},
    "public:submit-done": PUBLIC_GET, "public:submit-similar": PUBLIC_GET, "public:track": PUBLIC_GET,
    "public:submit-suggest": PUBLIC_POST,  # 智能分拨's three, as the description is typed (issue 26)
    "public:track-detail": R(public=True, kind="dispatched"),
    "public:track-link": R(public=True, kind="dispatched", kwargs={"token": "x" * 22}),
    "public:track-evaluate": R("POST", public=True, kind="dispatched"),
    "public:track-withdraw": R(public=True, kind="dispatched"),
    "public:track-forget": R("POST", public=True, kind="dispatched"),
    # Issue 20: 补充 and the resident's photos (after the proof: else back to the digits, or 404),
    # 我的诉求 (the phone proven by a one-time code, in the session).
    "public:track-supplement": R("POST", public=True, kind="dispatched"),
    "public:track-photo": R(public=True, kind="photo", expect={r: 404 for r in ROLES}),  # no proof in this session
    "public:my-appeals": PUBLIC_GET, "public:my-code": PUBLIC_POST, "public:my-verify": PUBLIC_POST,
    "public:my-logout": PUBLIC_POST,
    "public:places-streets": PUBLIC_GET, "public:places-communities": PUBLIC_GET,
    "public:places-buildings": PUBLIC_GET,
    "public:deliberation-notice": R(public=True, kind="community"),  # 公示: no names
    "public:places-near": PUBLIC_GET, "public:places-named": PUBLIC_GET,  # places only (issue 21)
    "login": PUBLIC_GET,
    "logout": R("POST", public=True, expect={r: 302 for r in ROLES}),  # to the login page: its success
    # Every account.
    "home": R(), "api-token-rotate": R("POST"), "notifications": R(),
    "notifications-read-all": R("POST"),
    "notification-read": R("POST", "notification"),
    "notification-group-read": R("POST"),  # an account's own groups: none named → 400, another's → 404
    "notification-preferences": {"GET": R(), "POST": R("POST")},  # each account's own
    # Issue 23: an export job's page, progress and file: the requester's scope only (here, the
    # street officer's own job; no other role of the matrix shares its scope).
    "exports:job": R(kind="export_job"), "exports:progress": R(kind="export_job"),
    "exports:download": R(kind="export_job"),
    # Appeals: the API and the pages.
    "api-appeals": {"GET": R(), "POST": R("POST", public=True, data={})},
    "api-appeal": APPEAL_GET,
    **{f"api-appeal-{segment}": rule for segment, rule in ACTIONS.items() if segment != "extensions"},
    "api-appeal-extension-request": ACTIONS["extensions"],
    "api-extension-approve": R("POST", "extension", {"community_worker"}),
    "api-extension-reject": R("POST", "extension", {"community_worker"}),
    "appeals:queue": R(), "appeals:detail": APPEAL_GET, "appeals:photo": R(kind="photo"),
    # 匿名's "拨打/显示号码": whoever may contact the resident (appeals.selectors.sees_resident).
    "appeals:phone-reveal": R("POST", "dispatched", HANDLERS | {"street_officer"}),
    "api-appeal-phone": R("POST", "dispatched", HANDLERS | {"street_officer"}),
    "api-appeal-photo": R(kind="photo"),
    "appeals:building-search": R(), "appeals:extensions": R(),
    "appeals:intake": R(may=STAFF - SUPERVISORS - {"department_handler"}),
    "appeals:patrol": R(may={"grid_worker"}),
    # The pages post each form to its action's name (appeals.forms.ACTION_FORMS).
    "appeals:action": {**{segment: rule for segment, rule in ACTIONS.items()
                          if segment not in ("verify", "extensions", "supervise")},
                       "verify_pass": ACTIONS["verify"], "verify_fail": ACTIONS["verify"],
                       "extend_request": ACTIONS["extensions"]},
    "appeals:extension-decide": {
        "approve": R("POST", "extension", {"community_worker"}, kwargs={"decision": "approve"}),
        "reject": R("POST", "extension", {"community_worker"}, kwargs={"decision": "reject"}),
    },
    # 民主协商 (issue 22): the community's staff act, the street's officers read; supervisors
    # see the figures in the reports, not the records (403); outside, a meeting does not exist.
    "deliberation:list": R(may=MEETING_READERS),
    "deliberation:create": {"GET": R(may={"community_worker"}), "POST": R("POST", may={"community_worker"})},
    "deliberation:detail": R(kind="meeting", may=MEETING_READERS),
    "deliberation:link": R("POST", "meeting", {"community_worker"}),
    "deliberation:record": R("POST", "meeting", {"community_worker"}),
    "deliberation:decision-add": R("POST", "meeting", {"community_worker"}),
    "deliberation:decision-update": R("POST", "decision", {"community_worker"}),
    # Territory: reading follows the jurisdiction; households are kept by their grid and community.
    "territory-root": R(),
    "district-detail": R(kind="district"), "street-detail": R(kind="street"),
    "community-detail": R(kind="community"), "grid-detail": R(kind="grid"), "building-detail": R(kind="building"),
    "household-detail": R(kind="household"),
    "household-create": R(kind="building", may=EDITORS),
    "household-edit": R(kind="household", may=EDITORS), "household-move-out": R(kind="household", may=EDITORS),
    "resident-create": R(kind="household", may=EDITORS), "resident-edit": R(kind="resident", may=EDITORS),
    "resident-remove": R(kind="resident", may=EDITORS),
    "household-import": {level: R(kind=level, may=EDITORS) for level in ("community", "grid")},
    "household-export": {level: R(kind=level) for level in ("district", "street", "community", "grid")},
    # Volunteers.
    "volunteers:home": R(), "volunteers:manage": R(),
    "volunteers:activity-list": R(volunteer_only=True, may=VOLUNTEER),
    "volunteers:activity-detail": R(kind="activity"),
    "volunteers:activity-signup": R("POST", "activity", VOLUNTEER),
    "volunteers:activity-signup-cancel": R("POST", "activity", VOLUNTEER),
    "volunteers:activity-self-check": R("POST", "activity", VOLUNTEER),
    "volunteers:qr-checkin": R(kind="activity_qr", may=VOLUNTEER),
    "volunteers:points": R(volunteer_only=True, may=VOLUNTEER),
    "volunteers:rewards": R(volunteer_only=True, may=VOLUNTEER),
    "volunteers:reward-redeem": R("POST", "reward", VOLUNTEER, volunteer_only=True),
    "volunteers:activity-create": R(may=MANAGERS | {"grid_worker"}),
    "volunteers:manage-detail": R(kind="activity", may=MANAGERS),
    "volunteers:manage-check-in": R("POST", "signup", MANAGERS),
    "volunteers:manage-check-out": R("POST", "signup", MANAGERS),
    "volunteers:manage-correct": R("POST", "signup", MANAGERS),
    "volunteers:manage-finish": R("POST", "activity", MANAGERS),
    "volunteers:manage-cancel": R("POST", "activity", MANAGERS),
    "volunteers:manage-qr": R(kind="activity", may=MANAGERS),
    "volunteers:manage-qr-svg": R(kind="activity", may=MANAGERS),
    "volunteers:hall": R(volunteer_only=True, may=VOLUNTEER),
    "volunteers:hall-detail": R(kind="hall", may=VOLUNTEER, volunteer_only=True),
    "volunteers:hall-claim": R("POST", "hall", VOLUNTEER, volunteer_only=True),
    "volunteers:my-appeals": R(volunteer_only=True, may=VOLUNTEER),
    "volunteers:my-appeal": R(kind="claimed", may=VOLUNTEER, volunteer_only=True),
    **{f"volunteers:my-appeal-{a}": R("POST", "claimed", VOLUNTEER, volunteer_only=True)
       for a in ("contact", "note", "resolve", "phone")},
    "volunteers:overview": R(may=STAFF - {"department_handler"}),
    "volunteers:overview-members": R(may=STAFF - {"department_handler"}),
    "volunteers:overview-organizations": R(may=STAFF - {"department_handler"}),
    "api-volunteers-me": R(volunteer_only=True, may=VOLUNTEER),
    "api-volunteers-me-points": R(volunteer_only=True, may=VOLUNTEER),
    "api-volunteers-me-signups": R(volunteer_only=True, may=VOLUNTEER),
    # Creating one: the community in the body is the object.
    "api-volunteers-activities": {"GET": R(), "POST": R("POST", "community", MANAGERS | {"grid_worker"}, data={
        "community": "{code}", "title": "义诊", "place": "卫生站", "capacity_max": 5,
        "starts_at": "2099-05-01T09:00:00+08:00", "ends_at": "2099-05-01T11:00:00+08:00"})},
    "api-volunteers-activity": R(kind="activity"),
    "api-volunteers-signup": R("POST", "activity", VOLUNTEER),
    "api-volunteers-signup-cancel": R("POST", "activity", VOLUNTEER),
    "api-volunteers-self-check": R("POST", "activity", VOLUNTEER),
    "api-volunteers-signups": R(kind="activity", may=MANAGERS),
    "api-volunteers-check-in": R("POST", "signup", MANAGERS),
    "api-volunteers-check-out": R("POST", "signup", MANAGERS),
    "api-volunteers-finish": R("POST", "activity", MANAGERS),
    "api-volunteers-cancel": R("POST", "activity", MANAGERS),
    "api-volunteers-qr-check": R("POST", volunteer_only=True, may=VOLUNTEER),
    "api-volunteers-rewards": R(volunteer_only=True, may=VOLUNTEER),
    "api-volunteers-redeem": R("POST", "reward", VOLUNTEER, volunteer_only=True),
    "api-volunteers-hall": R(volunteer_only=True, may=VOLUNTEER),
    "api-volunteers-hall-item": R(kind="hall", may=VOLUNTEER, volunteer_only=True),
    "api-volunteers-hall-claim": R("POST", "hall", VOLUNTEER, volunteer_only=True),
    "api-volunteers-my-appeals": R(volunteer_only=True, may=VOLUNTEER),
    "api-volunteers-my-appeal": R(kind="claimed", may=VOLUNTEER, volunteer_only=True),
    **{f"api-volunteers-my-appeal-{a}": R("POST", "claimed", VOLUNTEER, volunteer_only=True)
       for a in ("contact", "note", "resolve")},
    "api-volunteers-overview-hours": R(may=STAFF - {"department_handler"}),
    "api-volunteers-overview-members": R(may=STAFF - {"department_handler"}),
    "api-volunteers-overview-organizations": R(may=STAFF - {"department_handler"}),
    # Reports: every territorial post and the supervisors; not a department handler's.
    "reports:index": R(may=STAFF - {"department_handler"}),
    "reports:supervision": R(may=STAFF - {"department_handler"}),
    "reports:hotspots": R(may=STAFF - {"department_handler"}),
    "reports:hotspot-repeats": R(may=STAFF - {"department_handler"}),
    "reports:staffing": R(may=STAFF - {"department_handler"}),
    "reports:map": R(may=STAFF - {"department_handler"}),
    "reports:map-data": R(may=STAFF - {"department_handler"}),
    "reports:map-density": R(may=STAFF - {"department_handler"}),
    "reports:unit": {level: R(kind=level, not_theirs=NO_REPORTS) for level in ("district", "street", "community", "grid")},
    "reports:supervision-notes": {"GET": R(kind="dispatched", may=STAFF - {"department_handler"}),
                                  "POST": R("POST", "dispatched", SUPERVISORS)},
    "api-report-units": R(may=STAFF - {"department_handler"}),
    "api-report-unit": {level: R(kind=level, not_theirs=NO_REPORTS)
                        for level in ("district", "street", "community", "grid")},
    "api-report-supervision": R(may=STAFF - {"department_handler"}),
    "api-report-hotspots": R(may=STAFF - {"department_handler"}),
    "api-report-staffing": R(may=STAFF - {"department_handler"}),
    # 入户走访 (issue 22): records for the grid's workers and the community's staff only (the
    # street officer and the supervisors inside the jurisdiction: 403); figures for every reader
    # of reports; a need becomes an appeal only by the visitor (the world's visit: the grid worker).
    "visits:list": R(may=EDITORS),
    "visits:household": R(kind="household", may=EDITORS),
    "visits:record": {"GET": R(kind="household", may=EDITORS), "POST": R("POST", "household", EDITORS)},
    "visits:detail": R(kind="visit", may=EDITORS),
    "visits:raise": {"GET": R(kind="visit", may={"grid_worker"}), "POST": R("POST", "visit", {"grid_worker"})},
    # The world's visit has no photo: 404 for those who see it, as for everyone else.
    "visits:photo": R(kind="visit", may=EDITORS, kwargs={"index": 0},
                      expect={"grid_worker": 404, "community_worker": 404}),
    "reports:visits": R(may=STAFF - {"department_handler"}),
    "reports:suggestions": R(may=STAFF - {"department_handler"}),  # 智能分拨's acceptance (issue 26)
    # The same in the API (appeals/visits/apis.py, appeals/deliberation/apis.py): the pages' selectors.
    "api-visits": R(may=EDITORS), "api-visit-plans": R(may=EDITORS),
    "api-visit-household": R(kind="household", may=EDITORS),
    "api-visit-record": R("POST", "household", EDITORS),
    "api-visit": R(kind="visit", may=EDITORS),
    "api-visit-photo": R(kind="visit", may=EDITORS, kwargs={"index": 0},
                         expect={"grid_worker": 404, "community_worker": 404}),  # as visits:photo
    "api-meetings": R(may=MEETING_READERS), "api-meeting": R(kind="meeting", may=MEETING_READERS),
    "api-meeting-decisions": R(may=MEETING_READERS),
    "api-meeting-decision": R(kind="meeting_decision", may=MEETING_READERS),
}
# The territory API is read-only and follows the jurisdiction (its lists are scoped).
for _level in ("districts", "streets", "communities", "grids", "buildings", "households"):
    RULES[f"api-{_level}-list"] = R()
    RULES[f"api-{_level}-detail"] = R(kind={"districts": "district", "streets": "street", "communities": "community",
                                            "grids": "grid", "buildings": "building", "households": "household"}[_level])
# Open311 GeoReport v2: public by the spec (its POST needs an api_key: 403 without one).
for _name, _kwargs in (("open311-discovery", {}), ("open311-services", {}), ("open311-service", {"service_code": "01001"}),
                       ("open311-requests", {}), ("open311-request", {"request_id": "1"}),
                       ("open311-token", {"token": "x"}), ("open311-not-found", {"path": "nothing.json"}),
                       ("open311-media", {"pk": "1"})):
    RULES[_name] = R(public=True, kwargs={**({} if _name == "open311-media" else {"fmt": "json"}), **_kwargs},
                     # No such token, no such path, no public photo 1; and appeal 1 of the world is
                     # in a category that is not public (DESIGN.md §8): the spec's 404 for everyone.
                     expect={r: 404 for r in ROLES} if _name in ("open311-token", "open311-not-found", "open311-media",
                                                                 "open311-request") else {})

# URL arguments that name an object's field by another name.
ALIASES = {"tracking_code": "code", "kind": "level"}
# A URL argument → the kind of object it names, when a pattern is not declared.
KIND_BY_ARGUMENT = {"tracking_code": "dispatched", "code": None, "pk": None}


def sees(role: str, thing: Thing, kind: str) -> bool:
    """Whether ``role`` sees ``thing``, by the design (DESIGN.md §3, §6), from SEES."""
    if thing.owner:
        return role == thing.owner
    if thing.community and role == "volunteer":
        return thing.community == VOLUNTEER_COMMUNITY
    if thing.department and role == "department_handler":
        return True
    return any(thing.code.startswith(prefix) for prefix in SEES[role]) if thing.code else False


@dataclass
class Pattern:
    name: str
    route: str
    args: tuple[str, ...]
    api: bool
    admin: bool


def _walk(resolvers, prefix="", namespace="", outer=()):
    # ``outer``: the arguments an include()'s prefix captures ("manage/<int:pk>/", include([...])).
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns,
                             outer + tuple(entry.pattern.regex.groupindex))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            name = f"{namespace}{entry.name}" if entry.name else ""
            args = outer + tuple(entry.pattern.regex.groupindex)
            yield Pattern(name=name, route=route, args=args, api=route.startswith("api/"),
                          admin=route.startswith("admin/"))


def patterns() -> list[Pattern]:
    return list(_walk(get_resolver().url_patterns))


def _schema_methods() -> dict[str, dict[str, bool]]:
    """path → {METHOD: serves anonymous callers} from drf-spectacular's schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            security = operation.get("security", [])
            found.setdefault(path, {})[method.upper()] = not security or any(not r for r in security)
    return found


def _schema_path(route: str) -> str:
    path = "/" + route.replace("^", "").replace("$", "")
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "{id}" if m.group(1) == "pk" else "{%s}" % m.group(1), path)


def classify(pattern: Pattern, schema: dict) -> dict[str, Rule] | str:
    """The rules of one pattern (by variant), or why it cannot be classified."""
    declared = RULES.get(pattern.name)
    if isinstance(declared, Rule):
        declared = {declared.method: declared}
    if declared is not None:
        return declared
    methods = schema.get(_schema_path(pattern.route), {}) if pattern.api else {"GET": False}
    unknown = [a for a in pattern.args if KIND_BY_ARGUMENT.get(a) is None]
    if unknown:
        return f"its URL arguments {unknown} name no known kind of object"
    others = sorted(set(methods) - {"GET"})
    if others:
        return f"{others} need a rule: who may act is declared, not guessed"
    kinds = {KIND_BY_ARGUMENT[a] for a in pattern.args}
    return {"GET": R(kind=next(iter(kinds), None), public=methods.get("GET", False))}


# --- running the cells -----------------------------------------------------------------------

PASSING = {200, 201, 204, 302, 400, 409}


def expected(rule: Rule, role: str, inside: bool | None, *, api: bool) -> int | str:
    """"ok" (served), or the status the design gives; ``inside``: None without an object."""
    if role in rule.expect:
        return rule.expect[role]
    if role == "anonymous":
        if rule.public:
            return "ok"
        return 401 if api else "login"
    if (rule.volunteer_only and role != "volunteer") or role in rule.not_theirs:
        return 403
    if inside is False:
        return 404
    return "ok" if role in rule.may or rule.public else 403


def outcome(response, want: int | str, *, admin: bool = False) -> int | str:
    """The response as the expectation reads it: a status where one is expected, "login"
    for the login page, "ok" for served."""
    if isinstance(want, int) and response.status_code == want:
        return want
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    if location.startswith("/accounts/login/") or (admin and location.startswith("/admin/login/")):
        return "login"
    if response.status_code in PASSING:
        return "ok"
    return response.status_code


def _things(world, kind: str | None) -> list[Thing | None]:
    if kind is None:
        return [None]
    if kind == "activity_qr":
        return [Thing({"token": checkin_token_make(activity=Activity.objects.get(pk=t.kwargs["pk"]), direction="in")},
                      t.code, community=t.community) for t in world.things["activity"]]
    return world.things[kind]


def _cells(world, pattern: Pattern, variant: str, rule: Rule, role: str):
    """(url, inside) for the role: the first object it sees and the first it does not."""
    things = _things(world, rule.kind)
    if things == [None]:
        yield reverse(pattern.name, kwargs={k: v for k, v in rule.kwargs.items() if k in pattern.args} or None), None, {}
        return
    inside = next((t for t in things if sees(role, t, rule.kind)), None)
    outside = next((t for t in things if not sees(role, t, rule.kind)), None)
    for thing, is_inside in ((inside, True), (outside, False)):
        if thing is None:
            continue
        given = {**thing.kwargs, **rule.kwargs}
        kwargs = {arg: given[ALIASES.get(arg, arg)] for arg in pattern.args if ALIASES.get(arg, arg) in given}
        if "action" in pattern.args:
            kwargs["action"] = variant
        yield reverse(pattern.name, kwargs=kwargs), (is_inside if not rule.public else None), given


def _client(world, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(getattr(world.city.users, role))
    return client


def _request(client, method: str, url: str, data: dict, *, api: bool):
    cookies = copy.deepcopy(client.cookies)
    with transaction.atomic():
        if method == "POST":
            response = client.post(url, data, content_type="application/json") if api else client.post(url, data)
        else:
            response = client.get(url)
        transaction.set_rollback(True)  # every cell sees the same world…
    client.cookies = cookies  # …and the same session (a logout cell logs nobody out)
    return response


@pytest.mark.django_db
def test_every_pattern_answers_each_role_as_the_design_says(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    # Every public read of the matrix comes from one address: its limit is tested elsewhere.
    settings.PUBLIC_READ_RATE_PER_IP = "10000/minute"
    world = build()
    clients = {role: _client(world, role) for role in ROLES}
    schema = _schema_methods()
    unclassified, wrong, cells = [], [], 0
    for pattern in patterns():
        if pattern.admin:
            continue  # test_the_admin_site_is_for_staff_accounts_only
        rules = classify(pattern, schema)
        if isinstance(rules, str):
            unclassified.append(f"{pattern.name or pattern.route}: {rules}")
            continue
        for variant, rule in rules.items():
            for role in ROLES:
                try:
                    urls = list(_cells(world, pattern, variant, rule, role))
                except NoReverseMatch as exc:
                    unclassified.append(f"{pattern.name} ({variant}): cannot build its URL: {exc}")
                    break
                for url, inside, given in urls:
                    want = expected(rule, role, inside, api=pattern.api)
                    data = {k: v.format(**given) if isinstance(v, str) else v for k, v in rule.data.items()}
                    got = outcome(_request(clients[role], rule.method, url, data, api=pattern.api), want)
                    cells += 1
                    if got != want:
                        where = {None: "", True: " (inside)", False: " (outside)"}[inside]
                        wrong.append(f"{rule.method} {url} {role}{where}: {got}, expected {want}")
    assert unclassified == [], "declare these in RULES:\n" + "\n".join(unclassified)
    assert wrong == [], f"{len(wrong)} of {cells} cells:\n" + "\n".join(wrong)
    assert cells > 1500  # the matrix ran (it is not an empty loop)


def _admin_url(route: str) -> str:
    url = "/" + route.replace("^", "").replace("$", "").replace("\\Z", "")
    url = re.sub(r"<(?:\w+:)?\w+>", "1", url)
    url = re.sub(r"\(\?P<app_label>[^)]*\)", "auth", url)
    return re.sub(r"\(\?P<\w+>[^)]*\)", "nothing/", url)


@pytest.mark.django_db
def test_the_admin_site_is_for_staff_accounts_only(city):
    """Every admin pattern sends an account without is_staff — every role of the portal —
    and anonymous callers to the admin's login; none answers with the page."""
    clients = {"anonymous": Client()}
    for role in ("grid_worker", "supervisor", "volunteer"):
        clients[role] = Client()
        clients[role].force_login(getattr(city.users, role))
    wrong, cells = [], 0
    for pattern in patterns():
        if not pattern.admin:
            continue
        url = _admin_url(pattern.route)
        for role, client in clients.items():
            response = client.get(url)
            cells += 1
            location = response.get("Location", "")
            if pattern.name == "admin:login":
                ok = response.status_code == 200  # the way in, for everybody
            else:
                # The login, or (the old object URLs) a redirect within the admin that ends there.
                ok = response.status_code == 302 and location.startswith("/admin/")
            if not ok:
                wrong.append(f"GET {url} {role}: {response.status_code} {location}")
    assert wrong == [], "\n".join(wrong)
    assert cells > 400


def test_an_undeclared_pattern_is_classified_or_fails():
    schema = {"/api/v1/new/{id}/": {"GET": False}, "/api/v1/new/{id}/act/": {"POST": False}}
    read = Pattern(name="api-new", route="api/v1/new/<int:pk>/", args=("pk",), api=True, admin=False)
    act = Pattern(name="api-new-act", route="api/v1/new/<int:pk>/act/", args=("pk",), api=True, admin=False)
    page = Pattern(name="new-page", route="new/<str:tracking_code>/", args=("tracking_code",), api=False, admin=False)
    odd = Pattern(name="odd", route="odd/<str:slug>/", args=("slug",), api=False, admin=False)
    assert "name no known kind" in classify(read, schema)  # a pk: of what?
    assert "name no known kind" in classify(act, schema)
    assert classify(page, schema) == {"GET": R(kind="dispatched")}  # an appeal, read by whoever sees it
    assert "name no known kind" in classify(odd, schema)
    listing = Pattern(name="api-new-list", route="api/v1/new/", args=(), api=True, admin=False)
    assert "need a rule" in classify(listing, {"/api/v1/new/": {"GET": False, "POST": False}})
    assert classify(listing, {"/api/v1/new/": {"GET": True}}) == {"GET": R(public=True)}

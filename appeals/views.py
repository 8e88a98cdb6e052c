"""The staff dashboard of appeals: the queue, the appeal page with its actions, and
intake on a resident's behalf (phone, walk-in, grid patrol). Usable on a phone.

Thin: the selectors scope every read, appeals.services does every change; the views
parse forms and render. Domain errors of full pages go to the middleware; htmx requests
get the message as a fragment with the same status.
"""

from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appeals import events, extensions, maps, permissions, selectors, services, workflow
from appeals.deadlines import duration_text
from appeals.enums import AppealAction, AppealState, AttachmentKind, FeedbackMethod, Rating, Source
from appeals.forms import (
    ACTION_FORMS,
    BuildingSearchQuery,
    ExtensionDecisionForm,
    IntakeDraftQuery,
    IntakeForm,
    PatrolDraftQuery,
    PatrolForm,
    QueueFilterForm,
)
from appeals.images import photo_response
from appeals.services.dispatch import pending_return
from appeals.suggest.models import SuggestionPlace
from appeals.suggest.records import parse_suggested, shown_value, suggestion_record
from appeals.suggest.services import suggest
from appeals.suggest.similar import similar_closed
from governance.enums import COMMUNITY_ROLES, Role
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.kernel.keyset import keyset_page
from governance.kernel.params import bad_query
from governance.staff.notifications import notifications_read_for_appeal
from governance.staff.selectors import Jurisdiction, jurisdiction_for
from grids.maps import map_config
from grids.models import Building, Grid
from grids.selectors import scoped

# Tabs of the queue: the open states (the work), then what has left it.
QUEUE_TABS = (AppealState.RECEIVED, AppealState.DISPATCHED, AppealState.IN_PROGRESS, AppealState.RESOLVED, AppealState.AWAITING_EVALUATION, AppealState.CLOSED)
BROWSE_TABS = tuple(AppealState)
BUILDING_RESULTS = 20
# The form opened first on the appeal page: the step that moves the appeal on.
PRIMARY_ACTIONS = (AppealAction.SIGN, AppealAction.RESOLVE, AppealAction.VERIFY_PASS, AppealAction.FEEDBACK,
                   AppealAction.DISPATCH, AppealAction.CHECKIN)


# The page's name of an action where it differs from the event's.
# The forms beside which the page shows 智能分拨's suggestions (and records the choice).
SUGGESTED_ACTIONS = frozenset({AppealAction.DISPATCH, AppealAction.REROUTE})
_LABELS = {AppealAction.ESCALATE: gettext_lazy("上报")}


def _action_label(action: str) -> str:
    return str(_LABELS.get(action) or AppealAction(action).label)


# --- small helpers -------------------------------------------------------------------------------


def countdown(deadline: datetime | None, now: datetime) -> tuple[str, bool]:
    """("剩余 2天3小时", False) or ("已超期 5小时", True); ("", False) without a deadline."""
    if deadline is None:
        return "", False
    left = (deadline - now).total_seconds()
    if left >= 0:
        return _("剩余 %(t)s") % {"t": duration_text(left)}, False
    return _("已超期 %(t)s") % {"t": duration_text(-left)}, True


def _resolution_clock(appeal, now: datetime) -> tuple[str, bool]:
    """The countdown to the resolution deadline while it runs, and whether the appeal is
    overdue (selectors.overdue_q's rule)."""
    if appeal.state not in selectors.OVERDUE_STATES:
        return "", False
    return countdown(appeal.deadline, now)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _flash_fragment(message: str, *, status: int, level: str = "error") -> HttpResponse:
    # Swapped into the page's message box, leaving the rest of the page as it was.
    response = render_fragment("appeals/staff/_flash.html", {"message": message, "level": level}, status=status)
    response["HX-Retarget"] = "#flash"
    response["HX-Reswap"] = "innerHTML"
    return response


def _refusal(exc: ApplicationError, *, htmx: bool) -> HttpResponse:
    """403/404 of a form's POST: htmx shows the message in the page's message box; a full
    page goes to the middleware's error page."""
    if htmx:
        return _flash_fragment(exc.message, status=exc.status_code)
    raise exc


def render_fragment(template: str, context: dict, *, status: int = 200, request=None) -> HttpResponse:
    from django.template.loader import render_to_string

    return HttpResponse(render_to_string(template, context, request=request), status=status)


def _annotate_rows(rows, *, now: datetime, jurisdiction: Jurisdiction) -> list:
    """What each row of the queue shows beyond the appeal's fields — the state's name, the
    link, the received time, the countdown — set up once per page where the template
    would redo it per row (the rows are half the page's rendering time)."""
    checkins = selectors.pending_checkins(jurisdiction=jurisdiction, appeal_ids=[a.pk for a in rows])
    # get_state_display rebuilds the choices dict per row, translating every lazy label.
    state_labels = {value: str(label) for value, label in AppealState.choices}
    # One reverse() per page: a tracking code is letters and digits, put in as reverse() would.
    link_head, _code, link_tail = reverse("appeals:detail", args=["-"]).rpartition("-")
    for appeal in rows:
        appeal.state_label = state_labels.get(appeal.state, appeal.state)
        appeal.url = f"{link_head}{quote(appeal.tracking_code)}{link_tail}"
        # As |date:"m-d H:i" in the template, at a tenth of its cost.
        appeal.received_text = timezone.localtime(appeal.created_at).strftime("%m-%d %H:%M")
        appeal.countdown, appeal.overdue = _resolution_clock(appeal, now)
        appeal.masked_phone = selectors.masked_contact(appeal).phone
        appeal.can_checkin = appeal.pk in checkins
    return rows


def _querystring(request, *drop: str) -> str:
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


# --- the queue -----------------------------------------------------------------------------------


def _grid_filter_choices(jurisdiction: Jurisdiction):
    """Grids to filter by, for community and street staff; None: a free code field."""
    roles = jurisdiction.roles
    if roles & (COMMUNITY_ROLES | {Role.STREET_OFFICER}):
        return list(scoped(Grid, jurisdiction).select_related("community").order_by("code"))
    return None


def _tab_count(counts: dict, state: str, *, browse: bool) -> int:
    """How many appeals the list shows under the tab of ``state`` ("" = 全部: the open
    states of the queue, every state when browsing), from selectors.queue_counts."""
    if state:
        return counts["states"][state]
    return sum(counts["states"].values()) if browse else counts["open"]


@login_required
@require_GET
def queue(request):
    """My units' queue with tabs by state; supervisors browse their scope read-only.

    An account with no staff post (a volunteer) has no queue here: its service appeals
    are in the volunteers' order hall."""
    jur = jurisdiction_for(request.user)
    if not permissions.may_work_queue(jur):
        return redirect("volunteers:home")
    read_only = jur.read_only  # supervisors (and admins without a post) browse their scope
    grids = _grid_filter_choices(jur)
    show_grid = grids is not None or read_only
    form = QueueFilterForm(request.GET, grids=grids)
    if not form.is_valid():
        raise bad_query(form)
    browse = read_only or form.cleaned_data["scope"]
    filters = form.selector_filters()
    state = form.cleaned_data["state"]
    sort = selectors.appeal_sort(form.cleaned_data["sort"],
                                 default=selectors.BROWSE_SORT if browse else selectors.QUEUE_SORT)
    now = timezone.now()
    if browse:
        qs = selectors.appeal_browse(jurisdiction=jur, state=state or None, now=now, **filters)
    else:
        qs = selectors.appeal_queue(jurisdiction=jur, state=state or None, now=now, **filters)
    counts = selectors.queue_counts(jurisdiction=jur, browse=browse, now=now, **filters)
    # A keyset page (governance.kernel.keyset): page 10,000 reads what page 1 does.
    page = keyset_page(qs, sort=sort, size=settings.PAGE_SIZE, cursor=form.cleaned_data["cursor"] or None)
    rows = _annotate_rows(page.rows, now=now, jurisdiction=jur)
    tab_states = BROWSE_TABS if browse else QUEUE_TABS
    tabs = [{"state": "", "label": _("全部") if browse else _("全部待办"), "count": _tab_count(counts, "", browse=browse)}]
    tabs += [{"state": s.value, "label": s.label, "count": counts["states"][s.value]} for s in tab_states]
    return render(request, "appeals/staff/queue.html", {
        "form": form, "page": page, "rows": rows, "tabs": tabs, "state": state or "",
        "counts": counts, "browse": browse, "read_only": read_only, "show_grid": show_grid,
        "total": _tab_count(counts, state, browse=browse),
        "tab_qs": _querystring(request, "state", "cursor", "page"), "page_qs": _querystring(request, "cursor", "page"),
        "can_intake": permissions.may_intake(jur), "can_patrol": permissions.may_patrol(jur),
        "is_department": Role.DEPARTMENT_HANDLER in jur.roles,
        "decides_extensions": permissions.decides_extensions(jur),
    })


# --- one appeal ------------------------------------------------------------------------------------


def _detail_context(request, jur: Jurisdiction, appeal, *, failed_form=None, error: str = "", notice: str = "",
                    failed_decision=None) -> dict:
    now = timezone.now()
    actions = workflow.offered(user=request.user, appeal=appeal, jurisdiction=jur, now=now)
    # 智能分拨: beside the dispatch and reroute forms, the model's three and 类案参考.
    classifying = bool(SUGGESTED_ACTIONS & set(actions))
    suggestion = suggest(appeal.description) if classifying else None
    forms = []
    for action in actions:
        if failed_form is not None and failed_form.action == action:
            form = failed_form
        else:
            initial = {"expected_version": appeal.version}
            if action in SUGGESTED_ACTIONS:
                initial["suggested"] = shown_value(suggestion)
            form = ACTION_FORMS[action](appeal=appeal, initial=initial, auto_id=f"id_{action}_%s")
        form.action = action
        forms.append({"action": action, "label": _action_label(action), "form": form,
                      "url": reverse("appeals:action", args=[appeal.tracking_code, action])})
    primary = next((a for a in PRIMARY_ACTIONS if a in actions), actions[0] if actions else None)
    for item in forms:
        item["open"] = item["action"] == primary or bool(item["form"].errors)
    timeline = _label_events(selectors.appeal_timeline(appeal))
    contact = selectors.resident_contact(user=request.user, appeal=appeal, jurisdiction=jur, request=request)
    deadline_text, late = _resolution_clock(appeal, now)
    response_text, response_late = (
        countdown(appeal.response_deadline, now)
        if appeal.state in selectors.OVERDUE_STATES and appeal.first_contact_at is None else ("", False)
    )
    return {
        "appeal": appeal,
        "contact": contact,
        "actions": forms,
        "timeline": timeline,
        "intake_photos": [p for e in timeline for p in e.attachments.all() if p.kind == AttachmentKind.INTAKE],
        "co_handlers": selectors.appeal_co_handlers(appeal),
        "deadline_text": deadline_text, "overdue": late,
        "response_text": response_text, "response_late": response_late,
        "error": error, "notice": notice,
        "read_only": jur.read_only,
        "extension": _pending_extension(request.user, jur, appeal, failed=failed_decision),
        # While it waits for re-dispatch after a 退单: who returned it and why, at the top.
        "pending_return": pending_return(appeal),
        "suggestion": suggestion,
        "similar": similar_closed(appeal) if classifying else [],
    }


def _label_events(rows: list) -> list:
    """The timeline's action and state names, translated once per page: get_*_display
    rebuilds its choices dict on every call, translating each of the ~25 lazy labels."""
    actions = {value: str(label) for value, label in AppealAction.choices}
    states = {value: str(label) for value, label in AppealState.choices}
    methods = {value: str(label) for value, label in FeedbackMethod.choices}
    ratings = {value: str(label) for value, label in Rating.choices}
    for event in rows:
        event.action_label = actions.get(event.action, event.action)
        event.from_state_label = states.get(event.from_state, event.from_state)
        event.to_state_label = states.get(event.to_state, event.to_state)
        record = events.read(event.action, event.data)
        event.method_label = methods.get(getattr(record, "method", None), "")
        event.rating_label = ratings.get(getattr(record, "rating", None), "")
    return rows


def _pending_extension(user, jur: Jurisdiction, appeal, *, failed=None) -> dict | None:
    """The appeal's pending 延期 request, with the decision form for whoever decides it."""
    extension = permissions.pending_extension(appeal)
    if extension is None:
        return None
    form = None
    # Whoever may turn it down decides it (approval also needs the appeal still running).
    if workflow.allowed(user=user, appeal=appeal, action=AppealAction.EXTEND_REJECT, jurisdiction=jur,
                        extension=extension):
        form = failed if failed is not None else ExtensionDecisionForm(
            initial={"expected_version": appeal.version}, auto_id=f"id_ext{extension.pk}_%s")
    return {"request": extension, "form": form, "next": "detail"}


@login_required
@require_GET
def appeal_detail(request, code: str):
    jur = jurisdiction_for(request.user)
    appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=code)
    # Opening the appeal reads the account's messages about it (the header's count drops).
    notifications_read_for_appeal(user=request.user, appeal_id=appeal.pk)
    # 入户走访 (issue 22): the visit it was raised from, for those who see visit records.
    from_visits = (list(appeal.home_visits.values_list("pk", flat=True))
                   if appeal.source == Source.HOME_VISIT and appeal.grid_id and jur.sees_care(appeal.grid_id) else [])
    return render(request, "appeals/staff/detail.html", {
        **_detail_context(request, jur, appeal), **_map_context(jur, appeal), "from_visits": from_visits,
    })


def _map_context(jur: Jurisdiction, appeal) -> dict:
    """The appeal's point, its building, and the open appeals within 100 m (appeals.maps)."""
    point = maps.appeal_point(appeal)
    if point is None:
        return {"map_point": None}
    nearby = maps.open_appeals_near(jurisdiction=jur, appeal=appeal)
    label = appeal.building.address if appeal.building_id else (appeal.address_text or appeal.place_name)
    link_head, _code, link_tail = reverse("appeals:detail", args=["-"]).rpartition("-")
    return {
        "map_point": point, "nearby": nearby, "map_config": map_config(public=False),
        "map_data": {
            "point": point, "label": label, "radius": maps.NEARBY_METRES,
            "nearby": [{"code": n.appeal.tracking_code, "state": n.appeal.state, "lat": n.lat, "lon": n.lon,
                        "category": n.appeal.category.name if n.appeal.category_id else "",
                        "distance": round(n.distance_m),
                        "url": f"{link_head}{quote(n.appeal.tracking_code)}{link_tail}"} for n in nearby],
        },
    }


def _render_region(request, jur, appeal, *, status: int = 200, **kwargs) -> HttpResponse:
    context = _detail_context(request, jur, appeal, **kwargs)
    template = "appeals/staff/_region.html" if _is_htmx(request) else "appeals/staff/detail.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def appeal_action(request, code: str, action: str):
    """POST one action form. Success: back to the page (htmx: the refreshed region).
    Bad input 400 and "already changed" 409 show on the page; 403/404 as errors."""
    jur = jurisdiction_for(request.user)
    htmx = _is_htmx(request)
    try:
        appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=code)
        if action not in ACTION_FORMS:
            raise NotFound()
        # The table's answer comes before the form's: a refused state or role answers
        # 409/403 even when the form is incomplete.
        workflow.permit(user=request.user, appeal=appeal, action=action, jurisdiction=jur)
    except ApplicationError as exc:
        if htmx:
            return _flash_fragment(exc.message, status=exc.status_code)
        raise
    form = ACTION_FORMS[action](request.POST, request.FILES, appeal=appeal, auto_id=f"id_{action}_%s")
    form.action = action
    if not form.is_valid():
        return _render_region(request, jur, appeal, status=400, failed_form=form,
                              error=_("请检查“%(action)s”表单中的错误。") % {"action": _action_label(action)})
    try:
        services.appeal_act(actor=request.user, appeal=appeal, action=action,
                            expected_version=form.cleaned_data["expected_version"], **form.service_data())
    except (ActionForbidden, NotFound) as exc:
        return _refusal(exc, htmx=htmx)
    except Conflict as exc:
        # Someone else changed it: show the appeal as it is now, with fresh forms.
        appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=code)
        return _render_region(request, jur, appeal, status=409, error=exc.message)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _render_region(request, jur, appeal, status=exc.status_code, failed_form=form, error=exc.message)

    if action in SUGGESTED_ACTIONS:
        _record_dispatch_suggestion(action, appeal, form.cleaned_data)
    done = _("已%(action)s。") % {"action": _action_label(action)}
    try:
        appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=code)
    except NotFound:
        # E.g. a department returned it: it has left the account's scope.
        messages.success(request, done)
        if htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("appeals:queue")
            return response
        return redirect("appeals:queue")
    if htmx:
        return _render_region(request, jur, appeal, notice=done)
    messages.success(request, done)
    if request.POST.get("next") == "queue":
        return redirect("appeals:queue")
    return redirect("appeals:detail", appeal.tracking_code)


def _record_dispatch_suggestion(action: str, appeal, data: dict) -> None:
    """The three the page showed beside the form, and the category the dispatcher set:
    派单 — the one chosen, or the one kept; 改派 — only when a category was chosen."""
    shown = parse_suggested(data.get("suggested"))
    category = data.get("category")
    if shown is None or (category is None and action == AppealAction.REROUTE):
        return
    code = category.code if category is not None else (appeal.category.code if appeal.category_id else "")
    version, codes = shown
    suggestion_record(appeal=appeal, place=SuggestionPlace.DISPATCH, shown=codes, chosen=code, version=version)


@login_required
@require_GET
def appeal_photo(request, code: str, pk: int):
    """A photo of an appeal, only to accounts that see the appeal (media is not public)."""
    attachment = selectors.appeal_photo(jurisdiction=jurisdiction_for(request.user), tracking_code=code, pk=pk)
    return photo_response(attachment.image.open("rb"))


@login_required
@require_POST
def appeal_phone_reveal(request, code: str):
    """"拨打/显示号码": the full phone of an anonymous appeal's resident, to those who may
    contact them; each reveal is one access-log entry. htmx: the phone fragment; without
    JavaScript: the appeal page with the number shown."""
    jur = jurisdiction_for(request.user)
    htmx = _is_htmx(request)
    try:
        appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=code)
        phone = selectors.resident_phone_reveal(user=request.user, appeal=appeal, jurisdiction=jur, request=request)
    except ApplicationError as exc:
        if htmx:
            return _flash_fragment(exc.message, status=exc.status_code)
        raise
    contact = selectors.ResidentContact(phone=phone, name=appeal.display_name, full=True)
    if htmx:
        return render(request, "appeals/staff/_phone.html", {"contact": contact, "appeal": appeal})
    context = {**_detail_context(request, jur, appeal), **_map_context(jur, appeal), "contact": contact}
    return render(request, "appeals/staff/detail.html", context)


# --- 延期 decisions ----------------------------------------------------------------------------------

# Who decides extensions (appeals.extensions): the community for its grids, the street for
# its communities, the district's supervisors for streets and departments.
DECISIONS = {"approve": (extensions.extension_approve, gettext_lazy("已批准延期。")),
             "reject": (extensions.extension_reject, gettext_lazy("已驳回延期申请。"))}


def _extension_rows(jur: Jurisdiction, *, failed=None, failed_pk=None) -> list[dict]:
    rows = []
    for extension in extensions.extensions_to_decide(jurisdiction=jur):
        form = failed if failed is not None and extension.pk == failed_pk else ExtensionDecisionForm(
            initial={"expected_version": extension.appeal.version}, auto_id=f"id_ext{extension.pk}_%s")
        rows.append({"request": extension, "form": form, "next": "list"})
    return rows


def _render_decisions(request, jur: Jurisdiction, extension, *, on_detail: bool, status: int = 200, failed=None,
                      error: str = "", notice: str = "") -> HttpResponse:
    """After a decision: the appeal's region (from its page) or the list, as it is now."""
    if on_detail:
        appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=extension.appeal.tracking_code)
        return _render_region(request, jur, appeal, status=status, failed_decision=failed, error=error,
                              notice=notice)
    template = "appeals/staff/_extensions_region.html" if _is_htmx(request) else "appeals/staff/extensions.html"
    return render(request, template, {
        "rows": _extension_rows(jur, failed=failed, failed_pk=extension.pk), "error": error, "notice": notice,
    }, status=status)


@login_required
@require_GET
def extension_list(request):
    """The 延期 requests waiting for this account's decision, oldest first."""
    jur = jurisdiction_for(request.user)
    return render(request, "appeals/staff/extensions.html", {"rows": _extension_rows(jur)})


@login_required
@require_POST
def extension_decide(request, pk: int, decision: str):
    """Approve or reject one request, from the list or the appeal's page (next=detail).
    The same handling as the action forms: 403/404 as errors (htmx: the flash), bad
    input 400 and "already changed" 409 in place."""
    jur = jurisdiction_for(request.user)
    on_detail = request.POST.get("next") == "detail"
    form = ExtensionDecisionForm(request.POST, auto_id=f"id_ext{pk}_%s")
    try:
        if decision not in DECISIONS:
            raise NotFound()
        extension = extensions.extension_get(jurisdiction=jur, extension_id=pk)
        # Who decides and whether it is still pending answer before the form's input.
        workflow.permit(user=request.user, appeal=extension.appeal, jurisdiction=jur, extension=extension,
                        action=AppealAction.EXTEND_APPROVE if decision == "approve" else AppealAction.EXTEND_REJECT)
        if not form.is_valid():
            return _render_decisions(request, jur, extension, on_detail=on_detail, status=400, failed=form,
                                     error=_("请检查延期审批表单中的错误。"))
        decide, done = DECISIONS[decision]
        decide(actor=request.user, extension=extension, note=form.cleaned_data["note"],
               expected_version=form.cleaned_data["expected_version"])
    except (ActionForbidden, NotFound) as exc:
        return _refusal(exc, htmx=_is_htmx(request))
    except Conflict as exc:
        return _render_decisions(request, jur, extension, on_detail=on_detail, status=409, error=exc.message)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _render_decisions(request, jur, extension, on_detail=on_detail, status=exc.status_code, failed=form,
                                 error=exc.message)
    if _is_htmx(request):
        return _render_decisions(request, jur, extension, on_detail=on_detail, notice=str(done))
    messages.success(request, str(done))
    if on_detail:
        return redirect("appeals:detail", extension.appeal.tracking_code)
    return redirect("appeals:extensions")


# --- intake on a resident's behalf ----------------------------------------------------------------


def _building_results(jur: Jurisdiction, query: str, *, within: str = "") -> list:
    query = (query or "").strip()
    if not query:
        return []
    qs = scoped(Building, jur)
    if within:
        qs = qs.filter(code__startswith=within)
    return list(
        qs.filter(Q(address__icontains=query) | Q(compound__icontains=query) | Q(code=query))
        .select_related("grid__community").order_by("code")[:BUILDING_RESULTS]
    )


def _selected_building(jur: Jurisdiction, code: str):
    if not code:
        return None
    return scoped(Building, jur).select_related("grid__community").filter(code=code).first()


@login_required
@require_GET
def building_search(request):
    """htmx: buildings in the account's jurisdiction matching the address typed."""
    jur = jurisdiction_for(request.user)
    params = BuildingSearchQuery.parse(request.GET)
    within = params["within"]
    if within and not jur.covers(within):
        within = ""
    buildings = _building_results(jur, params["bq"], within=within)
    return render(request, "appeals/staff/_building_results.html", {
        "buildings": buildings, "query": params["bq"], "selected": params["building"],
    })


def _intake_page(request, jur, form, *, title: str, patrol: bool, query: str = "", within: str = "") -> HttpResponse:
    if form.is_bound:
        # What the form made of the posted code (a building of the jurisdiction), not the raw text.
        selected = getattr(form, "cleaned_data", {}).get("building")
        value = selected.code if selected is not None else ""
    else:
        value = form["building"].value() or ""
        selected = _selected_building(jur, value)
    buildings = _building_results(jur, query, within=within)
    if selected is not None and selected not in buildings:
        buildings.insert(0, selected)
    return render(request, "appeals/staff/intake.html", {
        "form": form, "title": title, "patrol": patrol, "buildings": buildings,
        "selected": value, "query": query, "within": within,
        "map_config": map_config(public=False, jurisdiction=jur) if patrol else None,
    })


def _received(request, form, said: str, **arguments):
    """Registers the appeal from a staff form and goes to it (saying ``said`` with its
    code); a refusal goes on the form instead (None)."""
    try:
        appeal = services.appeal_receive(actor=request.user, **arguments)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return None
    messages.success(request, said % {"code": appeal.tracking_code})
    return redirect("appeals:detail", appeal.tracking_code)


@login_required
@require_http_methods(["GET", "POST"])
def intake(request):
    """A resident phoned (电话) or walked in (来访): staff record the appeal for them."""
    jur = jurisdiction_for(request.user)
    if not permissions.may_intake(jur):
        raise ActionForbidden(_("只有网格员、社区和街道工作人员可以代居民登记诉求。"))
    if request.method == "POST":
        form = IntakeForm(request.POST, request.FILES, jurisdiction=jur)
        if form.is_valid():
            data = form.cleaned_data
            done = _received(
                request, form, _("已登记诉求，查询码 %(code)s。"),
                source=data["source"], phone=data["phone"], name=data["name"],
                anonymous=data["anonymous"], building=data["building"], address_text=data["address_text"],
                category=data["category"], description=data["description"], photos=data["photos"],
                public_consent=data["public_consent"], **(data["place"] if not data["building"] else {}),
            )
            if done:
                return done
        query = ""
    else:
        draft = IntakeDraftQuery.parse(request.GET)
        form = IntakeForm(initial=draft, jurisdiction=jur)
        query = draft["bq"]
    return _intake_page(request, jur, form, title=_("代居民登记诉求"), patrol=False, query=query)


@login_required
@require_http_methods(["GET", "POST"])
def patrol(request):
    """A grid worker reports what they found on patrol (网格巡查), photos from the phone."""
    jur = jurisdiction_for(request.user)
    grids = permissions.patrol_grids(jur)
    if not grids:
        raise ActionForbidden(_("只有网格员可以登记网格巡查发现的问题。"))
    if request.method == "POST":
        form = PatrolForm(request.POST, request.FILES, jurisdiction=jur, grids=grids)
        if form.is_valid():
            data = form.cleaned_data
            done = _received(
                request, form, _("已登记巡查发现的问题，查询码 %(code)s。"),
                source=Source.GRID_PATROL, grid=data.get("grid") or grids[0],
                building=data["building"], address_text=data["address_text"], category=data["category"],
                description=data["description"], photos=data["photos"], public_consent=data["public_consent"],
                latitude=data["latitude"], longitude=data["longitude"],
            )
            if done:
                return done
        query = ""
    else:
        draft = PatrolDraftQuery.parse(request.GET)
        form = PatrolForm(initial=draft, jurisdiction=jur, grids=grids)
        query = draft["bq"]
    within = grids[0].code if len(grids) == 1 else ""
    return _intake_page(request, jur, form, title=_("网格巡查上报"), patrol=True, query=query, within=within)


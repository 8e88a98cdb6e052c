"""The staff dashboard of appeals: the queue, the appeal page with its actions, and
intake on a resident's behalf (phone, walk-in, grid patrol). Usable on a phone.

Thin: the selectors scope every read, appeals.services does every change; the views
parse forms and render. Domain errors of full pages go to the middleware; htmx requests
get the message as a fragment with the same status.
"""

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appeals import permissions, selectors, services
from appeals.enums import TRANSITIONS, AppealAction, AppealState, AttachmentKind, Source
from appeals.forms import ACTION_FORMS, INTAKE_ROLES, IntakeForm, PatrolForm, QueueFilterForm
from governance.enums import COMMUNITY_ROLES, AccessAction, Role
from governance.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.selectors import Jurisdiction, jurisdiction_for
from governance.services import access_log_record
from grids.models import Building, Grid
from grids.privacy import mask_phone
from grids.selectors import scoped

S = AppealState

# Tabs of the queue: the open states (the work), then what has left it.
QUEUE_TABS = (S.RECEIVED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.AWAITING_EVALUATION, S.CLOSED)
BROWSE_TABS = tuple(S)
BUILDING_RESULTS = 20
# The form opened first on the appeal page: the step that moves the appeal on.
PRIMARY_ACTIONS = (AppealAction.SIGN, AppealAction.RESOLVE, AppealAction.VERIFY_PASS, AppealAction.FEEDBACK,
                   AppealAction.DISPATCH, AppealAction.CHECKIN)


# --- small helpers -------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)s天%(h)s小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s小时") % {"h": hours}
    return _("%(m)s分钟") % {"m": max(mins, 1)}


def countdown(deadline: datetime | None, now: datetime) -> tuple[str, bool]:
    """("剩余 2天3小时", False) or ("已超期 5小时", True); ("", False) without a deadline."""
    if deadline is None:
        return "", False
    left = (deadline - now).total_seconds()
    if left >= 0:
        return _("剩余 %(t)s") % {"t": _duration(left)}, False
    return _("已超期 %(t)s") % {"t": _duration(-left)}, True


def _resolution_clock(appeal, now: datetime) -> tuple[str, bool]:
    """The countdown to the resolution deadline while it runs, and whether the appeal is
    overdue (selectors.overdue_q's rule)."""
    if appeal.state not in selectors.OVERDUE_STATES:
        return "", False
    return countdown(appeal.deadline, now)


def _is_read_only(jurisdiction: Jurisdiction) -> bool:
    """Supervisors (and admins without a post) have no queue: they browse their scope."""
    return not any(p.role != Role.SUPERVISOR for p in jurisdiction.posts)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _flash_fragment(message: str, *, status: int, level: str = "error") -> HttpResponse:
    # Swapped into the page's message box, leaving the rest of the page as it was.
    response = render_fragment("appeals/staff/_flash.html", {"message": message, "level": level}, status=status)
    response["HX-Retarget"] = "#flash"
    response["HX-Reswap"] = "innerHTML"
    return response


def render_fragment(template: str, context: dict, *, status: int = 200, request=None) -> HttpResponse:
    from django.template.loader import render_to_string

    return HttpResponse(render_to_string(template, context, request=request), status=status)


def _annotate_rows(rows, *, now: datetime, jurisdiction: Jurisdiction) -> list:
    checkins = selectors.pending_checkins(jurisdiction=jurisdiction, appeal_ids=[a.pk for a in rows])
    for appeal in rows:
        appeal.countdown, appeal.overdue = _resolution_clock(appeal, now)
        appeal.masked_phone = mask_phone(appeal.phone)
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


@login_required
@require_GET
def queue(request):
    """My units' queue with tabs by state; supervisors browse their scope read-only."""
    jur = jurisdiction_for(request.user)
    read_only = _is_read_only(jur)
    browse = read_only or request.GET.get("scope") == "1"
    grids = _grid_filter_choices(jur)
    show_grid = grids is not None or read_only
    form = QueueFilterForm(request.GET, grids=grids)
    filters = form.selector_filters()
    state = form.cleaned_data.get("state") if form.is_valid() else ""
    now = timezone.now()
    if browse:
        qs = selectors.appeal_browse(jurisdiction=jur, state=state or None, now=now, **filters)
    else:
        qs = selectors.appeal_queue(jurisdiction=jur, state=state or None, now=now, **filters)
    counts = selectors.queue_counts(jurisdiction=jur, browse=browse, now=now, **filters)
    page = Paginator(qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _annotate_rows(list(page.object_list), now=now, jurisdiction=jur)
    tab_states = BROWSE_TABS if browse else QUEUE_TABS
    tabs = [{"state": "", "label": _("全部") if browse else _("全部待办"),
             "count": sum(counts["states"].values()) if browse else counts["open"]}]
    tabs += [{"state": s.value, "label": s.label, "count": counts["states"][s.value]} for s in tab_states]
    return render(request, "appeals/staff/queue.html", {
        "form": form, "page": page, "rows": rows, "tabs": tabs, "state": state or "",
        "counts": counts, "browse": browse, "read_only": read_only, "show_grid": show_grid,
        "tab_qs": _querystring(request, "state", "page"), "page_qs": _querystring(request, "page"),
        "can_intake": bool(jur.roles & INTAKE_ROLES), "can_patrol": Role.GRID_WORKER in jur.roles,
        "is_department": Role.DEPARTMENT_HANDLER in jur.roles,
    })


# --- one appeal ------------------------------------------------------------------------------------


def _detail_context(request, jur: Jurisdiction, appeal, *, failed_form=None, error: str = "", notice: str = "") -> dict:
    now = timezone.now()
    # An action the core offers but this page has no form for yet is left out, not a 500.
    actions = [a for a in selectors.actions_available(jurisdiction=jur, appeal=appeal) if a in ACTION_FORMS]
    forms = []
    for action in actions:
        if failed_form is not None and failed_form.action == action:
            form = failed_form
        else:
            form = ACTION_FORMS[action](appeal=appeal, initial={"expected_version": appeal.version},
                                        auto_id=f"id_{action}_%s")
        form.action = action
        forms.append({"action": action, "label": AppealAction(action).label, "form": form,
                      "url": reverse("appeals:action", args=[appeal.tracking_code, action])})
    primary = next((a for a in PRIMARY_ACTIONS if a in actions), actions[0] if actions else None)
    for item in forms:
        item["open"] = item["action"] == primary or bool(item["form"].errors)
    timeline = selectors.appeal_timeline(appeal)
    may_act = bool(actions)
    if may_act and appeal.phone:
        # Staff who may act see the resident's full number (to call back): log it.
        access_log_record(user=request.user, action=AccessAction.VIEW, subject=f"appeal:{appeal.tracking_code}",
                          request=request)
    deadline_text, late = _resolution_clock(appeal, now)
    response_text, response_late = (
        countdown(appeal.response_deadline, now)
        if appeal.state in selectors.OVERDUE_STATES and appeal.first_contact_at is None else ("", False)
    )
    return {
        "appeal": appeal,
        "phone": appeal.phone if may_act else mask_phone(appeal.phone),
        "actions": forms,
        "timeline": timeline,
        "intake_photos": [p for e in timeline for p in e.attachments.all() if p.kind == AttachmentKind.INTAKE],
        "co_handlers": selectors.appeal_co_handlers(appeal),
        "deadline_text": deadline_text, "overdue": late,
        "response_text": response_text, "response_late": response_late,
        "error": error, "notice": notice,
        "read_only": _is_read_only(jur),
    }


@login_required
@require_GET
def appeal_detail(request, code: str):
    jur = jurisdiction_for(request.user)
    appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=code)
    return render(request, "appeals/staff/detail.html", _detail_context(request, jur, appeal))


def _render_region(request, jur, appeal, *, status: int = 200, **kwargs) -> HttpResponse:
    context = _detail_context(request, jur, appeal, **kwargs)
    template = "appeals/staff/_region.html" if _is_htmx(request) else "appeals/staff/detail.html"
    return render(request, template, context, status=status)


def _precheck(jur: Jurisdiction, appeal, action: str) -> None:
    """The service's own order before reading the form: a refused state or role answers
    409/403 even when the form is incomplete."""
    if appeal.state not in TRANSITIONS[action].sources:
        raise Conflict(
            _("诉求当前为“%(state)s”，不能进行“%(action)s”。")
            % {"state": appeal.get_state_display(), "action": AppealAction(action).label}
        )
    permissions.ensure_may_act(jur, appeal, action)


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
        _precheck(jur, appeal, action)
    except ApplicationError as exc:
        if htmx:
            return _flash_fragment(exc.message, status=exc.status_code)
        raise
    form = ACTION_FORMS[action](request.POST, request.FILES, appeal=appeal, auto_id=f"id_{action}_%s")
    form.action = action
    if not form.is_valid():
        return _render_region(request, jur, appeal, status=400, failed_form=form,
                              error=_("请检查“%(action)s”表单中的错误。") % {"action": AppealAction(action).label})
    try:
        services.appeal_act(actor=request.user, appeal=appeal, action=action,
                            expected_version=form.cleaned_data["expected_version"], **form.service_data())
    except (ActionForbidden, NotFound) as exc:
        if htmx:
            return _flash_fragment(exc.message, status=exc.status_code)
        raise
    except Conflict as exc:
        # Someone else changed it: show the appeal as it is now, with fresh forms.
        appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=code)
        return _render_region(request, jur, appeal, status=409, error=exc.message)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _render_region(request, jur, appeal, status=exc.status_code, failed_form=form, error=exc.message)

    done = _("已%(action)s。") % {"action": AppealAction(action).label}
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


@login_required
@require_GET
def appeal_photo(request, code: str, pk: int):
    """A photo of an appeal, only to accounts that see the appeal (media is not public)."""
    jur = jurisdiction_for(request.user)
    appeal = selectors.appeal_get(jurisdiction=jur, tracking_code=code)
    attachment = appeal.attachments.filter(pk=pk).first()
    if attachment is None:
        raise NotFound()
    response = FileResponse(attachment.image.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    return response


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
    within = request.GET.get("within", "")
    if within and not jur.covers(within):
        within = ""
    buildings = _building_results(jur, request.GET.get("bq", ""), within=within)
    return render(request, "appeals/staff/_building_results.html", {
        "buildings": buildings, "query": request.GET.get("bq", ""), "selected": request.GET.get("building", ""),
    })


def _intake_page(request, jur, form, *, title: str, patrol: bool, within: str = "") -> HttpResponse:
    value = form["building"].value() or ""
    selected = _selected_building(jur, value)
    buildings = _building_results(jur, request.GET.get("bq", ""), within=within)
    if selected is not None and selected not in buildings:
        buildings.insert(0, selected)
    return render(request, "appeals/staff/intake.html", {
        "form": form, "title": title, "patrol": patrol, "buildings": buildings,
        "selected": value, "query": request.GET.get("bq", ""), "within": within,
    })


@login_required
@require_http_methods(["GET", "POST"])
def intake(request):
    """A resident phoned (电话) or walked in (来访): staff record the appeal for them."""
    jur = jurisdiction_for(request.user)
    if not jur.roles & INTAKE_ROLES:
        raise ActionForbidden(_("只有网格员、社区和街道工作人员可以代居民登记诉求。"))
    if request.method == "POST":
        form = IntakeForm(request.POST, request.FILES, jurisdiction=jur)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appeal = services.appeal_receive(
                    source=data["source"], actor=request.user, phone=data["phone"], name=data["name"],
                    anonymous=data["anonymous"], building=data["building"], address_text=data["address_text"],
                    category=data["category"], description=data["description"], photos=data["photos"],
                    **(data["place"] if not data["building"] else {}),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("已登记诉求，查询码 %(code)s。") % {"code": appeal.tracking_code})
                return redirect("appeals:detail", appeal.tracking_code)
    else:
        form = IntakeForm(initial=request.GET.dict(), jurisdiction=jur)
    return _intake_page(request, jur, form, title=_("代居民登记诉求"), patrol=False)


@login_required
@require_http_methods(["GET", "POST"])
def patrol(request):
    """A grid worker reports what they found on patrol (网格巡查), photos from the phone."""
    jur = jurisdiction_for(request.user)
    grids = [p.grid for p in jur.posts if p.role == Role.GRID_WORKER]
    if not grids:
        raise ActionForbidden(_("只有网格员可以登记网格巡查发现的问题。"))
    if request.method == "POST":
        form = PatrolForm(request.POST, request.FILES, jurisdiction=jur, grids=grids)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appeal = services.appeal_receive(
                    source=Source.GRID_PATROL, actor=request.user, grid=data.get("grid") or grids[0],
                    building=data["building"], address_text=data["address_text"], category=data["category"],
                    description=data["description"], photos=data["photos"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("已登记巡查发现的问题，查询码 %(code)s。") % {"code": appeal.tracking_code})
                return redirect("appeals:detail", appeal.tracking_code)
    else:
        form = PatrolForm(initial=request.GET.dict(), jurisdiction=jur, grids=grids)
    within = grids[0].code if len(grids) == 1 else ""
    return _intake_page(request, jur, form, title=_("网格巡查上报"), patrol=True, within=within)


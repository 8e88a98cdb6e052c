"""The pages of 入户走访 (at /visits/ on the staff site). Thin: scope, call a service,
render. Every page that shows care tags or visit records writes an access-log entry."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from appeals.images import photo_response
from appeals.visits import plans, selectors, services
from appeals.visits.enums import CheckAnswer
from appeals.visits.forms import VisitAppealForm, VisitForm
from appeals.visits.retention import past_retention
from governance.enums import AccessAction
from governance.kernel.access import access_log_record
from governance.kernel.errors import ActionForbidden, ApplicationError
from governance.staff.selectors import jurisdiction_for

STATUS_LABELS = {
    plans.Status.LONG_OVERDUE: _("逾期超过一个周期"), plans.Status.OVERDUE: _("已逾期"),
    plans.Status.DUE_TODAY: _("今日到期"), plans.Status.DUE: _("本期待访"), plans.Status.DONE: _("本期已访"),
}


@login_required
@require_GET
def visit_list(request):
    """The grid worker's 走访 list, on a phone: overdue, due today, due later, done this period."""
    jur = jurisdiction_for(request.user)
    sections = selectors.visit_list(jurisdiction=jur)
    count = sum(len(v) for v in sections.values())
    access_log_record(user=request.user, action=AccessAction.VIEW, subject="visits:list", record_count=count,
                      request=request)
    return render(request, "visits/list.html", {
        "sections": [(key, STATUS_LABELS[key], entries) for key, entries in sections.items()],
        "count": count, "today": timezone.localdate(),
    })


@login_required
@require_GET
def household_page(request, pk: int):
    """A household's visits, newest first, and the way to record one."""
    jur = jurisdiction_for(request.user)
    household = selectors.care_household_get(jurisdiction=jur, pk=pk)
    visits = selectors.household_visits(household=household)
    access_log_record(user=request.user, action=AccessAction.VIEW, subject=f"visits:household:{household.pk}",
                      record_count=1 + len(visits), request=request)
    plan = plans.plan_for(household.care_tag_list, plans.rules())
    return render(request, "visits/household.html", {"household": household, "visits": visits, "plan": plan})


def _refused_on_form(form, service, **arguments):
    """The service's answer; its refusal is shown on the form instead (None), but a 403
    is raised."""
    try:
        return service(**arguments)
    except ActionForbidden:
        raise
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def visit_record(request, pk: int):
    """Record a visit of the household (the time is the server's)."""
    jur = jurisdiction_for(request.user)
    household = selectors.care_household_get(jurisdiction=jur, pk=pk)
    plan = plans.plan_for(household.care_tag_list, plans.rules())
    if plan is None:
        raise ApplicationError(_("该住户没有需要走访的关怀标签。"))
    form = VisitForm(request.POST or None, request.FILES or None, checklist=plan.checklist)
    if request.method == "POST" and form.is_valid():
        visit = _refused_on_form(
            form, services.visit_record, actor=request.user, household=household, method=form.cleaned_data["method"],
            companions=form.cleaned_data["companions"], checklist=form.checklist(),
            notes=form.cleaned_data["notes"], photos=form.cleaned_data["photos"])
        if visit is not None:
            messages.success(request, _("已记录走访。"))
            return redirect("visits:detail", visit.pk)
    access_log_record(user=request.user, action=AccessAction.VIEW, subject=f"visits:household:{household.pk}",
                      request=request)
    return render(request, "visits/record.html", {"household": household, "plan": plan, "form": form})


@login_required
@require_GET
def visit_detail(request, pk: int):
    jur = jurisdiction_for(request.user)
    visit = selectors.visit_get(jurisdiction=jur, pk=pk)
    appeals = list(visit.appeals.order_by("created_at"))
    access_log_record(user=request.user, action=AccessAction.VIEW, subject=f"visit:{visit.pk}", request=request)
    labels = dict(CheckAnswer.choices)
    return render(request, "visits/detail.html", {
        "visit": visit, "household": visit.household, "appeals": appeals,
        "checklist": [(item, labels.get(answer, answer), answer) for item, answer in visit.checklist.items()],
        "photos": range(len(visit.photos)), "may_raise": visit.visitor_id == request.user.pk,
        "cleared": past_retention(visit), "retention_days": settings.VISIT_RECORD_RETENTION_DAYS,
    })


def _prefill(visit) -> dict:
    """The appeal form's first values: the plan's category, the concerns and the notes."""
    plan = plans.plan_for(visit.household.care_tag_list, plans.rules())
    concerns = [item for item, answer in visit.checklist.items() if answer == CheckAnswer.CONCERN]
    parts = [_("入户走访发现：%(c)s需关注。") % {"c": "、".join(concerns)}] if concerns else []
    if visit.notes:
        parts.append(visit.notes)
    category = plan.category_id if plan else None
    return {"category": category, "description": "".join(parts)}


@login_required
@require_http_methods(["GET", "POST"])
def visit_raise_appeal(request, pk: int):
    """A need found on the visit becomes an appeal, pre-filled from the visit."""
    jur = jurisdiction_for(request.user)
    visit = selectors.visit_get(jurisdiction=jur, pk=pk)
    if visit.visitor_id != request.user.pk:
        raise ActionForbidden(_("只有走访人可以从本次走访发起诉求。"))
    form = VisitAppealForm(request.POST or None, request.FILES or None, initial=_prefill(visit))
    if request.method == "POST" and form.is_valid():
        appeal = _refused_on_form(
            form, services.visit_raise_appeal, actor=request.user, visit=visit, category=form.cleaned_data["category"],
            description=form.cleaned_data["description"], photos=form.cleaned_data["photos"])
        if appeal is not None:
            messages.success(request, _("已从走访发起诉求，查询码 %(code)s。") % {"code": appeal.tracking_code})
            return redirect("appeals:detail", appeal.tracking_code)
    return render(request, "visits/raise.html", {"visit": visit, "household": visit.household, "form": form})


@login_required
@require_GET
def visit_photo(request, pk: int, index: int):
    """A visit's photo, to those who see the visit (media is not public)."""
    visit = selectors.visit_get(jurisdiction=jurisdiction_for(request.user), pk=pk)
    return photo_response(selectors.visit_photo_open(visit, index))

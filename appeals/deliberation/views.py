"""The meeting pages (民主协商) and the public notice (公示). Thin: the selectors scope
every read and refuse (404 outside, 403 for those who read no records), the services do
every change; domain errors of full pages go to the middleware, bad input re-renders
the page with the message (400/409)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appeals.deliberation import selectors, services
from appeals.deliberation.enums import DecisionKind, DecisionState, MeetingKind, MeetingState
from appeals.deliberation.forms import (
    PARTICIPANT_ROWS,
    DecisionForm,
    DecisionUpdateForm,
    LinkForm,
    RecordForm,
    ScheduleForm,
)
from appeals.deliberation.models import MeetingDecision
from appeals.models import Category
from appeals.public_views import public_read
from governance.kernel.clock import CHINA
from governance.kernel.errors import ActionForbidden, ApplicationError, NotFound
from governance.staff.selectors import jurisdiction_for
from grids.models import Building, Community


@login_required
@require_GET
def meeting_list(request):
    jur = jurisdiction_for(request.user)
    meetings = list(selectors.meetings_for(jur)[:selectors.LIST_PAGE])
    return render(request, "deliberation/list.html", {
        "meetings": meetings, "may_schedule": bool(selectors.schedulable_communities(jur)),
        "communities": selectors.schedulable_communities(jur),
    })


def _schedule_form(jur, data=None):
    communities = selectors.schedulable_communities(jur)
    if not communities:
        raise ActionForbidden(_("只有社区工作者或社区书记可以安排议事会议。"))
    buildings = Building.objects.filter(grid__community__code__in=[c.code for c in communities]).order_by("code")[:500]
    categories = Category.objects.order_by("code")
    return ScheduleForm(data, communities=communities, buildings=buildings, categories=categories)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request):
    jur = jurisdiction_for(request.user)
    form = _schedule_form(jur, request.POST if request.method == "POST" else None)
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                meeting = services.meeting_schedule(
                    actor=request.user, community_code=d["community"], kind=d["kind"], topic=d["topic"],
                    place=d["place"], starts_at=d["starts_at"], estate=d["estate"], building_codes=d["buildings"],
                    category_id=d["category"])
            except (ActionForbidden, NotFound):
                raise
            except ApplicationError as exc:
                error, status = exc.message, exc.status_code
            else:
                messages.success(request, _("已安排议事会议，可在会议页提交相关诉求。"))
                return redirect("deliberation:detail", pk=meeting.pk)
        else:
            error, status = _("请检查表单中的错误。"), 400
    return render(request, "deliberation/create.html", {"form": form, "error": error}, status=status)


def _detail(request, meeting, *, status=200, error="", link_form=None, record_form=None, decision_form=None):
    jur = jurisdiction_for(request.user)
    acts = selectors.acting_post(jur, meeting.community_id) is not None
    offered = selectors.related_open_appeals(meeting) if acts and meeting.state != MeetingState.CANCELLED else []
    decisions = list(meeting.decisions.all())
    for d in decisions:
        d.choices = [(s, s.label) for s in (DecisionState.IN_PROGRESS, DecisionState.DONE)
                     if s in services.NEXT_STATES[d.state]]
    today = timezone.now().astimezone(CHINA).date()
    record_initial = {
        "residents_count": meeting.residents_count, "minutes": meeting.minutes,
        "votes_for": meeting.votes_for, "votes_against": meeting.votes_against, "votes_abstain": meeting.votes_abstain,
        "evaluated_unit": meeting.evaluated_unit, "rated_satisfied": meeting.rated_satisfied,
        "rated_basically": meeting.rated_basically, "rated_unsatisfied": meeting.rated_unsatisfied,
        "publicity_days": meeting.publicity_days,
    }
    participants = list(meeting.participants.all())
    rows = [(p.role, p.name) for p in participants] + [("", "")] * max(0, PARTICIPANT_ROWS - len(participants))
    return render(request, "deliberation/detail.html", {
        "meeting": meeting, "acts": acts, "linked": selectors.linked_appeals(meeting), "offered": offered,
        "decisions": decisions, "today": today, "participants": participants, "participant_rows": rows[:PARTICIPANT_ROWS],
        "roles": RecordForm.ROLES, "error": error,
        "link_form": link_form or LinkForm(offered=offered),
        "record_form": record_form or RecordForm(initial=record_initial),
        "decision_form": decision_form or DecisionForm(),
        "decision_kinds": DecisionKind.choices if meeting.kind == MeetingKind.EVALUATION else [
            (DecisionKind.DECISION, DecisionKind.DECISION.label)],
        "is_hearing": meeting.kind == MeetingKind.HEARING, "is_evaluation": meeting.kind == MeetingKind.EVALUATION,
    }, status=status)


@login_required
@require_GET
def meeting_detail(request, pk: int):
    meeting = selectors.meeting_get(jurisdiction=jurisdiction_for(request.user), pk=pk)
    return _detail(request, meeting)


def _failed(request, meeting, exc: ApplicationError, **forms):
    if isinstance(exc, ActionForbidden | NotFound):
        raise exc
    return _detail(request, meeting, status=exc.status_code, error=exc.message, **forms)


def _acted(request, meeting, form, *, form_name: str | None, invalid: str, act):
    """A form posted on the meeting page: 400 with its errors, else ``act(cleaned_data)``
    (which says what it did); the service's refusal is shown on the page (its 403 and 404
    raised). Back to the meeting."""
    forms = {form_name: form} if form_name else {}
    if not form.is_valid():
        return _detail(request, meeting, status=400, error=invalid, **forms)
    try:
        act(form.cleaned_data)
    except ApplicationError as exc:
        return _failed(request, meeting, exc, **forms)
    return redirect("deliberation:detail", pk=meeting.pk)


def _acting_meeting(request, pk: int):
    return selectors.meeting_get(jurisdiction=jurisdiction_for(request.user), pk=pk, act=True)


@login_required
@require_POST
def meeting_link(request, pk: int):
    meeting = _acting_meeting(request, pk)
    form = LinkForm(request.POST, offered=selectors.related_open_appeals(meeting))

    def link(d):
        outcome = services.meeting_link(actor=request.user, meeting=meeting, codes=form.all_codes(),
                                        extend_to=d["extend_to"])
        messages.success(request, _("已提交议事 %(n)s 件诉求。") % {"n": len(outcome.linked)})
        if outcome.extension_requested:
            messages.info(request, _("已为 %(n)s 件诉求申请延期，待上一级审批。") % {"n": len(outcome.extension_requested)})
        for code, why in outcome.extension_refused:
            messages.warning(request, _("%(c)s 未申请延期：%(w)s") % {"c": code, "w": why})

    return _acted(request, meeting, form, form_name="link_form", invalid=_("请检查提交议事表单中的错误。"), act=link)


@login_required
@require_POST
def meeting_record(request, pk: int):
    meeting = _acting_meeting(request, pk)
    form = RecordForm(request.POST)

    def record(d):
        services.meeting_record(
            actor=request.user, meeting=meeting, residents_count=d["residents_count"], minutes=d["minutes"],
            participants=form.participants(request.POST),
            votes=(d["votes_for"], d["votes_against"], d["votes_abstain"]), evaluated_unit=d["evaluated_unit"],
            ratings=(d["rated_satisfied"], d["rated_basically"], d["rated_unsatisfied"]),
            publicity_days=d["publicity_days"])
        messages.success(request, _("会议记录已保存。"))

    return _acted(request, meeting, form, form_name="record_form", invalid=_("请检查会议记录中的错误。"), act=record)


@login_required
@require_POST
def decision_add(request, pk: int):
    meeting = _acting_meeting(request, pk)

    def add(d):
        services.decision_add(actor=request.user, meeting=meeting, **d)
        messages.success(request, _("已添加事项。"))

    return _acted(request, meeting, DecisionForm(request.POST), form_name="decision_form",
                  invalid=_("请检查议定事项中的错误。"), act=add)


@login_required
@require_POST
def decision_update(request, pk: int, decision_pk: int):
    meeting = _acting_meeting(request, pk)
    decision = get_object_or_404(MeetingDecision.objects.select_related("meeting", "meeting__community"),
                                 pk=decision_pk, meeting=meeting)

    def update(d):
        outcome = services.decision_update(actor=request.user, decision=decision, **d)
        if decision.state == DecisionState.DONE:
            messages.success(request, _("事项已完成：%(r)s 件关联诉求以此办结（居民将收到结果并评价），%(n)s 件附议事决定。") % {
                "r": len(outcome.resolved), "n": len(outcome.noted)})
        else:
            messages.success(request, _("事项进展已更新。"))
        for code, why in outcome.failed:
            messages.warning(request, _("%(c)s 未能办结：%(w)s") % {"c": code, "w": why})

    return _acted(request, meeting, DecisionUpdateForm(request.POST), form_name=None,
                  invalid=_("请选择事项状态。"), act=update)


@require_GET
@public_read
def public_notice(request, code: str):
    """公示: a community's meetings and decisions, no names (selectors.public_notice)."""
    community = get_object_or_404(Community.objects.select_related("street"), code=code)
    return render(request, "deliberation/public_notice.html", {
        "community": community, "items": selectors.public_notice(community_code=community.code),
    })

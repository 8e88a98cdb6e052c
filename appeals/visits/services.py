"""Writes of 入户走访: recording a visit, raising an appeal from it, the reminders.

Every message goes through the outbox (governance.kernel.outbox) as the staff inbox's
messages (governance.staff.notifications), with idempotency keys, so a job run twice
tells nobody twice."""

from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import permissions
from appeals.enums import Source
from appeals.models import Appeal, Category
from appeals.services.core import _clean_photos, _store_photos, _text
from appeals.services.intake import appeal_receive
from appeals.visits import plans
from appeals.visits.enums import CheckAnswer, VisitMethod
from appeals.visits.models import Visit
from governance.enums import NotificationKind
from governance.kernel import outbox
from governance.kernel.errors import ActionForbidden, ApplicationError
from governance.staff.notifications import Digest, unit_messages
from governance.staff.selectors import jurisdiction_for
from grids.models import Household

NOT_FOUND_FLAG = 3  # 未见到 in a row that flag the household to its community
NOTES_MAX = 2000


def _visitor_post(actor, household: Household):
    """The actor's post that may visit ``household``: a grid worker of its grid or a
    community worker/secretary of its community (the people who see care tags)."""
    post = jurisdiction_for(actor).care_post(household.building.grid_id)
    if post is None:
        raise ActionForbidden(_("只有本网格的网格员或本社区的社区工作人员可以登记入户走访。"))
    return post


def visit_record(*, actor, household: Household, method: str, companions: str = "", checklist: dict | None = None,
                 notes: str = "", photos=(), now=None) -> Visit:
    """Record one visit of ``household``.

    Steps: 1. the actor must see the household's care (its grid's workers, its community's
    staff), and the household must have a plan (a care tag with a rule); 2. validate the
    method, the checklist (only the plan's items, 正常/需关注), the notes; clean the photos
    (appeals.images through the intake's cleaning) and store them; 3. save the visit with
    the server's time, the visitor and whether it counts as done (plans.counts_done);
    4. a 未见到 that makes NOT_FOUND_FLAG in a row tells the community (one message per
    run of three, outbox key on the visit)."""
    post = _visitor_post(actor, household)
    plan = plans.plan_for(household.care_tag_list, plans.rules())
    if plan is None:
        raise ApplicationError(_("该住户没有需要走访的关怀标签。"))
    if method not in VisitMethod.values:
        raise ApplicationError(_("请选择走访方式：在家、电话或未见到。"))
    answers = {}
    for item, answer in (checklist or {}).items():
        if item not in plan.checklist or answer not in CheckAnswer.values:
            raise ApplicationError(_("走访情况“%(i)s”无效，请重新填写。") % {"i": str(item)[:20]})
        answers[item] = answer
    notes = _text(notes, field_label=_("走访记录"), required=False, max_length=NOTES_MAX)
    companions = _text(companions, field_label=_("同行人员"), required=False, max_length=100)
    stored = _store_photos(_clean_photos(photos))
    if stored.failed:
        raise ApplicationError(_("照片暂时无法保存，请稍后再试。"))
    now = now or timezone.now()
    with transaction.atomic():
        visit = Visit.objects.create(
            household=household, territory_code=household.building.grid_id,
            visited_at=now, visitor=actor, visitor_label=permissions.actor_label(post), companions=companions,
            method=method, checklist=answers, notes=notes, photos=stored.names,
            counts_done=plans.counts_done(method, plan),
        )
        if method == VisitMethod.NOT_FOUND:
            _flag_not_found(visit)
    return visit


def _flag_not_found(visit: Visit) -> None:
    recent = list(Visit.objects.filter(household_id=visit.household_id).order_by("-visited_at", "-id")
                  .values_list("method", flat=True)[:NOT_FOUND_FLAG])
    if len(recent) < NOT_FOUND_FLAG or any(m != VisitMethod.NOT_FOUND for m in recent):
        return
    household = visit.household
    community = household.building.grid.community_id
    digest = Digest(
        title=_("走访连续%(n)s次未见到：%(h)s") % {"n": NOT_FOUND_FLAG, "h": f"{household.building.address} {household.label}"},
        body=_("该关怀户连续%(n)s次走访未见到本人，请社区核实情况。") % {"n": NOT_FOUND_FLAG},
        link=reverse("visits:household", args=[household.pk]),
    )
    outbox.write(unit_messages(kind=NotificationKind.VISIT_NOT_FOUND, digests={("community", community): digest},
                               subject=f"household:{household.pk}"),
                 keys=[f"visit:{visit.pk}:absent"])


def visit_raise_appeal(*, actor, visit: Visit, category: Category | None, description: str, photos=()) -> Appeal:
    """A need found on the visit becomes an appeal in one step: received through
    ``appeal_receive`` (source 走访, the visit's building, the visitor as finder, so the
    主动发现 rule applies there: routed by the responsibility list, signed for at once when
    it lands on the finder's own grid), then linked to the visit. Only the visitor raises
    it from their visit (someone else records their own)."""
    if visit.visitor_id != actor.pk:
        raise ActionForbidden(_("只有走访人可以从本次走访发起诉求。"))
    household = visit.household
    description = _text(description, field_label=_("诉求内容"), required=True, max_length=4000)
    text = f"{household.label}：{description}" if household.label not in description else description
    appeal = appeal_receive(source=Source.HOME_VISIT, actor=actor, description=text, category=category,
                            building=household.building, address_text=f"{household.building.address} {household.label}",
                            phone=household.phone, photos=photos)
    visit.appeals.add(appeal)
    return appeal


# --- reminders (the beat job) --------------------------------------------------------------------


def visit_reminders(*, today: date | None = None) -> dict:
    """Tell each grid of its households due tomorrow (one message per grid), and each
    community of its households overdue by more than a period (one per community). Keys
    carry the day, so running it twice a day sends once. Returns the counts."""
    from appeals.visits.selectors import household_standing

    today = today or timezone.localdate()
    tomorrow = today + timedelta(days=1)
    due_tomorrow: dict[str, list] = {}
    long_overdue: dict[str, list] = {}
    for household, _plan, due in household_standing(today=today):
        if due.status in (plans.Status.DUE, plans.Status.DUE_TODAY) and due.due_date == tomorrow:
            due_tomorrow.setdefault(household.building.grid_id, []).append(household)
        elif due.status == plans.Status.LONG_OVERDUE:
            long_overdue.setdefault(household.building.grid.community_id, []).append(household)
    messages, keys = [], []
    for kind, level, key, title, groups in (
        (NotificationKind.VISIT_DUE, "grid", "due", _("明天到期的走访：%(n)s户"), due_tomorrow),
        (NotificationKind.VISIT_OVERDUE, "community", "late", _("逾期超过一个周期的走访：%(n)s户"), long_overdue),
    ):
        for unit, households in sorted(groups.items()):
            digest = Digest(title=title % {"n": len(households)},
                            body="、".join(f"{h.building.address} {h.label}" for h in households[:20]),
                            link=reverse("visits:list"))
            messages += unit_messages(kind=kind, digests={(level, unit): digest})
            keys.append(f"visits:{key}:{unit}:{today.isoformat()}")
    with transaction.atomic():
        outbox.write(messages, keys=keys)
    return {"due_tomorrow": sum(map(len, due_tomorrow.values())), "long_overdue": sum(map(len, long_overdue.values()))}

"""The staff inbox pages (governance.staff.notifications): the list, mark one or all read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from governance.kernel.params import QueryForm, page_field
from governance.staff.notifications import notification_list, notification_mark_all_read, notification_mark_read

PER_PAGE = 30


class InboxQuery(QueryForm):
    page = page_field()


@login_required
@require_GET
def notifications(request):
    params = InboxQuery.parse(request.GET)
    page = Paginator(notification_list(user=request.user), PER_PAGE).get_page(params["page"])
    return render(request, "governance/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request, pk: int):
    """Mark one message read (someone else's: 404); ``open`` follows its link."""
    notification = notification_mark_read(user=request.user, notification_id=pk)
    link = notification.link
    if request.POST.get("open") and link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("notifications")


@login_required
@require_POST
def notifications_read_all(request):
    n = notification_mark_all_read(user=request.user)
    messages.success(request, _("已将 %(n)s 条消息标为已读。") % {"n": n})
    return redirect("notifications")

from django.conf import settings


def portal(request):
    """Site switches, and the header's unread message count: counted at most once per
    request, and only when a page shows it (the header of a signed-in page)."""
    user = getattr(request, "user", None)

    def unread() -> int:
        if not hasattr(request, "_unread_notifications"):
            from governance.staff.notifications import notification_unread_count

            request._unread_notifications = notification_unread_count(user=user)
        return request._unread_notifications

    return {
        "PUBLIC_SITE_ENABLED": settings.PUBLIC_SITE_ENABLED,
        "STAFF_SITE_ENABLED": settings.STAFF_SITE_ENABLED,
        # A callable: the template calls it where it is shown (no query elsewhere).
        "UNREAD_NOTIFICATIONS": unread,
        "REPORTS_LINK": lambda: reports_link(user),
    }


def reports_link(user) -> bool:
    """The nav's 报表 link: supervisors, street and community staff, administrators.

    Read from the jurisdiction the page already computed (every staff page does), so the
    header costs no query — a page that never asked (a volunteer's) shows no link."""
    jurisdiction = getattr(user, "_gongzhi_jurisdiction", None)
    if jurisdiction is None:
        return False
    from governance.reports.scope import can_see_reports

    return can_see_reports(jurisdiction)

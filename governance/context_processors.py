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
        # The menus (governance/nav.py), each computed when a template draws it.
        "NAV": _nav(request),
    }


def _nav(request):
    from governance.nav import Nav

    return Nav(request)


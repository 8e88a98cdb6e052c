from django.conf import settings


def portal(request):
    return {
        "PUBLIC_SITE_ENABLED": settings.PUBLIC_SITE_ENABLED,
        "STAFF_SITE_ENABLED": settings.STAFF_SITE_ENABLED,
    }

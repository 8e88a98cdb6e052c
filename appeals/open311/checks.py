"""Start-up checks of the Open311 settings that need the database (run by migrate, which
every entry point runs first, and by ``manage.py check --database default``)."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from grids.models import Street


@register(Tags.database)
def fallback_street_exists(app_configs=None, databases=None, **kwargs) -> list[Error]:
    """OPEN311_FALLBACK_STREET names a street (its format is checked with the settings)."""
    code = settings.OPEN311_FALLBACK_STREET
    if not code or not databases:
        return []
    try:
        exists = Street.objects.filter(code=code).exists()
    except DatabaseError:
        return []  # a fresh database before its first migrate: nothing to check against yet
    if exists:
        return []
    return [Error(
        f"OPEN311_FALLBACK_STREET={code!r} names no street.",
        hint="Give the 9-digit code of an existing street, or unset it (地址不明 requests are then answered 400).",
        id="open311.E001",
    )]

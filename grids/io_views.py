"""Household import and export pages (filled in by the import/export work)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404


@login_required
def household_import(request, level: str, code: str):
    raise Http404


@login_required
def household_export(request, level: str, code: str):
    raise Http404

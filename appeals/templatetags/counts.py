"""Counts as the lists show them: capped counts above the cap read "1万+"
(governance.kernel.keyset.count_text)."""

from django import template

from governance.kernel.keyset import count_text as _count_text

register = template.Library()


@register.filter
def count_text(n) -> str:
    return _count_text(int(n or 0))

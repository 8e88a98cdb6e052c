from django import template

from governance.kernel import privacy

register = template.Library()


@register.filter
def mask_phone(value: str) -> str:
    return privacy.mask_phone(value or "")


@register.filter
def mask_name(value: str) -> str:
    return privacy.mask_name(value or "")

"""Deadlines in templates: ``{{ appeal|deadline_text }}``, ``{{ instant|deadline_text }}``,
``{{ instant|deadline_text:appeal }}`` (the appeal's unit) or ``{{ instant|deadline_text:"hours" }}``;
and the years whose calendar is still provisional (the admin's banner)."""

from django import template

from appeals import deadlines

register = template.Library()


@register.filter(name="deadline_text")
def deadline_text(value, unit_or_appeal=None) -> str:
    if unit_or_appeal is not None and not isinstance(unit_or_appeal, str):
        unit_or_appeal = deadlines.unit_of(unit_or_appeal)
    return deadlines.deadline_text(value, unit_or_appeal or None)


@register.simple_tag
def provisional_calendar_years():
    from appeals.selectors import calendar_provisional_years

    return calendar_provisional_years()

from django import template

from governance.reports.presenters import table_html as _table_html

register = template.Library()


@register.filter
def table_html(table):
    """A report table's printed rows (governance.reports.presenters.table_html)."""
    return _table_html(table)

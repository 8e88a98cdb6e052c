"""presenters.table_html prints a table's cells exactly as _table.html printed them with
template tags per cell (the tags it replaced are kept here as the reference)."""

from django.template import engines
from django.utils.safestring import mark_safe

from governance.reports.tables import Column, ReportTable

CELLS_AS_TEMPLATE_TAGS = (
    "{% for row in table.display_rows %}<tr>{% for text, link, kind, key in row %}"
    "<td class=\"k-{{ kind }} c-{{ key }}{% if kind == 'change' %}{% if text|slice:':1' == '↑' %} up"
    "{% elif text|slice:':1' == '↓' %} down{% endif %}{% endif %}\">"
    "{% if link %}<a href=\"{{ link }}\">{{ text }}</a>{% else %}{{ text }}{% endif %}</td>"
    "{% endfor %}</tr>{% endfor %}"
)
HTML_ROWS = "{% load reports %}{% for cells in table|table_html %}<tr>{{ cells }}</tr>{% endfor %}"


def test_table_html_prints_what_the_template_tags_printed():
    columns = [Column("name", "单位", "text"), Column("code", "编码", "code"), Column("n", "数", "int"),
               Column("rate", "率", "rate"), Column("hours", "时", "hours"), Column("change", "变化", "change"),
               Column("odd", "怪", 'x"<y')]
    rows = [
        {"name": '<b>甲&"乙\'</b>', "code": "110101-CG", "n": 0, "rate": "91.333", "hours": 0.25, "change": 2,
         "odd": mark_safe("<i>safe</i>")},
        {"name": "", "code": None, "n": None, "rate": None, "hours": None, "change": -3, "odd": "a>b"},
        {"name": "丙", "code": "1", "n": 7, "rate": 100, "hours": 12.0, "change": 0},
        {},
    ]
    links = [{"name": '/reports/unit/x/?a=1&b="2"'}, {"code": "/c/"}, {"name": ""}]
    table = ReportTable(key="t", title="表", columns=columns, rows=rows, links=links)
    django = engines["django"]
    expected = django.from_string(CELLS_AS_TEMPLATE_TAGS).render({"table": table})
    assert django.from_string(HTML_ROWS).render({"table": table}) == expected
    assert ' up">↑2<' in expected and ' down">↓3<' in expected and "&lt;b&gt;" in expected

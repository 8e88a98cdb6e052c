"""GeoReport v2 output: the same data as JSON or as schemaless XML.

The JSON follows the spec's examples (an array of objects; the service definition is
one object); the XML is its "Spark convention" twin: a list becomes a parent element
with one child per item, named below.
"""

import json
import re
from xml.etree import ElementTree as ET

from django.http import HttpResponse

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'

# The element name of one item of each list.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
# Characters XML 1.0 does not allow at all (ElementTree would write them unescaped).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _append(parent: ET.Element, tag: str, value) -> None:
    element = ET.SubElement(parent, tag)
    _fill(element, tag, value)


def _fill(element: ET.Element, tag: str, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, (list, tuple)):
        child_tag = ITEM_TAGS[tag]
        for item in value:
            _append(element, child_tag, item)
    else:
        element.text = _text(value)


def to_xml(root_tag: str, data) -> bytes:
    root = ET.Element(root_tag)
    _fill(root, root_tag, data)
    return XML_DECLARATION + ET.tostring(root, encoding="utf-8")


def to_json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def respond(fmt: str, root_tag: str, data, *, status: int = 200) -> HttpResponse:
    """``data``: a list (of dicts) or a dict; ``root_tag`` names it in XML."""
    if fmt == "json":
        return HttpResponse(to_json(data), content_type=JSON_TYPE, status=status)
    return HttpResponse(to_xml(root_tag, data), content_type=XML_TYPE, status=status)


def error_response(fmt: str, status: int, descriptions: list[str], *, code: int | None = None) -> HttpResponse:
    """The spec's error body: a list of {code, description}, in the requested format."""
    errors = [{"code": code or status, "description": str(d)} for d in descriptions]
    return respond(fmt, "errors", errors, status=status)

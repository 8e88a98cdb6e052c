"""The query of every map data endpoint (issue 21): a bounding box and a zoom, read
through a form with bounds; a bad value is a 400 naming it, never a 500 or a city-wide
answer by accident."""

import math

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from grids import geo

MIN_ZOOM, MAX_ZOOM = 3, 20
# A box wider than this (degrees) is a mistake or a scrape: a city is under two degrees.
MAX_BOX_DEGREES = 10.0


class BoxField(forms.CharField):
    """``west,south,east,north`` in WGS-84 degrees, as Leaflet's toBBoxString() writes it."""

    default_error_messages = {
        "invalid": _("bbox 须为“西,南,东,北”四个经纬度（WGS-84），如 116.30,39.85,116.50,40.00。"),
        "too_big": _("bbox 过大：经纬度跨度不能超过 %(max)s 度。"),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 120)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)  # the text, its length checked
        if value in self.empty_values:
            return None
        try:
            west, south, east, north = (float(v) for v in value.split(","))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
            -180 <= west < east <= 180 and -90 <= south < north <= 90
        ):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if east - west > MAX_BOX_DEGREES or north - south > MAX_BOX_DEGREES:
            raise ValidationError(self.error_messages["too_big"], code="too_big", params={"max": MAX_BOX_DEGREES})
        return geo.Box(min_lat=south, min_lon=west, max_lat=north, max_lon=east)


class MapQueryForm(forms.Form):
    """What every map data endpoint reads: the box on screen and the zoom."""

    bbox = BoxField(required=True, error_messages={"required": _("缺少 bbox（西,南,东,北）。")})
    zoom = forms.IntegerField(
        min_value=MIN_ZOOM, max_value=MAX_ZOOM, required=True,
        error_messages={"required": _("缺少 zoom（地图缩放级别）。"),
                        "min_value": _("zoom 不能小于 %(limit_value)s。"),
                        "max_value": _("zoom 不能大于 %(limit_value)s。"),
                        "invalid": _("zoom 须为整数。")},
    )


class PointForm(forms.Form):
    """A WGS-84 point (the resident's pin): latitude and longitude within their ranges."""

    lat = forms.FloatField(min_value=-90, max_value=90, error_messages={"required": _("缺少纬度 lat。")})
    lon = forms.FloatField(min_value=-180, max_value=180, error_messages={"required": _("缺少经度 lon。")})


def first_error(form: forms.Form) -> str:
    """The form's first message, for a 400 answer."""
    for name, errors in form.errors.items():
        return f"{name}: {errors[0]}" if name != "__all__" else errors[0]
    return ""

"""A list of choice keys kept in one text column, comma-separated (a household's 关怀标签,
a volunteer's 技能): shown and edited by their labels, stored as keys.

``labels_text`` is what a list shows (独居老人、低保户); ``KeysField`` is the admin's form
field: a box per choice, cleaned back to the keys in choice order, so the stored text is
the one the filters and imports read (``"elderly_alone,low_income"``)."""

from django import forms
from django.utils.translation import gettext_lazy as _


def keys(value: str | None) -> list[str]:
    """The stored keys, in their order."""
    return [key for key in (value or "").split(",") if key]


def labels(value: str | None, choices) -> list[str]:
    """The keys' labels (a key no longer offered shows as itself)."""
    named = dict(choices)
    return [str(named.get(key, key)) for key in keys(value)]


def properties(field: str, choices) -> tuple[property, property]:
    """A model's two readings of its column ``field``: the keys, and their labels —
    ``care_tag_list, care_tag_labels = choices.properties("care_tags", CareTag.choices)``."""
    return (property(lambda obj: keys(getattr(obj, field))),
            property(lambda obj: labels(getattr(obj, field), choices)))


def labels_text(value: str | None, choices) -> str:
    return "、".join(labels(value, choices))


class KeysField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, *, choices, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("可多选。"))
        super().__init__(choices=choices, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            return keys(value)
        return value

    def clean(self, value) -> str:
        keys = set(super().clean(value))
        return ",".join(key for key, _label in self.choices if key in keys)

"""Keys are issued by `manage.py open311_key create NAME` (the key is shown once) and
revoked here; service attributes are edited here; Open311 submissions are read here."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from appeals.open311.models import ApiKey, Open311Request, ServiceAttribute
from appeals.open311.services import api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        # A key must be shown exactly once to whoever issues it: the command does that.
        return False

    def has_delete_permission(self, request, obj=None):
        # Keys are revoked, not deleted: the requests filed with them point at them.
        return False

    @admin.action(description=_("吊销所选密钥"))
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            api_key_revoke(key=key)
        self.message_user(
            request, ngettext("已吊销 %(n)d 个密钥。", "已吊销 %(n)d 个密钥。", len(keys)) % {"n": len(keys)},
            messages.SUCCESS,
        )


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(admin.ModelAdmin):
    list_display = ("category", "code", "order", "datatype", "required", "variable", "description")
    list_filter = ("datatype", "required")
    search_fields = ("code", "description", "category__code", "category__name")
    autocomplete_fields = ("category",)
    ordering = ("category__code", "order")


@admin.register(Open311Request)
class Open311RequestAdmin(admin.ModelAdmin):
    list_display = ("appeal", "api_key", "created_at", "media_url")
    list_select_related = ("appeal", "api_key")
    list_filter = ("api_key",)
    readonly_fields = ("appeal", "api_key", "email", "media_url", "attributes", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

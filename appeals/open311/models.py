"""Open311 GeoReport v2: API keys, the Open311 details of an appeal, and service attributes.

The appeal itself is an ordinary appeals.Appeal (filed through appeals.services); what
the spec carries beyond it (email, media_url, attribute[code]) lives here, so that
the appeals app knows nothing of Open311.
"""

import hashlib
import secrets
import string

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appeals.open311.enums import AttributeType

KEY_PREFIX_LENGTH = 8
# A key (and so its prefix) must never start with "-": `open311_key revoke PREFIX`
# would read it as an option.
_KEY_FIRST = string.ascii_letters + string.digits


def new_raw_key() -> str:
    """A random key: a letter or digit, then 43 URL-safe characters (256 bits)."""
    return secrets.choice(_KEY_FIRST) + secrets.token_urlsafe(32)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A client's key. Only its SHA-256 is stored: the key is shown once, on creation."""

    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=KEY_PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(_("密钥摘要"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("Open311 接口密钥")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, *, name: str) -> tuple["ApiKey", str]:
        """A new key; returns (the row, the raw key — its only appearance)."""
        raw = new_raw_key()
        key = cls.objects.create(name=name, prefix=raw[:KEY_PREFIX_LENGTH], key_hash=hash_key(raw))
        return key, raw

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class Open311Request(models.Model):
    """What an Open311 client sent with an appeal, beyond the appeal itself.

    The public service_request_id is the appeal's primary key (every appeal, from any
    channel, has one), never its tracking code: the tracking code is the resident's
    secret for the track page.
    """

    appeal = models.OneToOneField(
        "appeals.Appeal", on_delete=models.CASCADE, related_name="open311", verbose_name=_("诉求")
    )
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="requests", verbose_name=_("接口密钥"))
    email = models.EmailField(_("电子邮箱"), blank=True)
    media_url = models.URLField(_("媒体链接"), max_length=1000, blank=True)
    attributes = models.JSONField(_("附加属性"), default=dict, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("Open311 提交记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return str(self.appeal_id)


class ServiceAttribute(models.Model):
    """An extra form field of a service (GeoReport service definition). A category with
    attributes is listed with metadata=true."""

    category = models.ForeignKey(
        "appeals.Category", on_delete=models.CASCADE, related_name="open311_attributes", verbose_name=_("类别")
    )
    code = models.SlugField(_("编码"), max_length=50)
    order = models.PositiveSmallIntegerField(_("顺序"), default=1)
    description = models.CharField(_("说明"), max_length=200)
    datatype = models.CharField(_("类型"), max_length=20, choices=AttributeType.choices, default=AttributeType.STRING)
    datatype_description = models.CharField(_("类型说明"), max_length=200, blank=True)
    required = models.BooleanField(_("必填"), default=False)
    variable = models.BooleanField(_("需用户填写"), default=True, help_text=_("否：仅向用户展示说明。"))
    values = models.JSONField(
        _("可选值"), default=list, blank=True,
        help_text=_('单选/多选的选项，如 [{"key": "1", "name": "白天"}]'),
    )

    class Meta:
        verbose_name = verbose_name_plural = _("Open311 服务属性")
        ordering = ["category", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="open311_attribute_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.category_id}:{self.code}"

    @property
    def keys(self) -> set[str]:
        return {str(v.get("key")) for v in self.values or [] if isinstance(v, dict)}


class ServicesChange(models.Model):
    """When the services (the active categories and their attributes) were first seen as
    they are: the changeset of the service discovery document, which tells clients to
    refresh their cached service lists (appeals.open311.services.services_changeset)."""

    fingerprint = models.CharField(_("服务清单摘要"), max_length=64, editable=False)
    seen_at = models.DateTimeField(_("首次发现"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("Open311 服务清单变更")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.seen_at:%Y-%m-%d %H:%M} {self.fingerprint[:8]}"

"""Photos from residents and workers: checked by content, re-encoded to strip metadata.

A phone photo carries EXIF (GPS position of the resident's home, device serial); we
never store the original bytes.
"""

import io
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.http import FileResponse
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from governance.kernel.errors import ApplicationError

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png"}
# What a browser calls those formats: the file inputs' accept and the submit form's check
# before upload (static/js/public.js) read them; the content check above stays the rule.
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
# A stored photo, to whoever may see it: kept an hour by the browser, never by a shared cache.
PHOTO_CACHE_CONTROL = "private, max-age=3600"


def photo_rule() -> str:
    """The photo limits as people read them, from the settings (APPEAL_PHOTO_MAX_COUNT,
    APPEAL_PHOTO_MAX_BYTES): forms, the API's field help and the pages say the same."""
    return _("最多 %(n)s 张，JPEG 或 PNG，每张不超过 %(mb)s MB") % {
        "n": settings.APPEAL_PHOTO_MAX_COUNT, "mb": settings.APPEAL_PHOTO_MAX_BYTES // (1024 * 1024),
    }


def photo_response(file) -> FileResponse:
    """A stored photo (an open file) as the answer of a page or an API that checked who asks."""
    response = FileResponse(file)
    response["Cache-Control"] = PHOTO_CACHE_CONTROL
    return response


def _saved_afresh(image, fmt: str, *, quality: int) -> io.BytesIO:
    """The image written anew in its format (JPEG or PNG): pixels only, no metadata."""
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
    return out


def clean_image(upload) -> ContentFile:
    """Return a re-encoded copy of an uploaded JPEG/PNG, without metadata.

    Steps: 1. size limit; 2. Pillow identifies the format from the content (not the
    name); 3. the pixel count is bounded; 4. orientation from EXIF is applied, then the
    pixels are saved afresh (no EXIF, no ICC comments, no trailing data).
    Raises ApplicationError with a Chinese message.
    """
    max_bytes = settings.APPEAL_PHOTO_MAX_BYTES
    name = getattr(upload, "name", "") or _("照片")
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size > max_bytes:
        raise ApplicationError(
            _("照片“%(name)s”超过 %(mb)s MB，请压缩后再上传。") % {"name": name, "mb": max_bytes // (1024 * 1024)}
        )
    upload.seek(0)
    raw = upload.read()
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            width, height = probe.size
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ApplicationError(_("文件“%(name)s”不是有效的图片：只接受 JPEG 或 PNG 照片。") % {"name": name}) from None
    if fmt not in ALLOWED_FORMATS:
        raise ApplicationError(_("文件“%(name)s”不是 JPEG 或 PNG 照片。") % {"name": name})
    if width * height > MAX_PIXELS:
        raise ApplicationError(_("照片“%(name)s”的像素过大，请缩小后再上传。") % {"name": name})
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image = ImageOps.exif_transpose(image)
            out = _saved_afresh(image, fmt, quality=85)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ApplicationError(_("照片“%(name)s”已损坏，无法读取。") % {"name": name}) from None
    cleaned = ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{ALLOWED_FORMATS[fmt]}")
    cleaned.original_name = name  # what the resident called it (told if it cannot be stored)
    return cleaned


# The residents' pages show photos at most this many pixels on their long side.
RESIDENT_MAX_SIDE = 1280


def resized(stored, *, max_side: int = RESIDENT_MAX_SIDE) -> tuple[bytes, str]:
    """A stored photo as the residents' pages serve it: at most ``max_side`` pixels on its
    long side, saved afresh as at intake (no EXIF, no ICC, no trailing data; orientation
    applied). Returns (bytes, content type)."""
    with stored.open("rb") as handle:
        raw = handle.read()
    with Image.open(io.BytesIO(raw)) as image:
        fmt = image.format if image.format in ALLOWED_FORMATS else "JPEG"
        image = ImageOps.exif_transpose(image)
        image.thumbnail((max_side, max_side))
        out = _saved_afresh(image, fmt, quality=82)
    return out.getvalue(), "image/jpeg" if fmt == "JPEG" else "image/png"

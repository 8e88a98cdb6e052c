"""Uploaded photos: JPEG/PNG by content, at most 5 MB, re-encoded without EXIF."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from appeals.images import clean_image
from governance.kernel.errors import ApplicationError


def _jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera 1.0"  # Software
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_jpeg_is_reencoded_without_exif():
    raw = _jpeg_with_exif()
    assert b"PhoneMaker" in raw
    clean = clean_image(SimpleUploadedFile("IMG_0001.JPG", raw, content_type="image/jpeg"))
    data = clean.read()
    assert b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.size == (64, 48)
        assert "exif" not in img.info and len(img.getexif()) == 0
    assert clean.name.endswith(".jpg") and "IMG_0001" not in clean.name


def test_png_works():
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(buf, "PNG")
    clean = clean_image(SimpleUploadedFile("a.png", buf.getvalue()))
    with Image.open(clean) as img:
        assert img.format == "PNG"
    assert clean.name.endswith(".png")


def test_text_renamed_jpg_is_refused():
    with pytest.raises(ApplicationError, match="不是有效的图片"):
        clean_image(SimpleUploadedFile("photo.jpg", "这不是图片".encode(), content_type="image/jpeg"))


def test_other_image_formats_are_refused():
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "GIF")
    with pytest.raises(ApplicationError, match="不是 JPEG 或 PNG"):
        clean_image(SimpleUploadedFile("a.jpg", buf.getvalue()))


def test_over_5_mb_is_refused():
    big = SimpleUploadedFile("big.jpg", _jpeg_with_exif() + b"\0" * (5 * 1024 * 1024))
    with pytest.raises(ApplicationError, match="超过 5 MB"):
        clean_image(big)

"""Helpers the tests share: small uploads, the appeal pages' URLs, and the race harness."""

import io
import threading

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from PIL import Image


def jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    """A small real JPEG upload (the services check photos by content)."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def png(name: str = "photo.png") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def photo_file(tmp_path, name: str = "photo.jpg") -> str:
    """A small real photo (PNG if the name says so, else JPEG) written to a file: what a
    browser's file input is given."""
    upload = png(name) if name.endswith(".png") else jpeg(name)
    path = tmp_path / name
    path.write_bytes(upload.read())
    return str(path)


def detail_url(appeal) -> str:
    """The staff page of one appeal."""
    return reverse("appeals:detail", args=[appeal.tracking_code])


def track_url(code: str) -> str:
    """The resident's tracking page of one appeal."""
    return reverse("public:track-detail", args=[code])


def run_at_once(calls, *, expected=(Exception,), timeout: float = 60) -> tuple[list, list[Exception]]:
    """Run each call in its own thread, all released together by a barrier (each thread
    on its own database connection, closed after). A call is a callable, or a pair
    (prepare, act): ``prepare()`` runs before the barrier (e.g. each thread loads the same
    version of a row) and ``act(prepared)`` after it. Returns (the results of the calls
    that returned, the exceptions of ``expected`` types the others raised); any other
    exception is raised here."""
    barrier = threading.Barrier(len(calls))
    results, errors, unexpected, lock = [], [], [], threading.Lock()

    def worker(call):
        try:
            prepare, act = call if isinstance(call, tuple) else (None, call)
            prepared = prepare() if prepare else None
            barrier.wait(timeout=timeout)
            value = act(prepared) if prepare else act()
            with lock:
                results.append(value)
        except expected as exc:
            with lock:
                errors.append(exc)
        except BaseException as exc:  # reported in the test's thread
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if unexpected:
        raise unexpected[0]
    return results, errors

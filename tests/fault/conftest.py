"""Fixtures of the fault tests: a temporary folder, the portal's environment, and the
servers each test starts of its own. They skip, with the reason, only where a server's
binaries are missing (and fail under GONGZHI_NO_SKIP=1, as .ci/run sets it)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import NO_SKIP


def need(missing: str | None) -> None:
    if missing is None:
        return
    if NO_SKIP:
        pytest.fail(f"required in CI but missing: {missing}")
    pytest.skip(missing)


@pytest.fixture
def folder():
    """A temporary folder the postgres user can reach too (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="gongzhi-fault-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def started():
    """Processes to stop at the end of the test, in reverse order."""
    running = []
    yield running
    for item in reversed(running):
        try:
            item.stop()
        except Exception:  # a server already gone
            pass


def app_database_url() -> str:
    """The URL of pytest-django's test database, for the app's processes (the test's data
    must be committed: django_db(transaction=True))."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"

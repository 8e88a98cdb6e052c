import uuid

import pytest

from appeals.demo import categories_load
from appeals.suggest import coldstart, engine
from appeals.suggest import services as suggest_services
from appeals.suggest.models import CategoryModel


@pytest.fixture
def _sms_outbox_and_eager_tasks(sms_outbox):
    """The SMS outbox; tests/conftest.py already runs queued tasks in-process."""
    return sms_outbox


@pytest.fixture
def freeze(monkeypatch):
    """Freeze the clock every part of the portal reads (django.utils.timezone.now): the
    services' default ``now``, auto_now fields (event times) and the jobs. Call it with
    an aware datetime; again to move on."""
    from django.utils import timezone

    def _freeze(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return _freeze


# --- 智能分拨 (issue 26) ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def corpus_model() -> bytes:
    """The corpus's model (training part), fitted once for the session."""
    train, _held = engine.split(coldstart.corpus_pairs())
    return engine.fit([t for t, _ in train], [c for _, c in train]).dumps()


@pytest.fixture
def current_model(corpus_model):
    """The corpus's model stored as the current one (v1)."""
    categories_load()
    suggest_services.forget_loaded()
    row = CategoryModel.objects.create(
        version=1, token=uuid.uuid4().hex, features="char", classifier="lr", corpus_size=1, appeals_size=0,
        training_size=1, holdout_size=1, top1=0.8, top3=0.95, active=True, size_bytes=len(corpus_model),
        blob=corpus_model)
    yield row
    suggest_services.forget_loaded()



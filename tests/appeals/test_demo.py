"""The demo step: the responsibility list and appeals in every state, idempotently."""

import io
from types import SimpleNamespace

import pytest
from django.utils import timezone

from appeals import demo
from appeals.enums import AppealState, DeadlineUnit
from appeals.models import Appeal, AppealEvent, Category
from appeals.suggest import coldstart
from appeals.suggest import demo as suggest_demo
from appeals.suggest.models import CategoryModel

pytestmark = pytest.mark.django_db


def test_the_list_has_the_classes_and_limits_of_the_design():
    assert len(demo.CATEGORIES) >= 40
    assert len({c.code for c in demo.CATEGORIES}) == len(demo.CATEGORIES)
    classes = {c.class_name for c in demo.CATEGORIES}
    assert {"市容环境", "街面秩序", "公用设施", "物业管理", "邻里纠纷", "养老服务", "社会治安", "消防安全",
            "供水供电供气", "政策咨询"} <= classes
    limits = {(c.limit, c.unit) for c in demo.CATEGORIES}
    assert {(2, DeadlineUnit.HOURS), (24, DeadlineUnit.HOURS), (7, DeadlineUnit.WORKING_DAYS),
            (15, DeadlineUnit.WORKING_DAYS)} <= limits
    assert any(c.volunteer for c in demo.CATEGORIES)


def test_seed_makes_every_state_and_runs_twice_safely(city):
    out = io.StringIO()
    demo.seed(SimpleNamespace(stdout=out))
    assert Category.objects.count() == len(demo.CATEGORIES)
    appeals = Appeal.objects.all()
    assert {a.state for a in appeals} == set(AppealState)
    now = timezone.now()
    assert any(a.deadline and a.deadline < now and a.state in ("dispatched", "in_progress") for a in appeals)
    assert all(a.events.filter(action="receive").count() == 1 for a in appeals)
    assert appeals.filter(co_handlers__checked_in_at__isnull=False).exists()
    count, events = appeals.count(), AppealEvent.objects.count()
    demo.seed(None)
    assert (Appeal.objects.count(), AppealEvent.objects.count()) == (count, events)
    assert "诉求演示数据" in out.getvalue()


def test_demo_appeals_speak_in_the_corpus_words_and_a_first_model_is_trained(city):
    """智能分拨 (issue 26): the demo's appeals read like the corpus; its step trains once."""
    demo.seed(None)
    worded = [a for a in Appeal.objects.filter(category__code__in=list(coldstart.corpus()))
              if not a.description.startswith("巡查发现：")]
    assert worded and all(a.description in coldstart.texts_for(a.category.code) for a in worded)
    out = io.StringIO()
    suggest_demo.seed(SimpleNamespace(stdout=out, verbosity=1))
    model = CategoryModel.objects.get()
    assert model.active and model.corpus_size == len(coldstart.corpus_pairs())
    assert "类别模型 v1" in out.getvalue()
    suggest_demo.seed(SimpleNamespace(stdout=out, verbosity=1))
    assert CategoryModel.objects.count() == 1 and "跳过" in out.getvalue()

"""The reports' demo step: a year of handled appeals, coherent with the log, and scores
computed from them; run twice, it adds nothing."""

import io
from types import SimpleNamespace

import pytest
from django.db.models import Sum

from appeals import demo as appeals_demo
from appeals.models import Appeal, AppealEvent
from governance.assessment.models import MonthlyScore
from governance.reports import demo

pytestmark = pytest.mark.django_db


def test_history_and_scores_for_the_charts(city, login):
    appeals_demo.categories_load()
    out = io.StringIO()
    demo.seed(SimpleNamespace(stdout=out, batch_size=500))
    history = Appeal.objects.filter(events__data__seeded=demo.SEEDED)
    assert history.count() >= 12 * 3  # every month, every community
    assert "历史诉求" in out.getvalue()
    # Every month of the year has a city score with a composite.
    city_scores = MonthlyScore.objects.filter(unit_kind="city", composite__isnull=False)
    assert city_scores.count() >= 12
    # The figures come from the log: the city's due count is the appeals due that month.
    latest_final = MonthlyScore.objects.filter(unit_kind="city", final=True).order_by("-month").first()
    assert latest_final is not None and latest_final.due > 0
    # Some were reported up to the community and some found on patrol, so 不出格率 says something.
    year = MonthlyScore.objects.filter(unit_kind="city").aggregate(
        kept=Sum("grid_kept"), of=Sum("grid_resolved"), found=Sum("self_found"), checked=Sum("self_found_resolved"),
        community_kept=Sum("community_kept"), community_of=Sum("community_resolved"))
    assert 0 < year["kept"] < year["of"] and 0 < year["checked"] <= year["found"]
    assert year["community_kept"] == year["community_of"] > year["of"]  # 上报 stays in the community
    count, events = Appeal.objects.count(), AppealEvent.objects.count()
    demo.seed(None)
    assert (Appeal.objects.count(), AppealEvent.objects.count()) == (count, events)
    # The supervisor's page shows a ranked table and a trend with 12 points.
    response = login(city.users.supervisor).get(f"/reports/?period={latest_final.month:%Y-%m}")
    assert any(r["rank"] for r in response.context["table"].rows)
    trend = response.context["charts"]["trend"]
    assert sum(v is not None for v in trend["composite"]) >= 10

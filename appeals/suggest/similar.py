"""类案参考: the closed appeals most like this one, in its community or street.

By the model's own text features (character n-grams, TF-IDF, L2-normalised rows: a dot
product is the cosine). The cost is bounded: one query reads the CATEGORY_SIMILAR_WINDOW
most recent closed appeals of the appeal's street (the index on (street, state)), and
one sparse product scores them; the same community's appeals come first on ties within
a hundredth. Nothing is stored per appeal.
"""

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from appeals.enums import AppealState
from appeals.models import Appeal
from appeals.suggest.services import current

MIN_SIMILARITY = 0.1


@dataclass(frozen=True)
class SimilarAppeal:
    appeal: Appeal
    similarity: float
    same_community: bool


def similar_closed(appeal: Appeal, *, k: int = 3, window: int | None = None) -> list[SimilarAppeal]:
    """The ``k`` closed appeals of the same street most like ``appeal``'s description
    (its community's first on near-ties), with their category, handling unit and result;
    [] without a model. Two queries: the window, then the ``k`` found with their units."""
    found = current()
    if found is None or not appeal.description or not appeal.street_id:
        return []
    _version, model = found
    window = window or settings.CATEGORY_SIMILAR_WINDOW
    rows = list(Appeal.objects.filter(street_id=appeal.street_id, state=AppealState.CLOSED)
                .exclude(pk=appeal.pk).order_by("-id").values_list("id", "description", "community_id")[:window])
    if not rows:
        return []
    matrix = model.vectors([r[1] for r in rows])
    query = model.vectors([appeal.description])
    scores = np.asarray((matrix @ query.T).todense()).ravel()
    same = np.array([r[2] == appeal.community_id and r[2] is not None for r in rows])
    ranked = np.lexsort((-same.astype(int), -np.round(scores, 2)))
    picked = [(rows[i][0], float(scores[i]), bool(same[i])) for i in ranked[:k] if scores[i] >= MIN_SIMILARITY]
    if not picked:
        return []
    by_id = Appeal.objects.select_related(
        "category", "handling_grid__community", "handling_community", "handling_street", "handling_department",
    ).in_bulk([p[0] for p in picked])
    return [SimilarAppeal(appeal=by_id[pk], similarity=s, same_community=c) for pk, s, c in picked if pk in by_id]

"""类案参考: the closed appeals most like this one, in its community or street.

By the model's own text features (character n-grams, TF-IDF, L2-normalised rows: a dot
product is the cosine). The cost is bounded: one query reads the ids of the
CATEGORY_SIMILAR_WINDOW most recent closed appeals of the appeal's street, newest first (the
index appeal_street_state_created, in its order); their feature rows are kept per process for the most recently used
streets (CACHED_STREETS), so only appeals closed since are read and transformed; one
sparse product scores them; the same community's appeals come first on ties within a
hundredth. Nothing is stored in the database per appeal.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from scipy import sparse

from appeals.enums import AppealState
from appeals.models import Appeal
from appeals.suggest.services import current

MIN_SIMILARITY = 0.1


@dataclass(frozen=True)
class SimilarAppeal:
    appeal: Appeal
    similarity: float
    same_community: bool


# Per process: the feature rows of each street's window (the most recently used streets),
# so that a page transforms only the appeals closed since the last look.
CACHED_STREETS = 32
_windows: OrderedDict = OrderedDict()  # (street, model) → (ids, matrix)
_lock = threading.Lock()


def _window_matrix(model, street_id: str, ids: list[int]):
    """The rows of ``ids`` (in that order): the cached ones reused, the others transformed
    after one query for their descriptions."""
    key = (street_id, getattr(model, "token", None) or id(model))
    with _lock:
        cached = _windows.get(key)
    if cached is not None and cached[0] == ids:
        return cached[1]
    known = {i: n for n, i in enumerate(cached[0])} if cached is not None else {}
    missing = [i for i in ids if i not in known]
    texts = dict(Appeal.objects.filter(id__in=missing).values_list("id", "description")) if missing else {}
    fresh = model.vectors([texts.get(i, "") for i in missing]) if missing else None
    fresh_row = {i: n for n, i in enumerate(missing)}
    parts = []
    for i in ids:
        parts.append(cached[1][known[i]] if i in known else fresh[fresh_row[i]])
    matrix = sparse.vstack(parts, format="csr")
    with _lock:
        _windows[key] = (ids, matrix)
        _windows.move_to_end(key)
        while len(_windows) > CACHED_STREETS:
            _windows.popitem(last=False)
    return matrix


def forget_windows() -> None:
    with _lock:
        _windows.clear()


def similar_closed(appeal: Appeal, *, k: int = 3, window: int | None = None) -> list[SimilarAppeal]:
    """The ``k`` closed appeals of the same street most like ``appeal``'s description
    (its community's first on near-ties), with their category, handling unit and result;
    [] without a model. Two queries, three when appeals were closed since the street's
    window was last read: the window's ids, the new ones' descriptions, the ``k`` found
    with their units."""
    found = current()
    if found is None or not appeal.description or not appeal.street_id:
        return []
    _version, model = found
    window = window or settings.CATEGORY_SIMILAR_WINDOW
    rows = list(Appeal.objects.filter(street_id=appeal.street_id, state=AppealState.CLOSED)
                .order_by("-created_at", "-id").values_list("id", "community_id")[:window])
    if not rows:
        return []
    ids = [r[0] for r in rows]
    matrix = _window_matrix(model, appeal.street_id, ids)
    query = model.vectors([appeal.description])
    scores = np.asarray((matrix @ query.T).todense()).ravel()
    same = np.array([r[1] == appeal.community_id and r[1] is not None for r in rows])
    ranked = np.lexsort((-same.astype(int), -np.round(scores, 2)))
    picked = [(ids[i], float(scores[i]), bool(same[i])) for i in ranked
              if scores[i] >= MIN_SIMILARITY and ids[i] != appeal.pk][:k]
    if not picked:
        return []
    by_id = Appeal.objects.select_related(
        "category", "handling_grid__community", "handling_community", "handling_street", "handling_department",
    ).in_bulk([p[0] for p in picked])
    return [SimilarAppeal(appeal=by_id[pk], similarity=s, same_community=c) for pk, s, c in picked if pk in by_id]

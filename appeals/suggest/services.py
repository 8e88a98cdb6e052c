"""Training the category model, keeping the better one, and the current model per process.

Training (``model_train``, run nightly by ``appeals.suggest.tasks.train_category_model``
and by ``manage.py train_category_model``):
1. the corpus (``coldstart``), the responsibility list's category names, and the closed
   appeals with their final category — ``Appeal.category`` is the category after every
   改派 (a reroute's event records [before, after] and updates it) — the most recent
   CATEGORY_MODEL_MAX_APPEALS of them (a sample: at tier M the nightly job reads 200,000
   of 1,000,000 rows);
2. the held-out fifth (``engine.is_holdout``: by the text, the same fifth every time);
3. fit on the rest, measure top-1 and top-3 on the held-out fifth;
4. measure the current model on the same fifth; the new one becomes current only if its
   top-1 is not lower (ties broken by top-3, not lower either) — else it is stored
   inactive, its figures kept for the record and its bytes dropped;
5. the new version is announced through the shared cache: every process loads it once
   at its next suggestion (``current``).
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from appeals.enums import AppealState
from appeals.models import Appeal, Category
from appeals.suggest import coldstart, engine
from appeals.suggest.models import CategoryModel
from governance.kernel import shared_cache

logger = logging.getLogger(__name__)

CURRENT_KEY = "suggest:current-model"
CURRENT_SECONDS = 300  # how long a process trusts the cached answer "which model is current"


@dataclass(frozen=True)
class TrainOutcome:
    row: CategoryModel
    replaced: bool
    reason: str


def _say(out: Callable[[str], None] | None, message: str) -> None:
    if out is not None:
        out(message)
    else:
        logger.info("%s", message)


def training_pairs(*, max_appeals: int | None = None, out=None) -> tuple[list[tuple[str, str]], int, int]:
    """(text, category code) pairs: the corpus, the category names, then the most recent
    closed appeals (at most ``max_appeals``); returns (pairs, corpus size, appeals size)."""
    limit = settings.CATEGORY_MODEL_MAX_APPEALS if max_appeals is None else max_appeals
    pairs = coldstart.corpus_pairs()
    corpus_n = len(pairs)
    # The responsibility list's own words ("电梯故障", "家庭矛盾"): one line per category.
    pairs += [(name, code) for code, name in Category.objects.filter(active=True).values_list("code", "name")
              if code in coldstart.corpus()]
    appeals: list[tuple[str, str]] = []
    if limit:
        rows = (Appeal.objects.filter(state=AppealState.CLOSED, category__isnull=False)
                .order_by("-id").values_list("description", "category__code")[:limit])
        with transaction.atomic():  # a server-side cursor streams only inside a transaction
            for text, code in rows.iterator(chunk_size=5000):
                if text and text.strip():
                    appeals.append((text, code))
                    if len(appeals) % 50_000 == 0:
                        _say(out, f"  已读取 {len(appeals)} 件已结案诉求……")
    return pairs + appeals, corpus_n, len(appeals)


def _better_or_equal(new: engine.Score, old: engine.Score) -> bool:
    return (new.top1, new.top3) >= (old.top1, old.top3) or (new.top1 >= old.top1 and new.top3 >= old.top3)


def model_train(*, max_appeals: int | None = None, out: Callable[[str], None] | None = None,
                option: str = engine.CHOSEN) -> TrainOutcome:
    """Train a model, measure it, and make it current if it is not worse (see the module)."""
    started = time.perf_counter()
    _say(out, "读取训练数据：语料 + 已结案诉求（最终类别）……")
    pairs, corpus_n, appeals_n = training_pairs(max_appeals=max_appeals, out=out)
    train, held = engine.split(pairs)
    if not train or len({c for _, c in train}) < 2:
        raise ValueError("训练数据不足：至少需要两个类别的文本。")
    _say(out, f"训练集 {len(train)} 条（语料 {corpus_n} 条，诉求 {appeals_n} 件），留出集 {len(held)} 条。")
    model = engine.fit([t for t, _ in train], [c for _, c in train], option=option)
    _say(out, f"训练完成（{time.perf_counter() - started:.1f} 秒），在留出集上评估……")
    held_texts, held_codes = [t for t, _ in held], [c for _, c in held]
    measured = engine.score(model, held_texts, held_codes)
    _say(out, f"新模型：首选准确率 {measured.top1:.1%}，前三准确率 {measured.top3:.1%}。")
    blob = model.dumps()
    if len(blob) > engine.MAX_BYTES:
        raise ValueError(f"模型大小 {len(blob)} 字节，超过上限 {engine.MAX_BYTES} 字节。")

    current_row = CategoryModel.objects.filter(active=True).order_by("-version").first()
    previous = None
    if current_row is not None:
        previous = engine.score(engine.Model.loads(current_row.blob), held_texts, held_codes)
        _say(out, f"现用模型 v{current_row.version}：首选准确率 {previous.top1:.1%}，前三准确率 {previous.top3:.1%}。")
    replaced = previous is None or _better_or_equal(measured, previous)
    with transaction.atomic():
        version = (CategoryModel.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0) + 1
        if replaced:
            # The replaced models keep their figures; their bytes are no longer needed.
            CategoryModel.objects.filter(active=True).update(active=False, blob=b"")
        row = CategoryModel.objects.create(
            version=version, token=uuid.uuid4().hex, features=engine.OPTIONS[option].features,
            classifier=engine.OPTIONS[option].classifier, corpus_size=corpus_n, appeals_size=appeals_n,
            training_size=len(train), holdout_size=len(held), top1=measured.top1, top3=measured.top3,
            previous_top1=previous.top1 if previous else None, previous_top3=previous.top3 if previous else None,
            active=replaced, seconds=time.perf_counter() - started, size_bytes=len(blob),
            blob=blob if replaced else b"",
        )
        if replaced:
            transaction.on_commit(lambda: _announce(row), robust=True)
    reason = ("启用新模型" if previous is None else
              "新模型不差于现用模型，已替换" if replaced else "新模型不如现用模型，保留现用模型")
    _say(out, f"v{row.version}：{reason}（共 {row.seconds:.1f} 秒，模型 {len(blob) / 1024 / 1024:.1f} MB）。")
    return TrainOutcome(row=row, replaced=replaced, reason=reason)


def _announce(row: CategoryModel) -> None:
    shared_cache.put(CURRENT_KEY, (row.version, row.token), None, what="suggest: current model")
    _local.update(key=(row.version, row.token), until=time.monotonic() + LOCAL_SECONDS)


# --- the current model, once per process ----------------------------------------------------------

_loaded: dict[str, engine.Model] = {}  # token → model (only the current one is kept)
# The answer "which model is current", kept in the process this long: a suggestion then
# costs no round trip to the shared cache (a new model reaches every process within it).
LOCAL_SECONDS = 10.0
_local: dict[str, object] = {"key": None, "until": 0.0}


def _current_key() -> tuple[int, str] | None:
    now = time.monotonic()
    if _local["until"] > now:
        return _local["key"]
    key = _shared_current_key()
    _local.update(key=key, until=now + LOCAL_SECONDS)
    return key


def _shared_current_key() -> tuple[int, str] | None:
    found = shared_cache.get(CURRENT_KEY, what="suggest: current model")
    if found is not None:
        return tuple(found) if found else None
    row = CategoryModel.objects.filter(active=True).order_by("-version").values_list("version", "token").first()
    shared_cache.put(CURRENT_KEY, tuple(row) if row else (), CURRENT_SECONDS, what="suggest: current model")
    return tuple(row) if row else None


def current() -> tuple[int, engine.Model] | None:
    """(version, model) of the current model, or None when none was trained. Asks the
    shared cache which one is current (the database when the cache has no answer); loads
    its bytes once per process."""
    key = _current_key()
    if key is None:
        return None
    version, token = key
    model = _loaded.get(token)
    if model is None:
        blob = CategoryModel.objects.filter(version=version, token=token, active=True).values_list(
            "blob", flat=True).first()
        if not blob:
            # The cache named a model that is gone (replaced, or another database's): ask again.
            shared_cache.put(CURRENT_KEY, None, 1, what="suggest: current model")
            row = CategoryModel.objects.filter(active=True).order_by("-version").values_list(
                "version", "token", "blob").first()
            if row is None or not row[2]:
                return None
            version, token, blob = row
            shared_cache.put(CURRENT_KEY, (version, token), CURRENT_SECONDS, what="suggest: current model")
            _local.update(key=(version, token), until=time.monotonic() + LOCAL_SECONDS)
        model = engine.Model.loads(blob)
        model.token = token  # names the model for the per-process caches (appeals.suggest.similar)
        _loaded.clear()
        _loaded[token] = model
    return version, model


def forget_loaded() -> None:
    """Drop the process's loaded model and its answer to "which is current" (tests)."""
    _loaded.clear()
    _local.update(key=None, until=0.0)


@dataclass(frozen=True)
class Suggestion:
    version: int
    top: tuple[tuple[Category, float], ...]  # best first

    @property
    def codes(self) -> list[str]:
        return [c.code for c, _p in self.top]

    @property
    def confidence(self) -> float:
        return self.top[0][1] if self.top else 0.0

    @property
    def first(self) -> Category | None:
        return self.top[0][0] if self.top else None


def suggest(text: str, *, k: int = 3) -> Suggestion | None:
    """The ``k`` most probable active categories for ``text``, or None (no model, no
    text). Never raises for a broken model: a suggestion is a help, not a step of intake."""
    from appeals import catalog

    if not text or not text.strip():
        return None
    try:
        found = current()
        if found is None:
            return None
        version, model = found
        active = catalog.active_categories_by_code()
        top = model.top(text, k, allowed=set(active))
    except Exception:
        logger.exception("suggest: the category model failed")
        return None
    return Suggestion(version=version, top=tuple((active[code], p) for code, p in top))

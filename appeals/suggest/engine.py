"""The text features and the classifier, with no Django in them: fit, measure, pack.

Chinese has no spaces between words, so the features are character n-grams (1–3
characters, TF-IDF, sublinear term frequency): "电梯", "漏水", "井盖" are features of their
own without a word segmenter, and so are a resident's typos and the shop names nobody's
dictionary knows. The classifier is a multinomial logistic regression: probabilities
that mean something for the intake's threshold, fitted in seconds on the corpus and in
minutes on 200,000 appeals. The README has the comparison that chose them (``compare``).

The held-out fifth: a text whose CRC-32 is divisible by 5. The rule depends on the text
only, so it is the same fifth at every training (the model in use never trained on the
texts that measure its successor), and a corpus text used again as a demo appeal's
description falls on the same side.
"""

import pickle
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# A model's bytes: at most 20 MB (issue 26). MAX_FEATURES × classes × 4 bytes (float32)
# bounds the coefficients: 40,000 × 60 × 4 = 9.6 MB before compression.
MAX_BYTES = 20 * 1024 * 1024
MAX_FEATURES = 40_000
MAX_TEXT = 1000  # characters read of a text: the first ones say what it is about


def normalise(text: str) -> str:
    return " ".join((text or "")[:MAX_TEXT].split()).lower()


def is_holdout(text: str) -> bool:
    return zlib.crc32(normalise(text).encode("utf-8")) % 5 == 0


@dataclass(frozen=True)
class Option:
    name: str
    features: str
    classifier: str
    build: Callable


def _char_lr():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, max_features=MAX_FEATURES,
                        dtype=np.float32),
        LogisticRegression(C=20.0, tol=1e-3, max_iter=300),
    )


def _char_wb_lr():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, max_features=MAX_FEATURES,
                        dtype=np.float32),
        LogisticRegression(C=20.0, tol=1e-3, max_iter=300),
    )


def _char_svm():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, max_features=MAX_FEATURES,
                        dtype=np.float32),
        CalibratedClassifierCV(LinearSVC(C=1.0), cv=3),
    )


def _jieba_tokens(text: str) -> list[str]:
    import jieba

    return [t for t in jieba.lcut(text) if t.strip()]


def _words_lr():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(tokenizer=_jieba_tokens, token_pattern=None, lowercase=False, ngram_range=(1, 2),
                        sublinear_tf=True, max_features=MAX_FEATURES, dtype=np.float32),
        LogisticRegression(C=20.0, tol=1e-3, max_iter=300),
    )


OPTIONS = {
    "char-lr": Option("char-lr", "字符 1–3 元组 TF-IDF", "逻辑回归", _char_lr),
    "charwb-lr": Option("charwb-lr", "字符 1–3 元组 TF-IDF（按空白分词边界）", "逻辑回归", _char_wb_lr),
    "char-svm": Option("char-svm", "字符 1–3 元组 TF-IDF", "线性 SVM（校准概率）", _char_svm),
    "jieba-lr": Option("jieba-lr", "jieba 分词 1–2 元组 TF-IDF", "逻辑回归", _words_lr),
}
CHOSEN = "char-lr"


class Model:
    """A fitted pipeline and what it knows: ``top(text)`` → [(category code, probability)]."""

    def __init__(self, pipeline, option: str = CHOSEN):
        self.pipeline = pipeline
        self.option = option
        self.labels = [str(c) for c in pipeline.classes_]

    @property
    def vectorizer(self):
        return self.pipeline.steps[0][1]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict_proba([normalise(t) for t in texts])

    def top(self, text: str, k: int = 3, *, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` most probable categories, best first (only codes in ``allowed``, if given)."""
        probs = self.probabilities([text])[0]
        out = []
        for i in np.argsort(-probs):
            code = self.labels[i]
            if allowed is not None and code not in allowed:
                continue
            out.append((code, float(probs[i])))
            if len(out) == k:
                break
        return out

    def vectors(self, texts: Sequence[str]):
        """The texts' feature vectors (L2-normalised rows: a dot product is the cosine)."""
        return self.vectorizer.transform([normalise(t) for t in texts])

    def dumps(self) -> bytes:
        return zlib.compress(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL), 6)

    @staticmethod
    def loads(blob: bytes) -> "Model":
        # Only the training job writes these bytes (appeals.suggest.services): never a user.
        return pickle.loads(zlib.decompress(bytes(blob)))  # noqa: S301


def fit(texts: Sequence[str], codes: Sequence[str], *, option: str = CHOSEN) -> Model:
    """Fit the option's pipeline; the coefficients are kept as float32 and the vectorizer's
    list of pruned features (only kept for introspection, often larger than the model) is
    dropped, so that the bytes stay small."""
    pipeline = OPTIONS[option].build()
    pipeline.fit([normalise(t) for t in texts], list(codes))
    vectorizer = pipeline.steps[0][1]
    if hasattr(vectorizer, "stop_words_"):
        vectorizer.stop_words_ = None
    classifier = pipeline.steps[-1][1]
    if hasattr(classifier, "coef_"):
        classifier.coef_ = classifier.coef_.astype(np.float32)
        classifier.intercept_ = classifier.intercept_.astype(np.float32)
    return Model(pipeline, option)


@dataclass(frozen=True)
class Score:
    top1: float
    top3: float
    size: int


def score(model: Model, texts: Sequence[str], codes: Sequence[str], *, chunk: int = 5000) -> Score:
    """Top-1 and top-3 accuracy (a code the model does not know counts as a miss)."""
    if not texts:
        return Score(0.0, 0.0, 0)
    index = {c: i for i, c in enumerate(model.labels)}
    hits1 = hits3 = 0
    for start in range(0, len(texts), chunk):
        probs = model.probabilities(texts[start:start + chunk])
        best = np.argsort(-probs, axis=1)[:, :3]
        for row, code in zip(best, codes[start:start + chunk]):
            i = index.get(code)
            if i is None:
                continue
            hits1 += int(row[0] == i)
            hits3 += int(i in row)
    return Score(hits1 / len(texts), hits3 / len(texts), len(texts))


def split(pairs: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(training, held-out) by ``is_holdout``."""
    train, held = [], []
    for pair in pairs:
        (held if is_holdout(pair[0]) else train).append(pair)
    return train, held


def compare(pairs: Sequence[tuple[str, str]], options: Sequence[str] = tuple(OPTIONS)) -> list[dict]:
    """Each option fitted on the training part and measured on the held-out fifth, with its
    fitting time, inference p95 and size. An option whose library is missing is skipped."""
    train, held = split(pairs)
    rows = []
    for name in options:
        try:
            started = time.perf_counter()
            model = fit([t for t, _ in train], [c for _, c in train], option=name)
        except ImportError as exc:
            rows.append({"option": name, "error": str(exc)})
            continue
        seconds = time.perf_counter() - started
        measured = score(model, [t for t, _ in held], [c for _, c in held])
        timings = []
        for text, _code in held[:200]:
            t0 = time.perf_counter()
            model.top(text)
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        rows.append({
            "option": name, "features": OPTIONS[name].features, "classifier": OPTIONS[name].classifier,
            "train": len(train), "held_out": len(held), "top1": measured.top1, "top3": measured.top3,
            "fit_seconds": seconds, "p95_ms": timings[int(len(timings) * 0.95) - 1] if timings else 0.0,
            "bytes": len(model.dumps()),
        })
    return rows

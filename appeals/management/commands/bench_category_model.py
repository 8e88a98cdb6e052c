"""Inference time of the current category model in this process (issue 26: p95 ≤ 20 ms):

    python manage.py bench_category_model [--n 500]

Suggests a category for the held-out fifth of the corpus (repeated up to ``--n`` texts)
and prints p50, p95, p99 and max in milliseconds; also 类案参考's time for one appeal's
street window when closed appeals exist.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from appeals.enums import AppealState
from appeals.models import Appeal
from appeals.suggest import coldstart, engine
from appeals.suggest.services import current, suggest
from appeals.suggest.similar import similar_closed


def _percentiles(values: list[float]) -> str:
    values = sorted(values)

    def at(q):
        return values[min(len(values) - 1, int(len(values) * q))]

    return f"p50 {at(0.5):.2f} ms  p95 {at(0.95):.2f} ms  p99 {at(0.99):.2f} ms  max {values[-1]:.2f} ms"


class Command(BaseCommand):
    help = "测量现用类别模型的推理耗时（p50/p95/p99）。"

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, default=500, help="测量的文本条数")

    def handle(self, *args, n: int = 500, **options):
        if current() is None:
            raise CommandError("尚未训练类别模型：请先运行 python manage.py train_category_model。")
        _train, held = engine.split(coldstart.corpus_pairs())
        texts = [t for t, _ in held] or ["楼道灯坏了"]
        texts = (texts * (n // len(texts) + 1))[:n]
        suggest(texts[0])  # the first call loads the model
        version, model = current()
        timings, whole = [], []
        for text in texts:
            started = time.perf_counter()
            model.top(text)
            timings.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            suggest(text)
            whole.append((time.perf_counter() - started) * 1000)
        self.stdout.write(f"模型 v{version}，{len(model.labels)} 个类别；推理 {len(timings)} 次：{_percentiles(timings)}")
        self.stdout.write(f"suggest()（含类别目录与现用模型的检查）：{_percentiles(whole)}")
        appeal = Appeal.objects.filter(state=AppealState.CLOSED).order_by("-id").first()
        if appeal is not None:
            timings = []
            similar_closed(appeal)  # the street's window read and transformed once
            for _i in range(20):
                started = time.perf_counter()
                similar_closed(appeal)
                timings.append((time.perf_counter() - started) * 1000)
            self.stdout.write(f"类案参考（本街道最近已结案诉求窗口，已缓存）20 次：{_percentiles(timings)}")

"""Train the category model now (the nightly job does the same):

    python manage.py train_category_model                 # corpus + the most recent closed appeals
    python manage.py train_category_model --max-appeals 0 # the corpus alone
    python manage.py train_category_model --compare       # measure the options on the corpus, store nothing

The new model replaces the current one only if it is not worse on the held-out fifth.
"""

from django.core.management.base import BaseCommand, CommandError

from appeals.suggest import coldstart, engine
from appeals.suggest.services import model_train


class Command(BaseCommand):
    help = "训练诉求类别模型（语料 + 已结案诉求）；新模型在留出集上不差于现用模型时才替换。"

    def add_arguments(self, parser):
        parser.add_argument("--max-appeals", type=int, default=None,
                            help="最多读取多少件最近的已结案诉求（默认 CATEGORY_MODEL_MAX_APPEALS）")
        parser.add_argument("--compare", action="store_true",
                            help="只比较各方案在语料留出集上的表现（不保存模型）")
        parser.add_argument("--option", choices=sorted(engine.OPTIONS), default=engine.CHOSEN,
                            help="特征与分类器方案（默认 %(default)s）")

    def handle(self, *args, max_appeals=None, compare=False, option=engine.CHOSEN, **options):
        if compare:
            self._compare()
            return
        try:
            outcome = model_train(max_appeals=max_appeals, option=option, out=self.stdout.write)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        row = outcome.row
        self.stdout.write(self.style.SUCCESS(
            f"v{row.version} {'已启用' if outcome.replaced else '未启用'}：训练集 {row.training_size} 条，"
            f"留出集 {row.holdout_size} 条，首选 {row.top1:.1%}，前三 {row.top3:.1%}。"))

    def _compare(self):
        pairs = coldstart.corpus_pairs()
        self.stdout.write(f"语料 {len(pairs)} 条，{len(coldstart.corpus())} 个类别；留出五分之一比较：")
        self.stdout.write("option\tfeatures\tclassifier\ttrain\theld_out\ttop1\ttop3\tfit_s\tp95_ms\tbytes")
        for row in engine.compare(pairs):
            if "error" in row:
                self.stdout.write(f"{row['option']}\t未安装所需的库：{row['error']}")
                continue
            self.stdout.write(
                f"{row['option']}\t{row['features']}\t{row['classifier']}\t{row['train']}\t{row['held_out']}\t"
                f"{row['top1']:.1%}\t{row['top3']:.1%}\t{row['fit_seconds']:.1f}\t{row['p95_ms']:.2f}\t{row['bytes']}")

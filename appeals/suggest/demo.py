"""seed_demo step (DEMO_STEPS: "appeals.suggest.demo.seed"): a first category model, on
the corpus alone (a few seconds), so that the submit form and the dispatcher's page show
suggestions at once — the demo's history speaks in the corpus's words, so its appeals
would teach the model nothing new; the nightly job adds them. Skipped when a model is
already current."""

from appeals.suggest.models import CategoryModel
from appeals.suggest.services import model_train

DEMO_MAX_APPEALS = 0


def seed(ctx=None) -> None:
    out = getattr(ctx, "stdout", None)
    quiet = out is None or not getattr(ctx, "verbosity", 1)

    def write(message: str) -> None:
        if not quiet:
            out.write(message)

    if CategoryModel.objects.filter(active=True).exists():
        write("智能分拨：已有类别模型，跳过训练")
        return
    outcome = model_train(max_appeals=DEMO_MAX_APPEALS, out=lambda _message: None)
    row = outcome.row
    write(f"智能分拨：类别模型 v{row.version}（训练集 {row.training_size} 条，留出集首选准确率 {row.top1:.1%}，"
          f"前三 {row.top3:.1%}）")

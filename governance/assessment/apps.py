from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    """Performance assessment (绩效考核, DESIGN.md §5): a sub-app of governance with its
    own migrations."""

    name = "governance.assessment"
    label = "assessment"
    verbose_name = "绩效考核"

"""Rules of the code base's shape that a search can hold (docs/ARCHITECTURE.md)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("appeals", "governance", "grids", "volunteers", "bench", "tests")


def _python_files():
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path


def _hits(patterns: list[str], *, allowed: set[str]) -> list[str]:
    found = []
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            for match in re.finditer(pattern, text, flags=re.IGNORECASE):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{relative}:{line}: {match.group(0)}")
    return found


# Ways to create an event row: the model's constructor, the manager's and the related
# manager's create/bulk_create, raw INSERT or COPY on its table, and the generic bulk load.
EVENT_WRITES = [
    r"(?<!class )AppealEvent\s*\(",
    r"AppealEvent\.objects\.(create|bulk_create|get_or_create|update_or_create)\b",
    r"\.events\.(create|bulk_create|get_or_create)\b",
    r"(INSERT\s+INTO|COPY)\s+[\"'`]?appeals_appealevent",
    r"copy_rows\(\s*AppealEvent\b",
]


def test_events_are_written_only_by_the_event_writer():
    this = Path(__file__).relative_to(ROOT).as_posix()
    assert _hits(EVENT_WRITES, allowed={"appeals/events.py", this}) == []


def test_the_search_finds_what_it_looks_for(tmp_path):
    """The patterns above match each way of writing an event (so an empty result means
    something)."""
    samples = [
        'AppealEvent(appeal=a, action="note")',
        "AppealEvent.objects.create(appeal=a)",
        "AppealEvent.objects.bulk_create(rows)",
        "appeal.events.create(action='note')",
        'cursor.execute("INSERT INTO appeals_appealevent (appeal_id) VALUES (1)")',
        'copy_expert("COPY appeals_appealevent (id) FROM STDIN")',
        "copy_rows(AppealEvent, rows)",
    ]
    for sample in samples:
        assert any(re.search(p, sample, flags=re.IGNORECASE) for p in EVENT_WRITES), sample


# The layers' units (pyproject.toml's import-linter contracts); the project package's own
# modules (settings, urls, views, tasks, demo) are none of them.
UNITS = ("governance.assessment", "governance.reports", "governance.staff", "governance.kernel", "grids", "appeals",
         "volunteers")


def _unit(module: str) -> str | None:
    return next((u for u in UNITS if module == u or module.startswith(u + ".")), None)


def _app_modules():
    for top in ("appeals", "grids", "volunteers", "governance"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if _unit(module):
                yield path, module


def test_no_import_between_apps_hides_inside_a_function():
    """import-linter sees imports inside functions too, but a reader does not: between the
    layers' units, imports stand at the top of the module."""
    hidden = []
    for path, module in _app_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                    targets = [inner.module]
                elif isinstance(inner, ast.Import):
                    targets = [alias.name for alias in inner.names]
                else:
                    continue
                for target in targets:
                    if _unit(target) and _unit(target) != _unit(module):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}: {target}")
    assert hidden == []


def test_no_app_reaches_another_by_name_outside_the_hook_registry():
    found = []
    for path, module in _app_modules():
        if module == "governance.kernel.hooks":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\bapps\.get_model\(", r"\bimport_module\(", r"\b__import__\("):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []

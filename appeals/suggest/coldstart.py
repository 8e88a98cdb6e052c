"""The cold-start corpus: residents' complaints written for every category of the
responsibility list, shipped with the code (``corpus/<category code>.txt``).

The format: UTF-8, one complaint per line, no tabs, no empty lines; a line starting with
``#`` is a comment.
"""

from functools import cache
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


@cache
def corpus() -> dict[str, tuple[str, ...]]:
    """{category code: its complaints}, read once per process."""
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted(CORPUS_DIR.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        found[path.stem] = tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    return found


def corpus_pairs() -> list[tuple[str, str]]:
    """Every (text, category code) of the corpus, by code then line."""
    return [(text, code) for code, lines in corpus().items() for text in lines]


def texts_for(code: str) -> tuple[str, ...]:
    """The corpus's complaints of one category (empty when it has none)."""
    return corpus().get(code, ())

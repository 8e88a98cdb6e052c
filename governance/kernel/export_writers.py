"""The export jobs' writers by kind (governance.kernel.exports runs them): registered by the
layer that owns the data, in its AppConfig.ready, so the kernel imports no app. Imports no
model: an AppConfig module may import it before the apps are ready."""

from collections.abc import Callable

# kind -> writer(*, job, out, progress) -> rows written
_writers: dict[str, Callable] = {}


def register(kind: str, writer: Callable) -> None:
    """The writer of the exports of ``kind``: called by the worker with the job, the open
    binary file and a ``Progress``; returns the rows written."""
    _writers[kind] = writer


def writer_for(kind: str) -> Callable:
    try:
        return _writers[kind]
    except KeyError:
        raise LookupError(f"no export writer registered for {kind!r}") from None

"""The hook registry: how a lower layer lets a higher one act on its events without
importing it (DESIGN.md layers: an app never imports one above it).

The lower layer names a hook and fires it; the higher layer registers its function for
that name when its app is ready. No app reaches another by ``apps.get_model`` or
``import_module`` outside this registry (tests/test_architecture.py searches for both).
"""

from collections import defaultdict
from collections.abc import Callable

_registry: dict[str, list[Callable]] = defaultdict(list)


def register(name: str, function: Callable) -> None:
    """Run ``function(**kwargs)`` whenever hook ``name`` fires (once per function)."""
    if function not in _registry[name]:
        _registry[name].append(function)


def fire(name: str, **kwargs) -> None:
    """Run the functions registered for ``name``, in order, in the caller's transaction."""
    for function in list(_registry[name]):
        function(**kwargs)

"""Compiled numba code kept on disk between processes, for umap-learn and pynndescent.

Why: scanpy's `sc.tl.umap` imports umap-learn, which imports pynndescent, and
pynndescent compiles dozens of numba functions with explicit signatures at import time
without numba's on-disk cache. Every per-sample job (`sc_sample`, the cohort picture)
paid that compilation before any work: `import umap` took 37.5 s in a fresh process,
5.5 s with the cache (measured on the 2-core machine at load 11; bench/singlecell.py
showed sc-sample at ~10x the time of sc-annotate). Numba has no global default for
`cache=`, so its decorators are wrapped to default it to True before those modules are
imported; an explicit `cache=False` in a library stays. Compiled code is the same with
or without the cache, so results do not change.

Where the cache goes follows numba's own rule: the package's __pycache__ when writable
(the project's .venv), else NUMBA_CACHE_DIR or the user's cache directory.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

#: the modules whose import compiles; wrapping after they are imported would be too late
LATE = ("umap", "pynndescent")


def enable() -> bool:
    """Default numba's `cache=` to True for code compiled from now on; False when it is
    too late (umap or pynndescent already imported) and nothing was changed."""
    import numba

    if getattr(numba.njit, "marrowtox_cache", False):
        return True
    if any(m in sys.modules for m in LATE):
        return False
    numba.njit = _with_cache(numba.njit)
    numba.jit = _with_cache(numba.jit)
    # a function that closes over dynamic globals cannot be cached: numba says so with a
    # warning per function and compiles it as before, which is not the user's concern
    from numba.core.errors import NumbaWarning

    warnings.filterwarnings(
        "ignore", message=r"Cannot cache compiled function", category=NumbaWarning
    )
    return True


def _with_cache(decorator: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cache", True)
        return decorator(*args, **kwargs)

    wrapped.marrowtox_cache = True  # type: ignore[attr-defined]
    wrapped.__doc__ = decorator.__doc__
    return wrapped

"""marrowtox.singlecell.numba_cache: umap-learn's and pynndescent's compiled code is
kept on disk, so a per-sample job no longer compiles it again (bench/singlecell.py)."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return out.stdout.strip()


def test_pynndescent_functions_get_an_on_disk_cache() -> None:
    # without enable() pynndescent's distances compile with a NullCache (nothing on disk)
    code = (
        "from marrowtox.singlecell import numba_cache as n\n"
        "print(n.enable())\n"
        "import pynndescent.distances as d\n"
        "print(type(d.euclidean._cache).__name__)\n"
    )
    assert _run(code).split() == ["True", "FunctionCache"]


def test_an_explicit_cache_false_stays(tmp_path) -> None:
    # numba's default (no cache) is what pynndescent gets without enable(); a library
    # that says cache=False keeps it
    (tmp_path / "lib.py").write_text(
        "import numba\n"
        "@numba.njit('f8(f8)')\n"
        "def plain(x):\n    return x\n"
        "@numba.njit('f8(f8)', cache=False)\n"
        "def refused(x):\n    return x\n"
    )
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "import lib as before\n"
        "print(type(before.plain._cache).__name__)\n"
        "del sys.modules['lib']\n"
        "from marrowtox.singlecell import numba_cache as n\n"
        "n.enable()\n"
        "import lib as after\n"
        "print(type(after.plain._cache).__name__, type(after.refused._cache).__name__)\n"
    )
    assert _run(code).split() == ["NullCache", "FunctionCache", "NullCache"]


def test_too_late_once_umap_is_imported() -> None:
    code = (
        "import sys, types\n"
        "sys.modules['umap'] = types.ModuleType('umap')\n"
        "from marrowtox.singlecell import numba_cache as n\n"
        "import numba\n"
        "before = numba.njit\n"
        "print(n.enable(), numba.njit is before)\n"
    )
    assert _run(code).split() == ["False", "True"]

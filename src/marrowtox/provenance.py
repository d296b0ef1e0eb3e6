"""Provenance record of a run: what produced these results, checkable later.

A cohort is rerun for months; the report footer and results/provenance.json say
which versions, which configuration (hash) and which shipped resources (checksums)
made the numbers, so two result folders can be compared without guesswork.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from marrowtox import __version__
from marrowtox.atomic import write_text

PACKAGES = (
    "snakemake",
    "scanpy",
    "anndata",
    "pandas",
    "numpy",
    "scipy",
    "pysam",
    "seaborn",
    "matplotlib",
    "harmonypy",
    "decoupler",
    "leidenalg",
    "igraph",
    "scikit-learn",
    "umap-learn",
    "pynndescent",
    "h5py",
    "jinja2",
)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def config_hash(config: dict[str, Any]) -> str:
    """Hash of the configuration as loaded (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def collect(config: dict[str, Any], resources: Iterable[str | Path], basedir: str | Path) -> dict:
    base = Path(basedir).resolve()
    res = {}
    for f in sorted(map(Path, resources)):
        p = f.resolve()
        key = str(p.relative_to(base)) if p.is_relative_to(base) else str(f)
        res[key] = sha256_file(p)
    return {
        "marrowtox_version": __version__,
        "python": platform.python_version(),
        "packages": package_versions(),
        "config_sha256": config_hash(config),
        "resources": res,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def write(
    config: dict[str, Any], resources: Iterable[str | Path], basedir: str | Path, out: str | Path
) -> None:
    write_text(
        json.dumps(collect(config, resources, basedir), indent=2, sort_keys=True) + "\n", out
    )

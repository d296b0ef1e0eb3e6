"""What the workflow's parse reads from data-file headers, kept across Snakemake starts.

Every Snakemake start parses common.smk, whose pre-flight and protein routing read each
scRNA file's gene list (mitochondrial, CAR-feature and shared-gene checks) and whether
it carries proteins. The content checks have their own cache, but these reads did not:
~7 ms per real 10x file on every start, about a minute at 6,000 samples (bench/dag.py
--real-scrna). Here each answer is kept per (kind, absolute path) with the file's size
and modification time, in one gzip'd JSON file beside the content-check cache
(.snakemake/), and read again only when the file changed.

Gene lists are stored once per distinct content (a cohort on one reference holds one
list), and a list is one shared object in the process, so checks that memoise per list
object (preflight.mito_warnings) keep doing so. Callers must not modify returned lists.

Without `load`, answers are memoised for the process only (`marrowtox validate`, tests).
Light imports only (marrowtox.atomic is standard library): prot.header imports this at
every parse, before anndata.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

from marrowtox.atomic import atomic_path

#: bump when the stored answers change meaning
VERSION = 1

#: (kind, path) -> [size, mtime_ns, answer]; a list answer is stored as {"list": digest}
_files: dict[str, list[Any]] = {}
#: digest -> the one shared list of that content, and back by object identity (the
#: lists are kept alive here, so an id is not reused while it is a key)
_lists: dict[str, list[str]] = {}
_digests: dict[int, str] = {}
_state: dict[str, Any] = {"path": None, "changed": False}


def load(path: str) -> None:
    """Use the store at `path` for this process (read now; a missing, unreadable or
    older-version store is an empty one, rebuilt as files are read)."""
    _state.update(path=path, changed=False)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError, EOFError):
        return
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return
    lists, files = data.get("lists"), data.get("files")
    if not isinstance(lists, dict) or not isinstance(files, dict):
        return
    for digest, genes in lists.items():
        if digest not in _lists and isinstance(genes, list):
            _lists[digest] = genes
            _digests[id(genes)] = digest
    for key, entry in files.items():
        if isinstance(entry, list) and len(entry) == 3:  # [size, mtime_ns, answer]
            _files.setdefault(key, entry)


def _signature(path: str) -> tuple[str, int, int] | None:
    """Absolute path, size and modification time; for a folder (a 10x matrix folder),
    its files' total size and latest modification, so a rewritten features file counts."""
    try:
        st = os.stat(path)
        if not os.path.isdir(path):
            return os.path.abspath(path), st.st_size, st.st_mtime_ns
        stats = [e.stat() for e in os.scandir(path)]
    except OSError:
        return None
    size = sum(s.st_size for s in stats)
    return os.path.abspath(path), size, max([st.st_mtime_ns] + [s.st_mtime_ns for s in stats])


def _digest(genes: list[str]) -> str:
    """The content digest of a list, registering it as its content's list when new (a
    list already shared is not joined and hashed again)."""
    if id(genes) in _digests:
        return _digests[id(genes)]
    digest = hashlib.sha1("\n".join(genes).encode()).hexdigest()
    if digest not in _lists:
        _lists[digest] = genes
        _digests[id(genes)] = digest
    return digest


def lookup(kind: str, path: str, read: Callable[[], Any]) -> Any:
    """`read()`'s answer for the file at `path`, from the store while the file keeps its
    size and modification time. `read` returns None, a bool or a list of strings; a
    missing file is not stored (its answer is None)."""
    sig = _signature(path)
    if sig is None:
        return None
    key = f"{kind}|{sig[0]}"
    entry = _files.get(key)
    if entry is not None and entry[0] == sig[1] and entry[1] == sig[2]:
        answer = entry[2]
        if not isinstance(answer, dict):
            return answer
        if answer.get("list") in _lists:  # else a damaged store: read the file again
            return _lists[answer["list"]]
    answer = read()
    stored: Any = answer
    if isinstance(answer, list):
        digest = _digest(answer)
        answer = _lists[digest]
        stored = {"list": digest}
    _files[key] = [sig[1], sig[2], stored]
    _state["changed"] = True
    return answer


def _still_there(key: str) -> bool:
    return os.path.exists(key.split("|", 1)[1])


def save() -> None:
    """Write the store (atomically) when this process added to it. Entries of files
    that no longer exist are dropped (a cohort re-run from new paths would otherwise
    grow the store by every old path; one stat per entry, only when writing), and so
    are lists no entry uses any more."""
    path = _state["path"]
    if not path or not _state["changed"]:
        return
    files = {k: e for k, e in _files.items() if _still_there(k)}
    used = {e[2].get("list") for e in files.values() if isinstance(e[2], dict)}
    data = {
        "version": VERSION,
        "files": files,
        "lists": {d: genes for d, genes in _lists.items() if d in used},
    }
    try:
        # concurrent parses (cluster jobs) each write a whole store: the last one wins
        with (
            atomic_path(path) as tmp,
            gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh,
        ):
            json.dump(data, fh, separators=(",", ":"))
    except OSError:
        return  # a read-only working directory only costs the next start its reads
    _state["changed"] = False


def reset() -> None:
    """Forget everything (tests)."""
    _files.clear()
    _lists.clear()
    _digests.clear()
    _state.update(path=None, changed=False)

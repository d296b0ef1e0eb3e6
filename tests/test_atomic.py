"""Atomic writes: an interrupted write never leaves a file under its final name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from marrowtox.atomic import atomic_path, write_tsv


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.tsv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a table")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_failed_rewrite_keeps_previous_result(tmp_path: Path) -> None:
    target = tmp_path / "table.tsv"
    write_tsv(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise KeyboardInterrupt
    assert target.read_bytes() == before


def test_temp_keeps_suffix_and_tsv_is_stable(tmp_path: Path) -> None:
    target = tmp_path / "x.vcf.gz"
    with atomic_path(target) as tmp:
        assert tmp.name.endswith(".vcf.gz") and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    df = pd.DataFrame({"v": [0.1 + 0.2, 1 / 3]})
    write_tsv(df, tmp_path / "a.tsv")
    write_tsv(df.copy(), tmp_path / "b.tsv")
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    assert (tmp_path / "a.tsv").read_text() == "v\n0.3\n0.3333333333\n"

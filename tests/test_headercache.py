"""The header store the workflow's parse keeps across Snakemake starts (marrowtox.headercache)."""

import gzip
import json
import os

import pytest

from marrowtox import headercache


@pytest.fixture(autouse=True)
def _fresh_store():
    headercache.reset()
    yield
    headercache.reset()


def _new_process(store) -> None:
    """What the next Snakemake start sees: nothing in memory, the store on disk."""
    headercache.reset()
    headercache.load(str(store))


def _never() -> None:
    raise AssertionError("read although the file did not change")


def test_answers_survive_a_restart_until_the_file_changes(tmp_path) -> None:
    store = tmp_path / ".snakemake" / "headers.json.gz"
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    a.write_bytes(b"x" * 10)
    b.write_bytes(b"y" * 20)
    headercache.load(str(store))
    genes_a = headercache.lookup("genes", str(a), lambda: ["ACTB", "CD4"])
    genes_b = headercache.lookup("genes", str(b), lambda: ["ACTB", "CD4"])
    assert genes_a is genes_b  # one list per content
    assert headercache.lookup("proteins", str(a), lambda: True) is True
    headercache.save()
    assert store.exists()

    _new_process(store)
    again = headercache.lookup("genes", str(a), _never)
    assert again == ["ACTB", "CD4"]
    assert headercache.lookup("genes", str(b), _never) is again
    assert headercache.lookup("proteins", str(a), _never) is True
    # a kind is its own question about the same file
    assert headercache.lookup("proteins:adt", str(a), lambda: False) is False

    a.write_bytes(b"z" * 11)  # rewritten: another size
    assert headercache.lookup("genes", str(a), lambda: ["GAPDH"]) == ["GAPDH"]
    os.utime(b, ns=(0, 10**9))  # same size, another modification time
    assert headercache.lookup("genes", str(b), lambda: ["CD8A"]) == ["CD8A"]
    assert headercache.lookup("genes", str(tmp_path / "absent.h5"), _never) is None


def test_a_rewritten_file_inside_a_10x_folder_is_read_again(tmp_path) -> None:
    store = tmp_path / "headers.json.gz"
    mtx = tmp_path / "filtered_feature_bc_matrix"
    mtx.mkdir()
    (mtx / "features.tsv.gz").write_bytes(b"a" * 5)
    headercache.load(str(store))
    assert headercache.lookup("genes", str(mtx), lambda: ["ACTB"]) == ["ACTB"]
    headercache.save()
    _new_process(store)
    assert headercache.lookup("genes", str(mtx), _never) == ["ACTB"]
    (mtx / "features.tsv.gz").write_bytes(b"b" * 6)  # in place: the folder's own mtime may not move
    assert headercache.lookup("genes", str(mtx), lambda: ["CD3E"]) == ["CD3E"]


def test_a_damaged_or_foreign_store_is_rebuilt(tmp_path) -> None:
    store = tmp_path / "headers.json.gz"
    f = tmp_path / "a.h5"
    f.write_bytes(b"x")
    store.write_bytes(b"not gzip")
    headercache.load(str(store))
    assert headercache.lookup("genes", str(f), lambda: ["ACTB"]) == ["ACTB"]
    headercache.save()
    _new_process(store)
    assert headercache.lookup("genes", str(f), _never) == ["ACTB"]

    with gzip.open(store, "wt") as fh:
        fh.write('{"version": 0, "files": {}, "lists": {}}')
    _new_process(store)
    assert headercache.lookup("genes", str(f), lambda: ["CD4"]) == ["CD4"]

    # entries of the wrong shape, or naming a list the store lacks, are read again
    key = f"genes|{f.resolve()}"
    st = f.stat()
    for files in ({key: "junk"}, {key: [st.st_size, st.st_mtime_ns, {"list": "gone"}]}):
        with gzip.open(store, "wt") as fh:
            json.dump({"version": headercache.VERSION, "files": files, "lists": {}}, fh)
        _new_process(store)
        assert headercache.lookup("genes", str(f), lambda: ["CD8A"]) == ["CD8A"]
        headercache.save()


def test_without_a_store_nothing_is_written(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "a.h5"
    f.write_bytes(b"x")
    assert headercache.lookup("genes", str(f), lambda: ["ACTB"]) == ["ACTB"]
    assert headercache.lookup("genes", str(f), _never) == ["ACTB"]  # memoised in-process
    headercache.save()
    assert list(tmp_path.iterdir()) == [f]


def test_a_store_that_cannot_be_written_costs_only_the_reads(tmp_path) -> None:
    f = tmp_path / "a.h5"
    f.write_bytes(b"x")
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    headercache.load(str(blocker / "headers.json.gz"))
    assert headercache.lookup("genes", str(f), lambda: ["ACTB"]) == ["ACTB"]
    headercache.save()  # no error: the parse goes on
    assert blocker.read_text() == ""


def test_entries_of_removed_files_leave_the_store(tmp_path) -> None:
    store = tmp_path / "headers.json.gz"
    kept, gone = tmp_path / "kept.h5", tmp_path / "gone.h5"
    kept.write_bytes(b"x")
    gone.write_bytes(b"y")
    headercache.load(str(store))
    headercache.lookup("genes", str(kept), lambda: ["ACTB"])
    headercache.lookup("genes", str(gone), lambda: ["CD19"])  # a list only this file has
    headercache.save()

    gone.unlink()
    _new_process(store)
    newer = tmp_path / "new.h5"
    newer.write_bytes(b"z")
    headercache.lookup("proteins", str(newer), lambda: False)  # a start that adds something
    headercache.save()

    with gzip.open(store, "rt") as fh:
        data = json.load(fh)
    paths = {key.split("|", 1)[1] for key in data["files"]}
    assert paths == {str(kept.resolve()), str(newer.resolve())}
    assert list(data["lists"].values()) == [["ACTB"]]
    _new_process(store)
    assert headercache.lookup("genes", str(kept), _never) == ["ACTB"]

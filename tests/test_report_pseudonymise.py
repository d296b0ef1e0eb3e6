"""Pseudonymised reports (issue 16): no patient or sample id anywhere in the output.

Rendered from the demo results (session `demo_run`, or MARROWTOX_RESULTS for a
finished run, see test_report_timeline.py) with `--pseudonymise`, then searched for
every patient and sample id of the sample sheet in: the page text with the base64
image payloads removed (a 3-character id occurs by chance in ~100 kB of base64), the
alt/title attributes of every image, the text chunks of every inline PNG, the text
of every artist drawn into every figure (titles, legends, labels: the pixels cannot
be searched, the Text objects they were drawn from can), and the output file names.
"""

from __future__ import annotations

import base64
import html as h
import re
import struct
import zlib
from pathlib import Path

import pandas as pd
import pytest
from test_report_timeline import DATA_URI, demo_paths, render_reports, visible_text

from marrowtox.report.names import Names

pytestmark = pytest.mark.workflow  # needs a finished demo run (see test_report_timeline.py)


@pytest.fixture(scope="module")
def paths(request: pytest.FixtureRequest) -> dict[str, Path]:
    return demo_paths(request)


@pytest.fixture(scope="module")
def samples(paths) -> pd.DataFrame:
    return pd.read_csv(paths["demo"] / "samples.tsv", sep="\t")


@pytest.fixture(scope="module")
def ids(samples) -> list[str]:
    return sorted({*samples["patient"].astype(str), *samples["sample"].astype(str)})


@pytest.fixture(scope="module")
def reports(paths, tmp_path_factory) -> dict[str, dict[str, object]]:
    return render_reports(paths, tmp_path_factory.mktemp("pseudo"), pseudonymise=True)


def leaks(text: str, ids: list[str]) -> list[str]:
    return [i for i in ids if i in text]


def png_text_chunks(data: bytes) -> list[str]:
    """Text of the tEXt/zTXt/iTXt chunks of a PNG (where software and titles go)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            out.append(body.decode("latin-1"))
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out.append(key.decode("latin-1") + zlib.decompress(rest[1:]).decode("latin-1"))
        elif kind == b"iTXt":
            out.append(body.decode("utf-8", "replace"))
        pos += 12 + length
    return out


def pages(reports) -> list[tuple[str, dict[str, object]]]:
    return sorted(reports.items())


def test_pseudonym_is_used(reports, samples) -> None:
    names = Names(samples, pseudonymise=True)
    for p in sorted(samples["patient"].unique()):
        html = str(reports[p]["html"])
        label = names.patient(p)
        assert label.startswith("Patient ")
        assert f"<title>marrowtox report: {label}</title>" in html
        assert any(label in t for t in reports[p]["texts"]["figure"])  # the timeline title


def test_no_id_in_page_text(reports, ids) -> None:
    for name, r in pages(reports):
        html = str(r["html"])
        stripped = DATA_URI.sub("data:image/png;base64,", html)
        assert not leaks(stripped, ids), (name, leaks(stripped, ids))
        assert not leaks(visible_text(html), ids), name


def test_no_id_in_image_attributes_or_png_metadata(reports, ids) -> None:
    n_images = 0
    for name, r in pages(reports):
        for tag in re.findall(r"<img\b[^>]*>", str(r["html"])):
            n_images += 1
            for attr in ("alt", "title"):
                m = re.search(rf'\b{attr}="([^"]*)"', tag)
                if m:
                    assert not leaks(h.unescape(m.group(1)), ids), (name, attr, m.group(1))
            m = DATA_URI.search(tag)
            assert m, (name, "image not inline")
            for chunk in png_text_chunks(base64.b64decode(m.group(1))):
                assert not leaks(chunk, ids), (name, chunk)
    assert n_images >= 6 * 5  # every patient report has its figures


def test_no_id_in_text_drawn_into_figures(reports, ids) -> None:
    for name, r in pages(reports):
        for fig, texts in dict(r["texts"]).items():
            drawn = "\n".join(texts)
            assert not leaks(drawn, ids), (name, fig, leaks(drawn, ids))


def test_no_id_in_output_file_names(reports, ids) -> None:
    for name, r in pages(reports):
        path = Path(str(r["path"]))
        assert not leaks(path.name, ids), (name, path.name)

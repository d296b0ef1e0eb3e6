"""Rule ch_call_<patient> calls a patient's DNA samples and then tracks its clones in the
same process (marrowtox.ch.steps.call_and_track_step, issue 27): the clone table is
byte for byte that of `marrowtox ch-track` run on the same calls, over the patient's
whole-specimen samples only (its sorted fractions are called, not tracked)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from marrowtox.ch.config import params_from_config
from marrowtox.ch.steps import BatchCallInputs, call_and_track_step, tracked_samples
from marrowtox.cli import main
from marrowtox.errors import InputError

RULES = Path(__file__).resolve().parents[1] / "resources" / "chip" / "rules.yaml"


def test_call_and_track_equals_ch_track_on_the_calls(demo_data: Path, tmp_path: Path) -> None:
    sheet = pd.read_csv(demo_data / "samples.tsv", sep="\t", keep_default_na=False)
    dna = sheet[(sheet["patient"] == "P06") & (sheet["assay"] == "dna")]
    whole = dna[dna["fraction"] == ""]
    assert 1 < len(whole) < len(dna)  # the demo's P06 has sorted DNA fractions
    samples = list(dna["sample"])
    ref = demo_data / "reference"
    fasta = str(ref / "panel.fa")

    def out(kind: str) -> list[str]:
        return [str(tmp_path / f"{s}.{kind}") for s in samples]

    batch = BatchCallInputs(
        samples=samples,
        bams=[str(demo_data / p) for p in dna["path"]],
        fasta=fasta,
        bed=str(ref / "panel.bed"),
        rules=str(RULES),
        params=params_from_config({}),
        out_vcf=out("vcf.gz"),
        out_tsv=out("calls.tsv"),
        out_lod=out("lod.tsv"),
        gtf=str(ref / "panel.gtf"),
    )
    days = [int(d) for d in whole["day"]]
    clones = tmp_path / "P06.clones.tsv"
    inputs = tracked_samples(batch, "P06", list(whole["sample"]), days, str(clones))
    # the whole specimens' own calls, LOD tables and BAMs, in their order
    at = [samples.index(s) for s in whole["sample"]]
    assert inputs.calls == [batch.out_tsv[i] for i in at]
    assert inputs.lods == [batch.out_lod[i] for i in at]
    assert inputs.bams == [batch.bams[i] for i in at]
    call_and_track_step(batch, inputs)

    alone = tmp_path / "alone.clones.tsv"
    argv = ["ch-track", "--patient", "P06", "--samples", *inputs.samples]
    argv += ["--days", *map(str, days), "--calls", *inputs.calls, "--bams", *inputs.bams]
    argv += ["--lods", *inputs.lods, "--fasta", fasta, "--out", str(alone)]
    assert main(argv) == 0
    assert clones.read_bytes() == alone.read_bytes()
    table = pd.read_csv(clones, sep="\t")
    assert not table.empty  # the demo plants clones in P06
    assert set(table["sample"]) == set(whole["sample"])


def test_tracked_samples_must_be_called_in_the_batch(tmp_path: Path) -> None:
    batch = BatchCallInputs(
        ["A", "B"], ["a.bam", "b.bam"], "f.fa", "t.bed", "r.yaml", params_from_config({}),
        ["a.vcf.gz", "b.vcf.gz"], ["a.tsv", "b.tsv"], ["a.lod", "b.lod"],
    )  # fmt: skip
    out = str(tmp_path / "P.clones.tsv")
    picked = tracked_samples(batch, "P", ["B"], [28], out)
    assert (picked.calls, picked.lods, picked.bams) == (["b.tsv"], ["b.lod"], ["b.bam"])
    with pytest.raises(InputError, match="not called in this batch: C"):
        tracked_samples(batch, "P", ["B", "C"], [28, 90], out)
    with pytest.raises(InputError, match="1 days for 2 samples"):
        tracked_samples(batch, "P", ["A", "B"], [28], out)

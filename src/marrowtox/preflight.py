"""Content checks of every data file before any job runs.

The sample-sheet check proves a file exists; this proves it is what a job will need:
an intact HDF5 with raw integer counts, a readable BAM whose contigs and lengths
agree with the FASTA and the panel BED, a GTF with the FASTA's contig names. Each
check reads headers and at most the first 100,000 stored values, so a 500-patient
cohort is checked in seconds; results are cached per file (size, mtime and the
reference it was checked against) so reruns of a cohort do not pay again.

Errors name the sample sheet, its row and the `path` column, and the data file.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from marrowtox import headercache
from marrowtox.ch.pileup import chr_prefix_hint, read_bed
from marrowtox.errors import InputError, data_row, raise_all

#: Stored values sampled to tell raw counts from normalised ones.
SAMPLE_VALUES = 100_000
#: GTF feature lines read to learn its contig naming (enough for any real GTF).
GTF_LINES = 5_000


def _counts_problem(values: np.ndarray) -> str | None:
    v = np.asarray(values).ravel()[:SAMPLE_VALUES]
    if v.size == 0:
        return None
    if not np.issubdtype(v.dtype, np.number):
        return f"values of type {v.dtype} are not counts"
    if np.nanmin(v) < 0:
        return "negative values (log-transformed or scaled?)"
    if not np.all(np.mod(v, 1) == 0):
        return "non-integer values (normalised or log-transformed?)"
    return None


def check_scrna(path: str) -> str | None:
    """What is wrong with a 10x HDF5, 10x matrix folder or .h5ad, or None."""
    p = Path(path)
    if p.is_dir():
        return _check_mtx(p)
    import h5py

    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        return f"not a readable HDF5 file, truncated or corrupted? ({exc})"
    try:
        with f:
            if p.suffix == ".h5":
                if "matrix" not in f:
                    return "no 'matrix' group: not a 10x Genomics feature-barcode HDF5"
                m = f["matrix"]
                missing = [k for k in ("data", "indices", "indptr", "shape") if k not in m]
                if missing:
                    return f"10x 'matrix' group lacks {', '.join(missing)}"
                if int(m["indptr"][-1]) != m["data"].shape[0]:
                    return "10x matrix indptr does not match its data: truncated file?"
                return _counts_problem(m["data"][:SAMPLE_VALUES])
            where = "layers/counts" if "layers" in f and "counts" in f["layers"] else "X"
            if where not in f:
                return "no X matrix: not an AnnData .h5ad file"
            x = f[where]
            if isinstance(x, h5py.Group):
                if "data" not in x:
                    return f"{where} is not a sparse matrix or array"
                values = x["data"][:SAMPLE_VALUES]
            else:
                rows = max(1, SAMPLE_VALUES // max(1, x.shape[1] if x.ndim > 1 else 1))
                values = x[:rows]
            problem = _counts_problem(values)
            return f"{where}: {problem}" if problem else None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        return f"unreadable HDF5 content, truncated or corrupted? ({exc})"


def _check_mtx(p: Path) -> str | None:
    def find(stem: str) -> Path | None:
        return next((p / n for n in (stem, stem + ".gz") if (p / n).exists()), None)

    mtx = find("matrix.mtx")
    missing = [n for n in ("matrix.mtx", "barcodes.tsv") if find(n) is None]
    if find("features.tsv") is None and find("genes.tsv") is None:
        missing.append("features.tsv")
    if missing:
        return f"10x matrix folder lacks {', '.join(missing)}"
    opener = gzip.open if mtx.suffix == ".gz" else open
    try:
        with opener(mtx, "rt") as fh:
            head = fh.readline()
            if not head.startswith("%%MatrixMarket"):
                return "matrix.mtx has no MatrixMarket header"
            line = fh.readline()
            while line.startswith("%"):
                line = fh.readline()
            values = []
            for _, line in zip(range(SAMPLE_VALUES), fh, strict=False):
                values.append(float(line.split()[2]))
    except (OSError, EOFError, ValueError, IndexError) as exc:
        return f"matrix.mtx unreadable or truncated ({exc})"
    return _counts_problem(np.array(values))


def fasta_contigs(fasta: str) -> dict[str, int]:
    import pysam

    try:
        with pysam.FastaFile(fasta) as fa:
            return dict(zip(fa.references, fa.lengths, strict=True))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read FASTA ({exc})", file=fasta, expected="a FASTA with a .fai index"
        ) from None


def check_reference(
    fasta: str, bed: str | None, gtf: str | None
) -> tuple[dict[str, int], set[str]]:
    """FASTA, panel BED and GTF agree on contig names; returns the FASTA's contigs and
    the panel's."""
    contigs = fasta_contigs(fasta)
    panel: set[str] = set()
    if bed:
        targets = read_bed(bed)
        panel = {c for c, *_ in targets}
        for n, (chrom, _, end, name) in enumerate(targets, start=1):
            if chrom not in contigs:
                raise InputError(
                    f"target {name}: contig {chrom!r} not in the FASTA{chr_prefix_hint(chrom, contigs)}",
                    file=bed,
                    row=n,
                    column="chrom",
                    expected="the FASTA's contig names",
                )
            if end > contigs[chrom]:
                raise InputError(
                    f"target {name} ends at {end}, beyond {chrom} ({contigs[chrom]} bp)",
                    file=bed,
                    row=n,
                    column="end",
                    expected="targets inside the FASTA's contigs (same assembly)",
                )
    if gtf:
        opener = gzip.open if gtf.endswith(".gz") else open
        with opener(gtf, "rt") as fh:
            seen = 0
            for n, line in enumerate(fh, start=1):
                if line.startswith("#") or not line.strip():
                    continue
                chrom = line.split("\t", 1)[0]
                if chrom not in contigs:
                    raise InputError(
                        f"contig {chrom!r} not in the FASTA{chr_prefix_hint(chrom, contigs)}",
                        file=gtf,
                        row=n,
                        column="seqname",
                        expected="the FASTA's contig names",
                    )
                seen += 1
                if seen >= GTF_LINES:
                    break
    return contigs, panel


def check_alignment(path: str, contigs: dict[str, int], panel: set[str]) -> str | None:
    """What is wrong with a BAM/CRAM against the FASTA and the panel, or None."""
    import pysam

    try:
        with pysam.AlignmentFile(path, "rc" if path.endswith(".cram") else "rb") as bam:
            lengths = dict(zip(bam.references, bam.lengths, strict=True))
    except (OSError, ValueError) as exc:
        return f"not a readable BAM/CRAM, truncated or corrupted? ({exc})"
    for chrom in sorted(panel):
        if chrom not in lengths:
            return f"panel contig {chrom!r} not in the BAM header{chr_prefix_hint(chrom, lengths)}"
    for chrom, n in lengths.items():
        if chrom in contigs and contigs[chrom] != n:
            return (
                f"contig {chrom} is {n} bp in the BAM but {contigs[chrom]} bp in the FASTA "
                "(aligned to another assembly?)"
            )
    return None


#: Decoded gene lists of 10x HDF5 files by a digest of their raw name bytes, so a
#: reference's names are decoded once per process, not once per file (the per-gene
#: decoding was most of the pre-flight's time on real cohorts). One list object per
#: content is headercache's job (scrna_genes goes through it): 1,500 real 10x samples
#: held 3.8 GB of identical lists before, and the checks below memoise per list object.
_GENE_LISTS: dict[bytes, list[str]] = {}


def _interned(raw: bytes, decode: Any) -> list[str]:
    """The decoded list for these raw bytes; `decode()` builds it the first time only."""
    import hashlib

    key = hashlib.sha1(raw).digest()
    if key not in _GENE_LISTS:
        _GENE_LISTS[key] = decode()
    return _GENE_LISTS[key]


def scrna_genes(path: str) -> list[str] | None:
    """Feature symbols of a scRNA file from its header (no matrix read); Ensembl-keyed
    .h5ad files give their symbols column. None when the names cannot be read here.
    Files with the same gene list get the same (shared, read-only) list object; a file
    is read again only when its size or modification time changed, within a process
    and, in the workflow, across Snakemake starts (marrowtox.headercache)."""
    return headercache.lookup("genes", path, lambda: _read_scrna_genes(path))


def _read_scrna_genes(path: str) -> list[str] | None:
    import h5py

    from marrowtox.singlecell.genespace import SYMBOL_COLUMNS, looks_like_ensembl

    p = Path(path)
    try:
        if p.is_dir():
            f = next(
                (
                    p / n
                    for n in ("features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv")
                    if (p / n).exists()
                ),
                None,
            )
            if f is None:
                return None
            opener = gzip.open if f.suffix == ".gz" else open
            with opener(f, "rt") as fh:
                rows = [line.rstrip("\n").split("\t") for line in fh if "\t" in line]
            return [r[1] for r in rows if r[2:3] != ["Antibody Capture"]]
        with h5py.File(p, "r") as h:
            if p.suffix == ".h5":
                ft = h["matrix"]["features"]
                raw = np.asarray(ft["name"][:])
                if "feature_type" in ft:  # genes only: Antibody Capture is the protein modality
                    raw = raw[np.asarray(ft["feature_type"][:]) != b"Antibody Capture"]
                if raw.dtype.kind != "S":  # variable-length strings: bytes are pointers
                    return [x.decode() if isinstance(x, bytes) else str(x) for x in raw]
                return _interned(
                    str(raw.dtype).encode() + raw.tobytes(),
                    lambda: [x.decode() for x in raw],
                )
            var = h["var"]
            index = var.attrs.get("_index", "_index")
            names = [x.decode() if isinstance(x, bytes) else str(x) for x in var[index][:]]
            if looks_like_ensembl(names):
                col = next((c for c in SYMBOL_COLUMNS if c in var), None)
                if col is None:
                    return names
                node = var[col]
                if isinstance(node, h5py.Group):  # categorical
                    cats = node["categories"][:]
                    codes = node["codes"][:]
                    vals = [cats[c] if c >= 0 else b"" for c in codes]
                else:
                    vals = node[:]
                return [x.decode() if isinstance(x, bytes) else str(x) for x in vals]
            return names
    except (OSError, KeyError, ValueError, TypeError, IndexError):
        return None


def mito_warnings(samples: Any, organism: str) -> list[str]:
    """scRNA matrices without a single mitochondrial gene for the configured organism:
    QC's mitochondrial criterion then sees 0% everywhere and keeps dying cells (a
    targeted panel without MT genes is valid, hence a warning; the wrong organism or
    Ensembl ids are the usual cause)."""
    from marrowtox.singlecell.organism import mt_prefix

    prefix = mt_prefix(organism)
    out = []
    has_mt: dict[int, bool] = {}  # per shared gene list (scrna_genes), not per sample
    for s, a, p in zip(samples["sample"], samples["assay"], samples["path"], strict=True):
        if a != "scrna":
            continue
        genes = scrna_genes(p)
        if genes and id(genes) not in has_mt:
            has_mt[id(genes)] = any(g.startswith(prefix) for g in genes)
        if genes and not has_mt[id(genes)]:
            out.append(
                f"scRNA sample {s} has no mitochondrial gene ({prefix}*) for organism "
                f"{organism!r}: the QC mitochondrial criterion cannot remove dying cells "
                "(check `organism` in config.yaml, or the panel)"
            )
    return out


def car_feature_warnings(samples: Any, cart: dict[str, Any] | None = None) -> list[str]:
    """Post-infusion scRNA samples whose matrix has no CAR feature: CAR T % will be
    "not measurable". Valid (a plain reference was used), so a warning, not an error.
    `cart`: the config's cart section; its `features` and `constructs` are resolved by
    the same function the cart_call rule uses (cart.features.car_features), so a
    feature named only in config `cart.features` is found here too."""
    from marrowtox.cart.features import car_features
    from marrowtox.settings import resolve, section_defaults

    settings = {**section_defaults("cart"), **(cart or {})}
    out = []
    # per construct and per shared gene list (scrna_genes), not per sample: the
    # construct table was re-read and a 33,000-gene set rebuilt for every sample
    wanted_by: dict[str, list[str]] = {}
    gene_sets: dict[int, set[str]] = {}
    for s, a, p, day, construct in zip(
        samples["sample"],
        samples["assay"],
        samples["path"],
        samples["day"],
        samples["car_construct"],
        strict=True,
    ):
        if a != "scrna" or int(day) <= 0:
            continue
        genes = scrna_genes(p)
        if construct not in wanted_by:
            wanted_by[construct] = car_features(
                construct or "", settings["features"], resolve(settings["constructs"])
            )
        wanted = wanted_by[construct]
        if genes is not None and id(genes) not in gene_sets:
            gene_sets[id(genes)] = set(genes)
        if genes is not None and not set(wanted) & gene_sets[id(genes)]:
            out.append(
                f"post-infusion sample {s} (day {day}) has no CAR feature in its matrix "
                f"(looked for {', '.join(wanted)}): CAR T % will be reported as not "
                "measurable; build the count matrix with the CAR transgene added to the "
                "reference, name its feature in config cart.features, or use marrowtox "
                "car-bam on the cell-barcoded BAM"
            )
    return out


def ensembl_problem(genes: list[str] | None) -> str | None:
    from marrowtox.singlecell.genespace import SYMBOL_COLUMNS, looks_like_ensembl

    if genes and looks_like_ensembl(genes):
        return (
            f"feature names are Ensembl gene ids (e.g. {genes[0]}) and no symbol column is "
            f"in var (looked for {', '.join(SYMBOL_COLUMNS)})"
        )
    return None


def _signature(*paths: str | None) -> list[Any]:
    out: list[Any] = []
    for p in paths:
        if p and os.path.exists(p):
            st = os.stat(p)
            out.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
        else:
            out.append(p)
    return out


def _inline_problem(path: str, layout: str, ch: dict[str, Any]) -> tuple[str, str] | None:
    """(problem, expected) when an inline-UMI FASTQ does not hold what its umi_layout
    promises (marrowtox.ch.umi_extract.check_layout), else None."""
    from marrowtox.ch.config import layout_from_config
    from marrowtox.ch.umi_extract import check_layout

    try:
        check_layout(path, layout_from_config(ch, layout))
    except InputError as exc:
        return exc.detail, exc.expected or ""
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        return f"unreadable FASTQ ({exc})", "a read 1 FASTQ (.fastq or .fastq.gz)"
    return None


def _file_fault(
    assay: str,
    path: str,
    umi: str,
    layout: str,
    reference: tuple[dict[str, int], set[str]],
    ch: dict[str, Any],
) -> tuple[str, str, str] | None:
    """(sheet column, problem, expected) of one row's data file, or None when it holds
    what the sheet says: scRNA counts, an inline-UMI FASTQ whose reads carry the promised
    UMI + spacer, or a BAM aligned to the reference whose reads hold the promised UMIs."""
    if assay == "scrna":
        problem = check_scrna(path) or ensembl_problem(scrna_genes(path))
        expected = "raw UMI counts in an intact 10x HDF5, 10x matrix folder or .h5ad, gene symbols"
        return ("path", problem, expected) if problem else None
    if umi == "inline":
        inline = _inline_problem(path, layout, ch)
        return ("umi_layout", inline[0], inline[1]) if inline else None
    contigs, panel = reference
    problem = check_alignment(path, contigs, panel) if contigs else None
    if problem:
        expected = "a BAM/CRAM aligned to the configured FASTA, covering the panel contigs"
        return "path", problem, expected
    if umi != "none":
        from marrowtox.ch.umi import check_umis

        try:  # the reads hold what the sheet's umi column promises
            check_umis(path, umi)
        except InputError as exc:
            return "umi", exc.detail, exc.expected or ""
    return None


def _cell_bam_faults(samples: Any, sheet: str) -> list[InputError]:
    """Every cell-barcoded BAM (column bam) that cannot be genotyped, one per row."""
    from marrowtox.genotype.count import check_bam

    faults = []
    for i, b in enumerate(samples["bam"] if "bam" in samples else []):
        if not b:
            continue
        try:
            check_bam(b)
        except InputError as exc:
            faults.append(
                InputError(
                    f"{b}: {exc.detail}",
                    file=sheet,
                    row=data_row(i),
                    column="bam",
                    expected=exc.expected,
                )
            )
    return faults


def check_data_files(
    samples: Any,
    sheet: str,
    reference: dict[str, str] | None,
    cache_path: str | None = None,
    min_shared_genes: int | None = None,
    min_shared_fraction: float = 0.0,
    organism: str = "human",
    protein: dict[str, Any] | None = None,
    cart: dict[str, Any] | None = None,
    ch: dict[str, Any] | None = None,
) -> list[str]:
    """Check every data file of the (validated) sample sheet; raise every faulty file's
    problem together (one line per sheet row). `samples` is load_samples' table (resolved paths, sheet row order).
    `protein`: the singlecell.protein settings (schema defaults when None) for the
    checks of samples with protein data (protein_checks). `cart`: the cart settings
    (features, constructs) the CAR feature check resolves as the cart_call rule does.
    `ch`: the ch settings (schema defaults when None) whose umi_extract_* the check of
    an inline-UMI FASTQ uses, as rule ch_umi_extract does.

    Returns warnings for data that may still be right: scRNA samples that share fewer
    than `min_shared_genes` genes (different panels or references)."""
    cache: dict[str, Any] = {}
    if cache_path and os.path.exists(cache_path):
        try:
            cache = json.loads(Path(cache_path).read_text())
        except (OSError, ValueError):
            cache = {}
    contigs: dict[str, int] = {}
    panel: set[str] = set()
    ref = reference or {}
    has_dna = bool((samples["assay"] == "dna").any())
    if has_dna and ref.get("fasta"):
        contigs, panel = check_reference(ref["fasta"], ref.get("panel_bed"), ref.get("gtf"))
    ref_sig = _signature(ref.get("fasta"), ref.get("panel_bed"))
    changed = False
    faults: list[InputError] = []  # every faulty file at once (issue 25 item 5)
    umi = list(samples["umi"]) if "umi" in samples else ["none"] * len(samples)
    layouts = list(samples["umi_layout"]) if "umi_layout" in samples else [""] * len(samples)
    for i, (assay, path) in enumerate(zip(samples["assay"], samples["path"], strict=True)):
        sig = _signature(path) + (ref_sig if assay == "dna" else []) + [umi[i], layouts[i]]
        key = json.dumps(sig)
        if cache.get(path) == key:
            continue
        fault = _file_fault(assay, path, umi[i], layouts[i], (contigs, panel), ch or {})
        if fault:
            column, detail, expected = fault
            faults.append(
                InputError(
                    f"{path}: {detail}",
                    file=sheet,
                    row=data_row(i),
                    column=column,
                    expected=expected,
                )
            )
            continue
        cache[path] = key
        changed = True
    if cache_path and changed:
        from marrowtox.atomic import write_text

        write_text(json.dumps(cache, indent=0, sort_keys=True), cache_path)
    faults += _cell_bam_faults(samples, sheet)
    raise_all(faults)
    warnings: list[str] = car_feature_warnings(samples, cart) + mito_warnings(samples, organism)
    from marrowtox.settings import section_defaults

    # settings of the config when given (the workflow), else the schema's defaults
    protein = {**section_defaults("singlecell", "protein"), **(protein or {})}
    warnings += protein_checks(samples, sheet, protein)
    if min_shared_genes:
        from marrowtox.singlecell.genespace import shared_gene_report

        genes = {
            str(s): g
            for s, a, p in zip(samples["sample"], samples["assay"], samples["path"], strict=True)
            if a == "scrna" and (g := scrna_genes(p)) is not None
        }
        warnings += shared_gene_report(genes, min_shared_genes, min_shared_fraction)
    return warnings


def _scrna_barcodes(path: str) -> list[str] | None:
    """Cell barcodes of an RNA matrix from its header (10x HDF5, matrix folder, .h5ad)."""
    import h5py

    p = Path(path)
    try:
        if p.is_dir():
            f = next((p / n for n in ("barcodes.tsv.gz", "barcodes.tsv") if (p / n).exists()), None)
            if f is None:
                return None
            opener = gzip.open if f.suffix == ".gz" else open
            with opener(f, "rt") as fh:
                return [line.strip() for line in fh if line.strip()]
        with h5py.File(p, "r") as h:
            if p.suffix == ".h5":
                return [x.decode() for x in h["matrix"]["barcodes"][:]]
            obs = h["obs"]
            index = obs.attrs.get("_index", "_index")
            return [x.decode() if isinstance(x, bytes) else str(x) for x in obs[index][:]]
    except (OSError, KeyError, ValueError, TypeError):
        return None


def protein_checks(samples: Any, sheet: str, settings: dict[str, Any]) -> list[str]:
    """Protein data of every scRNA sample that has some (Antibody Capture features,
    `adt` column or obsm): readable, non-negative, isotype list present, barcodes shared
    with the RNA. Raises InputError naming the sheet row; returns warnings (how many
    barcodes overlap; values taken as already normalised)."""
    from marrowtox.prot.io import has_proteins, read_proteins
    from marrowtox.settings import resolve

    out = []
    adts = samples["adt"] if "adt" in samples else [""] * len(samples)
    raws = samples["raw_matrix"] if "raw_matrix" in samples else [""] * len(samples)
    rows = zip(samples["sample"], samples["assay"], samples["path"], adts, raws, strict=True)
    for i, (s, assay, path, adt, raw) in enumerate(rows):
        if assay != "scrna" or not has_proteins(path, adt or "", settings["obsm_key"]):
            if raw:
                out.append(f"sample {s}: raw_matrix given but the sample has no proteins: unused")
            continue
        column = "adt" if adt else "path"
        try:
            prot = read_proteins(
                adt or path,
                obsm_key=settings["obsm_key"],
                aliases=resolve(settings["aliases"]),
                isotypes=settings["isotypes"],
                refuse_normalised=settings["refuse_normalised"],
            )
        except InputError as exc:
            raise InputError(
                f"{adt or path}: {exc.detail}",
                file=sheet,
                row=data_row(i),
                column=column,
                expected=exc.expected,
            ) from None
        if prot is None:
            if adt:
                raise InputError(
                    f"{adt}: no protein features",
                    file=sheet,
                    row=data_row(i),
                    column="adt",
                    expected="antibody counts (.h5ad, or a 10x file with Antibody Capture features)",
                )
            continue
        barcodes = _scrna_barcodes(path)
        if barcodes is not None:
            shared = int(prot.adata.obs_names.isin(barcodes).sum())
            if shared == 0:
                raise InputError(
                    f"{adt or path}: none of its {prot.adata.n_obs} protein barcodes is among "
                    f"the {len(barcodes)} RNA barcodes (e.g. {prot.adata.obs_names[0]} vs "
                    f"{barcodes[0]})",
                    file=sheet,
                    row=data_row(i),
                    column=column,
                    expected="protein counts of the same cells as the RNA matrix",
                )
            frac = shared / len(barcodes) if barcodes else 0.0
            msg = (
                f"sample {s}: proteins ({prot.source}, {prot.adata.n_vars} antibodies, "
                f"{len(prot.isotypes)} isotype controls) for {shared} of {len(barcodes)} "
                f"RNA barcodes ({100 * frac:.1f}%)"
            )
            if frac < settings["min_overlap"]:
                out.append(
                    msg + f": below singlecell.protein.min_overlap {settings['min_overlap']}"
                )
            else:
                import sys

                print(f"marrowtox: {msg}", file=sys.stderr)
        out += [f"sample {s}: {w}" for w in prot.warnings]
        if raw:
            _check_empty_droplets(raw, prot, barcodes, settings, sheet, data_row(i))
    return out


def _check_empty_droplets(
    raw: str, prot: Any, barcodes: list[str] | None, settings: dict[str, Any], sheet: str, row: int
) -> None:
    """The raw matrix DSB reads: protein features, every antibody of the sample, and
    empty droplets beyond the cells (muon.prot.pp.dsb needs them)."""
    from marrowtox.prot.io import read_proteins
    from marrowtox.settings import resolve

    try:
        e = read_proteins(
            raw,
            obsm_key=settings["obsm_key"],
            aliases=resolve(settings["aliases"]),
            isotypes=settings["isotypes"],
            refuse_normalised=True,
        )
    except InputError as exc:
        raise InputError(
            f"{raw}: {exc.detail}", file=sheet, row=row, column="raw_matrix", expected=exc.expected
        ) from None
    if e is None:
        raise InputError(
            f"{raw}: no protein features",
            file=sheet,
            row=row,
            column="raw_matrix",
            expected="the run's raw matrix with Antibody Capture features (empty droplets)",
        )
    missing = prot.adata.var_names.difference(e.adata.var_names)
    if len(missing):
        raise InputError(
            f"{raw}: {len(missing)} of the sample's antibodies are not in it (e.g. {missing[0]})",
            file=sheet,
            row=row,
            column="raw_matrix",
            expected="the raw matrix of the same run (same antibody panel)",
        )
    from marrowtox.prot.normalise import background_droplets

    cells = list(barcodes) if barcodes is not None else list(prot.adata.obs_names)
    lo, hi = settings["dsb_empty_log10_counts"]
    n_empty = background_droplets(e.adata, cells, (lo, hi)).n_obs
    if n_empty < settings["dsb_min_empty"]:
        raise InputError(
            f"{raw}: {n_empty} background droplets (protein counts 10^{lo}-10^{hi}) besides "
            f"the {len(cells)} cells",
            file=sheet,
            row=row,
            column="raw_matrix",
            expected=f"a raw (unfiltered) matrix with at least singlecell.protein.dsb_min_empty "
            f"= {settings['dsb_min_empty']} empty droplets",
        )


def run_preflight(
    config: dict[str, Any],
    *,
    config_file: str | None = None,
    cache_path: str | None = None,
    check_files: bool = True,
) -> tuple[Any, list[str]]:
    """The whole pre-flight, shared by the workflow (common.smk) and `marrowtox validate`:
    required inputs set (the genome only for a sheet with DNA rows), tables valid, and,
    unless check_file_contents is false, every data file's content. Settings are read
    through settings.section_settings, as the rules read them. Returns the tables and
    the warnings; raises InputError on the first fault."""
    from marrowtox.inputs import load_all
    from marrowtox.samplesheet import require_inputs
    from marrowtox.settings import section_settings, top_setting

    if not config.get("samples"):
        require_inputs(config, None, file=config_file)
    tables = load_all(config, check_files=check_files)
    require_inputs(config, bool((tables.samples["assay"] == "dna").any()), file=config_file)
    # the tables' own warnings (day-0 sample without a specimen, same-day lab values)
    warnings = list(tables.warnings)
    if not check_files or not top_setting(config, "check_file_contents"):
        return tables, warnings
    integrate = section_settings(config, "singlecell", "integrate")
    warnings += check_data_files(
        tables.samples,
        config["samples"],
        config.get("reference"),
        cache_path=cache_path,
        min_shared_genes=integrate["min_shared_genes"],
        min_shared_fraction=integrate["min_shared_fraction"],
        organism=top_setting(config, "organism"),
        protein=section_settings(config, "singlecell", "protein"),
        cart=section_settings(config, "cart"),
        ch=section_settings(config, "ch"),
    )
    return tables, warnings

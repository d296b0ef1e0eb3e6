import functools
import glob
import hashlib
import json
import os
import re
import shlex
import sys

import pandas as pd
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from marrowtox import headercache
from marrowtox.cart.features import car_features
from marrowtox.errors import InputError, raise_all
from marrowtox.layout import PATTERNS as OUT
from marrowtox.layout import report_stem
from marrowtox.preflight import run_preflight
from marrowtox.prot.header import has_proteins
from marrowtox.samplesheet import is_marrow, is_sorted, no_tables
from marrowtox.settings import removed_settings, section_settings
from marrowtox.validate_commands import config_faults

min_version("9.0")

# The repository (workflow/rules/../..): shipped resources and schemas resolve from it
# whichever Snakefile is the main one (./Snakefile or workflow/Snakefile), as
# workflow.basedir is the main Snakefile's folder.
REPO_DIR = os.path.normpath(
    os.path.join(workflow.current_basedir.get_path_or_uri(secret_free=True), "..", "..")
)


##### config and tables: validated before any job #####

# Every config fault at once, one line each, naming the key ("did you mean" for a
# typo), before Snakemake's own validation (which prints the whole config on a fault).
try:
    raise_all(
        config_faults(
            config,
            ", ".join(map(str, getattr(workflow, "configfiles", []))) or "config",
        )
    )
except InputError as exc:
    raise WorkflowError(f"invalid input: {exc}") from None
validate(config, schema="../schemas/config.schema.yaml")
# a removed setting: say what replaced it (the schemas would only say "unexpected")
for _problem in removed_settings(config):
    raise WorkflowError(f"invalid input: config key {_problem}")
# Each branch owns a section and its schema; validation also fills the defaults.
for _section in (
    "singlecell",
    "cart",
    "signatures",
    "ch",
    "clinical",
    "report",
    "cohort",
):
    _schema = f"{REPO_DIR}/workflow/schemas/config.{_section}.schema.yaml"
    config.setdefault(_section, {})
    if os.path.exists(_schema):
        validate(config[_section], schema=_schema)
    # defaults filled by the function the pre-flight and the CLI read settings with
    config[_section] = section_settings(config, _section)


def repo_path(path):
    """Shipped resources given relative to the repository resolve from any working dir."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    return os.path.join(REPO_DIR, path)


_annotate = config["singlecell"]["annotate"]
for _key in ("markers", "ontology"):
    _annotate[_key] = repo_path(_annotate[_key])
for _key in ("h5ad", "model", "label_map", "default_model", "default_label_map"):
    if _annotate["reference"].get(_key):
        _annotate["reference"][_key] = repo_path(_annotate["reference"][_key])
config["ch"]["rules"] = repo_path(config["ch"]["rules"])
if config["ch"]["panel_of_normals"]:
    config["ch"]["panel_of_normals"] = repo_path(config["ch"]["panel_of_normals"])
config["cart"]["constructs"] = repo_path(config["cart"]["constructs"])
if config["singlecell"]["genotype"]["hotspots"]:
    config["singlecell"]["genotype"]["hotspots"] = repo_path(
        config["singlecell"]["genotype"]["hotspots"]
    )
for _key in ("programs", "hallmark"):
    config["signatures"][_key] = repo_path(config["signatures"][_key])


# Every configured file must exist before any job: a job whose outputs are up to date
# would otherwise never notice that, say, a panel of normals was mistyped.
for _key, _path in (
    ("singlecell.annotate.markers", _annotate["markers"]),
    ("singlecell.annotate.ontology", _annotate["ontology"]),
    ("singlecell.annotate.reference.h5ad", _annotate["reference"]["h5ad"]),
    ("singlecell.annotate.reference.model", _annotate["reference"]["model"]),
    ("singlecell.annotate.reference.label_map", _annotate["reference"]["label_map"]),
    (
        "singlecell.annotate.reference.default_model",
        _annotate["reference"]["default_model"],
    ),
    (
        "singlecell.annotate.reference.default_label_map",
        _annotate["reference"]["default_label_map"],
    ),
    ("singlecell.genotype.hotspots", config["singlecell"]["genotype"]["hotspots"]),
    ("cart.constructs", config["cart"]["constructs"]),
    ("signatures.programs", config["signatures"]["programs"]),
    ("signatures.hallmark", config["signatures"]["hallmark"]),
    ("ch.rules", config["ch"]["rules"]),
    ("ch.panel_of_normals", config["ch"]["panel_of_normals"]),
):
    if _path and not os.path.isfile(_path):
        raise WorkflowError(
            f"invalid input: config key '{_key}': file not found: {_path} "
            "(expected an existing file; relative paths are relative to the working "
            "directory or the repository)"
        )


def file_digest(*paths):
    """Content digest of shipped files, passed as a job parameter, so that editing a gene set or
    a construct table reruns exactly the jobs that read it (Snakemake's mtime trigger
    does not fire for inputs outside the working directory's metadata)."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:16]


def setting(section, *keys):
    """Only the settings a rule uses, so changing another one does not rerun it."""
    return {k: config[section][k] for k in keys}


def caller_settings():
    """The caller's numeric settings (its files, CHIP rules and PON, are inputs; the
    PON builder's settings reach the caller through its output). Every CallParams
    field is one, so they are also all the clone tracking of rule ch_call_<patient>
    reads: a change of any reruns the clone table too."""
    return {
        k: v
        for k, v in config["ch"].items()
        if k not in ("rules", "panel_of_normals")
        and not k.startswith("pon_")
        and k not in CONSENSUS_KEYS
        and k not in EXTRACT_KEYS
    }


#: ch keys only the inline-UMI extraction step reads (rule ch_umi_extract)
EXTRACT_KEYS = tuple(k for k in config["ch"] if k.startswith("umi_extract_"))
#: ch keys only the UMI consensus step reads (the caller's own: umi_min_alt, umi_min_vaf)
CONSENSUS_KEYS = tuple(
    k
    for k in config["ch"]
    if k.startswith("umi_")
    and k not in ("umi_min_alt", "umi_min_vaf")
    and k not in EXTRACT_KEYS
)


def extract_settings():
    """The inline-UMI extraction step's settings (rule ch_umi_extract)."""
    return {k: config["ch"][k] for k in EXTRACT_KEYS}


def consensus_settings():
    """The UMI consensus step's settings (and the pileup filters of its error QC)."""
    keep = CONSENSUS_KEYS + ("min_base_quality", "min_mapping_quality")
    return {k: v for k, v in config["ch"].items() if k in keep}


def pon_settings():
    """The panel-of-normals builder's settings (its BAMs are inputs)."""
    keep = ("min_base_quality", "min_mapping_quality", "min_alt")
    return {
        k: v
        for k, v in config["ch"].items()
        if (k.startswith("pon_") and k != "pon_bams") or k in keep
    }


# Snakemake gives a Snakefile no sign of `--lint`, hence sys.argv: linting the shipped
# config (no sample sheet yet) parses the rules over an empty cohort; any run, and a
# lint of a config that names a sheet, goes through the pre-flight.
LINTING = "--lint" in sys.argv and not config.get("samples")

# gene lists and protein flags read from the data files' headers, kept across starts:
# without it every start re-reads every scRNA file (bench/dag.py --real-scrna)
if not LINTING:
    headercache.load(os.path.join(".snakemake", "marrowtox-headers.json.gz"))

try:
    # the pre-flight `marrowtox validate` runs too: required inputs, tables, file contents
    TABLES, _warnings = (
        [no_tables(), []]
        if LINTING
        else run_preflight(
            config,
            config_file=" + ".join(map(str, workflow.configfiles)) or None,
            cache_path=os.path.join(".snakemake", "marrowtox-preflight.json"),
        )
    )
    for _warning in _warnings:
        print(f"marrowtox warning: {_warning}", file=sys.stderr)
except InputError as exc:
    # A one-line message naming file, row, column and expectation; no traceback.
    raise WorkflowError(f"invalid input: {exc}") from None

# The pre-flight checked every cell of the sheet against ../schemas/samples.schema.yaml
# (marrowtox.samplesheet.read_table, with a message naming file, row and column). A
# second pass by Snakemake's `validate`, one jsonschema validator per row, added
# nothing but 1.6 s per 12,000 rows to every parse (bench/dag.py at 2,000 patients).
SAMPLES = TABLES.samples
# The sheet's rows as plain dicts, built once: a pandas lookup (`.at`, `.loc`) costs
# 10-100 us, and the parse and the input and params functions of every job ask for
# cells of its sample (~4% of the dry run at 2,000 patients in a py-spy profile of
# bench/dag.py). Values are Python scalars, as `sample_meta` always handed to params.
_ROWS = SAMPLES.to_dict("index")


def cell(sample, column):
    """One cell of the sample sheet: `column` of `sample`."""
    return _ROWS[sample][column]


# Lookups built once: input functions below are O(1) per call, so building the DAG
# stays linear in the number of samples (see bench/dag.py).
_BY_PATIENT_ASSAY = {
    key: sorted(group["sample"], key=lambda s: (cell(s, "day"), s))
    for key, group in SAMPLES.groupby(["patient", "assay"], sort=True)
}
_PATIENTS = sorted(SAMPLES["patient"].unique())
# patients with DNA samples: one ch_call_<patient> rule each (clonal.smk)
_CH_CALL_PATIENTS = sorted({p for p, assay in _BY_PATIENT_ASSAY if assay == "dna"})
# sorted fractions (samples.tsv fraction CD3, CD14, ...) and the patients with sorted DNA
_SORTED = set(SAMPLES.index[is_sorted(SAMPLES)])
_LINEAGE_PATIENTS = sorted(
    {cell(s, "patient") for s in _SORTED if cell(s, "assay") == "dna"}
)


def name_except(*names):
    """Wildcard pattern of a sample or patient name that is none of `names` (the stems of
    cohort-level files beside per-sample ones), so a rule cannot claim a cohort file."""
    return "(?!(?:%s)(?![A-Za-z0-9_-]))[A-Za-z0-9_-]+" % "|".join(map(re.escape, names))


# stems of the cohort-level files in results/cart/, beside the per-sample summaries
CART_COHORT_STEMS = [
    os.path.basename(OUT[k]).split(".")[0] for k in ("de_car", "de_car_programs")
]


wildcard_constraints:
    # "cohort" names the cohort-level files next to per-sample/per-patient ones
    sample="(?!cohort(?![A-Za-z0-9_-]))[A-Za-z0-9_-]+",
    patient="(?!cohort(?![A-Za-z0-9_-]))[A-Za-z0-9_-]+",
    part="part[0-9]+",


##### input functions #####


def sample_sheet():
    """The sample sheet as an input of the rules that read it, [] while unset (only a
    lint of the shipped config gets this far without one)."""
    return config["samples"] or []


def patients():
    """Patients of the sample sheet, sorted."""
    return _PATIENTS


def scrna_samples():
    return list(SAMPLES.index[SAMPLES["assay"] == "scrna"])


def dna_samples():
    return list(SAMPLES.index[SAMPLES["assay"] == "dna"])


def patient_samples(patient, assay):
    """Samples of one patient and assay, ordered by day."""
    return _BY_PATIENT_ASSAY.get((patient, assay), [])


# decided once for the sheet: a per-call pandas row lookup costs ~0.1 ms per job
_MARROW = set(SAMPLES.index[is_marrow(SAMPLES)]) if len(SAMPLES) else set()


def is_marrow_sample(sample):
    """Marrow (samples.tsv specimen, default for scRNA): only marrow is a marrow
    baseline; a day-0 CAR T product or blood sample is not (issue 25 item 1)."""
    return sample in _MARROW


def baseline_sample(patient, assay):
    """The patient's latest marrow sample taken on or before infusion (day <= 0), or None."""
    before = [
        s
        for s in patient_samples(patient, assay)
        if cell(s, "day") <= 0 and is_marrow_sample(s)
    ]
    return before[-1] if before else None


def sample_path(wildcards):
    return cell(wildcards.sample, "path")


def sample_column(column):
    """Input or params function: the sample sheet's `column` of the job's sample."""

    def value(wildcards):
        return cell(wildcards.sample, column)

    return value


def sample_meta(wildcards):
    """Sample-sheet row of a sample as a plain dict (for params)."""
    return dict(_ROWS[wildcards.sample])


def reference_file(key):
    """reference.<key> as an input of the DNA rules; nothing while unset (a cohort without DNA rows
    needs no genome; with DNA rows the pre-flight has already asked for it)."""
    return config["reference"][key] or []


def has_labs():
    return TABLES.labs is not None


def flow_table():
    """The configured flow.tsv (checked in the pre-flight), or no input."""
    return config.get("flow") if TABLES.flow is not None else []


##### targets #####


_RULE_NAMES = {"n": -1, "names": frozenset()}


def _branch(rule_name):
    """True when the branch that defines `rule_name` is part of this workflow.

    The names are collected again only when the rule count changed (rules are still
    being parsed): a scan of every rule per call, with one ch_call rule per patient,
    made the DAG grow with patients x jobs (bench/dag.py)."""
    rules = workflow.rules
    if _RULE_NAMES["n"] != len(rules):
        _RULE_NAMES.update(n=len(rules), names=frozenset(r.name for r in rules))
    return rule_name in _RULE_NAMES["names"]


def ch_branch():
    """True when the CH branch is part of this workflow: its rules ch_call_<patient> (a
    patient's calls, then its clones) are named per patient, hence the first one."""
    return bool(_CH_CALL_PATIENTS) and _branch(f"ch_call_{_CH_CALL_PATIENTS[0]}")


#: Per-sample outputs written by one job (sc_process, cart_call, ch_call_<patient>):
#: when a report reads one of them, the job runs and writes the others too.
SAME_JOB_KINDS = (
    ("qc", "doublets", "composition", "annotation"),
    ("h5ad", "cart", "signatures"),
    ("vcf", "tbi", "calls", "lod"),
)


def _made_for_reports(read):
    """The files a patient report reads (`read`) and every other per-sample output of
    the jobs that write them (SAME_JOB_KINDS): all are built for the reports."""
    made = set(read)
    for s in SAMPLES.index:
        for kinds in SAME_JOB_KINDS:
            files = [OUT[k].format(sample=s) for k in kinds]
            if not made.isdisjoint(files):
                made.update(files)
    return made


def all_targets():
    """Every stable output of design.md for the samples and patients in the sheet.

    Outputs of a branch are targeted when its rules are included, so the workflow
    grows branch by branch without a dangling target.
    """
    sc, dna = scrna_samples(), dna_samples()
    targets = [OUT["provenance"]]
    if sc and _branch("sc_process"):
        targets += cohort_picture_files() and [OUT["cohort_h5ad"]]
        targets += expand(
            [
                OUT["qc"],
                OUT["composition"],
                OUT["annotation"],
            ],
            sample=sc,
        )
    if sc and _branch("cart_call"):
        targets += expand(
            [
                OUT["h5ad"],
                OUT["cart"],
                OUT["signatures"],
            ],
            sample=sc,
        )
    if vdj_patients() and _branch(f"tcr_clonotypes_{vdj_patients()[0]}"):
        targets += expand(OUT["vdj_clonotypes"], patient=vdj_patients())
    if dna and ch_branch():
        targets += expand(
            [
                OUT["vcf"],
                OUT["tbi"],
                OUT["calls"],
            ],
            sample=dna,
        )
        targets += expand(
            OUT["clones"],
            patient=sorted(SAMPLES.loc[dna, "patient"].unique()),
        )
        genotyped = [p for p in patients() if genotyped_samples(p)]
        targets += expand(OUT["clone_cells"], patient=genotyped)
        targets += expand(OUT["ch_lineage"], patient=lineage_patients())
    if _branch("clinical_scores"):
        targets += expand(OUT["scores"], patient=patients())
    if _branch("cohort_stats") and has_labs() and TABLES.events is not None:
        targets += [OUT[k] for k in ("cohort_associations", "cohort_correlations")]
        targets += [OUT["cohort_survival"]]
    if _branch("composition_da") and sc:
        targets += [OUT["composition_da"]]
    if _branch("cart_de") and sc:
        targets += [OUT["de_car"], OUT["de_car_programs"]]
        targets += [OUT["de_hspc"], OUT["de_hspc_programs"]]
    if _branch("report_cohort"):
        # a file a report reads is built for the report, and so is every other output
        # of the job that writes it: listing them again here would only be another
        # producer lookup per file in the DAG (bench/dag.py)
        made = _made_for_reports(
            f for p in patients() for f in report_patient_inputs(p)
        )
        targets = [t for t in targets if t not in made]
        targets += [OUT["patients"], OUT["cohort_report"]]
        targets += expand(OUT["patient_report"], patient=list(report_stems()))
    return targets


##### provenance #####


def resource_files():
    return sorted(
        f
        for f in glob.glob(f"{REPO_DIR}/resources/**/*", recursive=True)
        if os.path.isfile(f)
    )


##### job resources: mem_mb and runtime of every rule (workflow/job_resources.yaml) #####


def input_mb(input):
    """Size of a job's input files in MB.

    os.stat instead of Snakemake's `input.size_mb`, which runs an asyncio event loop
    per call: a quarter of the dry-run time at 500 patients (bench/dag.py). A missing
    input raises FileNotFoundError, which Snakemake turns into "evaluate later" as
    it does for size_mb.
    """
    return sum(os.path.getsize(f) for f in input) / 1e6


def ch_call_input_mb(input):
    """The input a ch_call job's memory follows, in MB: its samples are called in turn,
    so the largest BAM (not their sum) plus the references."""
    largest = max((os.path.getsize(b) for b in input.bams), default=0) / 1e6
    return largest + input_mb([input.fasta, input.gtf, input.bed])


#: bytes of one float32 value
_FLOAT32_BYTES = 4
#: float32 sketch cells x HVGs matrices' worth of memory per sketched cell in
#: sc_integrate: the scaled matrix, PCA and Harmony, plus the sketch's sparse counts
#: and log-normalised values (about two more at 2,000 HVGs); bench/singlecell.py
#: measured 40 kB per sketched cell at 100,000 and 500,000 cells (job_resources.yaml)
_DENSE_COPIES = 5


def integrate_sketch_mb(wildcards, input):
    """The sketch's part of sc_integrate in MB (beside the per-cell term of its
    job_resources.yaml entry): float32 sketch cells x HVGs, _DENSE_COPIES of them;
    without a sketch twice the input."""
    cfg = config["singlecell"]["integrate"]
    cap = cfg["sketch_cells_per_sample"]
    if not cap:
        return 2 * input_mb(input)
    cells = len(input.h5ad) * cap
    if cfg["sketch_max_cells"]:
        cells = min(cells, cfg["sketch_max_cells"])
    return cells * cfg["n_top_genes"] * _FLOAT32_BYTES * _DENSE_COPIES / 1e6


#: job_resources.yaml `size:`, the input measure (MB) a request grows with
_SIZE_MEASURES = {
    "inputs": input_mb,
    "bam": lambda input: input_mb([input.bam]),
    # the sample's counts, not the shared model and marker files sc_process also reads
    "raw": lambda input: input_mb([input.raw]),
    "largest_bam_and_refs": ch_call_input_mb,
    # cart_call reads only the obs of its baseline samples (backed), not their matrices
    "own_inputs": lambda input: input_mb(
        [f for f in input if f not in set(input.get("baselines", []))]
    ),
}
#: job_resources.yaml `extra:`, a term (MB) added to a memory request
_MEM_TERMS = {"integrate_sketch": integrate_sketch_mb}


def _load_job_resources():
    """workflow/job_resources.yaml, validated: read once per run, when parsing."""
    with open(f"{REPO_DIR}/workflow/job_resources.yaml", encoding="utf-8") as fh:
        table = yaml.safe_load(fh)
    validate(table, schema=f"{REPO_DIR}/workflow/schemas/job_resources.schema.yaml")
    return table


JOB_RESOURCES = _load_job_resources()


def _job_sizing(rule_name, resource):
    if rule_name not in JOB_RESOURCES:
        raise WorkflowError(
            f"workflow/job_resources.yaml: no entry {rule_name!r} (resources: {resource} of "
            f"rule {rule_name}); expected one of {sorted(JOB_RESOURCES)}"
        )
    return JOB_RESOURCES[rule_name][resource]


def job_mem(rule_name):
    """resources: mem_mb of the rule, from its job_resources.yaml entry: the base (MB)
    as is, or a callable of the job's input size and retry (formulas in that file).

    The entry is read here, once per rule at parse time; the callable only does the
    arithmetic (the DAG asks every job, ~40,000 calls at 2,000 patients, bench/dag.py).
    A callable takes only what it uses: Snakemake passes the input (stat-ing the files)
    and the attempt by parameter name."""
    s = _job_sizing(rule_name, "mem_mb")
    base, per_mb, scale = s["base"], s.get("per_mb"), s.get("attempt", "none")
    size = _SIZE_MEASURES[s.get("size", "inputs")]
    extra = _MEM_TERMS.get(s.get("extra"))
    if per_mb is None and extra is None:
        if scale == "none":
            return base

        def mem_mb(wildcards, attempt):
            return base * attempt

        return mem_mb

    def mem_mb(wildcards, input, attempt):
        term = per_mb * size(input) if per_mb is not None else 0
        total = base + term * attempt if scale == "per_mb" else base + term
        if extra is not None:
            total = total + extra(wildcards, input)
        return int(total * attempt if scale == "all" else total)

    return mem_mb


def job_runtime(rule_name):
    """resources: runtime (minutes) of the rule, from its job_resources.yaml entry:
    the base as is, or a callable adding the job's input MB / mb_per_minute."""
    s = _job_sizing(rule_name, "runtime")
    base, rate = s["base"], s.get("mb_per_minute")
    if rate is None:
        return base
    size = _SIZE_MEASURES[s.get("size", "inputs")]

    def runtime(wildcards, input):
        return int(base + size(input) / rate)

    return runtime


##### input functions of the singlecell rules #####


def reference_model():
    """The CellTypist model of the reference route: given, trained here, the shipped
    default (both empty), or none (default_model set empty too)."""
    ref = config["singlecell"]["annotate"]["reference"]
    if ref["model"]:
        return ref["model"]
    if ref["h5ad"]:
        return OUT["reference_model"]
    return ref["default_model"] or []


def reference_label_map():
    """The label map of reference_model(): the user's for a user model, the shipped
    map for the shipped model (an input of sc_annotate either way)."""
    ref = config["singlecell"]["annotate"]["reference"]
    if ref["model"] or ref["h5ad"]:
        return ref["label_map"]
    return ref["default_label_map"] if ref["default_model"] else []


def annotate_params():
    """The annotate settings a per-sample job uses (the reference is an input, and its
    training settings belong to sc_reference: changing them reruns through the model).
    """
    return {
        k: v for k, v in config["singlecell"]["annotate"].items() if k != "reference"
    }


##### input functions of the cart rules #####


def signature_baselines(wildcards):
    """The patient's baseline marrow, else every baseline marrow of the cohort."""
    base = baseline_sample(cell(wildcards.sample, "patient"), "scrna")
    if base is not None:
        return [OUT["h5ad"].format(sample=base)]
    return list(_cohort_baselines())


def signature_baselines_of_others(wildcards):
    """signature_baselines as inputs: without the sample itself, whose final AnnData its
    own cart_call job writes before scoring (a baseline marrow is its own baseline)."""
    own = OUT["h5ad"].format(sample=wildcards.sample)
    return [f for f in signature_baselines(wildcards) if f != own]


def signature_source(wildcards):
    """Where the sample's signature baseline comes from: its patient, else the cohort."""
    patient = cell(wildcards.sample, "patient")
    return "patient" if baseline_sample(patient, "scrna") else "cohort"


@functools.cache
def _cohort_baselines():
    """Every baseline marrow of the cohort, listed once (not per sample without one)."""
    return tuple(
        OUT["h5ad"].format(sample=s)
        for s in scrna_samples()
        if cell(s, "day") <= 0 and is_marrow_sample(s)
    )


def vdj_samples(patient):
    """scRNA samples of a patient with T-cell receptor contigs (samples.tsv vdj)."""
    return [s for s in patient_samples(patient, "scrna") if cell(s, "vdj")]


def vdj_patients():
    """Patients with a vdj file: one tcr_clonotypes_<patient> job each (cart.smk)."""
    return [p for p in patients() if vdj_samples(p)]


##### input functions of the clonal rules #####


def pon_bams():
    """BAMs of the panel of normals: the DNA samples named in the sheet's `normal` column
    (a normal row names itself, a patient row its normal), then ch.pon_bams (relative
    to the sample sheet's directory).

    Listed once per run (the sheet and config are fixed once parsed): every
    ch_call_<patient> rule asks for it, and a scan of the sheet per rule made parsing
    grow with patients x samples (bench/dag.py)."""
    return list(_pon_bams())


@functools.cache
def _pon_bams():
    named = sorted({n for n in SAMPLES["normal"] if n})
    bams = [raw_dna_bam(s) for s in named if cell(s, "assay") == "dna"]
    base = os.path.dirname(os.path.abspath(config["samples"]))
    for p in config["ch"]["pon_bams"]:
        p = p if os.path.isabs(p) else os.path.join(base, p)
        if not os.path.isfile(p):
            raise WorkflowError(
                f"invalid input: config key 'ch.pon_bams': file not found: {p} (expected "
                "an existing BAM; relative paths are relative to the sample sheet's "
                f"folder, {base})"
            )
        if p not in bams:
            bams.append(p)
    return tuple(bams)


def pon_model():
    """results/ch/pon.tsv.gz when there are enough normals, else no PON input."""
    n, need = len(pon_bams()), config["ch"]["pon_min_normals"]
    if n == 0:
        return []
    if n < need:
        raise WorkflowError(
            f"invalid input: the panel of normals has {n} BAM(s) (sample sheet column "
            f"normal and ch.pon_bams); expected at least ch.pon_min_normals = {need}"
        )
    return OUT_PON


OUT_PON = OUT["ch_pon"]
OUT_EVIDENCE = "results/ch/{sample}.candidates.tsv.gz"


def ch_call_patients():
    """Patients with DNA samples: one ch_call_<patient> job each (clonal.smk)."""
    return _CH_CALL_PATIENTS


def ch_call_samples(patient):
    return patient_samples(patient, "dna")


def umi_samples():
    """DNA samples whose reads carry UMIs (sample sheet column umi: rx or read_name)."""
    return [s for s in dna_samples() if cell(s, "umi") != "none"]


def inline_umi_samples():
    """DNA samples given as a FASTQ with inline UMIs (umi: inline): extracted and aligned
    by rules ch_umi_extract and ch_align."""
    return [s for s in dna_samples() if cell(s, "umi") == "inline"]


def raw_dna_bam(sample):
    """The sample's aligned reads: the sheet's BAM, or for an inline-UMI FASTQ the BAM
    that rule ch_align writes."""
    if cell(sample, "umi") == "inline":
        return OUT["umi_aligned_bam"].format(sample=sample)
    return cell(sample, "path")


def consensus_umi_source(sample):
    """Where ch_consensus reads the UMI: ch_align puts inline UMIs in RX."""
    umi = cell(sample, "umi")
    return "rx" if umi == "inline" else umi


def dna_bam(sample):
    """The BAM the caller reads: the UMI consensus (molecules) for a UMI sample, else the
    sample sheet's BAM (each read counted, today's behaviour)."""
    if cell(sample, "umi") != "none":
        return OUT["consensus_bam"].format(sample=sample)
    return raw_dna_bam(sample)


def ch_call_bams(patient):
    return [dna_bam(s) for s in ch_call_samples(patient)]


def ch_call_evidence(patient):
    """The all-candidates evidence outputs of a patient's ch_call job, when
    ch.all_candidates is set."""
    if not config["ch"]["all_candidates"]:
        return {}
    samples = ch_call_samples(patient)
    return {
        "evidence": expand(OUT_EVIDENCE, sample=samples),
        "evidence_tbi": expand(f"{OUT_EVIDENCE}.tbi", sample=samples),
    }


def whole_dna_samples(patient):
    """The patient's DNA samples of whole specimens: sorted fractions (CD3, CD14, ...)
    are not time points of the clone course (rule ch_lineage reads them)."""
    return [s for s in patient_samples(patient, "dna") if not is_sorted_sample(s)]


def is_sorted_sample(sample):
    """A sorted fraction (samples.tsv fraction CD3, CD14, ...), not the whole specimen."""
    return sample in _SORTED


def lineage_patients():
    """Patients with a DNA sample of a sorted fraction: one ch_lineage job each."""
    return _LINEAGE_PATIENTS


def patient_dna_all(wildcards, kind):
    """CH outputs (or BAMs) of every DNA sample of the patient, sorted fractions too."""
    samples = patient_samples(wildcards.patient, "dna")
    if kind == "bam":
        return [dna_bam(s) for s in samples]
    return [OUT[kind].format(sample=s) for s in samples]


def patient_dna(wildcards, kind):
    samples = whole_dna_samples(wildcards.patient)
    if kind == "bam":  # as ch_call reads them: molecules for a UMI sample
        return [dna_bam(s) for s in samples]
    return [OUT[kind].format(sample=s) for s in samples]


def genotyped_samples(patient):
    """scRNA samples of a patient with a cell-barcoded BAM (clone-to-cell genotyping)."""
    return [s for s in patient_samples(patient, "scrna") if cell(s, "bam")]


def sample_genotypes(kind):
    """Input function: the sample's genotype counts or sites table when it has a BAM,
    else nothing (the sample is "not genotyped")."""

    def files(wildcards):
        if not cell(wildcards.sample, "bam"):
            return []
        return f"results/singlecell/genotypes/{wildcards.sample}{kind}"

    return files


def patient_dna_of_sample(wildcards, kind):
    """CH outputs of every DNA sample of the scRNA sample's patient (any timepoint)."""
    patient = cell(wildcards.sample, "patient")
    return [OUT[kind].format(sample=s) for s in patient_samples(patient, "dna")]


##### input functions of the report rules #####


#: What one row of the cohort table reads (marrowtox.report.cohort_table.patient_row,
#: and the signature scale of build.write_cohort_table): a subset of a patient report's
#: inputs. Listing only these keeps the cohort-level jobs' inputs to what they read:
#: each listed file is a producer lookup in the DAG (bench/dag.py).
COHORT_ROW_KINDS = frozenset(
    {
        "composition",
        "cart",
        "signatures",
        "calls",
        "lod",
        "clones",
        "clone_cells",
        "vdj_clonotypes",
        "vdj_expansion",
        "scores",
    }
)


def report_sample_inputs(samples, kinds=None):
    """Per-sample outputs the reports read, for the branches included in the workflow
    (only those of `kinds` when given)."""
    files = []
    for s in samples:
        names = []
        if cell(s, "assay") == "scrna" and _branch("cart_call"):
            names = ["qc", "doublets", "composition", "cart", "signatures", "h5ad"]
        if cell(s, "assay") == "dna" and ch_branch():
            names = ["calls", "lod"] + (["umi_qc"] if cell(s, "umi") != "none" else [])
        files += [OUT[k].format(sample=s) for k in names if kinds is None or k in kinds]
    return files


def report_patient_inputs(patient, kinds=None):
    """Every per-patient file the patient report reads (only those of `kinds` when
    given)."""

    def want(kind):
        return kinds is None or kind in kinds

    files = report_sample_inputs(patient_samples(patient, "scrna"), kinds)
    files += report_sample_inputs(patient_samples(patient, "dna"), kinds)
    if patient_samples(patient, "dna") and ch_branch() and want("clones"):
        files.append(OUT["clones"].format(patient=patient))
    # clone-to-cell genotyping exists only for samples with a bam in samples.tsv
    if genotyped_samples(patient) and _branch("clone_cells") and want("clone_cells"):
        files.append(OUT["clone_cells"].format(patient=patient))
    if vdj_samples(patient) and _branch(f"tcr_clonotypes_{patient}"):
        if want("vdj_clonotypes"):
            files.append(OUT["vdj_clonotypes"].format(patient=patient))
        if want("vdj_expansion"):
            files += expand(OUT["vdj_expansion"], sample=vdj_samples(patient))
    if patient in lineage_patients() and _branch("ch_lineage") and want("ch_lineage"):
        files.append(OUT["ch_lineage"].format(patient=patient))
    if _branch("clinical_scores"):
        files += [
            OUT[k].format(patient=patient)
            for k in ("scores", "anc_grid", "labs")
            if want(k)
        ]
    return files


def report_protein_inputs(wildcards):
    """The protein tables of the patient's samples with proteins (the report's
    surface-protein section); nothing for a patient without them."""
    if not _branch("sc_protein"):
        return []
    patient = report_patient_of(wildcards)
    return [
        OUT[kind].format(sample=s)
        for s in patient_samples(patient, "scrna")
        if s in _PROTEIN_SET
        for kind in ("protein_agreement", "protein_by_celltype")
    ]


@functools.cache
def report_stems():
    """Report file stem -> patient: results/reports/<stem>.html is named by the patient
    id, or by its pseudonym with report.pseudonymise (the file name carries no id).

    Built once per run: report_patient asks for it per job, and building it per call
    cost patients x patients (a quarter of a second at 500 patients, x16 at 2,000)."""
    pseudo = config["report"]["pseudonymise"]
    return {report_stem(p, patients(), pseudo): p for p in patients()}


def report_patient_of(wildcards):
    """The patient of a report file stem (the `patient` wildcard of report_patient)."""
    stems = report_stems()
    if wildcards.patient not in stems:
        raise ValueError(
            f"results/reports/{wildcards.patient}.html: no such patient report; "
            f"expected one of {sorted(stems)} (report.pseudonymise is "
            f"{config['report']['pseudonymise']})"
        )
    return stems[wildcards.patient]


def cohort_picture_files():
    """The cohort picture the cohort report shows (a display leaf: nothing per sample
    reads it); none when switched off or when the cohort has no scRNA sample."""
    if not scrna_samples() or not config["singlecell"]["integrate"]["enabled"]:
        return []
    return [OUT["cohort_integration"], OUT["cohort_umap"]]


def _table_parts():
    """Part name -> patients (sorted, report.table_part_patients each) of the cohort table."""
    size = config["report"]["table_part_patients"]
    pts = patients()
    return {
        f"part{i // size + 1:04d}": pts[i : i + size] for i in range(0, len(pts), size)
    }


TABLE_PARTS = _table_parts()


def table_part_patients(wildcards):
    if wildcards.part not in TABLE_PARTS:
        raise ValueError(
            f"results/cohort/parts/{wildcards.part}.tsv: no such part of the cohort "
            f"table; expected one of {sorted(TABLE_PARTS)[:3]}.."
        )
    return TABLE_PARTS[wildcards.part]


def table_part_inputs(wildcards):
    """Every per-patient file one part of the cohort table reads."""
    return [
        f
        for p in table_part_patients(wildcards)
        for f in report_patient_inputs(p, COHORT_ROW_KINDS)
    ]


def table_part_files(kind):
    """The parts' tables ("table") or scales ("scale"), in patient order."""
    name = "{part}.tsv" if kind == "table" else "{part}.scale.tsv"
    return expand(f"results/cohort/parts/{name}", part=list(TABLE_PARTS))


def report_cohort_inputs(wildcards):
    """The per-patient files the cohort report reads itself (the clone tables; every
    other per-patient value reaches it through patients.tsv), and the cohort-level
    differential abundance and pseudobulk DE tables (issue 28)."""
    files = [f for p in patients() for f in report_patient_inputs(p, {"clones"})]
    if scrna_samples() and _branch("composition_da"):
        files.append(OUT["composition_da"])
    if scrna_samples() and _branch("cart_de"):
        files += [
            OUT[k] for k in ("de_car", "de_car_programs", "de_hspc", "de_hspc_programs")
        ]
    return files


##### input functions of the cohort-level single-cell analyses (issue 28) #####


def marrow_scrna_samples():
    """scRNA samples that are marrow (samples.tsv specimen): the only ones composition
    shifts and marrow pseudobulk compare."""
    return [s for s in scrna_samples() if is_marrow_sample(s)]


def da_compositions(wildcards):
    return [OUT["composition"].format(sample=s) for s in marrow_scrna_samples()]


def car_de_h5ads(wildcards):
    """CAR-called objects of the post-infusion marrow samples (before infusion there is
    no CAR T cell to compare)."""
    return [
        OUT["h5ad"].format(sample=s)
        for s in marrow_scrna_samples()
        if cell(s, "day") > 0
    ]


def hspc_de_h5ads(wildcards):
    return [OUT["h5ad"].format(sample=s) for s in marrow_scrna_samples()]


def clinical_scores_table(wildcards):
    """results/clinical/cohort.tsv when labs and events exist (toxicity groups), else
    nothing (the table then says the toxicity comparisons were not tested)."""
    if has_labs() and TABLES.events is not None and _branch("clinical_scores"):
        return OUT["clinical_cohort"]
    return []


##### input functions of the protein rules (samples with ADT) #####


def _marrowtox():
    """The marrowtox command: the one beside Snakemake's interpreter (as `script:` rules
    use Snakemake's Python), or the conda environment's under --sdm conda."""
    methods = {str(m).lower() for m in workflow.deployment_settings.deployment_method}
    local = os.path.join(os.path.dirname(sys.executable), "marrowtox")
    if any("conda" in m for m in methods) or not os.path.exists(local):
        return "marrowtox"
    return shlex.quote(local)


_protein = config["singlecell"]["protein"]
for _key in ("markers", "aliases"):
    _protein[_key] = repo_path(_protein[_key])
    if not os.path.isfile(_protein[_key]):
        raise WorkflowError(
            f"invalid input: config key 'singlecell.protein.{_key}': file not found: "
            f"{_protein[_key]} (expected an existing file)"
        )

# Decided once from file headers (no matrix read): the DAG stays linear in samples.
_PROTEIN_SAMPLES = [
    s
    for s in scrna_samples()
    if has_proteins(cell(s, "path"), cell(s, "adt"), _protein["obsm_key"])
]


_PROTEIN_SET = set(_PROTEIN_SAMPLES)
# the last header read of the parse is above: keep what this start read for the next
headercache.save()


def protein_samples():
    """scRNA samples with protein data (Antibody Capture, adt column or obsm)."""
    return _PROTEIN_SAMPLES


def sample_adt(wildcards):
    """The sample sheet's adt file, or nothing (proteins then come from the path)."""
    return cell(wildcards.sample, "adt") or []


def sample_raw_matrix(wildcards):
    """The sample sheet's raw matrix (empty droplets: DSB), or nothing (CLR)."""
    return cell(wildcards.sample, "raw_matrix") or []


@functools.cache
def _construct_features(construct):
    """car_features of one construct, read once per construct and run: the construct
    table is YAML, and parsing it per job was a fifth of `snakemake -n` (bench/dag.py).
    """
    return tuple(
        car_features(
            construct, config["cart"]["features"], config["cart"]["constructs"]
        )
    )


def sample_car_features(wildcards):
    """CAR feature names of a sample: config cart.features, else its car_construct's
    (the same function as the pre-flight's "no CAR feature" check)."""
    return list(_construct_features(cell(wildcards.sample, "car_construct") or ""))


def car_protein_input(kind):
    """Input function of cart_call: for a sample with proteins its protein file
    ("proteins": the sheet's path, "adt": the adt column, "raw_matrix": its empty
    droplets for DSB) and the alias table; for the
    others nothing (their CAR T protein panel columns are empty)."""

    def files(wildcards):
        s = wildcards.sample
        if s not in _PROTEIN_SET:
            return []
        if kind == "proteins":
            return cell(s, "path")
        if kind in ("adt", "raw_matrix"):
            return cell(s, kind) or []
        return _protein["aliases"]

    return files


# settings of the CAR T protein panel (marrowtox.cart.protein); the alias table is an input
_CAR_PANEL_KEYS = (
    "obsm_key",
    "isotypes",
    "refuse_normalised",
    "clr_margin",
    "dsb_pseudocount",
    "dsb_empty_log10_counts",
    "dsb_min_empty",
    "car_panel",
)


def car_protein_params(wildcards):
    """The panel settings cart_call uses: all of them for a sample with proteins, only
    the panel's names (its empty columns) for the others, so that a protein setting
    reruns only the samples with proteins."""
    if wildcards.sample in _PROTEIN_SET:
        return {k: _protein[k] for k in _CAR_PANEL_KEYS}
    return {"car_panel": _protein["car_panel"]}


def cart_call_inputs(wildcards):
    """cart_call's inputs that depend on the sample, as named files (unpack), only those
    it has: its genotype counts and sites (a cell-barcoded BAM), its protein files and
    alias table, the run's raw matrix (empty droplets: the soup's CAR share, docs/
    car-calling.md) and the baseline marrow(s) its signature index is taken against,
    but for the sample itself (a baseline is scored against its own cells, written in
    the same job). One function: Snakemake inspects and calls each input function of
    each job, ~0.1 ms per call over 6,000 jobs at 2,000 patients (bench/dag.py)."""
    files = {
        "genotypes": sample_genotypes(".tsv")(wildcards),
        "sites": sample_genotypes(".sites.tsv")(wildcards),
        "empty_droplets": sample_raw_matrix(wildcards),
        "baselines": signature_baselines_of_others(wildcards),
        **{k: car_protein_input(k)(wildcards) for k in _CAR_PROTEIN_FILES},
    }
    return {k: v for k, v in files.items() if v}


_CAR_PROTEIN_FILES = ("proteins", "adt", "raw_matrix", "aliases")


def cart_call_params(wildcards):
    """cart_call's per-sample params in one function (see cart_call_inputs): the CAR
    construct; its CAR features, resolved as the pre-flight and `marrowtox car-call` do
    (cart.features.car_features); the protein panel settings; every signature baseline
    (the sample's own included) and where it comes from."""
    return {
        "construct": cell(wildcards.sample, "car_construct"),
        "features": sample_car_features(wildcards),
        "protein": car_protein_params(wildcards),
        "baselines": signature_baselines(wildcards),
        "baseline_source": signature_source(wildcards),
    }


def protein_options():
    """singlecell.protein settings as sc-protein options (files are inputs)."""
    out = []
    for key, value in _protein.items():
        if key in ("markers", "aliases"):
            continue
        name = key.replace("_", "-")
        flag = f"--{name}"
        if isinstance(value, bool):
            out.append(flag if value else f"--no-{name}")
        elif isinstance(value, list):
            out += [flag, *map(str, value)] if value else []
        else:
            out += [flag, str(value)]
    return " ".join(shlex.quote(o) for o in out)


def protein_targets():
    if not _branch("cart_call"):
        return []
    return expand(
        [
            "results/singlecell/{sample}.h5mu",
            "results/singlecell/protein/{sample}.agreement.tsv",
        ],
        sample=protein_samples(),
    )

"""Self-contained HTML reports (images inline as data: URIs, no external resources).

Rendered with jinja2 and autoescape on: every user-provided string (patient and
sample ids, products, gene names, notes) is escaped, so an id like `<script>&` shows
as text. Nothing is marked safe except our own CSS, the sort script and base64 image data.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import jinja2
import markupsafe

from marrowtox.atomic import write_text

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#0b3d5c;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
main{padding:12px 24px;max-width:1150px}section{background:#fff;border:1px solid #ddd;border-radius:6px;
margin:12px 0;padding:10px 16px;overflow-x:auto}h2{font-size:15px;margin:4px 0 8px;color:#0b3d5c}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f0f3f6}td.l,th.l{text-align:left}.nm{color:#a33;font-style:italic}.grid{display:flex;
flex-wrap:wrap;gap:12px}.box{border:1px solid #0b3d5c;border-radius:6px;padding:8px 12px;background:#f3f8fb}
.kv td{border:none;text-align:left;padding:1px 8px}img{max-width:100%}footer{font-size:11px;color:#555;
padding:8px 24px 24px}.warn{color:#8a5a00}.cap{font-size:11px;color:#555;margin:4px 0}
.flags{display:flex;flex-wrap:wrap;gap:8px}.flag{border-radius:5px;padding:6px 10px;font-size:12px;
max-width:520px;border-left:5px solid #999;background:#f4f4f4}.flag.high{border-color:#D55E00;background:#fdf0e8}
.flag.warn{border-color:#E69F00;background:#fdf7e6}.scroll{overflow-x:auto}.flag.info{border-color:#56B4E9;background:#eef6fb}
.tablebox{overflow:auto;max-height:70vh;border:1px solid #ddd}.tablebox th{position:sticky;top:0;cursor:pointer;
min-width:56px;max-width:120px;vertical-align:bottom;z-index:1}.tablebox td{white-space:nowrap}
.tablebox td.wide,.tablebox th.wide{white-space:normal;min-width:260px;max-width:none}
.tablebox td:first-child{position:sticky;left:0;background:#fff;z-index:1;box-shadow:1px 0 0 #bbb}
.tablebox th:first-child{left:0;z-index:3}.tablebox th.clinical{background:#e4eef7}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.carrier{font-weight:bold}.badge{background:#D55E00;color:#fff;border-radius:4px;padding:1px 6px;font-size:11px}
.grid>section{flex:1 1 420px;max-width:calc(50% - 6px);box-sizing:border-box}h3{font-size:13px;margin:10px 0 4px}a.back{color:#cfe6f5}p.lead{font-size:13px;margin:2px 0}
"""

ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def data_uri(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()


def fmt(v, digits: int = 2) -> str:
    if v is None:
        return ""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:  # NaN
        return ""
    return str(int(f)) if f.is_integer() else f"{f:.{digits}f}"


ENV.filters["fmt"] = fmt

FIGURE = """{% macro figure(title, uri) -%}
{% if uri %}<section><h2>{{ title }}</h2><img alt="{{ title }}" src="{{ uri }}"></section>{% endif %}{%- endmacro %}"""

PATIENT = ENV.from_string(
    FIGURE
    + """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"><title>marrowtox report: {{ patient }}</title>
<style>{{ css }}</style></head><body>
<header><h1>marrowtox: {{ patient }}</h1><div><a class="back" href="cohort.html">cohort report</a> &middot; Product: {{ product }} &middot; infusion = day 0 &middot;
samples: {% for s in samples %}{{ s.sample }}{% if s.detail %} ({{ s.detail }}){% endif %}{% if not loop.last %}, {% endif %}{% endfor %}</div></header>
<main>
<section id="timeline"><h2>Timeline: blood counts, events, marrow and clones</h2>{% if figs.timeline %}
<img alt="Timeline of {{ patient }}: ANC with ICAHT windows, platelets, hemoglobin, events, CAR T % and HSPC % at every marrow timepoint, clone VAFs" src="{{ figs.timeline }}">
<p class="cap">ANC on a log scale above 100/uL (linear below, so values near 0 stay readable); lines at 1500, 1000, 500 and 100/uL; shaded: days with ANC &le; 500 and &le; 100/uL on the daily grid the ICAHT grade is computed from (day 0-60; x = interpolated day). Top bars: early ICAHT window (day 0-30) and late window (from day 31) with their grades{% if icaht_notes %} ({{ icaht_notes }}){% endif %}. Dashed vertical lines: marrow sampling days. Clones: filled = detected with 95% CI; open = not detected, drawn at the limit of detection (LOD); dashed line = 2% VAF (CHIP).</p>
{% else %}<p class="nm">not measured: no labs, events or marrow data for this patient</p>{% endif %}</section>
<section id="flags" class="box"><h2>Flags</h2>{% if flags %}<div class="flags">{% for f in flags %}<div class="flag {{ f.level }}"><b>{{ f.title }}</b><br>{{ f.text }}</div>{% endfor %}</div>{% else %}<p>No flag raised from the data available.</p>{% endif %}
{% if quiet %}<p class="cap">Checked without a flag: {{ quiet | join("; ") }}.</p>{% endif %}
<p class="cap">Expanding clone: detected at every DNA timepoint, VAF rising at each step, last VAF &ge; 2&times; the first with non-overlapping 95% CIs. Emergent clone: not detected at baseline although the baseline LOD was below the VAF reached later, detected later. Flags are prompts for review, not diagnoses.</p></section>
<section class="box"><h2>Summary and place in the cohort</h2><table class="kv">
{% for k, v, c in summary %}<tr><td>{{ k }}</td><td><b>{{ v if v != "" else "not measured" }}</b></td><td>{{ c }}</td></tr>{% endfor %}
</table>{% if missing %}<p class="nm">Not measured: {{ missing }}</p>{% endif %}</section>
<section id="marrow"><h2>Marrow at every timepoint</h2>{% if marrow %}<table>
<tr><th class="l">sample</th><th>day</th><th>cells</th><th>HSPC n (% of cells)</th><th>T cells</th><th>CAR T cells</th><th>CAR T % of cells</th><th>CAR T % of T cells</th><th>CAR T % of T cells, corrected (95% CI)</th><th class="l">CAR call threshold</th><th>HSPC IFN-&gamma; index</th><th class="l">not measured</th></tr>
{% for r in marrow %}<tr class="tp"><td class="l">{{ r.sample }}</td><td>{{ r.day }}</td><td>{{ r.cells }}</td><td>{{ r.hspc }}</td><td>{{ r.t }}</td><td>{{ r.car }}</td><td>{{ r.car_pct_cells }}</td><td>{{ r.car_pct_t }}</td><td>{{ r.car_pct_t_est }}</td><td class="l">{{ r.threshold }}</td><td>{{ r.ifng }}</td><td class="l nm">{{ r.note }}</td></tr>{% endfor %}</table>
<p class="cap">Cells: cells after QC and doublet removal with a cell type. HSPC: HSC/MPP + LMPP. CAR T % before infusion is a negative control. CAR T cells: cells called CAR+ (Bayesian FDR); corrected %: the fitted ambient + CAR mixture, which also counts CAR T cells without a CAR UMI, with its 95% profile-likelihood interval (docs/car-calling.md). HSPC IFN-&gamma; index: Hallmark interferon-gamma response of HSPC vs baseline marrow, in baseline SDs.</p>
{% else %}<p class="nm">not measured: no scRNA marrow sample</p>{% endif %}</section>
{% if other_specimens %}<section id="specimens"><h2>Product, blood and sorted samples (not whole marrow)</h2><table>
<tr><th class="l">sample</th><th class="l">specimen</th><th>day</th><th>CAR+ % of cells</th><th>CAR+ % of T cells</th><th class="l">CAR call</th><th class="l">CAR T programs (mean score of CAR+ cells){% if other_specimens | selectattr("specimen", "equalto", "product") | list %}: for the product, the programs at infusion{% endif %}</th></tr>
{% for r in other_specimens %}<tr><td class="l">{{ r.sample }}</td><td class="l">{{ r.specimen }}</td><td>{{ r.day }}</td><td>{{ r.car_pct_cells }}</td><td>{{ r.car_pct_t }}</td><td class="l">{{ r.status }}</td><td class="l programs">{% if r.programs %}{% for name, v in r.programs %}{{ name }} {{ v }}{% if not loop.last %}; {% endif %}{% endfor %}{% else %}<span class="nm">{{ r.programs_note }}</span>{% endif %}</td></tr>{% endfor %}</table>
<p class="cap">Samples whose specimen (samples.tsv) is the CAR T product, apheresis or blood, or a sorted fraction (samples.tsv fraction: a CD3+CAR+ sort is not a marrow with that many CAR T cells): analysed per sample and shown here as what they are, never as a marrow time point, in marrow composition or HSPC %, or as the marrow baseline. Programs: the mean score of each CAR T program over the sample's CAR+ cells (docs/car-calling.md; the same scores as the marrow "CAR T programs" figure); in the product they are the programs the cells had at infusion.</p></section>{% endif %}
<section id="tcr"><h2>T-cell receptor clonotypes: CAR T vs non-CAR T expansion</h2>{% if tcr.reason %}<p class="nm">not measured: {{ tcr.reason }}</p>{% else %}<table>
<tr><th class="l">sample</th><th class="l">specimen</th><th>day</th><th class="l">group</th><th>T cells</th><th>with a TCR</th><th>clonotypes</th><th>expanded clonotypes</th><th>top clonotype %</th><th>clonality</th><th class="l">note</th></tr>
{% for r in tcr.expansion %}<tr><td class="l">{{ r.sample }}</td><td class="l">{{ r.what }}</td><td>{{ r.day }}</td><td class="l">{{ r.group }}</td><td>{{ r.t_cells }}</td><td>{{ r.with_tcr }}</td><td>{{ r.clonotypes }}</td><td>{{ r.expanded }}</td><td>{{ r.top }}</td><td>{{ r.clonality }}</td><td class="l nm">{{ r.note }}</td></tr>{% endfor %}</table>
{% if tcr.top %}<h3>Largest CAR T clonotypes</h3><table><tr><th class="l">clonotype</th><th class="l">CDR3 TRA / TRB</th><th class="l">cells per sample (share of the sample's CAR T cells with a TCR)</th><th class="l">in the product and later</th></tr>
{% for r in tcr.top %}<tr><td class="l">{{ r.clone }}</td><td class="l">{{ r.cdr3 }}</td><td class="l">{{ r.where }}</td><td class="l">{{ r.product }}</td></tr>{% endfor %}</table>{% endif %}
<p class="cap">Clonotypes (scirpy): identical CDR3 nucleotide sequences of every chain, defined over all of the patient's samples together, so one clonotype has one id in the product and the marrow. T cells and CAR status from the annotation and the CAR calls, joined on the cell barcode. Expanded: at least cart.clonotypes.min_expanded_cells cells of the group in the sample. Clonality: 1 - Pielou's evenness (0 all distinct, 1 one clone). Groups with fewer than cart.clonotypes.min_tcr_cells T cells with a TCR get no figures (docs/clonotypes.md).</p>{% endif %}</section>
<section id="flow"><h2>Flow cytometry vs scRNA</h2>{% if flow %}<table>
<tr><th>day</th><th class="l">specimen</th><th class="l">population</th><th>flow %</th><th>scRNA %</th><th class="l">scRNA sample</th><th class="l">scRNA counts</th><th class="l">not compared</th></tr>
{% for r in flow %}<tr><td>{{ r.day }}</td><td class="l">{{ r.specimen }}</td><td class="l">{{ r.population }}</td><td>{{ r.flow }}{% if r.source == "from counts" %} (from counts){% endif %}</td><td>{{ r.scrna }}</td><td class="l">{{ r.sample }}</td><td class="l">{{ r.what }}</td><td class="l nm">{{ r.note }}</td></tr>{% endfor %}</table>
<p class="cap">Flow: pre-gated populations of flow.tsv, percent of the parent gate ("from counts": the population's count over its parent's count). scRNA: the marrow scRNA sample of the same day; CD45+ there = every cell type but erythroid and stromal (unknown cells left out). The two methods differ (gating vs transcript-based labels; CD34+ also holds committed progenitors that scRNA labels GMP or MEP): read them side by side, not as one value.</p>
{% else %}<p class="nm">not measured: {{ flow_reason }}</p>{% endif %}</section>
{% if not_measured %}<section><p class="nm" id="not-measured">not measured: {{ not_measured | join("; ") }}</p></section>{% endif %}
{{ figure("Marrow composition at every timepoint", figs.composition) }}
{% if comp_rows %}<section><h2>Cells per type (n, % of cells)</h2><table><tr><th class="l">cell type</th>{% for c in comp_cols %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in comp_rows %}<tr>{% for v in r %}<td{% if loop.first %} class="l"{% endif %}>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table></section>{% endif %}
{{ figure("UMAP of every marrow timepoint by cell type, HSPC and CAR T cells marked", figs.umap) }}
{{ figure("Inflammation scores by cell type vs baseline (n = cells of that type)", figs.heatmap) }}
{{ figure("CAR T program scores at every timepoint with CAR T cells", figs.programs) }}
{% if protein %}<section id="protein"><h2>Surface proteins (CITE-seq)</h2><table>
<tr><th class="l">sample</th><th>day</th><th>cells with proteins</th><th>antibodies</th><th class="l">isotype controls</th><th class="l">normalisation</th><th>called by both</th><th>RNA vs protein: same type</th><th>same lineage</th><th>decided by protein</th><th class="l">note</th></tr>
{% for r in protein.samples %}<tr><td class="l">{{ r.sample }}</td><td>{{ r.day }}</td><td>{{ r.cells }}</td><td>{{ r.proteins }}</td><td class="l">{{ r.isotypes }}</td><td class="l">{{ r.normalisation }}</td><td>{{ r.both }}</td><td>{{ r.type }}</td><td>{{ r.coarse }}</td><td>{{ r.by_protein }}</td><td class="l nm">{{ r.note }}</td></tr>{% endfor %}</table>
<p class="cap">Agreement on the cells both routes called (RNA labels of the marker/reference routes vs the protein marker model, resources/markers/marrow_adt.yaml); "same lineage": HSPC, myeloid, erythroid, B, T, NK. Decided by protein: cells whose RNA marker set was not assessable or whose RNA label was unknown (the combination rule of docs/protein.md).</p>
{% for label, uri in protein.figs %}<img alt="Surface proteins per cell type, {{ label }}" src="{{ uri }}">{% endfor %}
{% if protein.panel_rows %}<h3>CAR T activation and exhaustion proteins: CAR T minus non-CAR T cells</h3><table><tr><th class="l">protein</th>{% for c in protein.panel_cols %}<th>{{ c }}</th>{% endfor %}</tr>
{% for p, cells in protein.panel_rows %}<tr><td class="l">{{ p }}</td>{% for v in cells %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>
<p class="cap">Difference of the mean normalised value (CLR, or as given for already-normalised input) between CAR T and non-CAR T cells (T cells by the RNA labels), two-sided Mann-Whitney U p; empty: not measured{% if protein.panel_notes %} ({{ protein.panel_notes | join("; ") }}){% endif %}. From results/cart/&lt;sample&gt;.tsv.</p>{% endif %}
</section>{% endif %}
<section id="clones"><h2>Clonal hematopoiesis</h2>{% if clones %}<table><tr><th class="l">gene</th><th class="l">protein</th><th class="l">sample</th><th>day</th><th>depth</th><th>alt reads</th><th>VAF %</th><th>95% CI</th><th>LOD %</th><th class="l">detected</th><th class="l">status</th></tr>
{% for c in clones %}<tr><td class="l">{{ c.gene }}</td><td class="l">{{ c.hgvsp }}</td><td class="l">{{ c.sample }}</td><td>{{ c.day }}</td><td>{{ c.depth }}</td><td>{{ c.alt }}</td><td>{{ c.vaf }}</td><td>{{ c.ci }}</td><td>{{ c.lod }}</td><td class="l">{{ c.detected }}</td><td class="l">{{ c.status }}</td></tr>{% endfor %}</table>
<p class="cap">Status as called by the clone tracker (expanding/shrinking: 95% CIs of the first and last timepoint do not overlap). Every clone is re-genotyped at every DNA timepoint; LOD: VAF detectable at that depth.</p>
{% else %}<p class="nm">not measured: {{ ch_reason }}</p>{% endif %}
{% if umi_qc %}<h3>UMI consensus (depth in molecules)</h3><table><tr><th class="l">sample</th><th>reads</th><th>molecules</th><th>mean family size</th><th>duplicates %</th><th>duplex %</th><th>error/base raw</th><th>error/base consensus</th></tr>
{% for u in umi_qc %}<tr><td class="l">{{ u.sample }}</td><td>{{ u.reads }}</td><td>{{ u.molecules }}</td><td>{{ u.family }}</td><td>{{ u.dup }}</td><td>{{ u.duplex }}</td><td>{{ u.err_raw }}</td><td>{{ u.err_cons }}</td></tr>{% endfor %}</table>
<p class="cap">Reads of one molecule (same position, strand and UMI) collapsed into one consensus; calls, depth and LOD of these samples count molecules. Error per base on the panel targets as sequenced and after consensus (docs/ch-caller.md).</p>{% endif %}</section>
{% if clone_cells %}<section id="clone-cells"><h2>Which cell types carry each clone (marrow scRNA genotyping)</h2>
{% for b in clone_cells %}<div class="clone" id="clone-{{ loop.index }}"><h3>{{ b.label }}{% if b.car_t %} <span class="badge">in CAR T cells</span>{% endif %}</h3>
<p class="lead">Carrier cell types (any timepoint): <b>{{ b.carriers }}</b>{% if b.car_t %}; CAR T cells: {{ b.car_t | join("; ") }}{% endif %}</p>
{% if b.lineage %}<p class="lead">Sorted fractions (DNA): {{ b.lineage }}</p>{% endif %}
{% if b.fig %}<img alt="VAF trajectory and mutant-cell fraction by cell type of {{ b.label }}" src="{{ b.fig }}">{% endif %}
{% if b.rows %}<div class="scroll"><table class="cc"><tr><th class="l">cell type</th>{% for c in b.columns %}<th class="l">{{ c }}</th>{% endfor %}</tr>
{% for t, cells in b.rows %}<tr><td class="l">{{ t }}</td>{% for x, k in cells %}<td class="l {{ k }}">{{ x }}</td>{% endfor %}</tr>{% endfor %}</table></div>
{% else %}<p class="nm">{% if true in b.genotyped %}site not genotyped: no cell-barcoded read reached it in any genotyped sample{% else %}not genotyped: no scRNA sample of this patient has a cell-barcoded BAM (column bam of samples.tsv){% endif %}</p>{% endif %}
</div>{% endfor %}
<p class="cap">Mutant-cell fraction: share of covered cells of that type carrying the clone, corrected for heterozygous expression and for ambient/error alt molecules estimated from cell types that cannot carry it; in brackets the 95% Wilson interval mapped the same way, then cells with an alt UMI / cells covered. Bold: carrier call (one-sided binomial test against the sample's own background). "Not covered": too few cells reached the site to call (common with 3' chemistry far from the codon): absence is not measured, not zero. "Not genotyped": the sample has no cell-barcoded BAM in samples.tsv.</p></section>{% endif %}
<section id="lineage"><h2>CH clones in sorted fractions: lineage</h2>{% if lineage.reason %}<p class="nm">not measured: {{ lineage.reason }}</p>{% else %}
<p class="lead">{{ lineage.calls | join("; ") }}</p><table><tr><th class="l">gene</th><th class="l">protein</th><th class="l">sample</th><th class="l">fraction</th><th class="l">lineage</th><th>day</th><th>depth</th><th>VAF %</th><th>LOD %</th><th class="l">detected</th></tr>
{% for r in lineage.rows %}<tr><td class="l">{{ r.gene }}</td><td class="l">{{ r.hgvsp }}</td><td class="l">{{ r.sample }}</td><td class="l">{{ r.fraction }}</td><td class="l">{{ r.group }}</td><td>{{ r.day }}</td><td>{{ r.depth }}</td><td>{{ r.vaf }}</td><td>{{ r.lod }}</td><td class="l">{{ r.detected }}</td></tr>{% endfor %}</table>
<p class="cap">Every clone of the patient re-counted in every DNA sample (samples.tsv fraction). Multilineage: detected in a myeloid (CD14, granulocytes) and a lymphoid (CD3, CD3+CAR+, CD19) fraction; lymphoid-involved: in a lymphoid fraction, no myeloid one; myeloid-restricted: in a myeloid fraction and absent from every lymphoid fraction at a limit of detection below its myeloid VAF. CD34 and whole samples are shown, not used in the call (docs/sorted-fractions.md).</p>{% endif %}</section>
<section id="qc"><h2>Single-cell QC</h2>{% if qc %}<table><tr><th class="l">sample</th><th>day</th><th>cells before QC</th><th>after QC</th><th class="l">failing (a cell may fail several)</th><th class="l">doublets</th><th>cells analysed</th><th>total counts kept</th><th>genes kept</th><th>% in top-20 genes kept</th><th class="l">mito %</th><th>MADs</th><th class="l">note</th></tr>
{% for q in qc %}<tr><td class="l">{{ q.sample }}</td><td>{{ q.day }}</td><td>{{ q.before }}</td><td>{{ q.after }}</td><td class="l">{{ q.fails }}</td><td class="l">{{ q.doublets }}</td><td>{{ q.final }}</td><td>{{ q.counts }}</td><td>{{ q.genes }}</td><td>{{ q.top20 }}</td><td class="l">{{ q.mt }}</td><td>{{ q.nmads }}</td><td class="l nm">{{ q.note }}</td></tr>{% endfor %}</table>
<p class="cap">Thresholds are the ones applied to this sample (MAD-based on log counts, log genes and % counts in the top 20 genes; mitochondrial % capped), from the per-sample QC table.</p>
{% else %}<p class="nm">not measured: no scRNA sample</p>{% endif %}</section>
{{ figure("Endothelial and inflammatory biomarkers", figs.biomarkers) }}
</main><footer>{{ footer }}</footer></body></html>"""
)

COHORT = ENV.from_string(
    FIGURE
    + """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"><title>marrowtox cohort report</title><style>{{ css }}</style></head><body>
<header><h1>marrowtox cohort report</h1><div>{{ n }} patients</div></header><main>
{% if stale_note %}<p class="warn" id="stale">{{ stale_note }}</p>{% endif %}
<section id="patients"><h2>Patients</h2><div class="tablebox"><table id="cohort-table" class="sortable"><thead><tr>{% for c in columns %}<th class="l{% if c.name == 'missing' or c.name == 'ch_carrier_lineages' %} wide{% endif %}{% if c.group %} {{ c.group }}{% endif %}" title="{{ c.title }}" tabindex="0">{{ c.header }}</th>{% endfor %}</tr></thead><tbody>
{% for r in rows %}<tr>{% for v in r %}<td class="{{ v.cls }}{% if columns[loop.index0].name == 'missing' or columns[loop.index0].name == 'ch_carrier_lineages' %} l wide{% endif %}" data-key="{{ v.key }}">{% if v.href %}<a href="{{ v.href }}">{{ v.text }}</a>{% else %}{{ v.text }}{% endif %}</td>{% endfor %}</tr>{% endfor %}</tbody></table></div>
<p class="cap">The patient column stays in view while scrolling; the clinical columns (shaded headers) come first. Click a header to sort (again to reverse; not-measured cells stay last); hover a header for its definition. Patient names link to their reports. VAF in % as in every report. Empty cells: not measured (the last column says why).</p></section>
<div class="grid">
<section id="corr-cart"><h2>Marrow CAR T % vs early ICAHT grade</h2><p>{{ stats.cart }}</p><p class="cap caveat">{{ caveats.cart }}</p>{% if figs.cart %}<img alt="CAR T vs ICAHT" src="{{ figs.cart }}">{% endif %}</section>
<section id="corr-hspc"><h2>HSPC IFN-gamma index vs days of ANC &le; 500 (day 0-30)</h2><p>{{ stats.hspc }}</p><p class="cap caveat">{{ caveats.hspc }}</p>{% if figs.hspc %}<img alt="HSPC index vs neutropenia" src="{{ figs.hspc }}">{% endif %}</section>
</div>
<section><h2>CAR-HEMATOTOX risk vs observed early ICAHT grade &ge; 3</h2><table>
<tr><th class="l">risk</th><th>grade &ge; 3</th><th>grade &lt; 3</th></tr>
{% for r in two_by_two %}<tr><td class="l">{{ r[0] }}</td><td>{{ r[1] }}</td><td>{{ r[2] }}</td></tr>{% endfor %}</table><p>{{ stats.risk }}</p></section>
<section id="clones"><h2>Clonal hematopoiesis before vs after infusion</h2><p>{{ stats.ch }}</p>
{% if clone_list %}<h3>Expanding and emergent clones</h3><ul>{% for c in clone_list %}<li><a href="{{ c.href }}">{{ c.patient }}</a>: <b>{{ c.title }}</b>: {{ c.text }}</li>{% endfor %}</ul>{% else %}<p>No expanding or emergent clone detected.</p>{% endif %}
{% if emergent %}<p class="cap">Emergent as called by the clone tracker: {{ emergent | join("; ") }}.</p>{% endif %}</section>
<section id="cohort-umap"><h2>Cohort picture: UMAP of every scRNA sample by cell type</h2>{% if picture.uri %}<img alt="cohort UMAP" src="{{ picture.uri }}">{% endif %}<p class="cap">{{ picture.note }}</p></section>
{# room for further cohort sections (e.g. cohort statistics) before </main> #}
{% for sec in extra_sections %}{{ sec }}{% endfor %}
</main><footer>{{ footer }}</footer><script>{{ sort_js }}</script></body></html>"""
)

#: Click-to-sort for the cohort table: inline (no external resource), numbers by value,
#: text alphabetically, empty (not measured) cells last in both directions.
SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (t) {
  var heads = t.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, i) {
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[i].getAttribute("data-key"), y = b.cells[i].getAttribute("data-key");
        if (!x || !y) { return (!x) - (!y); }
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
  });
});
"""


def footer(provenance_path: str | Path) -> str:
    p = Path(provenance_path)
    if not p.is_file():
        return "provenance: not available"
    prov = json.loads(p.read_text())
    pk = prov.get("packages", {})
    versions = ", ".join(
        f"{k} {pk[k]}" for k in ("snakemake", "scanpy", "anndata", "pysam") if k in pk
    )
    res = prov.get("resources", {})
    digest = hashlib.sha256(
        "".join(f"{k}{v}" for k, v in sorted(res.items())).encode()
    ).hexdigest()[:16]
    return (
        f"marrowtox {prov.get('marrowtox_version')} · Python {prov.get('python')} · {versions} · "
        f"config sha256 {prov.get('config_sha256', '')[:16]} · {len(res)} resource files "
        f"(combined sha256 {digest}; per-file checksums in results/provenance.json) · run {prov.get('created')}"
    )


def render_patient(out: str | Path, **ctx) -> None:
    write_text(PATIENT.render(css=markupsafe.Markup(CSS), **ctx), out)


def render_cohort(out: str | Path, **ctx) -> None:
    ctx.setdefault("extra_sections", [])
    write_text(
        COHORT.render(css=markupsafe.Markup(CSS), sort_js=markupsafe.Markup(SORT_JS), **ctx), out
    )

"""Self-contained HTML reports (images inline as data: URIs, no external resources).

Rendered with jinja2 and autoescape on: every user-provided string (patient and
sample ids, products, gene names, notes) is escaped, so an id like `<script>&` shows
as text. Nothing is marked safe except our own base64 image data.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import jinja2

from marrowtox.atomic import write_text

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#0b3d5c;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
main{padding:12px 24px;max-width:1150px}section{background:#fff;border:1px solid #ddd;border-radius:6px;
margin:12px 0;padding:10px 16px}h2{font-size:15px;margin:4px 0 8px;color:#0b3d5c}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f0f3f6}td.l,th.l{text-align:left}.nm{color:#a33;font-style:italic}.grid{display:flex;
flex-wrap:wrap;gap:12px}.box{border:1px solid #0b3d5c;border-radius:6px;padding:8px 12px;background:#f3f8fb}
.kv td{border:none;text-align:left;padding:1px 8px}img{max-width:100%}footer{font-size:11px;color:#555;
padding:8px 24px 24px}.warn{color:#8a5a00}
"""

ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def data_uri(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()


def pseudonym(patient: str, patients: list[str]) -> str:
    """Stable pseudonym: position in the sorted patient list (no identifier leaks)."""
    return f"Patient {sorted(patients).index(patient) + 1:03d}"


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

FIGURE = """{% macro figure(title, uri, reason) -%}
<section><h2>{{ title }}</h2>{% if uri %}<img alt="{{ title }}" src="{{ uri }}">{% else %}
<p class="nm">not measured: {{ reason }}</p>{% endif %}</section>{%- endmacro %}"""

PATIENT = ENV.from_string(
    FIGURE
    + """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>marrowtox report: {{ patient }}</title>
<style>{{ css }}</style></head><body>
<header><h1>marrowtox: {{ patient }}</h1><div>Product: {{ product }} &middot; infusion = day 0 &middot;
marrow samples: {% for s in samples %}{{ s.sample }} ({{ s.assay }}, day {{ s.day }}){% if not loop.last %}, {% endif %}{% endfor %}</div></header>
<main>
<section class="box"><h2>Summary and place in the cohort</h2><table class="kv">
{% for k, v, c in summary %}<tr><td>{{ k }}</td><td><b>{{ v if v != "" else "not measured" }}</b></td><td>{{ c }}</td></tr>{% endfor %}
</table>{% if missing %}<p class="nm">Not measured: {{ missing }}</p>{% endif %}
{% if iec_hs %}<p class="warn">IEC-HS: {{ iec_hs }}</p>{% endif %}</section>
{{ figure("Blood counts, events and ICAHT grade", figs.blood, "no labs for this patient") }}
<div class="grid">
{{ figure("Marrow composition before vs after infusion", figs.composition, "no scRNA sample") }}
{{ figure("UMAP of the first post-infusion marrow, CAR T cells marked", figs.umap, "no post-infusion scRNA sample") }}
</div>
{{ figure("Inflammation scores by cell type vs baseline", figs.heatmap, "no post-infusion scRNA sample with a baseline") }}
{{ figure("CAR T program scores", figs.programs, cart_reason) }}
{{ figure("Clonal hematopoiesis: VAF trajectories", figs.vaf, ch_reason) }}
{% if clones %}<section><h2>Clones</h2><table><tr><th class="l">gene</th><th class="l">protein</th><th class="l">sample</th><th>day</th><th>VAF %</th><th>95% CI</th><th>LOD %</th><th class="l">status</th></tr>
{% for c in clones %}<tr><td class="l">{{ c.gene }}</td><td class="l">{{ c.hgvsp }}</td><td class="l">{{ c.sample }}</td><td>{{ c.day }}</td><td>{{ c.vaf }}</td><td>{{ c.ci }}</td><td>{{ c.lod }}</td><td class="l">{{ c.status }}</td></tr>{% endfor %}</table></section>{% endif %}
{{ figure("Endothelial and inflammatory biomarkers", figs.biomarkers, "no biomarker measurements") }}
</main><footer>{{ footer }}</footer></body></html>"""
)

COHORT = ENV.from_string(
    FIGURE
    + """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>marrowtox cohort report</title><style>{{ css }}</style></head><body>
<header><h1>marrowtox cohort report</h1><div>{{ n }} patients</div></header><main>
<section><h2>Patients</h2><table><tr>{% for c in columns %}<th class="l">{{ c }}</th>{% endfor %}</tr>
{% for r in rows %}<tr>{% for v in r %}<td class="l">{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>
<p>Empty cells: not measured (see the <i>missing</i> column).</p></section>
<div class="grid">
<section><h2>Marrow CAR T % vs early ICAHT grade</h2><p>{{ stats.cart }}</p>{% if figs.cart %}<img alt="CAR T vs ICAHT" src="{{ figs.cart }}">{% endif %}</section>
<section><h2>HSPC IFN-gamma index vs days of ANC &le; 500 (day 0-30)</h2><p>{{ stats.hspc }}</p>{% if figs.hspc %}<img alt="HSPC index vs neutropenia" src="{{ figs.hspc }}">{% endif %}</section>
</div>
<section><h2>CAR-HEMATOTOX risk vs observed early ICAHT grade &ge; 3</h2><table>
<tr><th class="l">risk</th><th>grade &ge; 3</th><th>grade &lt; 3</th></tr>
{% for r in two_by_two %}<tr><td class="l">{{ r[0] }}</td><td>{{ r[1] }}</td><td>{{ r[2] }}</td></tr>{% endfor %}</table><p>{{ stats.risk }}</p></section>
<section><h2>Clonal hematopoiesis before vs after infusion</h2><p>{{ stats.ch }}</p>
{% if emergent %}<h3>Emergent clones</h3><ul>{% for e in emergent %}<li>{{ e }}</li>{% endfor %}</ul>{% else %}<p>No emergent clone detected.</p>{% endif %}</section>
</main><footer>{{ footer }}</footer></body></html>"""
)


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
    write_text(PATIENT.render(css=CSS, **ctx), out)


def render_cohort(out: str | Path, **ctx) -> None:
    write_text(COHORT.render(css=CSS, **ctx), out)
